// engine_db: the double-buffered engine (DOUBLE_BUFFER = 1 in accel_top;
// docs/microarch.md, "Double buffering"). Same ports and trace strobes as
// `engine`; up to two tiles, one per operand buffer: buffer b is laid out
// like the single-buffered scratchpad at byte offset b * BUF (BUF = C_BASE +
// 4*ROWS*COLS); the tiles alternate buffers in dispatch order. DATAFLOW = 1:
// the weight-stationary array (`mac_array_ws`, as in `engine`), with
// TILE_ROWS in place of ROWS in the layout.
//
// Decisions in cycle t take effect in t + 1 (engine_start = engine_phase =
// engine_done = 1):
//   port    when free in t (no op, or its op_done in t): the store of the
//           drained tile (drained before t, or drain_last in t), else the
//           next load of the oldest tile with loads left (a tile whose
//           `start` is in t included).
//   compute when the array is free in t (idle, or drain_last in t) and the
//           next tile's last load is done (in t or before).
//   drain   when the compute is over (mac_done in t, or before) and the
//           output buffer is free in t (no store pending, or its op_done in t).
//   done    pulse in t + 1 for a store op_done in t; the buffer is free then.
// OVERLAP_DRAIN = 1 (docs/microarch.md, drain overlap): the array (with
// output registers) is free for the next compute from the cycle its drain
// starts: `compute` also when the drain is decided in t.
// Operand reuse (docs/microarch.md, "Operand reuse"): each buffer keeps the
// A and B block ids (entry bits 495:480, 511:496; 0 = never reusable) of the
// last tile it held. A tile arriving in a buffer that holds its A block
// skips load_a, else one that holds its B block skips load_b: the load is
// left out of its sequence. With ids 0 (reuse off) nothing changes.
`default_nettype none

module engine_db #(
    parameter integer ROWS      = 4,
    parameter integer COLS      = 4,
    parameter integer KMAX      = 64,
    parameter integer BUS_BYTES = 8,
    parameter integer ENTRY_W   = 512,
    parameter integer DATAFLOW  = 0,     // 0 output stationary (mac_array), 1 weight stationary
    parameter integer TILE_ROWS = ROWS,  // A rows a tile holds: ROWS, or more in WS
    parameter integer OVERLAP_DRAIN = 0
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   start,
    input  wire [ENTRY_W-1:0]     word,
    output reg                    done,
    output reg                    req,
    output reg  [1:0]             req_op,
    output reg  [31:0]            req_seg_start,
    output reg  [31:0]            req_seg_count,
    input  wire                   grant,
    input  wire                   op_done,
    input  wire                   spad_we,
    input  wire [31:0]            spad_addr,
    input  wire [BUS_BYTES-1:0]   spad_be,
    input  wire [8*BUS_BYTES-1:0] spad_wdata,
    input  wire                   obuf_re,
    input  wire [31:0]            obuf_addr,
    output reg  [8*BUS_BYTES-1:0] obuf_rdata,
    output reg                    ev_req,
    output reg                    ev_compute,
    output wire                   ev_compute_end,
    output reg                    ev_drain
);
    localparam integer C_BASE     = (TILE_ROWS + COLS) * KMAX;
    localparam integer BUF        = C_BASE + 4 * TILE_ROWS * COLS;
    localparam integer SPAD_BYTES = 2 * BUF;
    localparam integer OBUF_BYTES = 4 * TILE_ROWS * COLS;
    localparam [1:0] A_IDLE = 2'd0, A_COMPUTE = 2'd1, A_WAIT = 2'd2, A_DRAIN = 2'd3;
    localparam [1:0] OP_STORE = 2'd3;

    reg [7:0] spad [0:SPAD_BYTES-1];
    reg [7:0] obuf [0:OBUF_BYTES-1];

    reg [ENTRY_W-1:0] w0, w1;   // the entry words of buffers 0 and 1
    reg [1:0]  vld;             // buffer holds a tile
    reg [1:0]  nxt0, nxt1;      // next load to request (0 a, 1 b, 2 c), 3: all requested
    reg [1:0]  ldone;           // the buffer's loads are done
    reg        nbuf;            // buffer of the next tile to start
    reg        hb;              // buffer of the oldest tile (the next to be stored)
    reg        cb;              // buffer of the array's tile (or the next to compute)
    reg        dbuf;            // buffer of the draining tile (its store mode)
    reg [1:0]  astate;
    reg        obuf_busy;       // drained results not yet stored
    reg        st_pend;         // the drained tile waits for the port
    reg        port_busy;       // an op requested and not done
    reg        pbuf;            // buffer of the op on the port
    reg [31:0] feed_t, drain_d;
    reg        mac_start, drain_start;
    wire       mac_done, drain_valid, drain_last;
    wire       mac_busy_unused;

    // (muxes, not functions: a continuous assignment through a function that
    // reads module registers is not re-evaluated when they change, in Icarus)

    // ---- operand reuse: the blocks each buffer holds ----
    wire [15:0] word_a = word[495:480];
    wire [15:0] word_b = word[511:496];
    reg  [15:0] ra0, ra1, rb0, rb1;  // A and B block of the last tile in buffer 0 / 1
    reg  [1:0]  sb;                  // the buffer's tile skips load_b
    wire        start_skip_a = word_a != 16'd0 && word_a == (nbuf ? ra1 : ra0);
    wire        start_skip_b = !start_skip_a && word_b != 16'd0 && word_b == (nbuf ? rb1 : rb0);

    // ---- this cycle's decisions ----
    wire st_done_now  = port_busy && op_done && req_op == OP_STORE;
    wire ld_fin_now   = port_busy && op_done && req_op != OP_STORE && ((pbuf) ? nxt1 : nxt0) == 2'd3;
    wire pfree        = !port_busy || op_done;
    wire drain_end_now = (OVERLAP_DRAIN != 0 || astate == A_DRAIN) && drain_last;
    wire obuf_ok      = !obuf_busy || st_done_now;
    wire do_drain     = ((astate == A_COMPUTE && mac_done) || astate == A_WAIT) && obuf_ok;
    // the array frees up at the drain end, or with output registers as the drain starts
    wire arr_next     = OVERLAP_DRAIN != 0 ? do_drain : drain_end_now;
    wire arr_free     = astate == A_IDLE || arr_next;
    wire ac           = arr_next ? ~cb : cb;               // the tile the array takes next
    // (not a tile whose store ends now: with OVERLAP_DRAIN the array may free up then)
    wire ac_loaded    = vld[ac] && !(st_done_now && hb == ac) && (ldone[ac] || (ld_fin_now && pbuf == ac));
    wire do_compute   = arr_free && ac_loaded;
    wire do_store     = pfree && (st_pend || drain_end_now);
    // the oldest tile with loads left: hb, then ~hb, then one starting now
    wire lh           = vld[hb] && ((hb) ? nxt1 : nxt0) != 2'd3;
    wire lo           = vld[~hb] && ((~hb) ? nxt1 : nxt0) != 2'd3;
    wire ln           = start && !lh && !lo;
    wire do_load      = pfree && !do_store && (lh || lo || ln);
    wire lb           = lh ? hb : lo ? ~hb : nbuf;
    wire [1:0] lop    = ln ? (start_skip_a ? 2'd1 : 2'd0) : ((lb) ? nxt1 : nxt0);
    wire [ENTRY_W-1:0] lw = ln ? word : ((lb) ? w1 : w0);
    wire       lsb    = ln ? start_skip_b : sb[lb];   // the load's tile skips load_b
    wire [1:0] lnext  = (lop == 2'd2 || (lop == 2'd1 && !lw[1])) ? 2'd3
                      : (lop == 2'd0 && lsb) ? (lw[1] ? 2'd2 : 2'd3)
                      : lop + 2'd1;

    // ---- feeder (as in `engine`), from the buffer of the array's tile ----
    wire        fb         = do_compute ? ac : cb;
    /* verilator lint_off UNUSEDSIGNAL */  // entry words carry other blocks' fields
    wire [ENTRY_W-1:0] fw  = ((fb) ? w1 : w0);
    /* verilator lint_on UNUSEDSIGNAL */
    wire [15:0] fm = fw[47:32], fn = fw[63:48], fk = fw[79:64];
    wire [31:0] fbase      = fb ? BUF : 0;
    wire        feed_now   = do_compute || astate == A_COMPUTE;
    wire [31:0] t_next     = do_compute ? 32'd0 : feed_t + 32'd1;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [ENTRY_W-1:0] cw = ((cb) ? w1 : w0);   // the array's tile: k and preload at start, store mode at drain
    wire [ENTRY_W-1:0] hw = ((hb) ? w1 : w0);   // the oldest tile: its store
    wire [ENTRY_W-1:0] dw = ((dbuf) ? w1 : w0); // the draining tile: its store mode
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COLS*32-1:0] drain_row;
    generate if (DATAFLOW == 0) begin : g_os
    reg  [ROWS*8-1:0]  a_q;
    reg  [COLS*8-1:0]  b_q;
    reg  [COLS*32-1:0] c_q;
    integer f;
    always @(posedge clk) begin
        if (feed_now) begin
            for (f = 0; f < ROWS; f = f + 1)
                a_q[8*f +: 8] <= (f < fm && t_next < fk) ? spad[fbase + f * KMAX + t_next] : 8'd0;
            for (f = 0; f < COLS; f = f + 1) begin
                b_q[8*f +: 8] <= (f < fn && t_next < fk) ? spad[fbase + (ROWS + f) * KMAX + t_next] : 8'd0;
                c_q[32*f +: 32] <= (t_next < ROWS)
                    ? {spad[fbase + C_BASE + (t_next * COLS + f) * 4 + 3],
                       spad[fbase + C_BASE + (t_next * COLS + f) * 4 + 2],
                       spad[fbase + C_BASE + (t_next * COLS + f) * 4 + 1],
                       spad[fbase + C_BASE + (t_next * COLS + f) * 4]}
                    : 32'd0;
            end
        end
    end

    mac_array #(.ROWS(ROWS), .COLS(COLS), .KW(16), .OVERLAP(OVERLAP_DRAIN)) u_mac (
        .clk(clk), .rst(rst), .start(mac_start), .k(cw[79:64]), .preload(cw[1]),
        .a_in(a_q), .b_in(b_q), .c_in(c_q),
        .busy(mac_busy_unused), .done(mac_done),
        .drain_start(drain_start), .drain_valid(drain_valid), .drain_last(drain_last),
        .drain_row(drain_row));
    end else begin : g_ws
    // Weight stationary, fed as in `engine` (DATAFLOW = 1) from the buffer at fbase.
    localparam [31:0] R32 = ROWS;
    reg  [31:0] ws_q, ws_k0;
    wire [31:0] ws_len  = 2 * R32 + COLS - 2 + {16'd0, fm};
    wire        ws_wrap = !do_compute && ws_q + 32'd1 == ws_len;
    wire [31:0] q_nx    = do_compute || ws_wrap ? 32'd0 : ws_q + 32'd1;
    wire [31:0] k0_nx   = do_compute ? 32'd0 : ws_wrap ? ws_k0 + R32 : ws_k0;
    wire [31:0] s_nx    = q_nx - R32;
    wire        t_next_unused = |t_next;
    reg  [ROWS*8-1:0]  a_q;
    reg  [COLS*8-1:0]  w_q;
    reg  [COLS*32-1:0] c_q;
    reg                w_we_q;
    reg  [7:0]         w_row_q;
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
                w_q[8*f +: 8] <= (q_nx < R32 && f < fn && k0_nx + q_nx < fk)
                    ? spad[fbase + (TILE_ROWS + f) * KMAX + k0_nx + q_nx] : 8'd0;
            for (f = 0; f < ROWS; f = f + 1)
                a_q[8*f +: 8] <= (q_nx >= R32 && s_nx < fm && k0_nx + f < fk)
                    ? spad[fbase + s_nx * KMAX + k0_nx + f] : 8'd0;
            for (f = 0; f < COLS; f = f + 1)
                c_q[32*f +: 32] <= (fw[1] && q_nx >= R32 && k0_nx == 32'd0 && c_row(s_nx, f) < fm)
                    ? {spad[fbase + C_BASE + (c_row(s_nx, f) * COLS + f) * 4 + 3],
                       spad[fbase + C_BASE + (c_row(s_nx, f) * COLS + f) * 4 + 2],
                       spad[fbase + C_BASE + (c_row(s_nx, f) * COLS + f) * 4 + 1],
                       spad[fbase + C_BASE + (c_row(s_nx, f) * COLS + f) * 4]}
                    : 32'd0;
        end
    end
    mac_array_ws #(.ROWS(ROWS), .COLS(COLS), .TILE_ROWS(TILE_ROWS), .KW(16)) u_mac (
        .clk(clk), .rst(rst), .start(mac_start), .k(cw[79:64]), .m(cw[47:32]),
        .w_we(w_we_q), .w_row(w_row_q), .w_in(w_q), .a_in(a_q), .c_in(c_q),
        .busy(mac_busy_unused), .done(mac_done),
        .drain_start(drain_start), .drain_valid(drain_valid), .drain_last(drain_last),
        .drain_row(drain_row));
    end endgenerate
    assign ev_compute_end = mac_done;

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

    wire [31:0] wbase = pbuf ? BUF : 0;
    integer j;
    always @(posedge clk) begin
        if (drain_valid) begin
            for (j = 0; j < COLS; j = j + 1) begin
                if (dw[2])
                    obuf[drain_d * COLS + j] <= store_int8(drain_row[32*j +: 32], dw[15:8], dw[3], dw[4]);
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
                if (spad_be[j]) spad[wbase + spad_addr + j] <= spad_wdata[8*j +: 8];
    end

    // ---- controller ----
    always @(posedge clk) begin
        if (rst) begin
            done <= 1'b0; req <= 1'b0; req_op <= 2'd0; req_seg_start <= 0; req_seg_count <= 0;
            w0 <= {ENTRY_W{1'b0}}; w1 <= {ENTRY_W{1'b0}};
            vld <= 2'b00; nxt0 <= 2'd3; nxt1 <= 2'd3; ldone <= 2'b00;
            nbuf <= 1'b0; hb <= 1'b0; cb <= 1'b0; dbuf <= 1'b0; astate <= A_IDLE;
            obuf_busy <= 1'b0; st_pend <= 1'b0; port_busy <= 1'b0; pbuf <= 1'b0;
            mac_start <= 1'b0; drain_start <= 1'b0; feed_t <= 0; drain_d <= 0;
            ev_req <= 1'b0; ev_compute <= 1'b0; ev_drain <= 1'b0;
            ra0 <= 16'd0; ra1 <= 16'd0; rb0 <= 16'd0; rb1 <= 16'd0; sb <= 2'b00;
        end else begin
            done <= 1'b0;
            ev_req <= 1'b0;
            mac_start <= 1'b0;
            drain_start <= 1'b0;
            ev_compute <= 1'b0;
            ev_drain <= 1'b0;
            if (grant) req <= 1'b0;
            if (astate == A_COMPUTE) feed_t <= feed_t + 1;
            if (drain_valid) drain_d <= drain_d + 1;
            // a tile arrives in buffer nbuf
            if (start) begin
                if (nbuf) begin w1 <= word; nxt1 <= start_skip_a ? 2'd1 : 2'd0; ra1 <= word_a; rb1 <= word_b; end
                else begin w0 <= word; nxt0 <= start_skip_a ? 2'd1 : 2'd0; ra0 <= word_a; rb0 <= word_b; end
                sb[nbuf] <= start_skip_b;
                vld[nbuf] <= 1'b1;
                ldone[nbuf] <= 1'b0;
                nbuf <= ~nbuf;
            end
            // the port
            if (ld_fin_now) ldone[pbuf] <= 1'b1;
            if (st_done_now) begin
                done <= 1'b1;
                vld[hb] <= 1'b0;
                hb <= ~hb;
                obuf_busy <= 1'b0;
            end
            if (op_done) port_busy <= 1'b0;
            if (drain_end_now && !do_store) st_pend <= 1'b1;
            if (do_store) begin
                st_pend <= 1'b0;
                port_busy <= 1'b1; pbuf <= hb;
                req <= 1'b1; req_op <= OP_STORE; ev_req <= 1'b1;
                req_seg_start <= hw[224 + 64*3 +: 32];
                req_seg_count <= hw[256 + 64*3 +: 32];
            end else if (do_load) begin
                port_busy <= 1'b1; pbuf <= lb;
                req <= 1'b1; req_op <= lop; ev_req <= 1'b1;
                req_seg_start <= lw[224 + 64*lop +: 32];
                req_seg_count <= lw[256 + 64*lop +: 32];
                if (lb) nxt1 <= lnext; else nxt0 <= lnext;
            end
            // the array
            case (astate)
            A_COMPUTE: if (mac_done) astate <= !do_drain ? A_WAIT : OVERLAP_DRAIN != 0 ? A_IDLE : A_DRAIN;
            A_WAIT: if (do_drain) astate <= OVERLAP_DRAIN != 0 ? A_IDLE : A_DRAIN;
            A_DRAIN: if (drain_last) begin
                cb <= ~cb;
                astate <= A_IDLE;
            end
            default: ;
            endcase
            if (do_drain) begin
                drain_start <= 1'b1; ev_drain <= 1'b1; drain_d <= 0;
                obuf_busy <= 1'b1;
                dbuf <= cb;
                if (OVERLAP_DRAIN != 0) cb <= ~cb;
            end
            if (do_compute) begin
                mac_start <= 1'b1; ev_compute <= 1'b1; feed_t <= 0;
                astate <= A_COMPUTE;
            end
        end
    end
endmodule

`default_nettype wire
