// tb_mac_array: file-driven testbench top for mac_array.
//
// Runs a list of tiles through one mac_array the way an engine would
// (operands unskewed, one column of A / row of B per cycle, preload rows in
// cycles 0..ROWS-1) and logs what it observes, so that the Python side does
// no per-cycle work. The clock is generated here.
//
// Plusargs
//   +cases=FILE    $readmemh image of 32-bit words (written by
//                  testbenches/test_mac_array.py):
//                    word 0: number of tiles
//                    per tile: k, preload, drain_gap, next_gap, then
//                    T = max(k, ROWS) records of ROWS + 2*COLS words:
//                      A[0..ROWS-1][t] (low byte), B[t][0..COLS-1] (low byte),
//                      C0[t][0..COLS-1] (preload row t; zeros for t >= ROWS)
//                  drain_gap: cycles from `done` to `drain_start` (0 = same cycle)
//                  next_gap:  idle cycles between the drain's end and the next start
//   +words=N       number of words in the image (optional)
//   +results=FILE  one line per tile:
//                    tile t_start t_done busy_cycles done_pulses
//                    t_drain_first drain_cycles t_drain_last v[0][0] .. v[ROWS-1][COLS-1]
//                  (t_* are cycle numbers; v in drain order, signed decimal),
//                  then a last line: end cycles stray_done stray_drain timeouts
//   +finish        call $finish at the end (plain vvp runs); under cocotb the
//                  `finished` register rising is the end.

`timescale 1ns/1ps
`default_nettype none

