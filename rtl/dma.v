// The shared DMA: executes one op's segment list between external memory and
// one engine (gather into scratchpad lanes for loads, scatter from the output
// buffer for stores).
//
// Segment descriptors live in a ROM loaded from `+segs=PATH` (one 128-bit word
// per line: [31:0] memory byte address, [63:32] length in bytes (>= 1),
// [95:64] engine-local byte address, [96] zero fill). An op is the contiguous
// run `op_seg_start .. op_seg_start + op_seg_count - 1`.
//
// Timing, with g the cycle `op_valid` is high (the grant) and `beats` the op's
// bus beats (docs/microarch.md, dma_setup_cycles = dma_read_done_cycles =
// dma_write_done_cycles = 1):
// - loads: memory requests go out one per cycle from g + 1 with no bubble
//   between segments (the next descriptor is read while the current one is
//   issued); bursts never cross a segment and carry at most MAX_BURST_BEATS.
//   The memory returns the beats in cycles g+1+L .. g+L+beats; each beat is
//   written into the scratchpad in the following cycle; `op_done` is high in
//   cycle g + 1 + L + beats + 1.
// - stores: one write beat per cycle; beat i's output-buffer read is issued
//   in cycle g+1+i and the beat is written to memory in cycle g+2+i;
//   `op_done` is high in cycle g + 1 + beats + 1.
// - an op without segments is done in cycle g + 2.
// The request stream only stalls when REQ_FIFO requests are in flight; since
// every request carries at least one beat and REQ_FIFO > MEM_LATENCY + 2, the
// data stream never starves, so the formulas above hold for any segment list.
//
// Back-pressure (for a memory that is not always ready, e.g. rtl/dram): a
// read request is taken in a cycle with `mem_rd_req_valid && mem_rd_req_ready`
// (valid never depends on ready), up to REQ_FIFO in flight; read data must
// come back in request order. A write beat is held on `mem_wr_*` until
// `mem_wr_ready`; the next output-buffer read is issued only when the beat
// register frees, and a store's `op_done` is the cycle after its last beat is taken.
// With both readies tied high the timing above is unchanged.
//
// A segment of `len` bytes at address a covers beats floor(a/B) ..
// floor((a+len-1)/B); byte lane j of beat x carries memory byte x*B + j and is
// enabled when a <= x*B + j < a + len. Zero segments use a = 0 (as the tile
// program stores them), so they take ceil(len/B) null beats.
`default_nettype none

module dma #(
    parameter integer BUS_BYTES       = 8,
    parameter integer MAX_BURST_BEATS = 16,
    parameter integer MEM_LATENCY     = 20,
    parameter integer ENGINES         = 2,
    parameter integer EW              = (ENGINES > 1) ? $clog2(ENGINES) : 1,
    parameter integer SEG_DEPTH       = 64
) (
    input  wire                   clk,
    input  wire                   rst,
    // op from the arbiter (fields of the granted engine's request)
    input  wire                   op_valid,
    input  wire [EW-1:0]          op_engine,
    input  wire                   op_store,
    input  wire [31:0]            op_seg_start,
    input  wire [31:0]            op_seg_count,
    output reg                    op_done,
    output reg  [EW-1:0]          cur_engine,
    // memory read channel
    output wire                   mem_rd_req_valid,
    input  wire                   mem_rd_req_ready,
    output wire [31:0]            mem_rd_req_beat,
    output wire [31:0]            mem_rd_req_beats,
    output wire                   mem_rd_req_zero,
    input  wire                   mem_rd_valid,
    input  wire [8*BUS_BYTES-1:0] mem_rd_data,
    // memory write channel (data comes straight from the output buffer read)
    output reg                    mem_wr_valid,
    input  wire                   mem_wr_ready,
    output reg  [31:0]            mem_wr_beat,
    output reg  [BUS_BYTES-1:0]   mem_wr_strb,
    output wire [8*BUS_BYTES-1:0] mem_wr_data,
    // scratchpad write port of engine `cur_engine`
    output reg                    spad_we,
    output reg  [31:0]            spad_addr,
    output reg  [BUS_BYTES-1:0]   spad_be,
    output reg  [8*BUS_BYTES-1:0] spad_wdata,
    // output-buffer read port of engine `cur_engine`: bytes addr .. addr+B-1,
    // returned in `obuf_rdata` in the next cycle
    output wire                   obuf_re,
    output wire [31:0]            obuf_addr,
    input  wire [8*BUS_BYTES-1:0] obuf_rdata
);
    localparam integer LB      = $clog2(BUS_BYTES);
    localparam integer REQ_FIFO = MEM_LATENCY + 8;

    reg [127:0] seg_rom [0:SEG_DEPTH-1];
    reg [8*256-1:0] path;
    initial begin
        if ($value$plusargs("segs=%s", path)) $readmemh(path, seg_rom);
    end

    // ---- request generator (one burst or one write beat per cycle) ----
    reg        gen_active, store;
    reg [31:0] cur_a, cur_len, cur_local, cur_x, cur_rem;
    reg        cur_zero;
    reg [31:0] seg_next, seg_left;

    // Descriptor bits above 96 are reserved; the ROM index is 32-bit for any depth.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0]  rom_addr = gen_active ? seg_next : op_seg_start;
    wire [127:0] desc     = seg_rom[rom_addr];
    /* verilator lint_on UNUSEDSIGNAL */
    wire [31:0]  d_a      = desc[31:0];
    wire [31:0]  d_len    = desc[63:32];
    wire [31:0]  d_first  = d_a >> LB;
    wire [31:0]  d_beats  = ((d_a + d_len - 1) >> LB) - d_first + 1;

    // in-flight read requests, in order: first beat, beats, segment a/len/local
    reg [31:0] f_x     [0:REQ_FIFO-1];
    reg [31:0] f_n     [0:REQ_FIFO-1];
    reg [31:0] f_a     [0:REQ_FIFO-1];
    reg [31:0] f_len   [0:REQ_FIFO-1];
    reg [31:0] f_local [0:REQ_FIFO-1];
    integer    f_head, f_tail, f_count;
    reg [31:0] f_beat;  // beats of the head request already received

    wire        wr_free   = !mem_wr_valid || mem_wr_ready;
    wire        can_issue = gen_active && (store ? wr_free : (f_count < REQ_FIFO && mem_rd_req_ready));
    wire [31:0] burst = store ? 32'd1
                      : (cur_rem < MAX_BURST_BEATS ? cur_rem : MAX_BURST_BEATS);
    wire        seg_end = (cur_rem == burst);

    assign mem_rd_req_valid = gen_active && !store && f_count < REQ_FIFO;
    assign mem_rd_req_beat  = cur_x;
    assign mem_rd_req_beats = burst;
    assign mem_rd_req_zero  = cur_zero;
    assign obuf_re          = can_issue && store;
    assign obuf_addr        = cur_local + (cur_x << LB) - cur_a;
    assign mem_wr_data      = obuf_rdata;

    // Byte lanes of beat x that fall inside [a, a + len).
    function [BUS_BYTES-1:0] lanes(input [31:0] x, input [31:0] a, input [31:0] len);
        integer j;
        reg [32:0] b;
        begin
            for (j = 0; j < BUS_BYTES; j = j + 1) begin
                b = {1'b0, x << LB} + j;
                lanes[j] = (b >= {1'b0, a}) && (b < {1'b0, a} + {1'b0, len});
            end
        end
    endfunction

    // ---- receive side: the head request's current beat ----
    wire [31:0] h_x = f_x[f_head] + f_beat;
    wire        h_pop = mem_rd_valid && (f_beat + 1 == f_n[f_head]);
    reg         out_last;   // the output stage holds the op's last beat
    reg         wr_last;    // the write beat register holds a store's last beat

    always @(posedge clk) begin
        if (rst) begin
            gen_active <= 1'b0; store <= 1'b0; op_done <= 1'b0; out_last <= 1'b0; wr_last <= 1'b0;
            spad_we <= 1'b0; mem_wr_valid <= 1'b0; cur_engine <= {EW{1'b0}};
            f_head <= 0; f_tail <= 0; f_count <= 0; f_beat <= 32'd0;
            cur_a <= 0; cur_len <= 0; cur_local <= 0; cur_x <= 0; cur_rem <= 0;
            cur_zero <= 1'b0; seg_next <= 0; seg_left <= 0;
            mem_wr_beat <= 0; mem_wr_strb <= 0;
            spad_addr <= 0; spad_be <= 0; spad_wdata <= 0;
        end else begin
            op_done <= out_last || (mem_wr_valid && mem_wr_ready && wr_last);
            out_last <= 1'b0;
            spad_we <= 1'b0;
            if (wr_free) begin
                mem_wr_valid <= 1'b0;
                wr_last <= 1'b0;
            end

            // A new op (the arbiter only grants while the DMA is idle).
            if (op_valid) begin
                cur_engine <= op_engine;
                store <= op_store;
                if (op_seg_count == 0) out_last <= 1'b1;
                else begin
                    gen_active <= 1'b1;
                    cur_a <= d_a; cur_len <= d_len; cur_local <= desc[95:64];
                    cur_zero <= desc[96]; cur_x <= d_first; cur_rem <= d_beats;
                    seg_next <= op_seg_start + 1; seg_left <= op_seg_count - 1;
                end
            end

            if (can_issue) begin
                if (store) begin
                    mem_wr_valid <= 1'b1;
                    mem_wr_beat <= cur_x;
                    mem_wr_strb <= lanes(cur_x, cur_a, cur_len);
                    wr_last <= seg_end && seg_left == 0;
                end else begin
                    f_x[f_tail] <= cur_x;
                    f_n[f_tail] <= burst;
                    f_a[f_tail] <= cur_a;
                    f_len[f_tail] <= cur_len;
                    f_local[f_tail] <= cur_local;
                    f_tail <= (f_tail + 1) % REQ_FIFO;
                end
                if (seg_end) begin
                    if (seg_left == 0) gen_active <= 1'b0;
                    else begin
                        cur_a <= d_a; cur_len <= d_len; cur_local <= desc[95:64];
                        cur_zero <= desc[96]; cur_x <= d_first; cur_rem <= d_beats;
                        seg_next <= seg_next + 1; seg_left <= seg_left - 1;
                    end
                end else begin
                    cur_x <= cur_x + burst;
                    cur_rem <= cur_rem - burst;
                end
            end

            if (mem_rd_valid) begin
                spad_we <= 1'b1;
                spad_addr <= f_local[f_head] + (h_x << LB) - f_a[f_head];
                spad_be <= lanes(h_x, f_a[f_head], f_len[f_head]);
                spad_wdata <= mem_rd_data;
                if (h_pop) begin
                    f_head <= (f_head + 1) % REQ_FIFO;
                    f_beat <= 32'd0;
                    out_last <= !gen_active && f_count == 1;
                end else f_beat <= f_beat + 1;
            end
            f_count <= f_count + ((can_issue && !store) ? 1 : 0) - (h_pop ? 1 : 0);
        end
    end
endmodule

`default_nettype wire
