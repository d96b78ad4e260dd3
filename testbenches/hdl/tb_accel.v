// Testbench top of the whole accelerator: generates the clock, passes the
// program images to accel_top (plusargs, see rtl/accel_top.v), and writes one
// log line per trace strobe to `+trace_log=PATH`, the cycle first:
//   R c x       entry x in the ready queue        D c x e   tile x starts on e
//   Q c e op    engine e requests DMA op (0..3)   G c e     DMA grant to e
//   F c e       DMA op of e done                  S c e     compute starts
//   E c e       compute ends                      W c e     drain starts
//   X c e       engine e reports done             C c x n   completion of x chosen
//                                                           (n successors)
//   V c         vector unit's work starts         Y c       ... its work ends
//   (the vector unit's requests are Q lines with e = ENGINES)
//   END c / DEADLOCK c
// At the end the memory is written to `+dump_mem=PATH` and `finished` rises;
// cocotb only drives `rst`/`start` and waits for `finished`.
`timescale 1ns/1ps
`default_nettype none

module tb_accel #(
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
    parameter integer REUSE_SLOTS     = 1,
    parameter integer N_DEPTH         = 64,
    parameter integer LIST_DEPTH      = 64,
    parameter integer SEG_DEPTH       = 256,
    parameter integer MEM_BYTES       = 65536,
    // the memory behind the DMA (rtl/accel_top.v)
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
    // the vector unit (rtl/accel_top.v)
    parameter integer HAS_VECTOR      = 0,
    parameter integer VEC_LANES       = 16,
    parameter integer VEC_LATENCY     = 4,
    parameter integer VEC_BUF_BYTES   = 1024,
    parameter integer VEC_OUT_BYTES   = 1024,
    parameter integer VOP_DEPTH       = 16
) (
    input  wire rst,
    input  wire start,
    output reg  clk,
    output reg  finished,
    output reg  deadlocked,
    output wire [31:0] cycle
);
    localparam integer REQS = ENGINES + (HAS_VECTOR != 0 ? 1 : 0);
    localparam integer RW = (REQS > 1) ? $clog2(REQS) : 1;  // requester index width
    initial clk = 1'b0;
    always #5 clk = ~clk;

    reg [31:0] n_entries;
    reg [8*256-1:0] path;
    integer fd, e;
    initial begin
        if (!$value$plusargs("n_entries=%d", n_entries)) n_entries = 0;
        fd = 0;
        if ($value$plusargs("trace_log=%s", path)) fd = $fopen(path, "w");
    end

    wire done, deadlock, mem_err, ev_ready, ev_disp, ev_grant, ev_dma_done;
    wire [31:0] ev_ready_entry, ev_disp_entry, ev_complete_entry, ev_complete_succs;
    wire ev_complete;
    wire [RW-1:0] ev_disp_engine, ev_grant_engine, ev_dma_engine;
    wire ev_vreq, ev_vwork, ev_vwork_end;
    wire [1:0] ev_vreq_op;
    wire [ENGINES-1:0] ev_req, ev_compute, ev_compute_end, ev_drain, ev_eng_done;
    wire [2*ENGINES-1:0] ev_req_op;

    accel_top #(.ROWS(ROWS), .COLS(COLS), .ENGINES(ENGINES), .TABLE_DEPTH(TABLE_DEPTH),
                .BUS_BYTES(BUS_BYTES), .MAX_BURST_BEATS(MAX_BURST_BEATS),
                .MEM_LATENCY(MEM_LATENCY), .KMAX(KMAX), .DOUBLE_BUFFER(DOUBLE_BUFFER),
                .DATAFLOW(DATAFLOW), .TILE_ROWS(TILE_ROWS), .OVERLAP_DRAIN(OVERLAP_DRAIN), .REUSE_SLOTS(REUSE_SLOTS), .N_DEPTH(N_DEPTH),
                .LIST_DEPTH(LIST_DEPTH), .SEG_DEPTH(SEG_DEPTH), .MEM_BYTES(MEM_BYTES),
                .MEM_KIND(MEM_KIND), .DRAM_BANKS(DRAM_BANKS), .DRAM_ROW_BYTES(DRAM_ROW_BYTES),
                .DRAM_MAPPING(DRAM_MAPPING), .DRAM_T_RCD(DRAM_T_RCD), .DRAM_T_RP(DRAM_T_RP),
                .DRAM_T_CL(DRAM_T_CL), .DRAM_T_CWL(DRAM_T_CWL), .DRAM_T_RAS(DRAM_T_RAS),
                .DRAM_T_WR(DRAM_T_WR), .DRAM_T_WTR(DRAM_T_WTR), .DRAM_T_RTW(DRAM_T_RTW),
                .DRAM_T_REFI(DRAM_T_REFI), .DRAM_T_RFC(DRAM_T_RFC), .DRAM_PAGE_OPEN(DRAM_PAGE_OPEN),
                .DRAM_QUEUE_DEPTH(DRAM_QUEUE_DEPTH), .DRAM_FRFCFS(DRAM_FRFCFS),
                .HAS_VECTOR(HAS_VECTOR), .VEC_LANES(VEC_LANES), .VEC_LATENCY(VEC_LATENCY),
                .VEC_BUF_BYTES(VEC_BUF_BYTES), .VEC_OUT_BYTES(VEC_OUT_BYTES), .VOP_DEPTH(VOP_DEPTH)) dut (
        .clk(clk), .rst(rst), .start(start), .n_entries(n_entries),
        .done(done), .deadlock(deadlock), .cycle(cycle), .mem_err(mem_err),
        .ev_ready(ev_ready), .ev_ready_entry(ev_ready_entry), .ev_complete(ev_complete),
        .ev_complete_entry(ev_complete_entry), .ev_complete_succs(ev_complete_succs),
        .ev_disp(ev_disp), .ev_disp_entry(ev_disp_entry), .ev_disp_engine(ev_disp_engine),
        .ev_grant(ev_grant), .ev_grant_engine(ev_grant_engine),
        .ev_dma_done(ev_dma_done), .ev_dma_engine(ev_dma_engine),
        .ev_req(ev_req), .ev_req_op(ev_req_op), .ev_compute(ev_compute),
        .ev_compute_end(ev_compute_end), .ev_drain(ev_drain), .ev_eng_done(ev_eng_done),
        .ev_vreq(ev_vreq), .ev_vreq_op(ev_vreq_op), .ev_vwork(ev_vwork), .ev_vwork_end(ev_vwork_end));

    // With the DRAM (MEM_KIND 1), `+dram_log=PATH` gets its commands and
    // request outcomes in the format of tb_dram.v (K lines: the controller's
    // cycle index, counted from reset; E lines: this log's `cycle`; REF lines:
    // a refresh command, in this log's `cycle`).
    generate
        if (MEM_KIND != 0) begin : g_dram_log
            integer dfd;
            reg [8*256-1:0] dpath;
            initial begin
                dfd = 0;
                if ($value$plusargs("dram_log=%s", dpath)) dfd = $fopen(dpath, "w");
            end
            always @(posedge clk) begin
                if (dfd != 0 && !rst && !finished) begin
                    if (dut.g_mem.u_mem.cmd_valid)
                        $fwrite(dfd, "K %0d %0d %0d %0d %0d\n", dut.g_mem.u_mem.cmd_cycle,
                                dut.g_mem.u_mem.cmd_kind, dut.g_mem.u_mem.cmd_bank,
                                dut.g_mem.u_mem.cmd_row, dut.g_mem.u_mem.cmd_beats);
                    if (dut.g_mem.u_mem.ev_valid)
                        $fwrite(dfd, "E %0d %0d\n", cycle - 1, dut.g_mem.u_mem.ev_kind);
                    if (dut.g_mem.u_mem.cmd_valid && dut.g_mem.u_mem.cmd_kind == 3'd5)
                        $fwrite(dfd, "REF %0d\n", cycle - 1);
                end
                if (dfd != 0 && (done || deadlock)) $fflush(dfd);
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            finished <= 1'b0;
            deadlocked <= 1'b0;
        end else if (!finished) begin
            if (ev_ready) $fwrite(fd, "R %0d %0d\n", cycle, ev_ready_entry);
            if (ev_complete) $fwrite(fd, "C %0d %0d %0d\n", cycle, ev_complete_entry, ev_complete_succs);
            if (ev_disp) $fwrite(fd, "D %0d %0d %0d\n", cycle, ev_disp_entry, ev_disp_engine);
            if (ev_grant) $fwrite(fd, "G %0d %0d\n", cycle, ev_grant_engine);
            if (ev_dma_done) $fwrite(fd, "F %0d %0d\n", cycle, ev_dma_engine);
            for (e = 0; e < ENGINES; e = e + 1) begin
                if (ev_req[e]) $fwrite(fd, "Q %0d %0d %0d\n", cycle, e, ev_req_op[2*e +: 2]);
                if (ev_compute[e]) $fwrite(fd, "S %0d %0d\n", cycle, e);
                if (ev_compute_end[e]) $fwrite(fd, "E %0d %0d\n", cycle, e);
                if (ev_drain[e]) $fwrite(fd, "W %0d %0d\n", cycle, e);
                if (ev_eng_done[e]) $fwrite(fd, "X %0d %0d\n", cycle, e);
            end
            if (ev_vreq) $fwrite(fd, "Q %0d %0d %0d\n", cycle, ENGINES, ev_vreq_op);
            if (ev_vwork) $fwrite(fd, "V %0d\n", cycle);
            if (ev_vwork_end) $fwrite(fd, "Y %0d\n", cycle);
            if (mem_err) $fwrite(fd, "MEMERR %0d\n", cycle);
            if (done || deadlock) begin
                if (done) $fwrite(fd, "END %0d\n", cycle);
                else $fwrite(fd, "DEADLOCK %0d\n", cycle);
                if ($value$plusargs("dump_mem=%s", path)) dut.g_mem.u_mem.dump(path);
                $fflush(fd);
                finished <= 1'b1;
                deadlocked <= deadlock && !done;
            end
        end
    end
endmodule

`default_nettype wire
