"""The vector unit: one per accelerator, runs the VEC entries of graph workloads.

Started by the scheduler like an engine (`start(entry, tile_id)`), it runs an
entry in three steps (docs/microarch.md, "Vector unit"): a `load_a` DMA op
gathers the entry's input pixels into its buffer (through the shared DMA and
its arbiter, as one more requester after the engines), the op itself takes
`latency_cycles + ceil(work / lanes) * cost` cycles, and a `store_c` DMA op
writes the output pixels back. In functional mode it computes the op
exactly (`tlm.workload.vector_ops.apply`) on the bytes it loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tlm.arch import Arch
from tlm.blocks.dma import Dma
from tlm.blocks.profile import TileTimes
from tlm.blocks.sink import TraceRecorder, is_null
from tlm.blocks.timing import OpTimes
from tlm.kernel import Event, Module, wait
from tlm.workload.program import EntryKind, TileProgram
from tlm.workload.vector_ops import GATHERS, POOLS, VectorOp, apply, load_widths

if TYPE_CHECKING:
    from tlm.blocks.scheduler import TileScheduler


def vector_cycles(arch: Arch, program: TileProgram) -> np.ndarray:
    """Per entry, the vector unit's compute cycles (0 for non-VEC entries)."""
    v = arch.vector
    out = np.zeros(program.entries, dtype=np.int64)
    vec = np.flatnonzero(program.kind == EntryKind.VEC)
    if not vec.shape[0]:
        return out
    layer = program.layer[vec]
    m = program.m[vec].astype(np.int64)
    for li, op in program.vector_ops.items():
        sel = layer == li
        work = np.array([op.work(int(p)) for p in m[sel]], dtype=np.int64) if op.op == "globalavgpool" \
            else op.work(1) * m[sel]
        cost = v.softmax_cost if op.op == "softmax" else v.layernorm_cost if op.op == "layernorm" else 1
        out[vec[sel]] = v.latency_cycles + -(-work // v.lanes) * cost
    return out


def vector_standalone(arch: Arch, program: TileProgram, times: OpTimes) -> np.ndarray:
    """Per entry, the cycles a VEC entry takes with the DMA to itself (0 for other entries)."""
    g = arch.timing.dma_grant_cycles
    total = 2 * g + times.service["load_a"] + vector_cycles(arch, program) + times.service["store_c"]
    return np.where(program.kind == EntryKind.VEC, total, 0).astype(np.int64)


class VectorUnit(Module):
    """`npu.vector`: the DMA sees it as requester `index` (after the engines)."""

    def __init__(self, parent: Module, name: str, index: int, arch: Arch, program: TileProgram,
                 dma: Dma, trace: TraceRecorder, functional: bool, tile_times: TileTimes,
                 layer_of: list[int] | None) -> None:
        super().__init__(parent, name)
        self.index = index
        self.arch = arch
        self.program = program
        self.dma = dma
        self.trace = trace
        self.period = arch.clock.period_ps
        self.scheduler: TileScheduler | None = None
        self.busy = False
        self.free_at = 0
        self.entry = -1
        self.tile_id = -1
        self.busy_cycles = 0
        self.entries_done = 0
        self.functional = functional
        self.tile_times = tile_times
        self.layer_of = layer_of
        self.cycles = vector_cycles(arch, program).tolist()
        self.start_ev = Event(self.sim, f"{self.name}.start")
        self.dma_done = Event(self.sim, f"{self.name}.dma_done")
        if functional:
            segs = program.segments
            assert segs is not None
            size = 1
            for op in ("load_a", "store_c"):
                s = segs[op]
                if s.length.shape[0]:
                    size = max(size, int((s.local_addr.astype(np.int64) + s.length).max()))
            self.spad = np.zeros(size, dtype=np.uint8)
            self.out_buffer = np.zeros(size, dtype=np.uint8)
            vec = program.kind == EntryKind.VEC
            self._first: dict[int, int] = {}
            for e in np.flatnonzero(vec).tolist():
                self._first.setdefault(int(program.layer[e]), e)
        dma.attach(self)  # type: ignore[arg-type]
        self.thread(self.run)

    def start(self, entry: int, tile_id: int) -> None:
        self.busy = True
        self.entry = entry
        self.tile_id = tile_id
        self.start_ev.notify()

    async def run(self) -> None:
        sim, period, index = self.sim, self.period, self.index
        tracing = not is_null(self.trace)
        tt = self.tile_times
        while True:
            if not self.busy:
                await self.start_ev
            x, tid = self.entry, self.tile_id
            t0 = sim.now // period
            self.dma.post(index, "load_a", x, None)
            await self.dma_done
            self.dma.retire()
            c0 = sim.now // period
            cycles = self.cycles[x]
            if self.functional:
                self._compute(x)
            if tracing:
                extra = {} if self.layer_of is None else {"layer": self.layer_of[x]}
                self.trace.record("vector", tid, c0, c0 + cycles, engine=index, **extra)
            await wait(cycles * period)
            self.dma.post(index, "store_c", x, None)
            await self.dma_done
            self.dma.retire()
            done = sim.now // period
            tt.start[x], tt.compute[x], tt.done[x], tt.engine[x] = t0, c0, done, index
            self.busy_cycles += done - t0
            self.entries_done += 1
            self.busy = False
            self.free_at = done
            self.scheduler.engine_done(index, x, done)  # type: ignore[union-attr]

    def _compute(self, x: int) -> None:
        """The op on the loaded inputs: output pixels of this entry into the output buffer."""
        program = self.program
        li = int(program.layer[x])
        v: VectorOp = program.vector_ops[li]
        if v.op in GATHERS:  # the load gathered the output in order
            n = int(program.m[x]) * v.out_channels
            self.out_buffer[:n] = self.spad[:n]
            return
        rows = self.arch.tile_rows
        p0 = (x - self._first[li]) * rows
        p1 = p0 + int(program.m[x])
        segs = program.segments["load_a"]  # type: ignore[index]
        sl = segs.range(x)
        inputs = []
        for local, length, ch in zip(segs.local_addr[sl].tolist(), segs.length[sl].tolist(), load_widths(v)):
            inputs.append(self.spad[local:local + length].view(np.int8).reshape(-1, ch))
        row0 = 0
        if v.op in POOLS:
            row0 = int(segs.mem_addr[sl][0] - self._input_base(x)) // v.in_channels[0]
        y = apply(v, inputs, p0, p1, row0)
        self.out_buffer[:y.size] = y.view(np.uint8).ravel()

    def _input_base(self, x: int) -> int:
        """Address of a pool's input tensor: its first entry's first segment reads pixel row 0."""
        segs = self.program.segments["load_a"]  # type: ignore[index]
        first = self._first[int(self.program.layer[x])]
        return int(segs.mem_addr[segs.range(first)][0])
