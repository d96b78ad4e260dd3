// External memory model (behavioural, not synthesizable): the far side of the
// accelerator's DMA.
//
// Storage is BUS_BYTES-wide words (one word = one bus beat, byte 0 in the
// least significant bits), MEM_BYTES / BUS_BYTES of them. Initial contents come
// from $readmemh of the file named by the plusarg `+mem=PATH` (one word per
// line, 2*BUS_BYTES hex digits); `dump(path)` writes them back.
//
// Read channel (the timing contract of docs/microarch.md):
// - one burst request per cycle: first beat address `rd_req_beat`, beat count
//   `rd_req_beats` (1..MAX_BURST_BEATS), `rd_req_zero` for a null request that
//   is answered with zero beats without reading the array;
// - a request valid in cycle q has its first data beat valid (`rd_valid`,
//   `rd_data`) in cycle q + MEM_LATENCY, or right after the previous burst's
//   last beat if that is later: data comes back in request order, one beat per
//   cycle, without bubbles while requests are queued. MEM_LATENCY >= 1.
// Write channel: posted, one beat per cycle (`wr_valid`), byte strobes
// `wr_strb`; the array is updated at the end of the cycle.
//
// An out-of-range address sets the sticky `err` flag (and reads zeros).
`default_nettype none

module memory #(
    parameter integer BUS_BYTES       = 8,
    parameter integer MAX_BURST_BEATS = 16,
    parameter integer MEM_LATENCY     = 20,
    parameter integer MEM_BYTES       = 4096,
    // Outstanding read requests the model can hold; the DMA never has more
    // than MEM_LATENCY + 8 in flight (see dma.v).
    parameter integer QUEUE_DEPTH     = MEM_LATENCY + 16
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     rd_req_valid,
    input  wire [31:0]              rd_req_beat,
    input  wire [31:0]              rd_req_beats,
    input  wire                     rd_req_zero,
    output reg                      rd_valid,
    output reg  [8*BUS_BYTES-1:0]   rd_data,
    input  wire                     wr_valid,
    input  wire [31:0]              wr_beat,
    input  wire [BUS_BYTES-1:0]     wr_strb,
    input  wire [8*BUS_BYTES-1:0]   wr_data,
    output reg                      err
);
    localparam integer WORDS = MEM_BYTES / BUS_BYTES;

    reg [8*BUS_BYTES-1:0] mem [0:WORDS-1];

    // Request queue, a ring of QUEUE_DEPTH slots.
    reg [31:0] q_ready [0:QUEUE_DEPTH-1];  // cycle the first beat may go out
    reg [31:0] q_beat  [0:QUEUE_DEPTH-1];
    reg [31:0] q_beats [0:QUEUE_DEPTH-1];
    reg        q_zero  [0:QUEUE_DEPTH-1];
    integer    q_head, q_tail, q_count;

    integer    now;        // index of the current cycle
    reg [31:0] cur_beat;   // burst being returned
    reg [31:0] cur_left;   // beats of it still to return
    reg        cur_zero;
    reg [8*BUS_BYTES-1:0] mask;
    integer    j;
    reg [8*256-1:0] path;

    initial begin
        if ($value$plusargs("mem=%s", path)) $readmemh(path, mem);
    end

    // The model is sequential software: blocking assignments to its private
    // queue state keep "enqueue, then pick the next beat" readable.
    /* verilator lint_off BLKSEQ */
    always @(posedge clk) begin
        if (rst) begin
            q_head = 0; q_tail = 0; q_count = 0; now = 0;
            cur_left = 0; cur_beat = 0; cur_zero = 1'b0;
            rd_valid <= 1'b0; rd_data <= {8*BUS_BYTES{1'b0}}; err <= 1'b0;
        end else begin
            if (wr_valid) begin
                if (wr_beat >= WORDS) err <= 1'b1;
                else begin
                    for (j = 0; j < BUS_BYTES; j = j + 1)
                        mask[8*j +: 8] = {8{wr_strb[j]}};
                    mem[wr_beat] <= (mem[wr_beat] & ~mask) | (wr_data & mask);
                end
            end
            if (rd_req_valid) begin
                if (q_count == QUEUE_DEPTH || rd_req_beats == 0 || rd_req_beats > MAX_BURST_BEATS)
                    err <= 1'b1;
                else begin
                    q_ready[q_tail] = now + MEM_LATENCY;
                    q_beat[q_tail]  = rd_req_beat;
                    q_beats[q_tail] = rd_req_beats;
                    q_zero[q_tail]  = rd_req_zero;
                    q_tail = (q_tail + 1) % QUEUE_DEPTH;
                    q_count = q_count + 1;
                end
            end
            // Choose the beat driven in the next cycle (now + 1).
            if (cur_left == 0 && q_count > 0 && $signed(q_ready[q_head]) <= now + 1) begin
                cur_beat = q_beat[q_head];
                cur_left = q_beats[q_head];
                cur_zero = q_zero[q_head];
                q_head = (q_head + 1) % QUEUE_DEPTH;
                q_count = q_count - 1;
            end
            if (cur_left != 0) begin
                rd_valid <= 1'b1;
                if (cur_zero) rd_data <= {8*BUS_BYTES{1'b0}};
                else if (cur_beat >= WORDS) begin
                    rd_data <= {8*BUS_BYTES{1'b0}};
                    err <= 1'b1;
                end else rd_data <= mem[cur_beat];
                cur_beat = cur_beat + 1;
                cur_left = cur_left - 1;
            end else rd_valid <= 1'b0;
            now = now + 1;
        end
    end
    /* verilator lint_on BLKSEQ */

    // Writes the array to a hex file (called by the testbench at the end).
    task dump(input [8*256-1:0] file);
        begin
            $writememh(file, mem);
        end
    endtask
endmodule

`default_nettype wire
