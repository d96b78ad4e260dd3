// Tile scheduler: dependency table, ready queue, completion queue, dispatch.
//
// ROMs (loaded with $readmemh from plusargs): `+entries=` the entry words
// (layout in tlm/rtl/image.py; this block uses kind, pred/succ list pointers
// and passes the whole word to the engine at dispatch), `+preds=` and
// `+succs=` the CSR index lists (32-bit entry indices).
//
// One controller performs one action at a time (docs/microarch.md, with every
// sched_* cost = 1). An action chosen in cycle t that costs c cycles is
// followed by the next choice in cycle t + c. Priority: completion, dispatch,
// admission.
// - Completion of x (head of the completion queue), c = 1 + len(succs[x]):
//   in cycle t x is marked done and its table slot freed; successor j is
//   visited in cycle t + 1 + j: if it is in the table its pending count is
//   decremented and, on reaching 0, a TILE is pushed to the ready queue, a
//   JOIN to the completion queue. Only the controller reads the table and the
//   ready queue, so applying these effects during the walk is the same as
//   applying them at t + c.
// - Completion-queue order: an `eng_done` pulse in cycle d is a notice seen
//   from cycle d + 1; notices wait in a small arrival queue and join the
//   completion queue at the next choice (several in one cycle: lower engine
//   first), so a JOIN readied by an action enters the completion queue ahead
//   of the notices that arrived during that action, as when all of the
//   action's effects land at t + c. The choice sees the completion queue
//   followed by the arrival queue.
// - Dispatch, c = 1: when the ready queue is not empty and an engine is idle;
//   the head goes to the lowest-numbered idle engine, whose `disp_valid`
//   pulse is in cycle t + 1 (the tile's start). An engine is idle from the
//   cycle its `eng_done` pulse is high. With DOUBLE_BUFFER = 1 an engine
//   holds up to two tiles (done in dispatch order): the head goes to the
//   lowest-numbered engine holding none, else the lowest-numbered holding one.
//   Operand reuse (single buffering): the head goes to the lowest-numbered
//   idle engine whose last dispatched tile had the head's B block (entry word
//   bits 511:496, 0 = never reusable), else to the lowest-numbered idle engine.
// - Admission of the next entry in program order, c = 1 + len(preds[x]):
//   when entries remain and a slot is free; predecessor j's done bit is read
//   in cycle t + 1 + j; in cycle t + c the entry is in the table with its
//   count of unfinished predecessors and, when 0, in the ready (TILE) or
//   completion (JOIN) queue.
// - Vector entries (entry word bit 5, graph workloads): ready ones wait in a
//   queue of their own; dispatching its head to the vector unit (when idle:
//   not busy, or `vec_done` high this cycle) comes before tile dispatch,
//   c = 1, `vdisp_valid` in cycle t + 1 with `disp_entry`/`disp_word`.
//   `vec_done` is a done notice like an engine's, after the engines'.
// - `all_done` rises in the cycle the last completion's action ends; cycle 0
//   is the cycle `start` is seen. `deadlock` is high while nothing can ever
//   happen again with entries unfinished (no action possible, engines idle).
//
// Trace strobes: `ev_ready` in the first cycle an entry is in the ready
// queue (`ev_ready_entry`); `ev_complete` in the cycle a completion is chosen
// (with the entry and its successor count, which give the action's end: a
// tile readied during the walk is architecturally ready at that end);
// `disp_valid` marks the dispatch (tile start).
`default_nettype none

module tile_scheduler #(
    parameter integer ENGINES     = 2,
    parameter integer TABLE_DEPTH = 16,
    parameter integer N_DEPTH     = 64,
    parameter integer LIST_DEPTH  = 64,
    parameter integer ENTRY_W     = 512,
    parameter integer DOUBLE_BUFFER = 0,
    parameter integer EW          = (ENGINES > 1) ? $clog2(ENGINES) : 1
) (
    input  wire               clk,
    input  wire               rst,
    input  wire               start,
    input  wire [31:0]        n_entries,
    input  wire [ENGINES-1:0] eng_done,
    input  wire               vec_done,
    output reg                disp_valid,
    output reg                vdisp_valid,
    output reg  [EW-1:0]      disp_engine,
    output reg  [31:0]        disp_entry,
    output reg  [ENTRY_W-1:0] disp_word,
    output wire               all_done,
    output wire               deadlock,
    output reg                ev_ready,
    output reg  [31:0]        ev_ready_entry,
    output wire               ev_complete,
    output wire [31:0]        ev_complete_entry,
    output wire [31:0]        ev_complete_succs
);
    localparam [1:0] S_CHOOSE = 2'd0, S_ADMIT = 2'd1, S_COMPLETE = 2'd2;

    reg [ENTRY_W-1:0] entry_rom [0:N_DEPTH-1];
    reg [31:0]        pred_rom  [0:LIST_DEPTH-1];
    reg [31:0]        succ_rom  [0:LIST_DEPTH-1];
    reg [8*256-1:0]   path;
    initial begin
        if ($value$plusargs("entries=%s", path)) $readmemh(path, entry_rom);
        if ($value$plusargs("preds=%s", path)) $readmemh(path, pred_rom);
        if ($value$plusargs("succs=%s", path)) $readmemh(path, succ_rom);
    end

    // ---- state ----
    reg  [1:0]  state;
    reg         running;
    reg  [31:0] admit_next, completed;
    reg  [31:0] walk_ptr, walk_left, walk_pending, admit_entry;
    // Table indices and entry words are wider than this block looks at: the
    // words carry the engine's fields too, indices are 32-bit for any depth.
    /* verilator lint_off UNUSEDSIGNAL */
    reg  [31:0] admit_slot;
    reg         done_bits [0:N_DEPTH-1];

    reg         slot_valid [0:TABLE_DEPTH-1];
    reg  [31:0] slot_entry [0:TABLE_DEPTH-1];
    reg  [31:0] slot_pend  [0:TABLE_DEPTH-1];

    reg  [31:0] rq [0:TABLE_DEPTH-1];
    reg  [31:0] cq [0:TABLE_DEPTH-1];
    reg  [31:0] vq [0:TABLE_DEPTH-1];   // ready vector entries
    integer     rq_head, rq_tail, rq_count, cq_head, cq_tail, cq_count, vq_head, vq_tail, vq_count;
    // Arrival queue: between two choices each engine finishes at most once
    // (only a choice dispatches), twice with double buffering: AQ slots suffice.
    localparam integer CAP = DOUBLE_BUFFER != 0 ? 2 : 1;  // tiles an engine holds
    localparam integer AQ = ENGINES * CAP + 1;  // + the vector unit
    reg  [31:0] aq [0:AQ-1];
    integer     aq_count;

    reg  [ENGINES-1:0] eng_busy;               // holds at least one tile
    reg  [1:0]         eng_cnt   [0:ENGINES-1];  // tiles held (0 .. CAP)
    reg  [31:0]        eng_entry [0:ENGINES-1];  // the oldest tile held
    reg  [31:0]        eng_next  [0:ENGINES-1];  // the second (double buffering)
    reg  [15:0]        eng_bblk  [0:ENGINES-1];  // B block of the last tile dispatched (reuse)
    reg                vec_busy;                 // the vector unit holds an entry
    reg  [31:0]        vec_entry;
    wire               vec_idle = !vec_busy || vec_done;

    wire active = running | start;

    // ---- combinational helpers ----
    wire        head_from_aq  = cq_count == 0;
    wire [31:0] cq_head_entry = head_from_aq ? aq[0] : cq[cq_head];
    wire [31:0] rq_head_entry = rq[rq_head];
    wire [31:0] vq_head_entry = vq[vq_head];
    wire [ENTRY_W-1:0] vq_head_word = entry_rom[vq_head_entry];
    wire [ENTRY_W-1:0] rq_head_word = entry_rom[rq_head_entry];
    wire [15:0] rq_head_bblk = rq_head_word[511:496];
    wire [31:0] walk_item = (state == S_ADMIT) ? pred_rom[walk_ptr] : succ_rom[walk_ptr];
    wire [31:0] cam_key = (state == S_COMPLETE) ? walk_item : cq_head_entry;
    wire [ENTRY_W-1:0] head_word  = entry_rom[cq_head_entry];
    wire [ENTRY_W-1:0] admit_word = entry_rom[admit_next];
    wire [ENTRY_W-1:0] walk_word  = entry_rom[walk_item];
    /* verilator lint_on UNUSEDSIGNAL */
    // entry-word fields (32-bit slots, see tlm/rtl/image.py)
    wire [31:0] admit_pred_ptr = admit_word[127:96];
    wire [31:0] admit_pred_cnt = admit_word[159:128];
    wire [31:0] head_succ_ptr  = head_word[191:160];
    wire [31:0] head_succ_cnt  = head_word[223:192];
    reg         admit_kind;  // kind (1 = JOIN) of the entry being admitted
    reg         admit_vec;   // ... a vector entry

    reg         cam_hit;
    /* verilator lint_off UNUSEDSIGNAL */
    reg  [31:0] cam_slot;   // 32-bit for any TABLE_DEPTH
    /* verilator lint_on UNUSEDSIGNAL */
    reg         free_any;
    reg  [31:0] free_slot;
    reg         idle_any;
    reg  [EW-1:0] idle_eng;
    integer     s, e;

    always @(*) begin
        cam_hit = 1'b0; cam_slot = 32'd0;
        free_any = 1'b0; free_slot = 32'd0;
        for (s = TABLE_DEPTH - 1; s >= 0; s = s - 1) begin
            if (slot_valid[s] && slot_entry[s] == cam_key) begin
                cam_hit = 1'b1; cam_slot = s;
            end
            if (!slot_valid[s]) begin
                free_any = 1'b1; free_slot = s;
            end
        end
        idle_any = 1'b0; idle_eng = {EW{1'b0}};
        for (e = ENGINES - 1; e >= 0; e = e - 1)
            if ((!eng_busy[e] || eng_done[e]) && (CAP == 1 || eng_cnt[e] != 2'd2)) begin
                idle_any = 1'b1; idle_eng = e[EW-1:0];
            end
        if (CAP == 1 && rq_head_bblk != 16'd0)  // reuse: an idle engine holding the B block
            for (e = ENGINES - 1; e >= 0; e = e - 1)
                if ((!eng_busy[e] || eng_done[e]) && eng_bblk[e] == rq_head_bblk)
                    idle_eng = e[EW-1:0];
        if (CAP > 1 && !idle_any)  // none empty: the lowest-numbered with a free buffer
            for (e = ENGINES - 1; e >= 0; e = e - 1)
                if (eng_cnt[e] < 2'd2 || eng_done[e]) begin
                    idle_any = 1'b1; idle_eng = e[EW-1:0];
                end
    end

    wire choosing   = active && state == S_CHOOSE;
    wire do_complete = choosing && (cq_count != 0 || aq_count != 0);
    wire do_vdispatch = choosing && !do_complete && vq_count != 0 && vec_idle;
    wire do_dispatch = choosing && !do_complete && !do_vdispatch && rq_count != 0 && idle_any;
    wire do_admit    = choosing && !do_complete && !do_vdispatch && !do_dispatch
                       && admit_next < n_entries && free_any;

    assign ev_complete       = do_complete;
    assign ev_complete_entry = cq_head_entry;
    assign ev_complete_succs = head_succ_cnt;

    assign all_done = running && state == S_CHOOSE && completed == n_entries;
    assign deadlock = choosing && !all_done && !do_complete && !do_vdispatch && !do_dispatch && !do_admit
                      && eng_busy == {ENGINES{1'b0}} && eng_done == {ENGINES{1'b0}}
                      && !vec_busy && !vec_done;

    // ---- what this cycle pushes ----
    reg         push_entry_valid;   // admission end or successor reaching 0
    reg  [31:0] push_entry;
    reg         push_is_join, push_is_vec;
    always @(*) begin
        push_entry_valid = 1'b0; push_entry = 32'd0; push_is_join = 1'b0; push_is_vec = 1'b0;
        if (do_admit && admit_pred_cnt == 32'd0) begin
            push_entry_valid = 1'b1; push_entry = admit_next; push_is_join = admit_word[0];
            push_is_vec = admit_word[5];
        end else if (state == S_ADMIT && walk_left == 32'd1
                     && walk_pending + {31'd0, !done_bits[walk_item]} == 32'd0) begin
            push_entry_valid = 1'b1; push_entry = admit_entry; push_is_join = admit_kind;
            push_is_vec = admit_vec;
        end else if (state == S_COMPLETE && cam_hit && slot_pend[cam_slot] == 32'd1) begin
            push_entry_valid = 1'b1; push_entry = walk_item; push_is_join = walk_word[0];
            push_is_vec = walk_word[5];
        end
    end
    /* verilator lint_off BLKSEQ */
    integer tail_v, pushes, aq_v;
    always @(posedge clk) begin
        if (rst) begin
            state <= S_CHOOSE; running <= 1'b0;
            admit_next <= 0; completed <= 0;
            walk_ptr <= 0; walk_left <= 0; walk_pending <= 0; admit_entry <= 0; admit_slot <= 0;
            admit_kind <= 1'b0; admit_vec <= 1'b0;
            vq_head <= 0; vq_tail <= 0; vq_count <= 0;
            vec_busy <= 1'b0; vec_entry <= 0; vdisp_valid <= 1'b0;
            rq_head <= 0; rq_tail <= 0; rq_count <= 0;
            cq_head <= 0; cq_tail <= 0; cq_count <= 0; aq_count <= 0;
            eng_busy <= {ENGINES{1'b0}};
            for (e = 0; e < ENGINES; e = e + 1) begin
                eng_cnt[e] <= 2'd0; eng_entry[e] <= 0; eng_next[e] <= 0; eng_bblk[e] <= 16'd0;
            end
            disp_valid <= 1'b0; disp_engine <= {EW{1'b0}}; disp_entry <= 0;
            disp_word <= {ENTRY_W{1'b0}};
            ev_ready <= 1'b0; ev_ready_entry <= 0;
            for (s = 0; s < TABLE_DEPTH; s = s + 1) slot_valid[s] <= 1'b0;
            for (s = 0; s < N_DEPTH; s = s + 1) done_bits[s] <= 1'b0;
        end else begin
            if (start) running <= 1'b1;
            disp_valid <= 1'b0;
            vdisp_valid <= 1'b0;
            ev_ready <= 1'b0;
            if (vec_done) vec_busy <= 1'b0;

            // engines that finish are idle from now on
            for (e = 0; e < ENGINES; e = e + 1)
                if (eng_done[e]) begin
                    eng_busy[e] <= eng_cnt[e] == 2'd2;
                    eng_cnt[e] <= eng_cnt[e] - 2'd1;
                    eng_entry[e] <= eng_next[e];
                end

            case (state)
            S_CHOOSE: begin
                if (do_complete) begin
                    if (cam_hit) slot_valid[cam_slot] <= 1'b0;
                    done_bits[cq_head_entry] <= 1'b1;
                    completed <= completed + 1;
                    if (head_succ_cnt != 32'd0) begin
                        state <= S_COMPLETE;
                        walk_ptr <= head_succ_ptr;
                        walk_left <= head_succ_cnt;
                    end
                end else if (do_vdispatch) begin
                    vdisp_valid <= 1'b1;
                    disp_entry <= vq_head_entry;
                    disp_word <= vq_head_word;
                    vec_busy <= 1'b1;
                    vec_entry <= vq_head_entry;
                end else if (do_dispatch) begin
                    disp_valid <= 1'b1;
                    disp_engine <= idle_eng;
                    disp_entry <= rq_head_entry;
                    disp_word <= rq_head_word;
                    eng_bblk[idle_eng] <= rq_head_bblk;
                    eng_busy[idle_eng] <= 1'b1;
                    eng_cnt[idle_eng] <= eng_cnt[idle_eng] + 2'd1 - {1'b0, eng_done[idle_eng]};
                    if (eng_cnt[idle_eng] - {1'b0, eng_done[idle_eng]} == 2'd0)
                        eng_entry[idle_eng] <= rq_head_entry;
                    else
                        eng_next[idle_eng] <= rq_head_entry;
                end else if (do_admit) begin
                    admit_next <= admit_next + 1;
                    if (admit_pred_cnt == 32'd0) begin
                        slot_valid[free_slot] <= 1'b1;
                        slot_entry[free_slot] <= admit_next;
                        slot_pend[free_slot] <= 32'd0;
                    end else begin
                        state <= S_ADMIT;
                        admit_entry <= admit_next;
                        admit_kind <= admit_word[0];
                        admit_vec <= admit_word[5];
                        admit_slot <= free_slot;
                        walk_ptr <= admit_pred_ptr;
                        walk_left <= admit_pred_cnt;
                        walk_pending <= 32'd0;
                    end
                end
            end
            S_ADMIT: begin
                walk_ptr <= walk_ptr + 1;
                walk_left <= walk_left - 1;
                walk_pending <= walk_pending + {31'd0, !done_bits[walk_item]};
                if (walk_left == 32'd1) begin
                    state <= S_CHOOSE;
                    slot_valid[admit_slot] <= 1'b1;
                    slot_entry[admit_slot] <= admit_entry;
                    slot_pend[admit_slot] <= walk_pending + {31'd0, !done_bits[walk_item]};
                end
            end
            S_COMPLETE: begin
                walk_ptr <= walk_ptr + 1;
                walk_left <= walk_left - 1;
                if (cam_hit) slot_pend[cam_slot] <= slot_pend[cam_slot] - 1;
                if (walk_left == 32'd1) state <= S_CHOOSE;
            end
            default: state <= S_CHOOSE;
            endcase

            // ---- queue updates: pops by the controller, pushes in order ----
            pushes = 0;
            tail_v = cq_tail;
            if (choosing)  // arrivals join the completion queue (minus a popped head)
                for (e = 0; e < AQ; e = e + 1)
                    if (e < aq_count && !(e == 0 && do_complete && head_from_aq)) begin
                        cq[tail_v] <= aq[e];
                        tail_v = (tail_v + 1) % TABLE_DEPTH;
                        pushes = pushes + 1;
                    end
            if (push_entry_valid) begin
                if (push_is_join) begin
                    cq[tail_v] <= push_entry;
                    tail_v = (tail_v + 1) % TABLE_DEPTH;
                    pushes = pushes + 1;
                end else if (push_is_vec) begin
                    vq[vq_tail] <= push_entry;
                    ev_ready <= 1'b1;
                    ev_ready_entry <= push_entry;
                end else begin
                    rq[rq_tail] <= push_entry;
                    ev_ready <= 1'b1;
                    ev_ready_entry <= push_entry;
                end
            end
            cq_tail <= tail_v;
            cq_count <= cq_count + pushes - ((do_complete && !head_from_aq) ? 1 : 0);
            if (do_complete && !head_from_aq) cq_head <= (cq_head + 1) % TABLE_DEPTH;
            aq_v = choosing ? 0 : aq_count;
            for (e = 0; e < ENGINES; e = e + 1)
                if (eng_done[e]) begin
                    aq[aq_v] <= eng_entry[e];
                    aq_v = aq_v + 1;
                end
            if (vec_done) begin  // after the engines' notices
                aq[aq_v] <= vec_entry;
                aq_v = aq_v + 1;
            end
            aq_count <= aq_v;

            if (push_entry_valid && push_is_vec) begin
                vq_tail <= (vq_tail + 1) % TABLE_DEPTH;
                vq_count <= vq_count + 1 - (do_vdispatch ? 1 : 0);
            end else vq_count <= vq_count - (do_vdispatch ? 1 : 0);
            if (do_vdispatch) vq_head <= (vq_head + 1) % TABLE_DEPTH;
            if (push_entry_valid && !push_is_join && !push_is_vec) begin
                rq_tail <= (rq_tail + 1) % TABLE_DEPTH;
                rq_count <= rq_count + 1 - (do_dispatch ? 1 : 0);
            end else rq_count <= rq_count - (do_dispatch ? 1 : 0);
            if (do_dispatch) rq_head <= (rq_head + 1) % TABLE_DEPTH;
        end
    end
    /* verilator lint_on BLKSEQ */
endmodule

`default_nettype wire
