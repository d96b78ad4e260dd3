"""The tile scheduler: dependency table, ready queue, dispatch.

One controller performs one action at a time (docs/microarch.md, "Tile
scheduler"): completion > dispatch > admission. An action chosen at cycle t
costing c cycles applies its effects at t + c. Entries are admitted in
program order into a table of `table_depth` slots; an entry's pending count
is its number of unfinished predecessors; finishing an entry decrements its
admitted successors, and a count reaching zero makes a tile ready (FIFO) or
completes a join. Ready tiles go to the lowest-numbered idle engine.
"""

from __future__ import annotations

import array
import heapq
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tlm.arch import Arch
from tlm.blocks.sink import TraceRecorder, is_null
from tlm.errors import DeadlockError
from tlm.kernel import Event, Module, wait
from tlm.workload.program import EntryKind, TileProgram

if TYPE_CHECKING:
    from tlm.blocks.engine import Engine
    from tlm.blocks.vector import VectorUnit


def _only_item(ptr: np.ndarray, idx: np.ndarray) -> array.array[int]:
    """Per entry: its one item when it has exactly one, else -1.

    An `array` rather than a list: 8 bytes an entry instead of an int object.
    """
    count = np.diff(ptr)
    if not idx.shape[0]:
        return array.array("q", [-1]) * count.shape[0]
    first = idx[np.minimum(ptr[:-1], idx.shape[0] - 1)]
    return array.array("q", np.where(count == 1, first, -1).astype(np.int64).tobytes())


