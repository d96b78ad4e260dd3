// Weight-stationary MAC array (docs/microarch.md, "Weight-stationary dataflow").
//
// Two modules:
//
// mac_array_ws_core (used by mac_array_ws only): the ROWS x COLS systolic datapath, int8 x int8 -> int32.
//   PE(r, c) holds one weight W[r][c]. `w_we` with `w_row` = r loads row r
//   of the weights from `w_in` (byte c = W[r][c]) at the rising edge. Input
//   rows are presented UNSKEWED on `a_in` (byte r = A[i][r] for input row i
//   in stream cycle i); the array delays byte r by r cycles, an input moves
//   one PE right per cycle and a partial sum one PE down per cycle. The
//   bottom PE's sum leaves combinationally on `sum_out`: word c in stream
//   cycle i + (ROWS - 1) + c is sum_r A[i][r] * W[r][c] (32-bit wrap).
//   Weights must not change while their inputs are in flight. No reset: the
//   data registers hold what was last shifted in, and only the windows
//   above are defined.
//
// mac_array_ws: the array, its fold sequencer and the output accumulators
//   (TILE_ROWS x COLS int32), with the control ports of `mac_array` so that
//   an engine drives either the same way. A tile m x n x k (m <= TILE_ROWS,
//   n <= COLS) runs F = ceil(k / ROWS) folds of L = 2*ROWS + COLS + m - 2
//   cycles each; cycle q of fold f (counted from `start`, cycle 0):
//     q < ROWS       the caller drives w_in with weight row q of the fold,
//                    B[f*ROWS + q][0..COLS-1] (zeros past k or n), loaded
//                    into PE row q at the edge ending the cycle.
//     q >= ROWS      s = q - ROWS is the stream cycle: the caller drives a_in
//                    with A[s][f*ROWS .. f*ROWS + ROWS-1] (zeros past k, and
//                    for s >= m); column c's sum of input row
//                    i = s - (ROWS-1) - c (when 0 <= i < m) is added into
//                    acc[i][c] at the edge ending the cycle; in fold 0 it is
//                    added to c_in word c instead (the caller drives the
//                    preloaded partial sum C0[i][c], or 0) .
//   `done` is high in cycle N = F * L only (the SCALE-Sim WS count); the
//   drain then shows acc rows 0 .. TILE_ROWS-1 on drain_row, one per cycle
//   from the drain_start cycle, exactly like `mac_array` shows its ROWS.
//   `busy` is high in cycles 1 .. N-1.
`default_nettype none

/* verilator lint_off DECLFILENAME */
module mac_array_ws_core #(
/* verilator lint_on DECLFILENAME */
    parameter integer ROWS = 4,
    parameter integer COLS = 4
) (
    input  wire                 clk,
    input  wire                 w_we,
    input  wire [7:0]           w_row,
    input  wire [COLS*8-1:0]    w_in,
    input  wire [ROWS*8-1:0]    a_in,
    output wire [COLS*32-1:0]   sum_out
);
    genvar r, c;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : row
            wire [7:0] a_edge;
            if (r == 0) begin : direct
                assign a_edge = a_in[7:0];
            end else begin : skew
                reg [8*r-1:0] sr;  // r-stage shift register, the oldest byte on top
                if (r == 1) begin : one
                    always @(posedge clk) sr <= a_in[15:8];
                end else begin : many
                    always @(posedge clk) sr <= {sr[8*r-9:0], a_in[8*r +: 8]};
                end
                assign a_edge = sr[8*r-1 -: 8];
            end
            for (c = 0; c < COLS; c = c + 1) begin : col
                reg  [7:0]  w;
                /* verilator lint_off UNUSEDSIGNAL */
                reg  [7:0]  a_q;      // this PE's input, passed right (off the last column)
                /* verilator lint_on UNUSEDSIGNAL */
                wire [7:0]  a_l;
                wire [31:0] p_in;
                wire [31:0] p_out = p_in + {{24{a_l[7]}}, a_l} * {{24{w[7]}}, w};
                if (c == 0) begin : left_edge
                    assign a_l = a_edge;
                end else begin : left_pe
                    assign a_l = row[r].col[c-1].a_q;
                end
                if (r == 0) begin : top_edge
                    assign p_in = 32'd0;
                end else begin : top_pe
                    assign p_in = row[r-1].col[c].p_q;
                end
                // The bottom row's p_q falls off the edge (sum_out is p_out).
                /* verilator lint_off UNUSEDSIGNAL */
                reg  [31:0] p_q;
                /* verilator lint_on UNUSEDSIGNAL */
                always @(posedge clk) begin
                    if (w_we && w_row == r[7:0]) w <= w_in[8*c +: 8];
                    a_q <= a_l;
                    p_q <= p_out;
                end
            end
        end
        for (c = 0; c < COLS; c = c + 1) begin : out
            assign sum_out[32*c +: 32] = row[ROWS-1].col[c].p_out;
        end
    endgenerate
endmodule


module mac_array_ws #(
    parameter integer ROWS      = 4,
    parameter integer COLS      = 4,
    parameter integer TILE_ROWS = 27,
    parameter integer KW        = 16
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 start,
    input  wire [KW-1:0]        k,
    input  wire [15:0]          m,
    input  wire                 w_we,
    input  wire [7:0]           w_row,
    input  wire [COLS*8-1:0]    w_in,
    input  wire [ROWS*8-1:0]    a_in,
    input  wire [COLS*32-1:0]   c_in,
    output reg                  busy,
    output reg                  done,
    input  wire                 drain_start,
    output wire                 drain_valid,
    output wire                 drain_last,
    output reg  [COLS*32-1:0]   drain_row
);
    localparam integer EDGE_I = 2 * ROWS + COLS - 2;
    localparam [31:0] EDGE = EDGE_I;
    localparam [31:0] R32 = ROWS;
    localparam [31:0] TR_M1 = TILE_ROWS - 1;

    wire [31:0] k_eff = (k == {KW{1'b0}}) ? 32'd1 : {{(32-KW){1'b0}}, k};
    reg  [31:0] len;    // L of the running tile
    reg  [31:0] q;      // cycle within the fold
    reg  [31:0] k0;     // the fold's first K index (f * ROWS)
    reg  [15:0] m_q;
    wire [31:0] fold_len = EDGE + {16'd0, m};

    wire [COLS*32-1:0] sum_out;
    mac_array_ws_core #(.ROWS(ROWS), .COLS(COLS)) u_array (
        .clk(clk), .w_we(w_we), .w_row(w_row), .w_in(w_in), .a_in(a_in), .sum_out(sum_out));

    // ---- fold sequencer: cycles 0 .. N-1 are `start` and the busy cycles ----
    wire        active = start | busy;
    wire [31:0] q_now  = start ? 32'd0 : q;
    wire [31:0] k0_now = start ? 32'd0 : k0;
    wire [31:0] l_now  = start ? fold_len : len;
    wire        fold_end = q_now + 32'd1 == l_now;
    wire        last = fold_end && k0_now + R32 >= k_eff;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            done <= 1'b0;
        end else begin
            done <= active & last;
            if (active) begin
                busy <= ~last;
                q    <= fold_end ? 32'd0 : q_now + 32'd1;
                k0   <= fold_end ? k0_now + R32 : k0_now;
            end
            if (start) begin
                len <= fold_len;
                m_q <= m;
            end
        end
    end

    // ---- accumulators: column c of stream cycle s belongs to row s - (ROWS-1) - c ----
    reg [31:0] acc [0:TILE_ROWS*COLS-1];
    wire [15:0] m_now = start ? m : m_q;
    // Row of column jj's sum in fold cycle qq (>= ROWS); wraps above m when negative.
    function [31:0] row_of(input [31:0] qq, input integer jj);
        row_of = qq - R32 - (R32 - 32'd1) - jj;
    endfunction
    integer j;
    always @(posedge clk) begin
        if (active && q_now >= R32) begin
            for (j = 0; j < COLS; j = j + 1)
                if (row_of(q_now, j) < {16'd0, m_now})
                    acc[row_of(q_now, j) * COLS + j] <=
                        (k0_now == 32'd0 ? c_in[32*j +: 32] : acc[row_of(q_now, j) * COLS + j])
                        + sum_out[32*j +: 32];
        end
    end

    // ---- drain: TILE_ROWS rows, one per cycle from drain_start ----
    reg        draining;
    reg [31:0] drain_d;  // the row shown in the next cycle
    wire [31:0] d_now = drain_start ? 32'd0 : drain_d;
    always @(posedge clk) begin
        if (rst) begin
            draining <= 1'b0;
        end else if (drain_valid) begin
            draining <= d_now != TR_M1;
            drain_d  <= d_now + 32'd1;
        end
    end
    assign drain_valid = drain_start | draining;
    assign drain_last  = drain_valid && d_now == TR_M1;
    integer dj;
    always @(*) begin
        for (dj = 0; dj < COLS; dj = dj + 1)
            drain_row[32*dj +: 32] = acc[d_now * COLS + dj];
    end
endmodule

`default_nettype wire
