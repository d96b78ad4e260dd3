// Testbench top of the DRAM memory system (rtl/dram/dram_ctrl.v): generates
// the clock, counts cycles (`cycle` equals the controller's own cycle index)
// and logs to `+dram_log=PATH`, one line per event, cycle first:
//   A c beat beats zero   read request accepted     W c beat   write beat accepted
//   B c data              read beat returned (hex)  E c kind   first column command
//   K c kind bank row beats   command issued in cycle c (1 ACT 2 RD 3 WR 4 PRE 5 REF)
//   ERR c                 the controller's error flag
// cocotb drives the request channels; a `dump` pulse writes the storage to
// `+dump_mem=PATH`.
`timescale 1ns/1ps
`default_nettype none

module tb_dram #(
    parameter integer BUS_BYTES       = 8,
    parameter integer MAX_BURST_BEATS = 8,
    parameter integer MEM_BYTES       = 16384,
    parameter integer BANKS           = 4,
    parameter integer ROW_BYTES       = 256,
    parameter integer MAPPING         = 0,
    parameter integer T_RCD           = 7,
    parameter integer T_RP            = 7,
    parameter integer T_CL            = 9,
    parameter integer T_CWL           = 5,
    parameter integer T_RAS           = 18,
    parameter integer T_WR            = 8,
    parameter integer T_WTR           = 4,
    parameter integer T_RTW           = 3,
    parameter integer T_REFI          = 0,
    parameter integer T_RFC           = 60,
    parameter integer PAGE_OPEN       = 1,
    parameter integer QUEUE_DEPTH     = 8,
    parameter integer FRFCFS          = 1
) (
    input  wire                   rst,
    input  wire                   rd_req_valid,
    input  wire [31:0]            rd_req_beat,
    input  wire [31:0]            rd_req_beats,
    input  wire                   rd_req_zero,
    input  wire                   wr_valid,
    input  wire [31:0]            wr_beat,
    input  wire [BUS_BYTES-1:0]   wr_strb,
    input  wire [8*BUS_BYTES-1:0] wr_data,
    input  wire                   dump,
    output reg                    clk,
    output reg  [31:0]            cycle,
    output wire                   rd_req_ready,
    output wire                   wr_ready,
    output wire                   rd_valid,
    output wire [8*BUS_BYTES-1:0] rd_data,
    output wire                   err
);
    initial clk = 1'b0;
    always #5 clk = ~clk;

    wire        cmd_valid, ev_valid;
    wire [31:0] cmd_cycle, cmd_row, cmd_beats;
    wire [2:0]  cmd_kind;
    wire [4:0]  cmd_bank;
    wire [1:0]  ev_kind;

    dram_ctrl #(.BUS_BYTES(BUS_BYTES), .MAX_BURST_BEATS(MAX_BURST_BEATS), .MEM_BYTES(MEM_BYTES),
                .BANKS(BANKS), .ROW_BYTES(ROW_BYTES), .MAPPING(MAPPING), .T_RCD(T_RCD), .T_RP(T_RP),
                .T_CL(T_CL), .T_CWL(T_CWL), .T_RAS(T_RAS), .T_WR(T_WR), .T_WTR(T_WTR), .T_RTW(T_RTW),
                .T_REFI(T_REFI), .T_RFC(T_RFC), .PAGE_OPEN(PAGE_OPEN), .QUEUE_DEPTH(QUEUE_DEPTH),
                .FRFCFS(FRFCFS)) u_mem (
        .clk(clk), .rst(rst),
        .rd_req_valid(rd_req_valid), .rd_req_ready(rd_req_ready), .rd_req_beat(rd_req_beat),
        .rd_req_beats(rd_req_beats), .rd_req_zero(rd_req_zero), .rd_valid(rd_valid), .rd_data(rd_data),
        .wr_valid(wr_valid), .wr_ready(wr_ready), .wr_beat(wr_beat), .wr_strb(wr_strb),
        .wr_data(wr_data), .err(err),
        .cmd_valid(cmd_valid), .cmd_cycle(cmd_cycle), .cmd_kind(cmd_kind), .cmd_bank(cmd_bank),
        .cmd_row(cmd_row), .cmd_beats(cmd_beats), .ev_valid(ev_valid), .ev_kind(ev_kind));

    integer fd;
    reg [8*256-1:0] path;
    initial begin
        fd = 0;
        if ($value$plusargs("dram_log=%s", path)) fd = $fopen(path, "w");
    end

    always @(posedge clk) begin
        if (rst) cycle <= 0;
        else begin
            cycle <= cycle + 1;
            if (rd_req_valid && rd_req_ready)
                $fwrite(fd, "A %0d %0d %0d %0d\n", cycle, rd_req_beat, rd_req_beats, rd_req_zero);
            if (wr_valid && wr_ready) $fwrite(fd, "W %0d %0d\n", cycle, wr_beat);
            if (rd_valid) $fwrite(fd, "B %0d %h\n", cycle, rd_data);
            if (cmd_valid)
                $fwrite(fd, "K %0d %0d %0d %0d %0d\n", cmd_cycle, cmd_kind, cmd_bank, cmd_row, cmd_beats);
            if (ev_valid) $fwrite(fd, "E %0d %0d\n", cycle - 1, ev_kind);
            if (err) $fwrite(fd, "ERR %0d\n", cycle);
        end
        if (dump) begin
            if ($value$plusargs("dump_mem=%s", path)) u_mem.dump(path);
            $fflush(fd);
        end
    end
endmodule

`default_nettype wire
