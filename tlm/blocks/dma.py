"""The shared DMA engine and its round-robin arbiter.

Engines post one op at a time (load_a, load_b, load_c, store_c of an entry);
the arbiter grants whole ops, round robin, starting after the engine granted
last. An op requested at cycle r while the DMA is free from cycle f is
granted at max(r, f) + dma_grant_cycles and done after its service time
(`timing.OpTimes`). In functional mode the op's segment list really moves
bytes between external memory and the engine's scratchpad.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tlm.arch import Arch, MemoryModel
from tlm.blocks.dram_model import DramModel, op_requests
from tlm.blocks.sink import is_null
from tlm.errors import InputError
from tlm.blocks.timing import OpTimes
from tlm.kernel import Event, Module
from tlm.workload.program import Segments, TileProgram

if TYPE_CHECKING:
    from tlm.blocks.engine import Engine

LOADS = ("load_a", "load_b", "load_c")


class MemoryPort:
    """How the DMA reaches external memory.

    `dmi` is the memory as a byte array when the target granted direct
    memory access (None otherwise); `read`/`write` are single transactions.
    """

    dmi: np.ndarray | None = None

    def read(self, addr: int, into: np.ndarray) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def write(self, addr: int, data: np.ndarray) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def invalidate(self, start: int, end: int) -> None:
        """The target revoked DMI over [start, end): fall back to transactions."""
        self.dmi = None


class _Plan:
    """An op kind's segment lists as byte indices, for vectorised DMI copies."""

    def __init__(self, segs: Segments) -> None:
        real = ~segs.zero
        entry_of = np.repeat(np.arange(segs.ptr.shape[0] - 1), np.diff(segs.ptr))
        self.ptr = _byte_ptr(entry_of[real], segs.length[real], segs.ptr.shape[0] - 1)
        self.mem = byte_ranges(segs.mem_addr[real], segs.length[real])
        self.local = byte_ranges(segs.local_addr[real], segs.length[real])
        self.zptr = _byte_ptr(entry_of[~real], segs.length[~real], segs.ptr.shape[0] - 1)
        self.zlocal = byte_ranges(segs.local_addr[~real], segs.length[~real])


def _byte_ptr(entry_of: np.ndarray, length: np.ndarray, n: int) -> list[int]:
    per_entry = np.bincount(entry_of, weights=length, minlength=n).astype(np.int64)
    return np.concatenate(([0], np.cumsum(per_entry))).tolist()


