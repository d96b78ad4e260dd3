// DRAM memory system (behavioural, not synthesizable): a controller with a
// request queue and a scheduler in front of a device timing model of BANKS
// banks, each with one open row. It has the read/write channels of
// rtl/memory.v plus valid/ready back-pressure, and the same storage: BUS_BYTES
// words loaded from `+mem=PATH` ($readmemh) and written back by `dump(path)`.
//
// Cycles: `now` counts clock edges after reset. A request valid (and ready)
// in cycle q is accepted at the edge that ends cycle q; a command chosen at
// that edge is "issued in cycle q". A RD issued in cycle t puts beat j on the
// DRAM data bus in cycle t + T_CL + j, a WR in cycle t + T_CWL + j.
//
// Function: the storage changes in acceptance order (a write beat updates the
// array when accepted; a read copies its beats when accepted; a write and a
// read accepted in the same cycle: the write first). The DRAM timing decides
// only when read data comes back, so reordering never changes data.
//
// Read data returns in request order (an in-order return buffer of
// QUEUE_DEPTH bursts): the head burst's beat j is driven (`rd_valid`) in the
// cycle it is on the DRAM data bus, or right after the previous beat, if later.
// So from acceptance to the first beat, on an idle controller: row hit T_CL,
// miss (bank closed) T_RCD + T_CL, conflict T_RP + T_RCD + T_CL (once T_RAS
// since the row's ACT has passed).
// `rd_req_zero` requests use no DRAM command: their zero beats come back from
// the cycle after acceptance, in order behind earlier reads.
//
// Address mapping (MAPPING, of the beat address, high to low bits):
// 0 = row:bank:col, 1 = row:col:bank; a row holds ROW_BYTES bytes =
// ROW_BYTES/BUS_BYTES beats (columns). A burst that crosses a row or bank is
// split by the controller into one column command per (bank, row) run, issued
// in address order; the request keeps its queue slot until its last command.
// With row:col:bank and BANKS > 1 consecutive beats sit in different banks, so
// every column command carries one beat.
//
// Timing constraints (cycles; every command one per cycle on the command bus):
//   ACT b : bank closed, >= PRE(b) + T_RP, >= REF + T_RFC
//   RD  b : row open, >= ACT(b) + T_RCD, >= last write beat + T_WTR,
//           its first beat after every earlier beat on the data bus
//   WR  b : row open, >= ACT(b) + T_RCD, first beat >= last read beat + 1 +
//           T_RTW (data-bus turnaround), after every earlier beat
//   PRE b : row open, >= ACT(b) + T_RAS, >= RD(b) + its beats,
//           >= last write beat to b + T_WR
//   REF   : all banks closed, >= PRE(b) + T_RP for every b
// Refresh (T_REFI > 0): T_REFI cycles after the previous REF (after reset for
// the first) a refresh is due; from then on no ACT/RD/WR is issued, open banks
// are precharged as soon as allowed, then REF blocks every ACT for T_RFC.
//
// Scheduler (one command per cycle, queue in arrival order):
// - FRFCFS=1: the oldest request whose column command (row hit) may issue now;
//   else, oldest first, the first request whose row command may issue now:
//   ACT to its closed bank, or PRE of its bank when no queued request still
//   needs the bank's open row (its next beat there, see `hits_open`);
// - FRFCFS=0 (FCFS): only the oldest request is served (ACT, PRE, RD/WR).
// Page policy: PAGE_OPEN=1 keeps rows open until a conflict or a refresh;
// PAGE_OPEN=0 precharges an open bank as soon as allowed once no queued
// request still needs its row (in a cycle with no other command).
//
// Back-pressure: `rd_req_ready` when a queue slot and a return slot are free,
// `wr_ready` when a queue slot is free after a read accepted in the same
// cycle (reads win the last slot). Each write beat is one request.
//
// Monitor outputs: `cmd_valid` in the cycle after a command with its issue
// cycle `cmd_cycle`, kind (1 ACT, 2 RD, 3 WR, 4 PRE, 5 REF), bank, row and
// beats (column commands). `ev_valid`: a read or write request's first column
// command was issued, `ev_kind` 0 row hit (no ACT/PRE issued for it), 1 miss
// (an ACT was issued for it), 2 conflict (a PRE of another row, then an ACT).
`default_nettype none

module dram_ctrl #(
    parameter integer BUS_BYTES       = 8,
    parameter integer MAX_BURST_BEATS = 16,
    parameter integer MEM_BYTES       = 4096,
    parameter integer BANKS           = 8,
    parameter integer ROW_BYTES       = 1024,
    parameter integer MAPPING         = 0,
    parameter integer T_RCD           = 7,
    parameter integer T_RP            = 7,
    parameter integer T_CL            = 9,
    parameter integer T_CWL           = 5,
    parameter integer T_RAS           = 18,
    parameter integer T_WR            = 8,
    parameter integer T_WTR           = 4,
    parameter integer T_RTW           = 3,
    parameter integer T_REFI          = 1950,
    parameter integer T_RFC           = 60,
    parameter integer PAGE_OPEN       = 1,
    parameter integer QUEUE_DEPTH     = 8,
    parameter integer FRFCFS          = 1
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     rd_req_valid,
    output reg                      rd_req_ready,
    input  wire [31:0]              rd_req_beat,
    input  wire [31:0]              rd_req_beats,
    input  wire                     rd_req_zero,
    output reg                      rd_valid,
    output reg  [8*BUS_BYTES-1:0]   rd_data,
    input  wire                     wr_valid,
    output reg                      wr_ready,
    input  wire [31:0]              wr_beat,
    input  wire [BUS_BYTES-1:0]     wr_strb,
    input  wire [8*BUS_BYTES-1:0]   wr_data,
    output reg                      err,
    output reg                      cmd_valid,
    output reg  [31:0]              cmd_cycle,
    output reg  [2:0]               cmd_kind,
    output reg  [4:0]               cmd_bank,
    output reg  [31:0]              cmd_row,
    output reg  [31:0]              cmd_beats,
    output reg                      ev_valid,
    output reg  [1:0]               ev_kind
);
    localparam integer WORDS = MEM_BYTES / BUS_BYTES;
    localparam integer COLB  = (ROW_BYTES / BUS_BYTES > 0) ? ROW_BYTES / BUS_BYTES : 1;
    localparam integer MB    = MAX_BURST_BEATS;
    localparam integer QD    = QUEUE_DEPTH;
    localparam integer NEVER = 32'h3fffffff;
    localparam integer LONG_AGO = -32'sh10000000;

    reg [8*BUS_BYTES-1:0] mem [0:WORDS-1];

    // request queue, index 0 the oldest
    reg        q_wr    [0:QD-1];
    integer    q_beat  [0:QD-1];   // next beat to issue
    integer    q_left  [0:QD-1];   // beats still to issue
    integer    q_slot  [0:QD-1];   // return slot (reads)
    integer    q_done  [0:QD-1];   // beats already issued
    reg [1:0]  q_kind  [0:QD-1];   // row-buffer outcome so far: 0 hit, 1 miss, 2 conflict
    integer    q_count;

    // in-order return buffer
    integer               rs_n   [0:QD-1];
    integer               rs_arr [0:QD*MB-1];  // cycle beat j is on the data bus
    reg [8*BUS_BYTES-1:0] rs_data [0:QD*MB-1];
    integer               rs_head, rs_tail, rs_count, ob;

    // bank and bus state
    reg        open   [0:BANKS-1];
    integer    orow   [0:BANKS-1];
    integer    t_act  [0:BANKS-1];
    integer    t_pre  [0:BANKS-1];
    integer    pre_ok [0:BANKS-1];   // earliest PRE from RD/WR of this bank
    integer    last_beat, last_rd_beat, last_wr_beat, ref_end, next_ref;

    integer    now, i, j, k, b, r, n, x, slot, pick;
    reg        issued, due, ok;
    reg [8*BUS_BYTES-1:0] mask;
    reg [8*256-1:0] path;

    initial begin
        if ($value$plusargs("mem=%s", path)) $readmemh(path, mem);
    end

    // The model is sequential software: blocking assignments to its private
    // state keep "accept, schedule, return" readable. Bank indices are
    // integers of which only the low bits matter.
    /* verilator lint_off BLKSEQ */
    /* verilator lint_off UNUSEDSIGNAL */
    // ---- address decode of beat x ----
    function integer bank_of(input integer bx);
        begin
            if (MAPPING == 0) bank_of = (bx / COLB) % BANKS;
            else bank_of = bx % BANKS;
        end
    endfunction
    function integer row_of(input integer bx);
        begin
            row_of = bx / (COLB * BANKS);
        end
    endfunction
    // beats from bx on that stay in its (bank, row), at most `left`
    function integer run_of(input integer bx, input integer left);
        integer room;
        begin
            if (MAPPING == 0 || BANKS == 1) room = COLB - (bx % COLB);
            else room = 1;
            run_of = (left < room) ? left : room;
        end
    endfunction

    // ---- timing checks of the device model ----
    function act_ok(input integer bb);
        begin
            act_ok = !open[bb] && now >= t_pre[bb] + T_RP && now >= ref_end;
        end
    endfunction
    function pre_allowed(input integer bb);
        begin
            pre_allowed = open[bb] && now >= t_act[bb] + T_RAS && now >= pre_ok[bb];
        end
    endfunction
    function col_ok(input reg wr, input integer bb);
        begin
            if (now < t_act[bb] + T_RCD) col_ok = 1'b0;
            else if (wr) col_ok = now + T_CWL > last_beat && now + T_CWL >= last_rd_beat + 1 + T_RTW;
            else col_ok = now + T_CL > last_beat && now >= last_wr_beat + T_WTR;
        end
    endfunction
    // Some queued request still needs the open row of bank bb: its next beat,
    // or (row:col:bank) its first remaining beat in that bank.
    function hits_open(input integer bb);
        integer m, y;
        begin
            hits_open = 1'b0;
            for (m = 0; m < q_count; m = m + 1) begin
                y = q_beat[m];
                if (MAPPING != 0) y = y + (bb - y % BANKS + BANKS) % BANKS;
                if (y < q_beat[m] + q_left[m] && bank_of(y) == bb && row_of(y) == orow[bb])
                    hits_open = 1'b1;
            end
        end
    endfunction

    task command(input [2:0] kd, input integer bb, input integer rw, input integer nb);
        begin
            issued = 1'b1;
            cmd_valid <= 1'b1; cmd_cycle <= now; cmd_kind <= kd;
            cmd_bank <= bb[4:0]; cmd_row <= rw; cmd_beats <= nb;
        end
    endtask

    // Issue the column command of queue entry qi (its row is open).
    task column(input integer qi);
        begin
            x = q_beat[qi]; b = bank_of(x); n = run_of(x, q_left[qi]);
            if (q_done[qi] == 0) begin
                ev_valid <= 1'b1; ev_kind <= q_kind[qi];
            end
            if (q_wr[qi]) begin
                command(3'd3, b, orow[b], n);
                last_beat = now + T_CWL + n - 1; last_wr_beat = last_beat;
                if (last_beat + T_WR > pre_ok[b]) pre_ok[b] = last_beat + T_WR;
            end else begin
                command(3'd2, b, orow[b], n);
                for (k = 0; k < n; k = k + 1)
                    rs_arr[q_slot[qi] * MB + q_done[qi] + k] = now + T_CL + k;
                last_beat = now + T_CL + n - 1; last_rd_beat = last_beat;
                if (now + n > pre_ok[b]) pre_ok[b] = now + n;
            end
            q_beat[qi] = x + n; q_left[qi] = q_left[qi] - n; q_done[qi] = q_done[qi] + n;
            if (q_left[qi] == 0) begin
                for (k = qi; k + 1 < q_count; k = k + 1) begin
                    q_wr[k] = q_wr[k + 1]; q_beat[k] = q_beat[k + 1]; q_left[k] = q_left[k + 1];
                    q_slot[k] = q_slot[k + 1]; q_done[k] = q_done[k + 1]; q_kind[k] = q_kind[k + 1];
                end
                q_count = q_count - 1;
            end
        end
    endtask

    task activate(input integer bb, input integer rw);
        begin
            command(3'd1, bb, rw, 0);
            open[bb] = 1'b1; orow[bb] = rw; t_act[bb] = now;
        end
    endtask

    task precharge(input integer bb);
        begin
            command(3'd4, bb, orow[bb], 0);
            open[bb] = 1'b0; t_pre[bb] = now;
        end
    endtask

    // One step of the scheduler: at most one command.
    task schedule;
        begin
            issued = 1'b0;
            due = T_REFI > 0 && now >= next_ref;
            if (due) begin
                ok = 1'b1;
                for (b = 0; b < BANKS; b = b + 1)
                    if (open[b] || now < t_pre[b] + T_RP) ok = 1'b0;
                if (ok) begin
                    command(3'd5, 0, 0, 0);
                    ref_end = now + T_RFC; next_ref = now + T_REFI;
                end else
                    for (b = 0; b < BANKS && !issued; b = b + 1)
                        if (pre_allowed(b)) precharge(b);
            end else begin
                pick = -1;
                if (FRFCFS != 0)
                    for (i = 0; i < q_count && pick < 0; i = i + 1) begin
                        b = bank_of(q_beat[i]);
                        if (open[b] && orow[b] == row_of(q_beat[i]) && col_ok(q_wr[i], b)) pick = i;
                    end
                if (pick >= 0) column(pick);
                for (i = 0; i < ((FRFCFS != 0) ? q_count : (q_count > 0 ? 1 : 0)) && !issued; i = i + 1) begin
                    x = q_beat[i]; b = bank_of(x); r = row_of(x);
                    if (open[b] && orow[b] == r) begin
                        if (FRFCFS == 0 && col_ok(q_wr[i], b)) column(i);
                    end else if (open[b]) begin
                        if (pre_allowed(b) && (FRFCFS == 0 || !hits_open(b))) begin
                            precharge(b);
                            if (q_done[i] == 0) q_kind[i] = 2'd2;
                        end
                    end else if (act_ok(b)) begin
                        activate(b, r);
                        if (q_done[i] == 0 && q_kind[i] == 2'd0) q_kind[i] = 2'd1;
                    end
                end
                if (PAGE_OPEN == 0)
                    for (b = 0; b < BANKS && !issued; b = b + 1)
                        if (pre_allowed(b) && !hits_open(b)) precharge(b);
            end
        end
    endtask

    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) begin
        cmd_valid <= 1'b0;
        ev_valid <= 1'b0;
        if (rst) begin
            q_count = 0; rs_head = 0; rs_tail = 0; rs_count = 0; ob = 0; now = 0;
            last_beat = LONG_AGO; last_rd_beat = LONG_AGO; last_wr_beat = LONG_AGO;
            ref_end = LONG_AGO; next_ref = T_REFI;
            for (b = 0; b < BANKS; b = b + 1) begin
                open[b] = 1'b0; orow[b] = 0; t_act[b] = LONG_AGO; t_pre[b] = LONG_AGO;
                pre_ok[b] = LONG_AGO;
            end
            rd_valid <= 1'b0; rd_data <= {8*BUS_BYTES{1'b0}}; err <= 1'b0;
            rd_req_ready <= 1'b1; wr_ready <= QD > 1;
            cmd_cycle <= 0; cmd_kind <= 3'd0; cmd_bank <= 5'd0; cmd_row <= 0; cmd_beats <= 0;
            ev_kind <= 2'd0;
        end else begin
            if (wr_valid && wr_ready) begin
                if (wr_beat >= WORDS) err <= 1'b1;
                else begin
                    for (j = 0; j < BUS_BYTES; j = j + 1)
                        mask[8*j +: 8] = {8{wr_strb[j]}};
                    mem[wr_beat] = (mem[wr_beat] & ~mask) | (wr_data & mask);
                end
                q_wr[q_count] = 1'b1; q_beat[q_count] = wr_beat; q_left[q_count] = 1;
                q_done[q_count] = 0; q_slot[q_count] = 0; q_kind[q_count] = 2'd0;
                q_count = q_count + 1;
            end
            if (rd_req_valid && rd_req_ready) begin
                if (rd_req_beats == 0 || rd_req_beats > MAX_BURST_BEATS) err <= 1'b1;
                else begin
                    slot = rs_tail;
                    rs_n[slot] = rd_req_beats;
                    for (j = 0; j < rd_req_beats; j = j + 1) begin
                        rs_arr[slot * MB + j] = rd_req_zero ? now + 1 : NEVER;
                        if (rd_req_zero) rs_data[slot * MB + j] = {8*BUS_BYTES{1'b0}};
                        else if (rd_req_beat + j >= WORDS) begin
                            rs_data[slot * MB + j] = {8*BUS_BYTES{1'b0}};
                            err <= 1'b1;
                        end else rs_data[slot * MB + j] = mem[rd_req_beat + j];
                    end
                    rs_tail = (rs_tail + 1) % QD; rs_count = rs_count + 1;
                    if (!rd_req_zero) begin
                        q_wr[q_count] = 1'b0; q_beat[q_count] = rd_req_beat;
                        q_left[q_count] = rd_req_beats; q_done[q_count] = 0; q_slot[q_count] = slot;
                        q_kind[q_count] = 2'd0;
                        q_count = q_count + 1;
                    end
                end
            end

            if (q_count > 0 || (T_REFI > 0 && now >= next_ref) || PAGE_OPEN == 0) schedule;

            // The beat driven in the next cycle (now + 1), in request order.
            if (rs_count > 0 && rs_arr[rs_head * MB + ob] <= now + 1) begin
                rd_valid <= 1'b1;
                rd_data <= rs_data[rs_head * MB + ob];
                ob = ob + 1;
                if (ob == rs_n[rs_head]) begin
                    ob = 0; rs_head = (rs_head + 1) % QD; rs_count = rs_count - 1;
                end
            end else rd_valid <= 1'b0;

            rd_req_ready <= q_count < QD && rs_count < QD;
            wr_ready <= q_count + ((q_count < QD && rs_count < QD) ? 1 : 0) < QD;
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
