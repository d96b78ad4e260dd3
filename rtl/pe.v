// pe: one processing element of the output-stationary systolic MAC array.
//
// Holds one int32 accumulator. Every rising edge it passes its A operand
// (with its valid bit) to the right and its B operand down, one register
// each, so operands move one PE per cycle. On the edge where `v_in` is high
// it adds the int8 x int8 product a_in * b_in (signed) to the accumulator
// (two's complement wrap-around at 32 bits).
//
// Accumulator update, in priority order, at each rising edge:
//   ld            acc <= (ld_c ? c_in : 0) + (v_in ? a_in * b_in : 0)
//   v_in          acc <= acc + a_in * b_in
//   shift         acc <= acc_below          (drain: results move up one row)
//   otherwise     acc holds
// `ld` starts a tile: it sets the accumulator to the preloaded partial sum
// c_in (ld_c = 1) or to zero (ld_c = 0), folding in a product arriving on
// the same edge. `rst` clears only the valid bit, which is all the array's
// timing depends on; data registers need no reset.

`default_nettype none

module pe (
    input  wire        clk,
    input  wire        rst,
    input  wire [7:0]  a_in,
    input  wire        v_in,
    input  wire [7:0]  b_in,
    input  wire        ld,
    input  wire        ld_c,
    input  wire [31:0] c_in,
    input  wire        shift,
    input  wire [31:0] acc_below,
    output reg  [7:0]  a_out,
    output reg         v_out,
    output reg  [7:0]  b_out,
    output reg  [31:0] acc
);
    // The product is written inline in the clocked block, operands
    // sign-extended to 32 bits (whose 32-bit product is the int8 x int8
    // product). Icarus re-evaluates continuous wires (a product wire, or
    // even just sign-extension wires) on every operand change: either form
    // made the 4x4 bench 1.5-2.5x slower.
    always @(posedge clk) begin
        a_out <= a_in;
        b_out <= b_in;
        v_out <= rst ? 1'b0 : v_in;
        if (ld)
            acc <= (ld_c ? c_in : 32'd0)
                 + (v_in ? {{24{a_in[7]}}, a_in} * {{24{b_in[7]}}, b_in} : 32'd0);
        else if (v_in)
            acc <= acc + {{24{a_in[7]}}, a_in} * {{24{b_in[7]}}, b_in};
        else if (shift)
            acc <= acc_below;
    end
endmodule

`default_nettype wire