class TileScheduler(Module):
    """Admits, tracks and dispatches the program's entries."""

    def __init__(self, parent: Module, name: str, arch: Arch, program: TileProgram,
                 engines: list[Engine], trace: TraceRecorder) -> None:
        super().__init__(parent, name)
        self.arch = arch
        self.program = program
        self.engines = engines
        for e in engines:
            e.scheduler = self
        self.trace = trace
        self.period = arch.clock.period_ps
        n = program.entries
        self.n = n
        self.is_join = (program.kind == EntryKind.JOIN).tolist()
        # VEC entries (graph workloads) go to the vector unit, from their own ready queue.
        self.is_vec = (program.kind == EntryKind.VEC).tolist() if program.vector_ops else None
        self.vector: VectorUnit | None = None
        self.vready: deque[int] = deque()
        self.tile_ids = program.tile_id.tolist()
        self.pred_ptr = program.preds.ptr.tolist()
        self.succ_ptr = program.succs.ptr.tolist()
        self.pred_idx = program.preds.idx
        self.succ_idx = program.succs.idx
        # The single predecessor/successor of entries that have exactly one, else -1:
        # the common case then needs no numpy slice (Python lists of all edges
        # would cost too much memory on full-size networks).
        self.only_pred = _only_item(program.preds.ptr, program.preds.idx)
        self.only_succ = _only_item(program.succs.ptr, program.succs.idx)
        self.done = bytearray(n)
        self.pending = [0] * n
        self.ready_at: dict[int, int] = {}
        self.admitted = 0           # entries [0, admitted) have been admitted
        self.occupancy = 0          # admitted and not completed
        self.max_occupancy = 0
        self.completed = 0
        self.ready: deque[int] = deque()
        self.completions: deque[int] = deque()
        self.arrivals: list[tuple[int, int, int]] = []  # (cycle visible, seq, entry)
        self._seq = 0
        self.wake = Event(self.sim, f"{self.name}.wake")
        t = arch.timing
        self._notice = t.sched_notice_cycles
        # Engines announce completions and free cycles at least one cycle ahead
        # unless both engine_done and notice cycles are 0; only then must each
        # decision wait a delta for same-cycle announcements.
        self._settle = t.engine_done_cycles == 0 or t.sched_notice_cycles == 0
        self.idle_waiting = False
        self.end_cycle = 0
        self.on_progress: Callable[[int], None] | None = None
        self.on_occupancy: Callable[[int, int], None] | None = None
        self.thread(self.run)

    # -- called by engines ------------------------------------------------------------
    def engine_done(self, engine: int, entry: int, cycle: int) -> None:
        """Engine `engine` finishes `entry` at `cycle` (now or later); the controller
        sees the completion `sched_notice_cycles` after that, and the engine is free
        for a new tile from `cycle` on."""
        self._seq += 1
        visible = cycle + self._notice
        heapq.heappush(self.arrivals, (visible, self._seq, entry))
        if self.idle_waiting:
            if self._settle:
                self.wake.notify()
            elif self.wake.has_sensitivity():
                # Announcements are at least a cycle ahead here, and while the
                # controller sleeps nothing else changes what it waits for: move
                # its wake-up earlier (a timed notification keeps the earliest)
                # rather than waking it now only to compute the same time.
                due = cycle if self.ready or self.vready else visible
                self.wake.notify(due * self.period - self.sim.now)

    # -- the controller ------------------------------------------------------------------
    async def run(self) -> None:
        t = self.arch.timing
        sim = self.sim
        period = self.period
        depth = self.arch.scheduler.table_depth
        engines = self.engines
        ready = self.ready
        completions = self.completions
        arrivals = self.arrivals
        heappop = heapq.heappop
        pred_ptr, succ_ptr = self.pred_ptr, self.succ_ptr
        pred_idx, succ_idx = self.pred_idx, self.succ_idx
        only_pred, only_succ = self.only_pred, self.only_succ
        done, pending = self.done, self.pending
        ready_at, tile_ids = self.ready_at, self.tile_ids
        trace = self.trace
        tracing = not is_null(trace)
        layer_of = engines[0].layer_of if tracing and engines else None
        wake = self.wake
        make_ready = self._make_ready
        n = self.n
        progress_every = max(1, n // 100)
        # Action costs in ps.
        complete_ps, succ_ps = t.sched_complete_cycles * period, t.sched_succ_cycles * period
        admit_ps, pred_ps = t.sched_admit_cycles * period, t.sched_pred_cycles * period
        dispatch_ps = t.sched_dispatch_cycles * period
        settle = self._settle
        double = self.arch.engine.double_buffer
        reuse = self.arch.engine.reuse and self.program.a_block is not None
        while self.completed < n:
            if settle:
                await wait(0)
            now = sim.now // period
            while arrivals and arrivals[0][0] <= now:
                completions.append(heappop(arrivals)[2])
            if completions:
                x = completions.popleft()
                lo, hi = succ_ptr[x], succ_ptr[x + 1]
                await wait(complete_ps + succ_ps * (hi - lo))
                done[x] = 1
                self.occupancy -= 1
                self.completed += 1
                if hi > lo:
                    admitted = self.admitted
                    end = sim.now // period
                    # Most entries have one successor: skip the numpy slice for them.
                    one = only_succ[x]
                    for s in ((one,) if one >= 0 else succ_idx[lo:hi].tolist()):
                        if s < admitted:
                            c = pending[s] - 1
                            pending[s] = c
                            if c == 0:
                                make_ready(s, end)
                if self.on_progress is not None and self.completed % progress_every == 0:
                    self.on_progress(self.completed)
                if self.on_occupancy is not None:
                    self.on_occupancy(sim.now // period, self.occupancy)
                continue
            vu = self.vector
            if self.vready and vu is not None and vu.busy and not settle:
                # The unit frees up in its store's done cycle, announced in that
                # same cycle: let it run first, so it is free from that cycle on
                # whichever process the kernel resumes first (as in the RTL).
                await wait(0)
            if self.vready and vu is not None and not vu.busy and vu.free_at <= now:
                x = self.vready.popleft()
                vu.busy = True
                await wait(dispatch_ps)
                if tracing:
                    extra = {} if layer_of is None else {"layer": layer_of[x]}
                    trace.record("dispatch", tile_ids[x], ready_at.pop(x), sim.now // period,
                                 engine=vu.index, **extra)
                else:
                    del ready_at[x]
                vu.start(x, tile_ids[x])
                continue
            if ready:
                idle: Engine | None
                if double:
                    idle = self._double_buffered_choice(now)
                elif reuse:
                    idle = self._reuse_choice(now, ready[0])
                else:
                    for idle in engines:
                        if not idle.busy and idle.free_at <= now:
                            break
                    else:
                        idle = None
                if idle is not None:
                    x = ready.popleft()
                    if double:
                        idle.reserve()  # type: ignore[attr-defined]
                    else:
                        idle.busy = True  # reserved for the duration of the action
                    await wait(dispatch_ps)
                    if tracing:
                        if layer_of is None:
                            trace.record("dispatch", tile_ids[x], ready_at.pop(x),
                                         sim.now // period, engine=idle.index)
                        else:
                            trace.record("dispatch", tile_ids[x], ready_at.pop(x),
                                         sim.now // period, engine=idle.index, layer=layer_of[x])
                    else:
                        del ready_at[x]
                    idle.start(x, tile_ids[x])
                    continue
            x = self.admitted
            if x < n and self.occupancy < depth:
                lo, hi = pred_ptr[x], pred_ptr[x + 1]
                await wait(admit_ps + pred_ps * (hi - lo))
                count = 0
                if hi > lo:
                    p = only_pred[x]
                    if p >= 0:
                        count = 0 if done[p] else 1
                    else:
                        for p in pred_idx[lo:hi].tolist():
                            if not done[p]:
                                count += 1
                pending[x] = count
                self.admitted = x + 1
                occupancy = self.occupancy = self.occupancy + 1
                if occupancy > self.max_occupancy:
                    self.max_occupancy = occupancy
                if self.on_occupancy is not None:
                    self.on_occupancy(sim.now // period, occupancy)
                if count == 0:
                    make_ready(x, sim.now // period)
                continue
            # Nothing to do: sleep until an arrival is due, an engine frees up
            # (when tiles are ready), or an engine announces something. The
            # timeout is a timed notification of `wake` itself (cheaper than a
            # timed wait on an event): an engine's notification, immediate or
            # an earlier timed one, overrides it, so no stale wake-up remains.
            self.idle_waiting = True
            due = arrivals[0][0] if arrivals else -1
            if ready and double:
                for e in engines:
                    f = e.next_release(now)  # type: ignore[attr-defined]
                    if f > now and (due < 0 or f < due):
                        due = f
            elif ready:
                for e in engines:
                    f = e.free_at
                    if not e.busy and f > now and (due < 0 or f < due):
                        due = f
            if self.vready and vu is not None and not vu.busy and vu.free_at > now \
                    and (due < 0 or vu.free_at < due):
                due = vu.free_at
            if due >= 0:
                wake.notify(due * period - sim.now)
            await wake
            self.idle_waiting = False
        self.end_cycle = sim.now // period

    def _double_buffered_choice(self, now: int) -> Engine | None:
        """Double buffering: the lowest-numbered engine holding no tile, else the
        lowest-numbered one holding one (docs/microarch.md, "Double buffering")."""
        one: Engine | None = None
        for e in self.engines:
            used = e.slots_used(now)  # type: ignore[attr-defined]
            if used == 0:
                return e
            if used == 1 and one is None:
                one = e
        return one

    def _reuse_choice(self, now: int, x: int) -> Engine | None:
        """Operand reuse: the lowest-numbered idle engine holding tile `x`'s B
        block, else the lowest-numbered idle engine (docs/microarch.md, "Operand reuse")."""
        b = int(self.program.b_block[x])  # type: ignore[index]
        first: Engine | None = None
        for e in self.engines:
            if not e.busy and e.free_at <= now:
                if b >= 0 and e.resident_b() == b:
                    return e
                if first is None:
                    first = e
        return first

    def _make_ready(self, x: int, cycle: int) -> None:
        """Entry `x` has no unfinished predecessor: a join completes, a tile is ready."""
        if self.is_join[x]:
            self.completions.append(x)
        elif self.is_vec is not None and self.is_vec[x]:
            self.ready_at[x] = cycle
            self.vready.append(x)
        else:
            self.ready_at[x] = cycle
            self.ready.append(x)

    def engine_idle(self) -> None:
        """An engine became idle: a sleeping controller may now dispatch."""
        if self.idle_waiting:
            self.wake.notify()

    # -- diagnosis ---------------------------------------------------------------------------
    def deadlock(self) -> DeadlockError:
        """Describe why the run stopped with entries unfinished."""
        p = self.program
        waiting = []
        for x in range(self.admitted):
            if not self.done[x] and self.pending[x] > 0:
                lo, hi = self.pred_ptr[x], self.pred_ptr[x + 1]
                missing = [int(p.tile_id[q]) for q in self.pred_idx[lo:hi] if not self.done[q]]
                kind = "join" if self.is_join[x] else "tile"
                waiting.append(f"{kind} {self.tile_ids[x]} waits for {missing[:8]}")
        nxt = ""
        if self.admitted < self.n:
            nxt = (f"; next to admit: tile {self.tile_ids[self.admitted]} needs a free slot "
                   f"(table_depth={self.arch.scheduler.table_depth}, {self.occupancy} in use)")
        blocked = "; ".join(f"{name} on {what}" for name, what in self.sim.blocked())
        return DeadlockError(
            f"deadlock at cycle {self.sim.now // self.period}: {self.n - self.completed} of {self.n} "
            f"entries unfinished; table holds: {', '.join(waiting[:10]) or 'nothing'}{nxt}; "
            f"blocked processes: {blocked}")


