// Testbench top of the vector unit alone: the clock and a cycle counter;
// cocotb plays the scheduler and the DMA (start, grant, buffer writes,
// output-buffer reads, op_done). `+vecops=` loads the descriptor ROM.
`timescale 1ns/1ps
`default_nettype none

module tb_vector_unit #(
    parameter integer LANES     = 4,
    parameter integer LATENCY   = 3,
    parameter integer BUS_BYTES = 8,
    parameter integer BUF_BYTES = 4096,
    parameter integer OUT_BYTES = 1024,
    parameter integer VOP_DEPTH = 64
) (
    input  wire                   rst,
    input  wire                   start,
    input  wire [511:0]           word,
    input  wire                   grant,
    input  wire                   op_done,
    input  wire                   spad_we,
    input  wire [31:0]            spad_addr,
    input  wire [BUS_BYTES-1:0]   spad_be,
    input  wire [8*BUS_BYTES-1:0] spad_wdata,
    input  wire                   obuf_re,
    input  wire [31:0]            obuf_addr,
    output wire [8*BUS_BYTES-1:0] obuf_rdata,
    output wire                   done,
    output wire                   req,
    output wire [1:0]             req_op,
    output wire [31:0]            req_seg_start,
    output wire [31:0]            req_seg_count,
    output wire                   ev_req,
    output wire                   ev_work,
    output wire                   ev_work_end,
    output reg                    clk,
    output reg  [31:0]            cycle
);
    initial clk = 1'b0;
    always #5 clk = ~clk;
    always @(posedge clk) cycle <= rst ? 32'd0 : cycle + 32'd1;

    vector_unit #(.LANES(LANES), .LATENCY(LATENCY), .BUS_BYTES(BUS_BYTES), .BUF_BYTES(BUF_BYTES),
                  .OUT_BYTES(OUT_BYTES), .VOP_DEPTH(VOP_DEPTH)) dut (
        .clk(clk), .rst(rst), .start(start), .word(word), .done(done),
        .req(req), .req_op(req_op), .req_seg_start(req_seg_start), .req_seg_count(req_seg_count),
        .grant(grant), .op_done(op_done), .spad_we(spad_we), .spad_addr(spad_addr), .spad_be(spad_be),
        .spad_wdata(spad_wdata), .obuf_re(obuf_re), .obuf_addr(obuf_addr), .obuf_rdata(obuf_rdata),
        .ev_req(ev_req), .ev_work(ev_work), .ev_work_end(ev_work_end));
endmodule

`default_nettype wire