module tb_mac_array #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter KW = 16,
    parameter DEPTH = 1 << 20
);
    localparam REC = ROWS + 2 * COLS;

    reg clk = 1'b0;
    always #5 clk = ~clk;

    reg rst = 1'b1;
    reg finished = 1'b0;

    reg [31:0] prog [0:DEPTH-1];
    reg [8*1024-1:0] cases_path;
    reg [8*1024-1:0] results_path;
    integer fd;
    integer words = DEPTH;

    // ---- DUT ------------------------------------------------------------
    reg               start_r = 1'b0;
    reg  [KW-1:0]     k_r = {KW{1'b0}};
    reg               preload_r = 1'b0;
    reg               drain_r = 1'b0;
    reg               feed_on = 1'b0;
    reg  [31:0]       rec = 32'd0;
    wire [ROWS*8-1:0] a_bus;
    wire [COLS*8-1:0] b_bus;
    wire [COLS*32-1:0] c_bus;
    wire              busy, done, drain_valid, drain_last;
    wire [COLS*32-1:0] drain_row;
    wire              drain_start;

    genvar gi;
    generate
        for (gi = 0; gi < ROWS; gi = gi + 1) begin : fa
            assign a_bus[8*gi +: 8] = feed_on ? prog[rec + gi][7:0] : 8'h00;
        end
        for (gi = 0; gi < COLS; gi = gi + 1) begin : fb
            assign b_bus[8*gi +: 8] = feed_on ? prog[rec + ROWS + gi][7:0] : 8'h00;
            assign c_bus[32*gi +: 32] = feed_on ? prog[rec + ROWS + COLS + gi] : 32'h0;
        end
    endgenerate

    mac_array #(.ROWS(ROWS), .COLS(COLS), .KW(KW)) dut (
        .clk(clk), .rst(rst),
        .start(start_r), .k(k_r), .preload(preload_r),
        .a_in(a_bus), .b_in(b_bus), .c_in(c_bus),
        .busy(busy), .done(done),
        .drain_start(drain_start), .drain_valid(drain_valid),
        .drain_last(drain_last), .drain_row(drain_row)
    );

    // ---- driver: the engine's side of the protocol --------------------------
    localparam S_RESET = 0, S_FEED = 1, S_WAIT = 2, S_GAP = 3, S_DRAIN = 4,
               S_NEXT = 5, S_END = 6;
    integer st = S_RESET;
    integer cycle = 0;
    integer tiles_left = 0;
    integer ptr = 1;
    integer kk = 0, tt = 0, tlen = 0, gap_d = 0, gap_n = 0, count = 0;
    integer timeouts = 0;

    // A zero drain gap starts the drain in the `done` cycle itself. The
    // flag is a register so the DUT never races the driver's blocking state.
    reg drain_on_done = 1'b0;
    assign drain_start = drain_r | (drain_on_done & done);

    task begin_tile;
        begin
            if (tiles_left == 0) begin
                st = S_END;
            end else begin
                kk = prog[ptr];
                preload_r <= prog[ptr + 1][0];
                gap_d = prog[ptr + 2];
                gap_n = prog[ptr + 3];
                tlen = (kk > ROWS) ? kk : ROWS;
                rec <= ptr + 4;
                ptr = ptr + 4 + tlen * REC;
                k_r <= kk[KW-1:0];
                start_r <= 1'b1;
                feed_on <= 1'b1;
                tt = 0;
                count = 0;
                st = S_FEED;
            end
        end
    endtask

    task end_tile;  // at the edge ending the drain's last cycle
        begin
            tiles_left = tiles_left - 1;
            count = 0;
            if (gap_n == 0)
                begin_tile;
            else
                st = S_NEXT;
        end
    endtask

    always @(posedge clk) begin
        cycle <= cycle + 1;
        count = count + 1;
        case (st)
            S_RESET: if (count > ROWS + COLS + 4) begin
                rst <= 1'b0;
                tiles_left = prog[0];
                ptr = 1;
                begin_tile;
            end
            S_FEED: begin  // this edge ends operand cycle tt
                start_r <= 1'b0;
                rec <= rec + REC;
                tt = tt + 1;
                if (tt == tlen) begin
                    feed_on <= 1'b0;
                    drain_on_done <= (gap_d == 0);
                    st = S_WAIT;
                end
            end
            S_WAIT: begin
                if (done) begin
                    count = 0;
                    drain_on_done <= 1'b0;
                    if (gap_d == 0) begin
                        if (drain_last)  // ROWS = 1: the drain is this cycle
                            end_tile;
                        else
                            st = S_DRAIN;
                    end else if (gap_d == 1) begin
                        drain_r <= 1'b1;
                        st = S_DRAIN;
                    end else begin
                        st = S_GAP;
                    end
                end else if (count > kk + ROWS * 2 + COLS * 2 + 8) begin
                    timeouts = timeouts + 1;
                    st = S_END;
                end
            end
            S_GAP: if (count == gap_d - 1) begin
                drain_r <= 1'b1;
                st = S_DRAIN;
            end
            S_DRAIN: begin
                drain_r <= 1'b0;
                if (drain_last) begin
                    end_tile;
                end else if (count > gap_d + ROWS + 4) begin
                    timeouts = timeouts + 1;
                    st = S_END;
                end
            end
            S_NEXT: if (count == gap_n) begin
                begin_tile;
            end
            default: ;
        endcase
    end

    // ---- monitor: what the array did, cycle by cycle --------------------------
    reg [31:0] outm [0:ROWS*COLS-1];
    integer t_start = 0, t_done = 0, busy_cycles = 0, done_pulses = 0;
    integer t_drain_first = 0, drain_cycles = 0, stray_done = 0, stray_drain = 0;
    integer in_tile = 0, logged = 0, r, c;

    always @(posedge clk) begin
        if (!rst) begin
            if (start_r) begin
                t_start = cycle;
                busy_cycles = 0;
                done_pulses = 0;
                drain_cycles = 0;
                in_tile = 1;
            end
            if (busy) busy_cycles = busy_cycles + 1;
            if (done) begin
                if (in_tile) begin
                    t_done = cycle;
                    done_pulses = done_pulses + 1;
                end else begin
                    stray_done = stray_done + 1;
                end
            end
            if (drain_valid) begin
                if (!in_tile || drain_cycles >= ROWS) begin
                    stray_drain = stray_drain + 1;
                end else begin
                    if (drain_cycles == 0) t_drain_first = cycle;
                    for (c = 0; c < COLS; c = c + 1)
                        outm[drain_cycles * COLS + c] = drain_row[32*c +: 32];
                    drain_cycles = drain_cycles + 1;
                end
            end
            if (drain_valid && drain_last && in_tile) begin
                $fwrite(fd, "%0d %0d %0d %0d %0d %0d %0d %0d", logged, t_start, t_done,
                        busy_cycles, done_pulses, t_drain_first, drain_cycles, cycle);
                for (r = 0; r < ROWS * COLS; r = r + 1)
                    $fwrite(fd, " %0d", $signed(outm[r]));
                $fwrite(fd, "\n");
                logged = logged + 1;
                in_tile = 0;
            end
        end
    end

    // ---- files and the end of the run ----------------------------------------
    initial begin
        if (!$value$plusargs("cases=%s", cases_path)) begin
            $display("tb_mac_array: missing +cases=FILE");
            $finish;
        end
        if (!$value$plusargs("results=%s", results_path)) begin
            $display("tb_mac_array: missing +results=FILE");
            $finish;
        end
        // +words=N (the image's length) keeps $readmemh from warning that
        // the file is shorter than the memory.
        if (!$value$plusargs("words=%d", words)) words = DEPTH;
        $readmemh(cases_path, prog, 0, words - 1);
        fd = $fopen(results_path, "w");
        wait (st == S_END);
        @(posedge clk);
        $fwrite(fd, "end %0d %0d %0d %0d\n", cycle, stray_done, stray_drain, timeouts);
        $fclose(fd);
        finished = 1'b1;
        if ($test$plusargs("finish")) $finish;
    end
endmodule

`default_nettype wire
