// mac_array: ROWS x COLS output-stationary systolic array, int8 x int8 -> int32.
//
// Computes C[i][j] (+)= sum_t A[i][t] * B[t][j] for one tile (i < ROWS,
// j < COLS, t < k). The caller presents operands UNSKEWED; the array skews
// them internally (row i of A delayed i cycles, column j of B delayed j
// cycles), so PE(i,j) sees A[i][t] and B[t][j] together t + i + j cycles
// after they were presented.
//
// Parameters
//   ROWS, COLS  array size (1..64 each)
//   KW          width of `k` (tile reduction length 1 .. 2**KW - 1)
//
// Ports (all synchronous to the rising edge of clk)
//   rst                   synchronous, active high: idles the control
//                         (no compute, no drain) from the first edge it is seen.
//   start                 1-cycle pulse: begins a tile. Not while a tile is
//                         computing (cycles 0 .. N-1) or draining.
//   k [KW-1:0]            reduction length, sampled with start (k = 0 acts as 1).
//   preload               sampled with start: 1 = accumulators start from the
//                         c_in rows, 0 = accumulators start from 0.
//   a_in [ROWS*8-1:0]     A column t: byte i (bits 8i+7..8i) = A[i][t], int8.
//   b_in [COLS*8-1:0]     B row t:    byte j (bits 8j+7..8j) = B[t][j], int8.
//   c_in [COLS*32-1:0]    preload row r: word j = C0[r][j], int32; ignored
//                         when preload = 0.
//   busy                  high in compute cycles 1 .. N-1 (see below).
//   done                  1-cycle pulse in cycle N: all sums are final.
//   drain_start           1-cycle pulse: starts the drain (not during compute).
//   drain_valid           high for exactly ROWS cycles, from the drain_start
//                         cycle on (combinational from drain_start).
//   drain_last            high with drain_valid on its last cycle.
//   drain_row [COLS*32-1:0] while drain_valid: word j = C[d][j] of row d,
//                         rows in order d = 0, 1, .. ROWS-1, one per cycle.
//
// Cycle behaviour. Number the cycles of a tile from the cycle in which
// `start` is high (cycle 0). Let N = ROWS + COLS + k - 2.
//   - In cycle t, for t = 0 .. k-1, the caller drives a_in/b_in with A
//     column t and B row t; they are sampled at the rising edge ending
//     cycle t. (Operands outside these cycles are ignored.)
//   - When preload = 1, in cycle r, for r = 0 .. ROWS-1, the caller drives
//     c_in with preload row r (row r's accumulators are set at the edge
//     ending cycle r, before or together with their first product). Since
//     N >= ROWS this fits inside the compute phase: preloading costs no
//     extra cycle.
//   - The last PE (ROWS-1, COLS-1) adds its last product at the edge ending
//     cycle N-1: compute occupies cycles 0 .. N-1, exactly N cycles (the
//     SCALE-Sim output-stationary count R + C + K - 2 per fold).
//   - `busy` is high in cycles 1 .. N-1; `done` is high in cycle N only.
//     (A `compute` trace record is start cycle .. done cycle: N cycles.)
//   - The drain may start in cycle N (with done) or any later cycle D; the
//     results hold until then. Drain row d is on drain_row in cycle D + d,
//     d = 0 .. ROWS-1, with drain_valid high; drain_last in cycle D+ROWS-1.
//     The drain takes exactly ROWS cycles (rows shift up one per cycle; the
//     array's accumulators are consumed by it).
//   - The next `start` may come in cycle D + ROWS (right after the drain).
//     A new start without a drain discards the old sums.
//   - OVERLAP = 1: output registers. In cycle D rows 1 .. ROWS-1 move into
//     them (row 0 is on drain_row from the array, as above) and shift out in
//     cycles D + 1 .. D + ROWS - 1; the PEs never shift, so the next `start`
//     may come in cycle D (or later) while the drain goes on. Drain rows and
//     their cycles are the same as with OVERLAP = 0.
//
// Structure: generate-local wires and registers everywhere in the mesh (no
// part-selects of one flat vector inside it), which keeps Icarus fast.

