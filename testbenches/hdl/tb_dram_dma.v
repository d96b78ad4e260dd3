// Testbench top of the DMA in front of the DRAM memory system
// (rtl/dram/dram_ctrl.v, with back-pressure), otherwise as tb_dma.v: dma + one
// engine-side scratchpad and output buffer (byte arrays). The clock is generated here; cocotb only
// drives one op at a time (`op_*`) and reads the cycles of its grant and done.
// `+spad=`/`+obuf=` load the engine-side arrays, `+mem=` and `+segs=` the
// memory and the descriptor ROM; a `dump` pulse writes memory and scratchpad
// to `+dump_mem=` / `+dump_spad=`.
`timescale 1ns/1ps
`default_nettype none

module tb_dram_dma #(
    parameter integer BUS_BYTES       = 8,
    parameter integer MAX_BURST_BEATS = 4,
    parameter integer MEM_LATENCY     = 5,
    parameter integer MEM_BYTES       = 4096,
    parameter integer SEG_DEPTH       = 256,
    parameter integer SPAD_BYTES      = 1024,
    parameter integer OBUF_BYTES      = 256,
    parameter integer BANKS           = 2,
    parameter integer ROW_BYTES       = 64,
    parameter integer MAPPING         = 0,
    parameter integer T_REFI          = 0,
    parameter integer PAGE_OPEN       = 1,
    parameter integer QUEUE_DEPTH     = 2,
    parameter integer FRFCFS          = 1
) (
    input  wire        rst,
    input  wire        op_valid,
    input  wire        op_store,
    input  wire [31:0] op_seg_start,
    input  wire [31:0] op_seg_count,
    input  wire        dump,
    output reg         clk,
    output reg  [31:0] cycle,
    output reg  [31:0] grant_cycle,
    output reg  [31:0] done_cycle,
    output wire        op_done,
    output wire        mem_err
);
    initial clk = 1'b0;
    always #5 clk = ~clk;

    wire        rq_valid, rq_ready, rq_zero, rd_valid, wr_valid, wr_ready, spad_we, obuf_re;
    wire [31:0] rq_beat, rq_beats, wr_beat, spad_addr, obuf_addr;
    wire [BUS_BYTES-1:0] wr_strb, spad_be;
    wire [8*BUS_BYTES-1:0] rd_data, wr_data, spad_wdata;
    reg  [8*BUS_BYTES-1:0] obuf_rdata;
    wire engine_unused;

    /* verilator lint_off UNUSEDSIGNAL */
    wire        cmd_valid, ev_valid;
    wire [31:0] cmd_cycle, cmd_row, cmd_beats;
    wire [2:0]  cmd_kind;
    wire [4:0]  cmd_bank;
    wire [1:0]  ev_kind;
    /* verilator lint_on UNUSEDSIGNAL */
    dram_ctrl #(.BUS_BYTES(BUS_BYTES), .MAX_BURST_BEATS(MAX_BURST_BEATS), .MEM_BYTES(MEM_BYTES),
                .BANKS(BANKS), .ROW_BYTES(ROW_BYTES), .MAPPING(MAPPING), .T_REFI(T_REFI), .T_RFC(20),
                .PAGE_OPEN(PAGE_OPEN), .QUEUE_DEPTH(QUEUE_DEPTH), .FRFCFS(FRFCFS)) u_mem (
        .clk(clk), .rst(rst),
        .rd_req_valid(rq_valid), .rd_req_ready(rq_ready), .rd_req_beat(rq_beat),
        .rd_req_beats(rq_beats), .rd_req_zero(rq_zero), .rd_valid(rd_valid), .rd_data(rd_data),
        .wr_valid(wr_valid), .wr_ready(wr_ready), .wr_beat(wr_beat), .wr_strb(wr_strb),
        .wr_data(wr_data), .err(mem_err),
        .cmd_valid(cmd_valid), .cmd_cycle(cmd_cycle), .cmd_kind(cmd_kind), .cmd_bank(cmd_bank),
        .cmd_row(cmd_row), .cmd_beats(cmd_beats), .ev_valid(ev_valid), .ev_kind(ev_kind));

    dma #(.BUS_BYTES(BUS_BYTES), .MAX_BURST_BEATS(MAX_BURST_BEATS),
          .MEM_LATENCY(MEM_LATENCY), .ENGINES(1), .SEG_DEPTH(SEG_DEPTH)) u_dma (
        .clk(clk), .rst(rst),
        .op_valid(op_valid), .op_engine(1'b0), .op_store(op_store),
        .op_seg_start(op_seg_start), .op_seg_count(op_seg_count),
        .op_done(op_done), .cur_engine(engine_unused),
        .mem_rd_req_valid(rq_valid), .mem_rd_req_ready(rq_ready), .mem_rd_req_beat(rq_beat),
        .mem_rd_req_beats(rq_beats), .mem_rd_req_zero(rq_zero),
        .mem_rd_valid(rd_valid), .mem_rd_data(rd_data),
        .mem_wr_valid(wr_valid), .mem_wr_ready(wr_ready), .mem_wr_beat(wr_beat), .mem_wr_strb(wr_strb),
        .mem_wr_data(wr_data),
        .spad_we(spad_we), .spad_addr(spad_addr), .spad_be(spad_be), .spad_wdata(spad_wdata),
        .obuf_re(obuf_re), .obuf_addr(obuf_addr), .obuf_rdata(obuf_rdata));

    reg [7:0] spad [0:SPAD_BYTES-1];
    reg [7:0] obuf [0:OBUF_BYTES-1];
    reg [8*256-1:0] path;
    integer j;
    initial begin
        if ($value$plusargs("spad=%s", path)) $readmemh(path, spad);
        if ($value$plusargs("obuf=%s", path)) $readmemh(path, obuf);
    end

    always @(posedge clk) begin
        if (rst) begin
            cycle <= 0; grant_cycle <= 0; done_cycle <= 0;
        end else begin
            cycle <= cycle + 1;
            if (op_valid) grant_cycle <= cycle;
            if (op_done) done_cycle <= cycle;
        end
        if (spad_we)
            for (j = 0; j < BUS_BYTES; j = j + 1)
                if (spad_be[j]) spad[spad_addr + j] <= spad_wdata[8*j +: 8];
        if (obuf_re)
            for (j = 0; j < BUS_BYTES; j = j + 1)
                obuf_rdata[8*j +: 8] <= (obuf_addr + j < OBUF_BYTES) ? obuf[obuf_addr + j] : 8'h00;
        if (dump) begin
            if ($value$plusargs("dump_mem=%s", path)) u_mem.dump(path);
            if ($value$plusargs("dump_spad=%s", path)) $writememh(path, spad);
        end
    end
endmodule

`default_nettype wire