def byte_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenated byte ranges [starts[i], starts[i] + lengths[i])."""
    lengths = lengths.astype(np.int64, copy=False)
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts.astype(np.int64) - before, lengths) + np.arange(int(lengths.sum()))


class Dma(Module):
    """One DMA shared by all engines (docs/microarch.md, "DMA and arbiter")."""

    def __init__(self, parent: Module, name: str, arch: Arch, program: TileProgram,
                 times: OpTimes, memory: np.ndarray | None) -> None:
        super().__init__(parent, name)
        self.arch = arch
        self.program = program
        self.times = times
        self.memory = memory
        self.period = arch.clock.period_ps
        self.engines: list[Engine] = []
        # Per engine: its request (op, entry, trace start cycle) or None.
        self.pending: list[tuple[str, int, int] | None] = []
        self.n_pending = 0
        self.last_granted = -1
        self.busy = False
        self.current: tuple[int, str, int, int, int] | None = None  # engine, op, entry, start, grant
        # The arbiter is a method process, `decide`, run one delta after a
        # request reaches an idle DMA (so requests raised in the same cycle are
        # all visible). An op's end is no process of its own: the engine, woken
        # by its `dma_done` at the done cycle, calls `retire` first thing, at
        # the point where a separate process woken then would have run (one
        # kernel resumption less per op, same order of effects).
        self.decide_ev = Event(self.sim, f"{self.name}.decide")
        self.method(self.decide, [self.decide_ev], dont_initialize=True)
        self.busy_cycles = 0
        self.bytes_moved = 0
        self.ops = 0
        self.on_busy: Callable[[int, int], None] | None = None
        self.port: MemoryPort | None = None  # set by the accelerator in functional mode
        self._plans: dict[str, _Plan] = {}
        # Python lists: indexing them is several times cheaper than numpy scalars.
        self._service = {op: v.tolist() for op, v in times.service.items()}
        self._bytes = {op: v.tolist() for op, v in program.bytes.items()}
        self._beats = {op: v.tolist() for op, v in program.beats.items()}
        self._grant_cycles = arch.timing.dma_grant_cycles
        self._fixed_level_adjust(arch)
        # The dram level times each op when it is granted, against the bank/row state.
        self.dram = DramModel(arch) if arch.memory.model == "dram" else None
        if self.dram is not None and program.segments is None:
            raise InputError("[memory] model", "dram",
                             "needs the program's segment lists (a timing-only compile drops them)")
        self._requests: dict[tuple[str, int], list[tuple[int, int, bool]]] = {}
        self.grants: list[tuple[int, str]] = []  # dram level: (grant cycle, op), for the trace footer
        self._tracing = False   # any attached engine has a real trace sink

    def attach(self, engine: Engine) -> None:
        self.engines.append(engine)
        self.pending.append(None)
        self._tracing = self._tracing or not is_null(engine.trace)

    def post(self, engine: int, op: str, entry: int, start: int | None = None) -> None:
        """An engine requests `op` of `entry`.

        The engine's `dma_done` event fires at the op's done cycle; the engine
        then calls `retire()` before anything else. `start` is the cycle the
        trace record begins at (default: now, the request).
        """
        if start is None:
            start = self.sim.now // self.period
        self.pending[engine] = (op, entry, start)
        self.n_pending += 1
        if not self.busy:
            self.decide_ev.notify(0)

    def decide(self) -> None:
        """Grant the next op round robin and schedule its completion."""
        if self.busy or not self.n_pending:
            return
        # Round robin: the first engine with a request after the one granted last.
        pending = self.pending
        n = len(pending)
        e = self.last_granted
        while True:
            e += 1
            if e == n:
                e = 0
            if pending[e] is not None:
                break
        op, entry, start = pending[e]  # type: ignore[misc]
        pending[e] = None
        self.n_pending -= 1
        self.last_granted = e
        self.busy = True
        grant = self.sim.now // self.period + self._grant_cycles
        if self.memory is not None:
            self._move(self.engines[e], op, entry)
        self.current = (e, op, entry, start, grant)
        if self.dram is None:
            cost = self._grant_cycles + self._service[op][entry]
        else:
            self.grants.append((grant, op))
            cost = self._dram_done(op, entry, grant) - (grant - self._grant_cycles)
        self.engines[e].dma_done.notify(cost * self.period)

    def _fixed_level_adjust(self, arch: Arch) -> None:
        """The fixed level's effective latency and bandwidth (`[memory_model] fixed_*`).

        At the defaults nothing changes, so the timing stays the contract's exactly.
        """
        m = arch.memory_model
        base = MemoryModel()
        if (m.fixed_read_extra_cycles, m.fixed_write_extra_cycles, m.fixed_cycles_per_beat) == (
                base.fixed_read_extra_cycles, base.fixed_write_extra_cycles, base.fixed_cycles_per_beat):
            return
        for op, service in self._service.items():
            extra = m.fixed_write_extra_cycles if op == "store_c" else m.fixed_read_extra_cycles
            beats = self._beats[op]
            self._service[op] = [max(s + extra + int(round(b * (m.fixed_cycles_per_beat - 1.0))), 1)
                                 for s, b in zip(service, beats)]

    def _dram_done(self, op: str, entry: int, grant: int) -> int:
        """Done cycle of an op granted at `grant`, on the dram level."""
        assert self.dram is not None
        key = (op, entry)
        reqs = self._requests.pop(key, None)
        if reqs is None:
            segs = self.program.segments[op]  # type: ignore[index]
            reqs = op_requests(segs, entry, self.arch.dma.bus_bytes, self.arch.dma.max_burst_beats,
                               write=op not in LOADS)
        if op in LOADS:
            return self.dram.read_op(grant, reqs)
        return self.dram.write_op(grant, reqs)

    def retire(self) -> None:
        """End the current op: trace it, free the DMA, arbitrate again.

        Called by the op's engine when its `dma_done` fires (the done cycle).
        """
        e, op, entry, start, grant = self.current  # type: ignore[misc]
        done = self.sim.now // self.period
        self.busy = False
        self.current = None
        self.busy_cycles += done - grant
        moved = self._bytes[op][entry]
        self.bytes_moved += moved
        self.ops += 1
        eng = self.engines[e]
        if self._tracing:
            layer_of = eng.layer_of
            if layer_of is None:
                eng.trace.record(op, eng.tile_id, start, done, engine=e, grant=grant, bytes=moved,
                                 beats=self._beats[op][entry])
            else:
                eng.trace.record(op, eng.tile_id, start, done, engine=e, grant=grant, bytes=moved,
                                 beats=self._beats[op][entry], layer=layer_of[entry])
        if self.on_busy is not None:
            self.on_busy(grant, done)
        if self.n_pending:
            self.decide_ev.notify(0)

    def _move(self, engine: Engine, op: str, entry: int) -> None:
        """Execute the op's segment list on the memory and the engine's buffers.

        With a DMI grant, one vectorised copy per op; otherwise one blocking
        transaction per segment.
        """
        assert self.port is not None
        mem = self.port.dmi
        segs = self.program.segments[op]  # type: ignore[index]
        if mem is not None:
            plan = self._plans.get(op)
            if plan is None:
                plan = self._plans[op] = _Plan(segs)
            lo, hi = plan.ptr[entry], plan.ptr[entry + 1]
            if op in LOADS:
                engine.spad[plan.local[lo:hi]] = mem[plan.mem[lo:hi]]
                zlo, zhi = plan.zptr[entry], plan.zptr[entry + 1]
                if zhi > zlo:
                    engine.spad[plan.zlocal[zlo:zhi]] = 0
            else:
                mem[plan.mem[lo:hi]] = engine.out_buffer[plan.local[lo:hi]]
            return
        sl = segs.range(entry)
        rows = zip(segs.mem_addr[sl].tolist(), segs.length[sl].tolist(),
                   segs.local_addr[sl].tolist(), segs.zero[sl].tolist())
        if op in LOADS:
            for addr, length, local, zero in rows:
                if zero:
                    engine.spad[local:local + length] = 0
                else:
                    self.port.read(addr, engine.spad[local:local + length])
        else:
            for addr, length, local, _zero in rows:
                self.port.write(addr, engine.out_buffer[local:local + length])