`default_nettype none

module mac_array #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter KW = 16,
    parameter OVERLAP = 0
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 start,
    input  wire [KW-1:0]        k,
    input  wire                 preload,
    input  wire [ROWS*8-1:0]    a_in,
    input  wire [COLS*8-1:0]    b_in,
    input  wire [COLS*32-1:0]   c_in,
    output reg                  busy,
    output reg                  done,
    input  wire                 drain_start,
    output wire                 drain_valid,
    output wire                 drain_last,
    output wire [COLS*32-1:0]   drain_row
);
    // Counter widths: N = ROWS + COLS + k - 2 < 2**KW + 128.
    localparam CW = KW + 8;
    // Computed as 32-bit integers, then sized (clean for any override width).
    localparam integer EDGE_I = ROWS + COLS - 2;
    localparam integer ROWS_M1_I = ROWS - 1;
    localparam [CW-1:0] EDGE_CYCLES = EDGE_I[CW-1:0];
    localparam [7:0] ROWS_M1 = ROWS_M1_I[7:0];

    // ---- operand window: v0 is high in cycles 0 .. k-1 -------------------
    wire [KW-1:0] k_eff = (k == {KW{1'b0}}) ? {{(KW-1){1'b0}}, 1'b1} : k;
    reg           feeding;
    reg  [KW-1:0] feed_left;
    wire          v0 = start | feeding;

    always @(posedge clk) begin
        if (rst) begin
            feeding <= 1'b0;
        end else if (start) begin
            feeding   <= (k_eff != {{(KW-1){1'b0}}, 1'b1});
            feed_left <= k_eff - 1'b1;
        end else if (feeding) begin
            feed_left <= feed_left - 1'b1;
            if (feed_left == {{(KW-1){1'b0}}, 1'b1})
                feeding <= 1'b0;
        end
    end

    // ---- compute-phase counter: busy in 1 .. N-1, done in N ---------------
    wire [CW-1:0] n_cycles = EDGE_CYCLES + {{(CW-KW){1'b0}}, k_eff};
    reg  [CW-1:0] remain;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            done <= 1'b0;
        end else begin
            done <= 1'b0;
            if (start) begin
                if (n_cycles == {{(CW-1){1'b0}}, 1'b1}) begin
                    done <= 1'b1;
                end else begin
                    busy   <= 1'b1;
                    remain <= n_cycles - 1'b1;
                end
            end else if (busy) begin
                remain <= remain - 1'b1;
                if (remain == {{(CW-1){1'b0}}, 1'b1}) begin
                    busy <= 1'b0;
                    done <= 1'b1;
                end
            end
        end
    end

    // ---- drain: ROWS cycles from drain_start -----------------------------
    reg       draining;
    reg [7:0] drain_left;  // rows left to show, this cycle included (after cycle D)

    always @(posedge clk) begin
        if (rst) begin
            draining <= 1'b0;
        end else if (drain_start) begin
            draining   <= (ROWS_M1 != 8'd0);
            drain_left <= ROWS_M1;
        end else if (draining) begin
            drain_left <= drain_left - 8'd1;
            if (drain_left == 8'd1)
                draining <= 1'b0;
        end
    end

    assign drain_valid = drain_start | draining;
    assign drain_last  = drain_start ? (ROWS_M1 == 8'd0) : (draining & (drain_left == 8'd1));

    // ---- B operands: column j enters the top row j cycles late ------------
    genvar i, j;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : bcol
            wire [7:0]  b_edge;
            wire [31:0] c_col = c_in[32*j +: 32];
            if (j == 0) begin : direct
                assign b_edge = b_in[7:0];
            end else begin : skew
                // j-stage shift register; the oldest byte is at the top.
                reg [8*j-1:0] sr;
                if (j == 1) begin : one
                    always @(posedge clk) sr <= b_in[8*j +: 8];
                end else begin : many
                    always @(posedge clk) sr <= {sr[8*j-9:0], b_in[8*j +: 8]};
                end
                assign b_edge = sr[8*j-1 -: 8];
            end
        end

        // ---- A operands and tile-start marks, row i enters i cycles late --
        for (i = 0; i < ROWS; i = i + 1) begin : row
            wire [7:0] a_edge;
            wire       v_edge;
            wire       ld;     // this row's accumulators start now
            wire       ld_c;   // ... from c_in (preload) rather than 0
            if (i == 0) begin : direct
                assign a_edge = a_in[7:0];
                assign v_edge = v0;
                assign ld     = start;
                assign ld_c   = start & preload;
            end else begin : skew
                reg [8*i-1:0] a_sr;
                reg [i-1:0]   v_sr;
                reg           ld_q;
                reg           ld_c_q;
                if (i == 1) begin : one
                    always @(posedge clk) begin
                        a_sr <= a_in[8*i +: 8];
                        v_sr <= rst ? 1'b0 : v0;
                    end
                end else begin : many
                    always @(posedge clk) begin
                        a_sr <= {a_sr[8*i-9:0], a_in[8*i +: 8]};
                        v_sr <= rst ? {i{1'b0}} : {v_sr[i-2:0], v0};
                    end
                end
                // The start mark walks down one row per cycle, so row i is
                // (pre)loaded in cycle i, no later than its first product.
                always @(posedge clk) begin
                    ld_q   <= rst ? 1'b0 : row[i-1].ld;
                    ld_c_q <= row[i-1].ld_c;
                end
                assign a_edge = a_sr[8*i-1 -: 8];
                assign v_edge = v_sr[i-1];
                assign ld     = ld_q;
                assign ld_c   = ld_c_q;
            end

            // ---- the PEs of row i ----------------------------------------
            for (j = 0; j < COLS; j = j + 1) begin : col
                // The last column's a_o/v_o and the bottom row's b_o leave
                // the array unconnected: operands simply fall off its edge.
                /* verilator lint_off UNUSEDSIGNAL */
                wire [7:0]  a_o;
                wire        v_o;
                wire [7:0]  b_o;
                /* verilator lint_on UNUSEDSIGNAL */
                wire [31:0] acc_o;
                wire [7:0]  a_l;
                wire        v_l;
                wire [7:0]  b_t;
                wire [31:0] below;
                if (j == 0) begin : left_edge
                    assign a_l = a_edge;
                    assign v_l = v_edge;
                end else begin : left_pe
                    assign a_l = row[i].col[j-1].a_o;
                    assign v_l = row[i].col[j-1].v_o;
                end
                if (i == 0) begin : top_edge
                    assign b_t = bcol[j].b_edge;
                end else begin : top_pe
                    assign b_t = row[i-1].col[j].b_o;
                end
                if (i == ROWS - 1) begin : bottom_edge
                    assign below = 32'd0;
                end else begin : bottom_pe
                    assign below = row[i+1].col[j].acc_o;
                end
                pe u_pe (
                    .clk(clk), .rst(rst),
                    .a_in(a_l), .v_in(v_l), .b_in(b_t),
                    .ld(ld), .ld_c(ld_c), .c_in(bcol[j].c_col),
                    .shift(OVERLAP == 0 && drain_valid), .acc_below(below),
                    .a_out(a_o), .v_out(v_o), .b_out(b_o), .acc(acc_o)
                );
            end
        end

        // ---- drain output: the top row ---------------------------------
        for (j = 0; j < COLS; j = j + 1) begin : out
            if (OVERLAP != 0 && ROWS > 1) begin : ov
                // output registers: rows 1 .. ROWS-1 of column j, row 1 lowest
                wire [32*(ROWS-1)-1:0] rest;
                for (i = 1; i < ROWS; i = i + 1) begin : tap
                    assign rest[32*(i-1) +: 32] = row[i].col[j].acc_o;
                end
                reg [32*(ROWS-1)-1:0] held;
                always @(posedge clk) begin
                    if (drain_start) held <= rest;
                    else if (draining) held <= held >> 32;
                end
                assign drain_row[32*j +: 32] = drain_start ? row[0].col[j].acc_o : held[31:0];
            end else begin : direct
                assign drain_row[32*j +: 32] = row[0].col[j].acc_o;
            end
        end
    endgenerate
endmodule

`default_nettype wire
