// Round-robin arbiter of the shared DMA: grants whole ops.
//
// Timing (docs/microarch.md, dma_grant_cycles = 1): the DMA is free in a cycle
// when no op is granted, or when its op signals `dma_done` in that cycle. In a
// free cycle x with requests pending, the arbiter picks the first requesting
// engine after the one granted last (cyclically; engine 0 first after reset)
// and `grant_valid` is high in cycle x + 1 with `grant_engine`. So an op
// requested in cycle r while the DMA is free from cycle f is granted at
// max(r, f) + 1. A requester must drop `req` once it sees its grant.
`default_nettype none

module arbiter #(
    parameter integer ENGINES = 2,
    parameter integer EW      = (ENGINES > 1) ? $clog2(ENGINES) : 1
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [ENGINES-1:0] req,
    input  wire               dma_done,
    output reg                grant_valid,
    output reg  [EW-1:0]      grant_engine
);
    localparam integer      LAST_INIT_I = ENGINES - 1;
    localparam [EW-1:0] LAST_INIT   = LAST_INIT_I[EW-1:0];

    reg          busy;
    reg [EW-1:0] last;
    reg [EW-1:0] pick;
    reg          any;
    integer      k;
    // Only the low EW bits of the loop index name an engine.
    /* verilator lint_off UNUSEDSIGNAL */
    integer      e;
    /* verilator lint_on UNUSEDSIGNAL */

    always @(*) begin
        pick = last;
        any = 1'b0;
        // Scan downwards from last + ENGINES so the first hit after `last`
        // wins: the last assignment in the loop is the nearest candidate.
        for (k = ENGINES; k >= 1; k = k - 1) begin
            e = (k + {{(32-EW){1'b0}}, last}) % ENGINES;
            if (req[e]) begin
                pick = e[EW-1:0];
                any = 1'b1;
            end
        end
    end

    wire free = !busy || dma_done;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            last <= LAST_INIT;
            grant_valid <= 1'b0;
            grant_engine <= {EW{1'b0}};
        end else begin
            grant_valid <= 1'b0;
            if (free && any) begin
                grant_valid <= 1'b1;
                grant_engine <= pick;
                last <= pick;
                busy <= 1'b1;
            end else if (dma_done) begin
                busy <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
