// One engine: controller, scratchpad lanes, operand feeder, R x C MAC array,
// and the store path (ReLU / shift / int8 saturation) into the output buffer.
//
// Scratchpad (bytes, written by the DMA, any byte address, up to BUS_BYTES a
// cycle): A row i at i*KMAX, B column j at (ROWS + j)*KMAX, C partial sums at
// (ROWS + COLS)*KMAX, row i at + i*COLS*4, int32 little-endian. Output buffer:
// row i at i*COLS*elem (elem = 1 for the int8 modes, 4 for INT32), read by
// the DMA BUS_BYTES at a time with one cycle of latency.
//
// Cycle behaviour for a tile dispatched in cycle t0 (the `start` pulse),
// docs/microarch.md with engine_start = engine_phase = engine_done = 1 and
// drain_extra = 0:
//   t0 + 1            load_a requested (`req`, held until the grant)
//   D_a + 1           load_b requested (D_x: the cycle `op_done` of op x)
//   D_b + 1           load_c requested when the entry's load_c flag is set
//   cs = D_last + 1   compute starts (`mac_array` start; A column t and B row
//                     t are fed in cycle cs + t, C rows in cs .. cs + R - 1)
//   cs + N            the array's done (N = ROWS + COLS + k - 2): compute end
//   ss = cs + N + 1   drain starts; row d leaves the array in cycle ss + d
//                     and is written to the output buffer at its end
//   ss + ROWS         store_c requested
//   D_s + 1           `done` pulse (the engine is idle again from this cycle)
// Rows >= m and columns >= n are fed zeros.
//
// DATAFLOW = 1 builds the weight-stationary array (`mac_array_ws`): the
// scratchpad layout above with TILE_ROWS A rows in place of ROWS, compute
// N = ceil(k/ROWS) * (2*ROWS + COLS + m - 2) cycles, and a drain of
// TILE_ROWS rows (store_c requested at ss + TILE_ROWS); the FSM is the same.
// Operand reuse (docs/microarch.md, "Operand reuse"): the engine keeps the A
// and B block ids (entry word bits 495:480, 511:496; 0 = never reusable) of
// the last tile started. A tile whose A (B) block equals the held one skips
// load_a (load_b) with its phase: its first request is load_b at t0 + 1, or
// load_c / compute follows D_a + 1 directly. When both match only load_a is
// skipped. With ids 0 (reuse off) nothing changes.
// Several B slots (REUSE_SLOTS > 1, docs/microarch.md "Several B blocks
// resident"): B slot s's column j at (TILE_ROWS + s*COLS + j)*KMAX, the C
// buffer after the last slot; the tile's slot is entry bits 87:80. The
// engine keeps one B id per slot and compares the tile's B id with its
// slot's; both loads may then be skipped: load_c is requested at t0 + 1, or
// with no load at all the cycle t0 + 1 acts as the last load's done cycle
// (compute starts at t0 + 2).
//
// Trace strobes: `ev_req` (with `req_op`) in the first cycle of a request,
// `ev_compute`, `ev_compute_end`, `ev_drain` in cycles cs, cs + N, ss.
`default_nettype none

module engine #(
    parameter integer ROWS      = 4,
    parameter integer COLS      = 4,
    parameter integer KMAX      = 64,
    parameter integer BUS_BYTES = 8,
    parameter integer ENTRY_W   = 512,
    parameter integer DATAFLOW  = 0,     // 0 output stationary (mac_array), 1 weight stationary
    parameter integer TILE_ROWS = ROWS,  // A rows a tile holds: ROWS, or more in WS
    parameter integer REUSE_SLOTS = 1    // B blocks resident (one B lane set per slot)
) (
    input  wire                   clk,
    input  wire                   rst,
    // dispatch
    input  wire                   start,
    input  wire [ENTRY_W-1:0]     word,
    output reg                    done,
    // DMA op request
    output reg                    req,
    output reg  [1:0]             req_op,       // 0 load_a, 1 load_b, 2 load_c, 3 store_c
    output reg  [31:0]            req_seg_start,
    output reg  [31:0]            req_seg_count,
    input  wire                   grant,
    input  wire                   op_done,
    // scratchpad write port (from the DMA)
    input  wire                   spad_we,
    input  wire [31:0]            spad_addr,
    input  wire [BUS_BYTES-1:0]   spad_be,
    input  wire [8*BUS_BYTES-1:0] spad_wdata,
    // output-buffer read port (to the DMA): bytes obuf_addr .. +BUS_BYTES-1
    // in obuf_rdata the cycle after obuf_re
    input  wire                   obuf_re,
    input  wire [31:0]            obuf_addr,
    output reg  [8*BUS_BYTES-1:0] obuf_rdata,
    // trace strobes
    output reg                    ev_req,
    output reg                    ev_compute,
    output wire                   ev_compute_end,
    output reg                    ev_drain
);
    localparam integer C_BASE     = (TILE_ROWS + REUSE_SLOTS * COLS) * KMAX;
    localparam integer SPAD_BYTES = C_BASE + 4 * TILE_ROWS * COLS;
    localparam integer OBUF_BYTES = 4 * TILE_ROWS * COLS;
    localparam [1:0] S_IDLE = 2'd0, S_WAIT = 2'd1, S_COMPUTE = 2'd2, S_DRAIN = 2'd3;
    localparam [1:0] OP_LOAD_A = 2'd0, OP_LOAD_B = 2'd1, OP_LOAD_C = 2'd2, OP_STORE = 2'd3;

    reg [7:0] spad [0:SPAD_BYTES-1];
    reg [7:0] obuf [0:OBUF_BYTES-1];

    reg [ENTRY_W-1:0] w;        // the running tile's entry word
    wire        load_c     = w[1];
    wire        int8_store = w[2];
    wire [7:0]  shift      = w[15:8];
    wire [15:0] m          = w[47:32];
    wire [15:0] n          = w[63:48];
    wire [15:0] k          = w[79:64];
    wire [15:0] word_a     = word[495:480];
    wire [15:0] word_b     = word[511:496];
    // The slot index is 8 bits in the entry word; the low SLOT_W bits name one of REUSE_SLOTS.
    localparam integer SLOT_W = (REUSE_SLOTS > 1) ? $clog2(REUSE_SLOTS) : 1;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [7:0]  word_slot8 = word[87:80];
    /* verilator lint_on UNUSEDSIGNAL */
    wire [SLOT_W-1:0] word_slot = (REUSE_SLOTS > 1) ? word_slot8[SLOT_W-1:0] : {SLOT_W{1'b0}};
    wire [31:0] b_lane0    = TILE_ROWS + w[87:80] * COLS;  // the tile's first B lane
    reg  [15:0] res_a;          // A block of the last tile started
    reg  [15:0] res_b [0:REUSE_SLOTS-1];  // B block each slot holds
    reg         skip_b;         // the running tile skips load_b
    reg         no_load;        // it skips every load: the next cycle acts as a load's done
    wire        start_skip_a = word_a != 16'd0 && word_a == res_a;
    wire        start_skip_b = word_b != 16'd0 && word_b == res_b[word_slot]
                               && (REUSE_SLOTS > 1 || !start_skip_a);
    wire        op_end       = op_done || no_load;

    reg  [1:0]  state;
    reg  [31:0] feed_t;         // cycles since compute start
    reg  [31:0] drain_d;        // row leaving the array
    reg         mac_start, drain_start;
    wire        mac_done, drain_valid, drain_last;
    wire        mac_busy_unused;
    wire [ROWS*8-1:0]  a_in;
    wire [COLS*8-1:0]  b_in;
    wire [COLS*32-1:0] c_in;
    wire [COLS*32-1:0] drain_row;

    // ---- feeder: the operands of the next cycle, read one cycle ahead ----
    // Registered rather than continuous, so the lanes are only read while a
    // tile computes (a continuous read re-evaluates on every DMA write).
    wire        starts_compute = req_op == OP_LOAD_C
                                 || ((req_op == OP_LOAD_B || (req_op == OP_LOAD_A && skip_b)) && !load_c);
    wire        feed_first = state == S_WAIT && op_end && starts_compute;
    wire        feed_now   = feed_first || state == S_COMPUTE;
    wire [31:0] t_next     = feed_first ? 32'd0 : feed_t + 32'd1;
    generate if (DATAFLOW == 0) begin : g_os
    reg  [ROWS*8-1:0]  a_q;
    reg  [COLS*8-1:0]  b_q;
    reg  [COLS*32-1:0] c_q;
    integer f;
    always @(posedge clk) begin
        if (feed_now) begin
            for (f = 0; f < ROWS; f = f + 1)
                a_q[8*f +: 8] <= (f < m && t_next < k) ? spad[f * KMAX + t_next] : 8'd0;
            for (f = 0; f < COLS; f = f + 1) begin
                b_q[8*f +: 8] <= (f < n && t_next < k) ? spad[(b_lane0 + f) * KMAX + t_next] : 8'd0;
                c_q[32*f +: 32] <= (t_next < ROWS)
                    ? {spad[C_BASE + (t_next * COLS + f) * 4 + 3], spad[C_BASE + (t_next * COLS + f) * 4 + 2],
                       spad[C_BASE + (t_next * COLS + f) * 4 + 1], spad[C_BASE + (t_next * COLS + f) * 4]}
                    : 32'd0;
            end
        end
    end
    assign a_in = a_q;
    assign b_in = b_q;
    assign c_in = c_q;

    mac_array #(.ROWS(ROWS), .COLS(COLS), .KW(16)) u_mac (
        .clk(clk), .rst(rst), .start(mac_start), .k(k), .preload(load_c),
        .a_in(a_in), .b_in(b_in), .c_in(c_in),
        .busy(mac_busy_unused), .done(mac_done),
        .drain_start(drain_start), .drain_valid(drain_valid), .drain_last(drain_last),
        .drain_row(drain_row));
    end else begin : g_ws
    // Weight stationary (mac_array_ws): the fold cycle q and fold base k0 of
    // the cycle being fed next; weight row q while q < ROWS, then A row
    // s = q - ROWS, and for fold 0 the partial sums each column adds next.
    localparam [31:0] R32 = ROWS;
    reg  [31:0] ws_q, ws_k0;
    wire [31:0] ws_len  = 2 * R32 + COLS - 2 + {16'd0, m};
    wire        ws_wrap = !feed_first && ws_q + 32'd1 == ws_len;
    wire [31:0] q_nx    = feed_first || ws_wrap ? 32'd0 : ws_q + 32'd1;
    wire [31:0] k0_nx   = feed_first ? 32'd0 : ws_wrap ? ws_k0 + R32 : ws_k0;
    wire [31:0] s_nx    = q_nx - R32;
    reg  [ROWS*8-1:0]  a_q;
    reg  [COLS*8-1:0]  w_q;
    reg  [COLS*32-1:0] c_q;
    reg                w_we_q;
    reg  [7:0]         w_row_q;
    wire               t_next_unused = |t_next;
    // The accumulator row column cc adds in stream cycle ss; wraps above m when negative.
    function [31:0] c_row(input [31:0] ss, input integer cc);
        c_row = ss - (R32 - 32'd1) - cc;
    endfunction
    integer f;
    always @(posedge clk) begin
        if (feed_now) begin
            ws_q <= q_nx;
            ws_k0 <= k0_nx;
            w_we_q <= q_nx < R32;
            w_row_q <= q_nx[7:0];
            for (f = 0; f < COLS; f = f + 1)
                w_q[8*f +: 8] <= (q_nx < R32 && f < n && k0_nx + q_nx < k)
                    ? spad[(b_lane0 + f) * KMAX + k0_nx + q_nx] : 8'd0;
            for (f = 0; f < ROWS; f = f + 1)
                a_q[8*f +: 8] <= (q_nx >= R32 && s_nx < m && k0_nx + f < k) ? spad[s_nx * KMAX + k0_nx + f] : 8'd0;
            for (f = 0; f < COLS; f = f + 1)
                c_q[32*f +: 32] <= (load_c && q_nx >= R32 && k0_nx == 32'd0 && c_row(s_nx, f) < m)
                    ? {spad[C_BASE + (c_row(s_nx, f) * COLS + f) * 4 + 3],
                       spad[C_BASE + (c_row(s_nx, f) * COLS + f) * 4 + 2],
                       spad[C_BASE + (c_row(s_nx, f) * COLS + f) * 4 + 1],
                       spad[C_BASE + (c_row(s_nx, f) * COLS + f) * 4]}
                    : 32'd0;
        end
    end
    assign a_in = a_q;
    assign b_in = w_q;  // weight rows
    assign c_in = c_q;

    mac_array_ws #(.ROWS(ROWS), .COLS(COLS), .TILE_ROWS(TILE_ROWS), .KW(16)) u_mac (
        .clk(clk), .rst(rst), .start(mac_start), .k(k), .m(m),
        .w_we(w_we_q), .w_row(w_row_q), .w_in(b_in), .a_in(a_in), .c_in(c_in),
        .busy(mac_busy_unused), .done(mac_done),
        .drain_start(drain_start), .drain_valid(drain_valid), .drain_last(drain_last),
        .drain_row(drain_row));
    end endgenerate

    assign ev_compute_end = mac_done;

    // ---- store path: shift or rounding, ReLU, int8 saturation (or raw int32) ----
    // int8 store: floor(acc / 2^sh), or with rnd rounded half to even (add
    // one when the dropped bits exceed half, or equal it and the floor is
    // odd); then ReLU (unless nrelu) and saturation to int8. 64-bit so the
    // remainder of any shift fits; shifts past 40 act like 40 (same result).
    function [7:0] store_int8(input [31:0] acc, input [7:0] sh, input nrelu, input rnd);
        reg signed [63:0] a, q, r, half;
        reg [5:0] s;
        begin
            s = (sh > 8'd40) ? 6'd40 : sh[5:0];
            a = {{32{acc[31]}}, acc};
            q = a >>> s;
            r = a - (q <<< s);
            half = (s == 0) ? 64'sd0 : (64'sd1 <<< (s - 6'd1));
            if (rnd && s != 0 && (r > half || (r == half && q[0])))
                q = q + 64'sd1;
            if (!nrelu && q < 0) store_int8 = 8'd0;
            else if (q > 127) store_int8 = 8'd127;
            else if (q < -128) store_int8 = 8'h80;
            else store_int8 = q[7:0];
        end
    endfunction

    integer j;
    always @(posedge clk) begin
        if (drain_valid) begin
            for (j = 0; j < COLS; j = j + 1) begin
                if (int8_store)
                    obuf[drain_d * COLS + j] <= store_int8(drain_row[32*j +: 32], shift, w[3], w[4]);
                else begin
                    obuf[(drain_d * COLS + j) * 4]     <= drain_row[32*j      +: 8];
                    obuf[(drain_d * COLS + j) * 4 + 1] <= drain_row[32*j + 8  +: 8];
                    obuf[(drain_d * COLS + j) * 4 + 2] <= drain_row[32*j + 16 +: 8];
                    obuf[(drain_d * COLS + j) * 4 + 3] <= drain_row[32*j + 24 +: 8];
                end
            end
        end
        if (obuf_re)
            for (j = 0; j < BUS_BYTES; j = j + 1)
                obuf_rdata[8*j +: 8] <= (obuf_addr + j < OBUF_BYTES) ? obuf[obuf_addr + j] : 8'd0;
        if (spad_we)
            for (j = 0; j < BUS_BYTES; j = j + 1)
                if (spad_be[j]) spad[spad_addr + j] <= spad_wdata[8*j +: 8];
    end

    // ---- controller ----
    task request(input [1:0] op);
        begin
            req <= 1'b1;
            req_op <= op;
            ev_req <= 1'b1;
            req_seg_start <= w[224 + 64*op +: 32];
            req_seg_count <= w[256 + 64*op +: 32];
        end
    endtask

    always @(posedge clk) begin
        if (rst) begin
            state <= S_IDLE; done <= 1'b0; req <= 1'b0; req_op <= OP_LOAD_A;
            req_seg_start <= 0; req_seg_count <= 0; w <= {ENTRY_W{1'b0}};
            mac_start <= 1'b0; drain_start <= 1'b0; feed_t <= 0; drain_d <= 0;
            ev_req <= 1'b0; ev_compute <= 1'b0; ev_drain <= 1'b0;
            res_a <= 16'd0; skip_b <= 1'b0; no_load <= 1'b0;
            for (j = 0; j < REUSE_SLOTS; j = j + 1) res_b[j] <= 16'd0;
        end else begin
            done <= 1'b0;
            ev_req <= 1'b0;
            mac_start <= 1'b0;
            drain_start <= 1'b0;
            ev_compute <= 1'b0;
            ev_drain <= 1'b0;
            if (grant) req <= 1'b0;
            // counts only while computing: the feeder's reads stay quiet otherwise
            if (state == S_COMPUTE) feed_t <= feed_t + 1;
            if (drain_valid) drain_d <= drain_d + 1;
            case (state)
            S_IDLE: if (start) begin
                w <= word;
                // not request(): it reads `w`, which this same edge updates
                req <= 1'b1; ev_req <= 1'b1;
                if (start_skip_a && start_skip_b) begin
                    // several B slots: both blocks resident
                    req_op <= word[1] ? OP_LOAD_C : OP_LOAD_A;
                    req_seg_start <= word[224 + 128 +: 32];
                    req_seg_count <= word[256 + 128 +: 32];
                    if (!word[1]) begin
                        req <= 1'b0; ev_req <= 1'b0; no_load <= 1'b1;
                    end
                end else if (start_skip_a) begin
                    req_op <= OP_LOAD_B;
                    req_seg_start <= word[224 + 64 +: 32];
                    req_seg_count <= word[256 + 64 +: 32];
                end else begin
                    req_op <= OP_LOAD_A;
                    req_seg_start <= word[224 +: 32];
                    req_seg_count <= word[256 +: 32];
                end
                res_a <= word_a; res_b[word_slot] <= word_b;
                skip_b <= start_skip_b;
                state <= S_WAIT;
            end
            S_WAIT: if (op_end) begin
                no_load <= 1'b0;
                case (req_op)
                OP_LOAD_A: begin
                    if (!skip_b) request(OP_LOAD_B);
                    else if (load_c) request(OP_LOAD_C);
                    else begin
                        mac_start <= 1'b1; ev_compute <= 1'b1;
                        feed_t <= 0;
                        state <= S_COMPUTE;
                    end
                end
                OP_LOAD_B, OP_LOAD_C: begin
                    if (req_op == OP_LOAD_B && load_c) request(OP_LOAD_C);
                    else begin
                        mac_start <= 1'b1; ev_compute <= 1'b1;
                        feed_t <= 0;
                        state <= S_COMPUTE;
                    end
                end
                default: begin  // store_c done
                    done <= 1'b1;
                    state <= S_IDLE;
                end
                endcase
            end
            S_COMPUTE: if (mac_done) begin
                drain_start <= 1'b1; ev_drain <= 1'b1;
                drain_d <= 0;
                state <= S_DRAIN;
            end
            S_DRAIN: if (drain_last) begin
                request(OP_STORE);
                state <= S_WAIT;
            end
            default: state <= S_IDLE;
            endcase
        end
    end
endmodule

`default_nettype wire
