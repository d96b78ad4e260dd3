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

import heapq
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from tlm.arch import Arch
from tlm.errors import DeadlockError
from tlm.kernel import Event, Module, wait
from tlm.workload.program import EntryKind, TileProgram

if TYPE_CHECKING:
    from tlm.blocks.engine import Engine


class TileScheduler(Module):
    """Admits, tracks and dispatches the program's entries."""

    def __init__(self, parent: Module, name: str, arch: Arch, program: TileProgram,
                 engines: list[Engine], trace: object) -> None:
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
        self.tile_ids = program.tile_id.tolist()
        self.pred_ptr = program.preds.ptr.tolist()
        self.succ_ptr = program.succs.ptr.tolist()
        self.pred_idx = program.preds.idx
        self.succ_idx = program.succs.idx
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
        heapq.heappush(self.arrivals,
                       (cycle + self.arch.timing.sched_notice_cycles, self._seq, entry))
        if self.idle_waiting:
            self.wake.notify()

    # -- the controller ------------------------------------------------------------------
    async def run(self) -> None:
        t = self.arch.timing
        period = self.period
        depth = self.arch.scheduler.table_depth
        engines = self.engines
        ready = self.ready
        completions = self.completions
        arrivals = self.arrivals
        pred_ptr, succ_ptr = self.pred_ptr, self.succ_ptr
        pred_idx, succ_idx = self.pred_idx, self.succ_idx
        done, pending, is_join = self.done, self.pending, self.is_join
        trace = self.trace
        n = self.n
        progress_every = max(1, n // 100)
        # Engines announce completions and free cycles at least one cycle ahead
        # unless both engine_done and notice cycles are 0; only then must each
        # decision wait a delta for same-cycle announcements.
        settle = t.engine_done_cycles == 0 or t.sched_notice_cycles == 0
        while self.completed < n:
            if settle:
                await wait(0)
            now = self.sim.now // period
            while arrivals and arrivals[0][0] <= now:
                completions.append(heapq.heappop(arrivals)[2])
            if completions:
                x = completions.popleft()
                lo, hi = succ_ptr[x], succ_ptr[x + 1]
                await wait((t.sched_complete_cycles + t.sched_succ_cycles * (hi - lo)) * period)
                done[x] = 1
                self.occupancy -= 1
                self.completed += 1
                admitted = self.admitted
                if hi > lo:
                    end = self.sim.now // period
                    for s in succ_idx[lo:hi].tolist():
                        if s < admitted:
                            c = pending[s] - 1
                            pending[s] = c
                            if c == 0:
                                self._make_ready(s, end)
                if self.on_progress is not None and self.completed % progress_every == 0:
                    self.on_progress(self.completed)
                if self.on_occupancy is not None:
                    self.on_occupancy(self.sim.now // period, self.occupancy)
                continue
            if ready:
                idle = next((e for e in engines if not e.busy and e.free_at <= now), None)
                if idle is not None:
                    x = ready.popleft()
                    idle.busy = True  # reserved for the duration of the action
                    await wait(t.sched_dispatch_cycles * period)
                    end = self.sim.now // period
                    trace.record("dispatch", self.tile_ids[x], self.ready_at.pop(x), end,
                                 engine=idle.index)
                    idle.start(x)
                    continue
            if self.admitted < n and self.occupancy < depth:
                x = self.admitted
                lo, hi = pred_ptr[x], pred_ptr[x + 1]
                await wait((t.sched_admit_cycles + t.sched_pred_cycles * (hi - lo)) * period)
                count = 0
                if hi > lo:
                    for p in pred_idx[lo:hi].tolist():
                        if not done[p]:
                            count += 1
                pending[x] = count
                self.admitted = x + 1
                self.occupancy += 1
                if self.occupancy > self.max_occupancy:
                    self.max_occupancy = self.occupancy
                if self.on_occupancy is not None:
                    self.on_occupancy(self.sim.now // period, self.occupancy)
                if count == 0:
                    self._make_ready(x, self.sim.now // period)
                continue
            # Nothing to do: sleep until an arrival is due, an engine frees up
            # (when tiles are ready), or an engine announces something.
            self.idle_waiting = True
            due = [arrivals[0][0]] if arrivals else []
            if ready:
                due += [e.free_at for e in engines if not e.busy and e.free_at > now]
            if due:
                await wait(min(due) * period - self.sim.now, self.wake)
            else:
                await self.wake
            self.idle_waiting = False
        self.end_cycle = self.sim.now // period

    def _make_ready(self, x: int, cycle: int) -> None:
        if self.is_join[x]:
            self.completions.append(x)
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


