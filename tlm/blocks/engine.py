"""An engine: controller + scratchpad + R x C MAC array, one tile at a time.

Phases of a tile (docs/microarch.md, "Engine"): load_a, load_b, [load_c],
compute (R + C + k - 2 cycles), store_c (drain R cycles, then the store op).
DMA ops go through the shared `Dma`; everything else is local timing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tlm.arch import Arch
from tlm.blocks.dma import Dma
from tlm.blocks.mac_array import MacArrayModel, relu_shift_int8
from tlm.blocks.timing import OpTimes
from tlm.kernel import Event, Module, wait
from tlm.workload.program import StoreMode, TileProgram

if TYPE_CHECKING:
    from tlm.blocks.scheduler import TileScheduler


class Engine(Module):
    """Engine `index`: started by the scheduler through `start(entry)`."""

    def __init__(self, parent: Module, name: str, index: int, arch: Arch, program: TileProgram,
                 times: OpTimes, dma: Dma, trace: object, functional: bool) -> None:
        super().__init__(parent, name)
        self.index = index
        self.arch = arch
        self.program = program
        self.times = times
        self.dma = dma
        self.trace = trace
        self.period = arch.clock.period_ps
        self.scheduler: TileScheduler | None = None
        self.busy = False
        self.free_at = 0      # cycle from which a new tile may start
        self.entry = -1
        self.tile_id = -1
        self.busy_cycles = 0
        self.tiles_done = 0
        self.start_ev = Event(self.sim, f"{self.name}.start")
        self.dma_done = Event(self.sim, f"{self.name}.dma_done")
        self.functional = functional
        if functional:
            self.spad = np.zeros(arch.scratchpad.bytes, dtype=np.uint8)
            self.out_buffer = np.zeros(4 * arch.array.rows * arch.array.cols, dtype=np.uint8)
            self.array = MacArrayModel(arch, self.spad)
        dma.attach(self)
        self.thread(self.run)

    def start(self, entry: int) -> None:
        """Begin `entry` now (called by the scheduler at the end of a dispatch)."""
        self.busy = True
        self.entry = entry
        self.tile_id = int(self.program.tile_id[entry])
        self.start_ev.notify()

    async def _dma(self, op: str, start: int | None = None) -> None:
        self.dma.post(self.index, op, self.entry, start)
        await self.dma_done

    async def run(self) -> None:
        t = self.arch.timing
        period = self.period
        program = self.program
        times = self.times
        trace = self.trace
        phase = t.engine_phase_cycles
        drain = times.drain
        load_c = program.load_c.tolist()
        compute = times.compute.tolist()
        while True:
            if not self.busy:
                await self.start_ev
            x = self.entry
            tid = self.tile_id
            t0 = self.sim.now // period
            await wait(t.engine_start_cycles * period)
            await self._dma("load_a")
            await wait(phase * period)
            await self._dma("load_b")
            if load_c[x]:
                await wait(phase * period)
                await self._dma("load_c")
            # phase, compute, phase, drain: local timing only, one wait.
            c0 = self.sim.now // period + phase
            cycles = compute[x]
            s0 = c0 + cycles + phase
            if self.functional:
                self.array.compute(int(program.m[x]), int(program.n[x]), int(program.k[x]),
                                   bool(load_c[x]))
                self._drain(x)
            trace.record("compute", tid, c0, c0 + cycles, engine=self.index)
            await wait((s0 + drain) * period - self.sim.now)
            await self._dma("store_c", start=s0)  # store_c spans drain + store op
            done = self.sim.now // period + t.engine_done_cycles
            trace.record("tile", tid, t0, done, engine=self.index)
            self.busy_cycles += done - t0
            self.tiles_done += 1
            self.busy = False
            self.free_at = done
            assert self.scheduler is not None
            self.scheduler.engine_done(self.index, x, done)

    def _drain(self, x: int) -> None:
        """Post-process the accumulators into the output buffer (store path)."""
        p = self.program
        m, n, c = int(p.m[x]), int(p.n[x]), self.arch.array.cols
        acc = self.array.acc[:m, :n]
        if p.store_mode[x] == StoreMode.RELU_SHIFT_INT8:
            vals = relu_shift_int8(acc, int(p.shift[x]))
            view = self.out_buffer[:m * c].reshape(m, c)
            view[:, :n] = vals
        else:
            view = self.out_buffer[:4 * m * c].view("<i4").reshape(m, c)
            view[:, :n] = acc
