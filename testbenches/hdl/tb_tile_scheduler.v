// Testbench top of the tile scheduler: the scheduler with E behavioural
// engines, each finishing a tile `k` cycles after its dispatch pulse (the
// entry word's k field doubles as the tile's duration here). The clock is
// generated here; cocotb pulses `start` and waits for `finished`.
//
// Log (`+log=PATH`), one line per event, the cycle first:
//   R c x     entry x is in the ready queue from cycle c
//   D c x e   tile x starts on engine e (disp_valid)
//   F c e     engine e reports done
//   C c x     the controller chooses the completion of x
//   A c x     the controller chooses the admission of x
//   END c     all entries completed (cycle = end of the last completion)
//   DEADLOCK c
`timescale 1ns/1ps
`default_nettype none

module tb_tile_scheduler #(
    parameter integer ENGINES     = 2,
    parameter integer TABLE_DEPTH = 4,
    parameter integer N_DEPTH     = 64,
    parameter integer LIST_DEPTH  = 256
) (
    input  wire rst,
    input  wire start,
    output reg  clk,
    output reg  finished
);
    localparam integer EW = (ENGINES > 1) ? $clog2(ENGINES) : 1;
    initial clk = 1'b0;
    always #5 clk = ~clk;

    reg  [31:0] n_entries;
    reg  [31:0] cycle;
    reg  [ENGINES-1:0] eng_done;
    wire disp_valid, all_done, deadlock, ev_ready;
    wire [EW-1:0] disp_engine;
    wire [31:0] disp_entry, ev_ready_entry, ev_complete_entry, ev_complete_succs;
    wire ev_complete;
    wire [511:0] disp_word;
    integer fd, e;
    reg [8*256-1:0] path;
    reg [31:0] left [0:ENGINES-1];

    initial begin
        if (!$value$plusargs("n_entries=%d", n_entries)) n_entries = 0;
        fd = 0;
        if ($value$plusargs("log=%s", path)) fd = $fopen(path, "w");
    end

    tile_scheduler #(.ENGINES(ENGINES), .TABLE_DEPTH(TABLE_DEPTH), .N_DEPTH(N_DEPTH),
                     .LIST_DEPTH(LIST_DEPTH)) dut (
        .clk(clk), .rst(rst), .start(start), .n_entries(n_entries), .eng_done(eng_done),
        .vec_done(1'b0), .vdisp_valid(), .disp_valid(disp_valid), .disp_engine(disp_engine), .disp_entry(disp_entry),
        .disp_word(disp_word), .all_done(all_done), .deadlock(deadlock),
        .ev_ready(ev_ready), .ev_ready_entry(ev_ready_entry), .ev_complete(ev_complete),
        .ev_complete_entry(ev_complete_entry), .ev_complete_succs(ev_complete_succs));

    always @(posedge clk) begin
        if (rst) begin
            cycle <= 0; finished <= 1'b0; eng_done <= {ENGINES{1'b0}};
            for (e = 0; e < ENGINES; e = e + 1) left[e] <= 0;
        end else begin
            if (start || dut.running) cycle <= cycle + 1;
            // engines: done `k` cycles after the dispatch pulse
            for (e = 0; e < ENGINES; e = e + 1) begin
                eng_done[e] <= (left[e] == 1);
                if (left[e] != 0) left[e] <= left[e] - 1;
            end
            if (disp_valid) left[disp_engine] <= (disp_word[95:64] <= 1) ? 0 : disp_word[95:64] - 1;
            if (disp_valid && disp_word[95:64] <= 1) eng_done[disp_engine] <= 1'b1;
            if (ev_ready) $fwrite(fd, "R %0d %0d\n", cycle, ev_ready_entry);
            if (disp_valid) $fwrite(fd, "D %0d %0d %0d\n", cycle, disp_entry, disp_engine);
            for (e = 0; e < ENGINES; e = e + 1)
                if (eng_done[e]) $fwrite(fd, "F %0d %0d\n", cycle, e);
            if (ev_complete) $fwrite(fd, "C %0d %0d\n", cycle, ev_complete_entry);
            if (dut.do_admit) $fwrite(fd, "A %0d %0d\n", cycle, dut.admit_next);
            if (!finished && all_done) begin
                $fwrite(fd, "END %0d\n", cycle);
                $fflush(fd);
                finished <= 1'b1;
            end
            if (!finished && deadlock) begin
                $fwrite(fd, "DEADLOCK %0d\n", cycle);
                $fflush(fd);
                finished <= 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
