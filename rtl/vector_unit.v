// The vector unit: runs the VEC entries of graph workloads (add, relu, clip,
// requant, maxpool, avgpool, globalavgpool, concat, lut, mul;
// docs/microarch.md, "Vector unit"). It is requester ENGINES of the DMA's arbiter.
//
// An entry word (tlm/rtl/image.py) gives m (output pixels), the first output
// pixel p0 (slot 2), the layer's descriptor index (slot 9) and the load_a /
// store_c segment lists. The descriptor ROM (`+vecops=PATH`, one 512-bit word
// per vector layer, layout in tlm/rtl/image.py) holds the op and its shapes.
//
// Cycle behaviour for an entry dispatched in cycle t0 (the `start` pulse):
//   t0                load_a requested (`req` is combinational from `start`)
//   c0 = D_a          the load's `op_done`: work starts (`ev_work`)
//   c0 + W            store_c requested (`ev_work_end`),
//                     W = LATENCY + ceil(work / LANES)
//   D_s               the store's `op_done`: `done` (combinational), idle again
// The datapath takes LANES work elements a cycle from c0 + 1 on (an element
// is an input value of add and mul, a tap of a pool, an input pixel-channel of
// globalavgpool, an output value otherwise); an output is written to the
// output buffer with its last element, so all are there by c0 + W - LATENCY + 1
// <= c0 + W, before the store reads them. Arithmetic: tlm/workload/vector_ops.py.
//
// Buffer layouts of the two-part ops (m x C outputs): lut has its m*C inputs
// at 0 and the 256-byte table (outputs for inputs -128..127) at m*C; mul has
// a at 0 and b at m*C, m*C bytes, or C bytes (one pixel) when the
// descriptor's broadcast bit (bit 144, slot 4 bit 16) is set.
`default_nettype none

module vector_unit #(
    parameter integer LANES     = 16,
    parameter integer LATENCY   = 4,
    parameter integer BUS_BYTES = 8,
    parameter integer ENTRY_W   = 512,
    parameter integer BUF_BYTES = 1024,   // input buffer (load_a)
    parameter integer OUT_BYTES = 1024,   // output buffer (store_c), one int8 an output
    parameter integer VOP_DEPTH = 16,     // descriptor ROM words
    parameter integer MAX_INPUTS = 16
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   start,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ENTRY_W-1:0]     word,     // slots the unit does not use are other blocks'
    /* verilator lint_on UNUSEDSIGNAL */
    output wire                   done,
    output wire                   req,
    output wire [1:0]             req_op,       // 0 load_a, 3 store_c
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
    output wire                   ev_req,
    output wire                   ev_work,
    output wire                   ev_work_end
);
    localparam [1:0] S_IDLE = 2'd0, S_LOAD = 2'd1, S_WORK = 2'd2, S_STORE = 2'd3;
    localparam integer OP_ADD = 1, OP_RELU = 2, OP_CLIP = 3, OP_REQUANT = 4, OP_MAXPOOL = 5,
                       OP_AVGPOOL = 6, OP_GAP = 7, OP_CONCAT = 8, OP_LUT = 12, OP_MUL = 13;

    reg [7:0]  buffer [0:BUF_BYTES-1];
    reg [7:0]  obuf   [0:OUT_BYTES-1];
    reg signed [31:0] acc [0:OUT_BYTES-1];
    reg [511:0] vop_rom [0:VOP_DEPTH-1];
    reg [8*256-1:0] path;
    initial begin
        if ($value$plusargs("vecops=%s", path)) $readmemh(path, vop_rom);
    end

    reg  [1:0]  state;
    reg         req_q;
    reg  [31:0] left;      // work cycles left before the store request
    reg         store_q;   // the store request's first cycle
    reg  [31:0] st_start, st_count;  // the entry's store_c segment list
    // Fields of the running entry and its layer (32-bit for plain arithmetic).
    integer op, kern, strd, pad, h, w, ow, ch, n_in, shamt, lo, hi, mult;
    integer m, p0, iy0, kk, work, item, mc;
    reg     bcast;                    // mul: b is one pixel, applied to every pixel
    integer chans [0:MAX_INPUTS-1];   // channels per input
    integer cbase [0:MAX_INPUTS-1];   // first output channel of each input (concat)
    integer coff  [0:MAX_INPUTS-1];   // buffer address of each input (concat)

    // Entry and descriptor fields beyond those the unit uses are reserved.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [511:0] desc = vop_rom[word[9*32 +: 32]];
    /* verilator lint_on UNUSEDSIGNAL */

    assign req_op      = (state == S_WORK || state == S_STORE) ? 2'd3 : 2'd0;
    assign req         = req_q || (state == S_IDLE && start);
    assign ev_req      = (state == S_IDLE && start) || store_q;
    assign ev_work     = state == S_LOAD && op_done;
    assign ev_work_end = store_q;
    assign done        = state == S_STORE && op_done;

    function integer floordiv(input integer a, input integer d);
        begin
            floordiv = a / d;
            if (a % d != 0 && a < 0) floordiv = floordiv - 1;
        end
    endfunction

    function [7:0] sat8(input integer x);
        begin
            if (x > 127) sat8 = 8'h7f;
            else if (x < -128) sat8 = 8'h80;
            else sat8 = x[7:0];
        end
    endfunction

    function integer sx(input [7:0] b);  // int8 -> integer
        sx = {{24{b[7]}}, b};
    endfunction

    function integer requant(input integer x, input integer mul, input integer sh);
        reg signed [63:0] prod;
        begin
            prod = $signed(x) * $signed(mul);
            prod = prod >>> sh;
            if (prod > 127) requant = 127;
            else if (prod < -128) requant = -128;
            else requant = prod[31:0];
        end
    endfunction

    // x / 2^sh rounded half to even (vector_ops.round_shift), sh = 0..15: one
    // shift of 2x by sh + 1 with the half's bias, one less when the floor is even
    function integer round_shift(input integer x, input integer sh);
        round_shift = ((x <<< 1) + (1 << sh) - 1 + ((x >>> sh) & 1)) >>> (sh + 1);
    endfunction

    // ---- one work element: input value(s) -> accumulator / output ----
    /* verilator lint_off BLKSEQ */
    integer o, t, pl, c, p, iy, ix, v, j;
    /* verilator lint_off UNUSEDSIGNAL */
    integer idx;  // a byte index: only the bits BUF_BYTES needs
    /* verilator lint_on UNUSEDSIGNAL */
    task element(input integer i);
        begin
            case (op)
            OP_ADD, OP_MUL: begin  // a[o] is element 2o, b[o] (broadcast: b[o % C]) 2o + 1
                o = i / 2;
                if (i % 2 == 0) acc[o] = sx(buffer[o]);
                else begin
                    v = sx(buffer[mc + (bcast ? o % ch : o)]);
                    obuf[o] <= sat8(op == OP_ADD ? acc[o] + v : round_shift(acc[o] * v, shamt));
                end
            end
            OP_MAXPOOL, OP_AVGPOOL: begin
                o = i / kk; t = i % kk;
                pl = o / ch; c = o % ch; p = p0 + pl;
                iy = (p / ow) * strd - pad + t / kern;
                ix = (p % ow) * strd - pad + t % kern;
                if (t == 0) acc[o] = (op == OP_MAXPOOL) ? -128 : 0;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) begin
                    v = sx(buffer[((iy - iy0) * w + ix) * ch + c]);
                    if (op == OP_AVGPOOL) acc[o] = acc[o] + v;
                    else if (v > acc[o]) acc[o] = v;
                end
                if (t == kk - 1)
                    obuf[o] <= sat8(op == OP_AVGPOOL ? floordiv(acc[o], kk) : acc[o]);
            end
            OP_GAP: begin
                c = i % ch;
                v = sx(buffer[i]);
                acc[c] = (i < ch) ? v : acc[c] + v;
                if (i / ch == h * w - 1) obuf[c] <= sat8(floordiv(acc[c], h * w));
            end
            OP_CONCAT: begin  // inputs lie one after the other: m x chans[j] bytes each
                pl = i / ch; c = i % ch; idx = 0;
                for (j = 0; j < MAX_INPUTS; j = j + 1)
                    if (j < n_in && c >= cbase[j] && c < cbase[j] + chans[j])
                        idx = coff[j] + pl * chans[j] + c - cbase[j];
                obuf[i] <= buffer[idx];
            end
            OP_LUT: begin
                obuf[i] <= buffer[mc + {24'd0, ~buffer[i][7], buffer[i][6:0]}];  // x + 128
            end
            OP_RELU: begin
                v = sx(buffer[i]);
                obuf[i] <= (v < 0) ? 8'd0 : buffer[i];
            end
            OP_CLIP: begin
                v = sx(buffer[i]);
                obuf[i] <= sat8(v < lo ? lo : (v > hi ? hi : v));
            end
            OP_REQUANT: begin
                obuf[i] <= sat8(requant(sx(buffer[i]), mult, shamt));
            end
            default: ;  // refused before any run (tlm/rtl/image.py)
            endcase
        end
    endtask

    integer l, b;
    always @(posedge clk) begin
        if (state == S_WORK)
            for (l = 0; l < LANES; l = l + 1)
                if (item + l < work) element(item + l);
        if (state == S_WORK) item <= item + LANES;
        if (spad_we)
            for (b = 0; b < BUS_BYTES; b = b + 1)
                if (spad_be[b]) buffer[spad_addr + b] <= spad_wdata[8*b +: 8];
        if (obuf_re)
            for (b = 0; b < BUS_BYTES; b = b + 1)
                obuf_rdata[8*b +: 8] <= (obuf_addr + b < OUT_BYTES) ? obuf[obuf_addr + b] : 8'd0;
    end

    // ---- controller ----
    reg [31:0] cyc;
    integer q;
    always @(posedge clk) begin
        if (rst) begin
            state <= S_IDLE; req_q <= 1'b0; left <= 32'd0; store_q <= 1'b0;
            req_seg_start <= 32'd0; req_seg_count <= 32'd0;
        end else begin
            if (grant) req_q <= 1'b0;
            store_q <= 1'b0;
            case (state)
            S_IDLE: if (start) begin
                req_q <= 1'b1;
                req_seg_start <= word[7*32 +: 32];
                req_seg_count <= word[8*32 +: 32];
                st_start <= word[13*32 +: 32];
                st_count <= word[14*32 +: 32];
                state <= S_LOAD;
                // the layer's descriptor and the entry's place in it
                op = {24'd0, desc[7:0]}; kern = {24'd0, desc[15:8]};
                strd = {24'd0, desc[23:16]}; pad = {24'd0, desc[31:24]};
                h = {16'd0, desc[47:32]}; w = {16'd0, desc[63:48]}; ow = {16'd0, desc[95:80]};
                ch = {16'd0, desc[111:96]}; n_in = {24'd0, desc[119:112]};
                shamt = {24'd0, desc[127:120]};
                lo = sx(desc[135:128]); hi = sx(desc[143:136]);
                mult = desc[191:160];
                bcast = op == OP_MUL && desc[144];
                m = {16'd0, word[47:32]}; p0 = word[2*32 +: 32];
                q = 0;
                for (j = 0; j < MAX_INPUTS; j = j + 1) begin
                    chans[j] = {16'd0, desc[256 + 16*j +: 16]};
                    cbase[j] = q;
                    coff[j] = m * q;
                    q = q + chans[j];
                end
                kk = kern * kern;
                mc = m * ch;  // where lut's table and mul's b start
                iy0 = (p0 / ow) * strd - pad;
                if (iy0 < 0) iy0 = 0;
                if (op == OP_ADD || op == OP_MUL) work = 2 * m * ch;
                else if (op == OP_MAXPOOL || op == OP_AVGPOOL) work = m * ch * kk;
                else if (op == OP_GAP) work = h * w * ch;
                else work = m * ch;
            end
            S_LOAD: if (op_done) begin
                // W >= 2: LATENCY >= 1 and every entry has work
                cyc = LATENCY + (work + LANES - 1) / LANES;
                item <= 0;
                left <= cyc[31:0] - 32'd1;
                state <= S_WORK;
            end
            S_WORK: begin
                left <= left - 32'd1;
                if (left == 32'd1) begin
                    req_q <= 1'b1; store_q <= 1'b1;
                    req_seg_start <= st_start; req_seg_count <= st_count;
                    state <= S_STORE;
                end
            end
            default: if (op_done) state <= S_IDLE;  // S_STORE
            endcase
        end
    end
    /* verilator lint_on BLKSEQ */

endmodule

`default_nettype wire
