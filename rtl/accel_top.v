// accel_top: the accelerator system — tile scheduler, ENGINES engines (each a
// controller, scratchpad and R x C MAC array), the round-robin arbiter, the
// shared DMA and the external memory model.
//
// Parameters: the arch-derived ones (names of `Arch.rtl_parameters()`), and
// the image sizes of one program (tlm/rtl/image.py): N_DEPTH entries,
// LIST_DEPTH pred/succ indices, SEG_DEPTH segment descriptors, MEM_BYTES of
// memory. Contents come from plusargs: +entries= +preds= +succs= +segs= +mem=.
// OVERLAP_DRAIN = 1 (with DOUBLE_BUFFER = 1) gives their arrays output
// registers, so a compute may start while the previous tile drains.
// DOUBLE_BUFFER = 1 builds the double-buffered engines (`engine_db`) and lets
// the scheduler give each engine up to two tiles. DATAFLOW = 1 builds
// weight-stationary engines (`mac_array_ws`, TILE_ROWS A rows per tile).
//
// `start` (one cycle, or held) begins the run: that cycle is cycle 0 of the
// free-running `cycle` counter. `done` rises in the cycle the last completion
// ends (its `cycle` value is the run's length); `deadlock` is high when
// nothing can happen any more with entries unfinished. The ev_* outputs are
// the trace strobes of the blocks (see each block's header for their cycles);
// the testbench turns them into a log.
//
// HAS_VECTOR = 1 (a program with VEC entries, tlm/rtl/image.py) adds the
// vector unit (rtl/vector_unit.v, VEC_* parameters) as DMA requester ENGINES,
// after the engines; its strobes are the ev_v* outputs, and a vector dispatch
// shows on ev_disp with ev_disp_engine = ENGINES. With HAS_VECTOR = 0 nothing
// of it is built and every width is as without it.
//
// The memory behind the DMA: MEM_KIND 0 is the fixed-latency model
// (rtl/memory.v, MEM_LATENCY); MEM_KIND 1 the DRAM controller and device model
// (rtl/dram/dram_ctrl.v) built with the DRAM_* parameters (a hardware file's
// [dram] section, tlm/rtl/hardware.py). Either instance is `g_mem.u_mem`.
`default_nettype none

module accel_top #(
    parameter integer ROWS            = 4,
    parameter integer COLS            = 4,
    parameter integer ENGINES         = 2,
    parameter integer TABLE_DEPTH     = 16,
    parameter integer BUS_BYTES       = 8,
    parameter integer MAX_BURST_BEATS = 16,
    parameter integer MEM_LATENCY     = 20,
    parameter integer KMAX            = 8184,
    parameter integer DOUBLE_BUFFER   = 0,
    parameter integer DATAFLOW        = 0,
    parameter integer TILE_ROWS       = 4,
    parameter integer OVERLAP_DRAIN   = 0,
    parameter integer REUSE_SLOTS     = 1,   // B blocks resident per engine ([engine] reuse_slots)
    parameter integer N_DEPTH         = 64,
    parameter integer LIST_DEPTH      = 64,
    parameter integer SEG_DEPTH       = 256,
    parameter integer MEM_BYTES       = 65536,
    parameter integer MEM_KIND        = 0,
    parameter integer DRAM_BANKS      = 8,
    parameter integer DRAM_ROW_BYTES  = 1024,
    parameter integer DRAM_MAPPING    = 0,
    parameter integer DRAM_T_RCD      = 7,
    parameter integer DRAM_T_RP       = 7,
    parameter integer DRAM_T_CL       = 9,
    parameter integer DRAM_T_CWL      = 5,
    parameter integer DRAM_T_RAS      = 18,
    parameter integer DRAM_T_WR       = 8,
    parameter integer DRAM_T_WTR      = 4,
    parameter integer DRAM_T_RTW      = 3,
    parameter integer DRAM_T_REFI     = 1950,
    parameter integer DRAM_T_RFC      = 60,
    parameter integer DRAM_PAGE_OPEN  = 1,
    parameter integer DRAM_QUEUE_DEPTH = 8,
    parameter integer DRAM_FRFCFS     = 1,
    parameter integer HAS_VECTOR      = 0,
    parameter integer VEC_LANES       = 16,
    parameter integer VEC_LATENCY     = 4,
    parameter integer VEC_BUF_BYTES   = 1024,
    parameter integer VEC_OUT_BYTES   = 1024,
    parameter integer VOP_DEPTH       = 16,
    // derived, not meant to be overridden: engine-index width, DMA requesters and their index width
    parameter integer EW              = (ENGINES > 1) ? $clog2(ENGINES) : 1,
    parameter integer REQS            = ENGINES + (HAS_VECTOR != 0 ? 1 : 0),
    parameter integer RW              = (REQS > 1) ? $clog2(REQS) : 1
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 start,
    input  wire [31:0]          n_entries,
    output wire                 done,
    output wire                 deadlock,
    output reg  [31:0]          cycle,
    output wire                 mem_err,
    // trace strobes
    output wire                 ev_ready,
    output wire [31:0]          ev_ready_entry,
    output wire                 ev_complete,
    output wire [31:0]          ev_complete_entry,
    output wire [31:0]          ev_complete_succs,
    output wire                 ev_disp,
    output wire [31:0]          ev_disp_entry,
    output wire [RW-1:0]        ev_disp_engine,
    output wire                 ev_grant,
    output wire [RW-1:0]        ev_grant_engine,
    output wire                 ev_dma_done,
    output wire [RW-1:0]        ev_dma_engine,
    output wire [ENGINES-1:0]   ev_req,
    output wire [2*ENGINES-1:0] ev_req_op,
    output wire [ENGINES-1:0]   ev_compute,
    output wire [ENGINES-1:0]   ev_compute_end,
    output wire [ENGINES-1:0]   ev_drain,
    output wire [ENGINES-1:0]   ev_eng_done,
    output wire                 ev_vreq,
    output wire [1:0]           ev_vreq_op,
    output wire                 ev_vwork,
    output wire                 ev_vwork_end
);
    localparam integer ENTRY_W = 512;

    reg running;
    always @(posedge clk) begin
        if (rst) begin
            running <= 1'b0;
            cycle <= 32'd0;
        end else if (start || running) begin
            running <= 1'b1;
            cycle <= cycle + 32'd1;
        end
    end

    // ---- scheduler ----
    wire [ENGINES-1:0] eng_done;
    wire               disp_valid;
    wire [EW-1:0]      disp_engine;
    wire [31:0]        disp_entry;
    wire [ENTRY_W-1:0] disp_word;
    wire               vdisp_valid;
    wire               vec_done;

    tile_scheduler #(.ENGINES(ENGINES), .TABLE_DEPTH(TABLE_DEPTH), .N_DEPTH(N_DEPTH),
                     .LIST_DEPTH(LIST_DEPTH), .ENTRY_W(ENTRY_W), .DOUBLE_BUFFER(DOUBLE_BUFFER)) u_sched (
        .clk(clk), .rst(rst), .start(start), .n_entries(n_entries), .eng_done(eng_done),
        .vec_done(vec_done), .vdisp_valid(vdisp_valid), .disp_valid(disp_valid), .disp_engine(disp_engine), .disp_entry(disp_entry),
        .disp_word(disp_word), .all_done(done), .deadlock(deadlock),
        .ev_ready(ev_ready), .ev_ready_entry(ev_ready_entry), .ev_complete(ev_complete),
        .ev_complete_entry(ev_complete_entry), .ev_complete_succs(ev_complete_succs));

    // ---- arbiter + DMA ----
    // requesters: the engines, then (HAS_VECTOR) the vector unit
    wire [REQS-1:0]    eng_req;
    wire [2*REQS-1:0]  eng_req_op;
    wire [32*REQS-1:0] eng_seg_start, eng_seg_count;
    wire [8*BUS_BYTES*REQS-1:0] eng_obuf_rdata;
    wire          grant_valid;
    wire [RW-1:0] grant_engine;
    wire          dma_done;
    wire [RW-1:0] dma_engine;

    arbiter #(.ENGINES(REQS)) u_arb (
        .clk(clk), .rst(rst), .req(eng_req), .dma_done(dma_done),
        .grant_valid(grant_valid), .grant_engine(grant_engine));

    wire        rq_valid, rq_ready, rq_zero, rd_valid, wr_valid, wr_ready, spad_we, obuf_re;
    wire [31:0] rq_beat, rq_beats, wr_beat, spad_addr, obuf_addr;
    wire [BUS_BYTES-1:0]   wr_strb, spad_be;
    wire [8*BUS_BYTES-1:0] rd_data, wr_data, spad_wdata;
    wire [8*BUS_BYTES-1:0] obuf_rdata = eng_obuf_rdata[8*BUS_BYTES*dma_engine +: 8*BUS_BYTES];

    dma #(.BUS_BYTES(BUS_BYTES), .MAX_BURST_BEATS(MAX_BURST_BEATS), .MEM_LATENCY(MEM_LATENCY),
          .ENGINES(REQS), .SEG_DEPTH(SEG_DEPTH)) u_dma (
        .clk(clk), .rst(rst),
        .op_valid(grant_valid), .op_engine(grant_engine),
        .op_store(eng_req_op[2*grant_engine +: 2] == 2'd3),
        .op_seg_start(eng_seg_start[32*grant_engine +: 32]),
        .op_seg_count(eng_seg_count[32*grant_engine +: 32]),
        .op_done(dma_done), .cur_engine(dma_engine),
        .mem_rd_req_valid(rq_valid), .mem_rd_req_ready(rq_ready), .mem_rd_req_beat(rq_beat),
        .mem_rd_req_beats(rq_beats),
        .mem_rd_req_zero(rq_zero), .mem_rd_valid(rd_valid), .mem_rd_data(rd_data),
        .mem_wr_valid(wr_valid), .mem_wr_ready(wr_ready), .mem_wr_beat(wr_beat), .mem_wr_strb(wr_strb), .mem_wr_data(wr_data),
        .spad_we(spad_we), .spad_addr(spad_addr), .spad_be(spad_be), .spad_wdata(spad_wdata),
        .obuf_re(obuf_re), .obuf_addr(obuf_addr), .obuf_rdata(obuf_rdata));

    generate
        if (MEM_KIND == 0) begin : g_mem
            assign rq_ready = 1'b1;
            assign wr_ready = 1'b1;
            memory #(.BUS_BYTES(BUS_BYTES), .MAX_BURST_BEATS(MAX_BURST_BEATS), .MEM_LATENCY(MEM_LATENCY),
                     .MEM_BYTES(MEM_BYTES)) u_mem (
                .clk(clk), .rst(rst),
                .rd_req_valid(rq_valid), .rd_req_beat(rq_beat), .rd_req_beats(rq_beats),
                .rd_req_zero(rq_zero), .rd_valid(rd_valid), .rd_data(rd_data),
                .wr_valid(wr_valid), .wr_beat(wr_beat), .wr_strb(wr_strb), .wr_data(wr_data),
                .err(mem_err));
        end else begin : g_mem
            // Command-bus monitor outputs, for testbenches that probe them.
            /* verilator lint_off UNUSEDSIGNAL */
            wire        cmd_valid, ev_valid;
            wire [31:0] cmd_cycle, cmd_row, cmd_beats;
            wire [2:0]  cmd_kind;
            wire [4:0]  cmd_bank;
            wire [1:0]  ev_kind;
            /* verilator lint_on UNUSEDSIGNAL */
            dram_ctrl #(.BUS_BYTES(BUS_BYTES), .MAX_BURST_BEATS(MAX_BURST_BEATS), .MEM_BYTES(MEM_BYTES),
                        .BANKS(DRAM_BANKS), .ROW_BYTES(DRAM_ROW_BYTES), .MAPPING(DRAM_MAPPING),
                        .T_RCD(DRAM_T_RCD), .T_RP(DRAM_T_RP), .T_CL(DRAM_T_CL), .T_CWL(DRAM_T_CWL),
                        .T_RAS(DRAM_T_RAS), .T_WR(DRAM_T_WR), .T_WTR(DRAM_T_WTR), .T_RTW(DRAM_T_RTW),
                        .T_REFI(DRAM_T_REFI), .T_RFC(DRAM_T_RFC), .PAGE_OPEN(DRAM_PAGE_OPEN),
                        .QUEUE_DEPTH(DRAM_QUEUE_DEPTH), .FRFCFS(DRAM_FRFCFS)) u_mem (
                .clk(clk), .rst(rst),
                .rd_req_valid(rq_valid), .rd_req_ready(rq_ready), .rd_req_beat(rq_beat),
                .rd_req_beats(rq_beats), .rd_req_zero(rq_zero), .rd_valid(rd_valid), .rd_data(rd_data),
                .wr_valid(wr_valid), .wr_ready(wr_ready), .wr_beat(wr_beat), .wr_strb(wr_strb),
                .wr_data(wr_data), .err(mem_err),
                .cmd_valid(cmd_valid), .cmd_cycle(cmd_cycle), .cmd_kind(cmd_kind), .cmd_bank(cmd_bank),
                .cmd_row(cmd_row), .cmd_beats(cmd_beats), .ev_valid(ev_valid), .ev_kind(ev_kind));
        end
    endgenerate

    // ---- engines ----
    genvar ge;
    generate
        for (ge = 0; ge < ENGINES; ge = ge + 1) begin : eng
            wire [1:0] op;
            if (DOUBLE_BUFFER != 0) begin : g_db
                engine_db #(.ROWS(ROWS), .COLS(COLS), .KMAX(KMAX), .BUS_BYTES(BUS_BYTES),
                            .ENTRY_W(ENTRY_W), .DATAFLOW(DATAFLOW), .TILE_ROWS(TILE_ROWS),
                            .OVERLAP_DRAIN(OVERLAP_DRAIN)) u_engine (
                    .clk(clk), .rst(rst),
                    .start(disp_valid && disp_engine == ge), .word(disp_word), .done(eng_done[ge]),
                    .req(eng_req[ge]), .req_op(op),
                    .req_seg_start(eng_seg_start[32*ge +: 32]), .req_seg_count(eng_seg_count[32*ge +: 32]),
                    .grant(grant_valid && grant_engine == ge), .op_done(dma_done && dma_engine == ge),
                    .spad_we(spad_we && dma_engine == ge), .spad_addr(spad_addr), .spad_be(spad_be),
                    .spad_wdata(spad_wdata),
                    .obuf_re(obuf_re && dma_engine == ge), .obuf_addr(obuf_addr),
                    .obuf_rdata(eng_obuf_rdata[8*BUS_BYTES*ge +: 8*BUS_BYTES]),
                    .ev_req(ev_req[ge]), .ev_compute(ev_compute[ge]), .ev_compute_end(ev_compute_end[ge]),
                    .ev_drain(ev_drain[ge]));
            end else begin : g_sb
                engine #(.ROWS(ROWS), .COLS(COLS), .KMAX(KMAX), .BUS_BYTES(BUS_BYTES),
                         .ENTRY_W(ENTRY_W), .DATAFLOW(DATAFLOW), .TILE_ROWS(TILE_ROWS),
                         .REUSE_SLOTS(REUSE_SLOTS)) u_engine (
                    .clk(clk), .rst(rst),
                    .start(disp_valid && disp_engine == ge), .word(disp_word), .done(eng_done[ge]),
                    .req(eng_req[ge]), .req_op(op),
                    .req_seg_start(eng_seg_start[32*ge +: 32]), .req_seg_count(eng_seg_count[32*ge +: 32]),
                    .grant(grant_valid && grant_engine == ge), .op_done(dma_done && dma_engine == ge),
                    .spad_we(spad_we && dma_engine == ge), .spad_addr(spad_addr), .spad_be(spad_be),
                    .spad_wdata(spad_wdata),
                    .obuf_re(obuf_re && dma_engine == ge), .obuf_addr(obuf_addr),
                    .obuf_rdata(eng_obuf_rdata[8*BUS_BYTES*ge +: 8*BUS_BYTES]),
                    .ev_req(ev_req[ge]), .ev_compute(ev_compute[ge]), .ev_compute_end(ev_compute_end[ge]),
                    .ev_drain(ev_drain[ge]));
            end
            assign eng_req_op[2*ge +: 2] = op;
        end
    endgenerate

    // ---- vector unit ----
    localparam integer  VIDX_I = ENGINES;
    localparam [RW-1:0] VIDX   = VIDX_I[RW-1:0];
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] disp_engine32 = {{(32-EW){1'b0}}, disp_engine};  // widened to RW bits below
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (HAS_VECTOR != 0) begin : g_vec
            wire [1:0] op;
            vector_unit #(.LANES(VEC_LANES), .LATENCY(VEC_LATENCY), .BUS_BYTES(BUS_BYTES),
                          .ENTRY_W(ENTRY_W), .BUF_BYTES(VEC_BUF_BYTES), .OUT_BYTES(VEC_OUT_BYTES),
                          .VOP_DEPTH(VOP_DEPTH)) u_vec (
                .clk(clk), .rst(rst), .start(vdisp_valid), .word(disp_word), .done(vec_done),
                .req(eng_req[ENGINES]), .req_op(op),
                .req_seg_start(eng_seg_start[32*ENGINES +: 32]),
                .req_seg_count(eng_seg_count[32*ENGINES +: 32]),
                .grant(grant_valid && grant_engine == VIDX), .op_done(dma_done && dma_engine == VIDX),
                .spad_we(spad_we && dma_engine == VIDX), .spad_addr(spad_addr), .spad_be(spad_be),
                .spad_wdata(spad_wdata),
                .obuf_re(obuf_re && dma_engine == VIDX), .obuf_addr(obuf_addr),
                .obuf_rdata(eng_obuf_rdata[8*BUS_BYTES*ENGINES +: 8*BUS_BYTES]),
                .ev_req(ev_vreq), .ev_work(ev_vwork), .ev_work_end(ev_vwork_end));
            assign eng_req_op[2*ENGINES +: 2] = op;
            assign ev_vreq_op = op;
        end else begin : g_novec
            assign vec_done = 1'b0;
            assign ev_vreq = 1'b0;
            assign ev_vreq_op = 2'd0;
            assign ev_vwork = 1'b0;
            assign ev_vwork_end = 1'b0;
        end
    endgenerate

    assign ev_req_op       = eng_req_op[2*ENGINES-1:0];
    assign ev_eng_done     = eng_done;
    assign ev_disp         = disp_valid || vdisp_valid;
    assign ev_disp_entry   = disp_entry;
    assign ev_disp_engine  = vdisp_valid ? VIDX : disp_engine32[RW-1:0];
    assign ev_grant        = grant_valid;
    assign ev_grant_engine = grant_engine;
    assign ev_dma_done     = dma_done;
    assign ev_dma_engine   = dma_engine;
endmodule

`default_nettype wire
