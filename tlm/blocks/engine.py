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
from tlm.blocks.profile import TileTimes
from tlm.blocks.sink import TraceRecorder, is_null
from tlm.blocks.timing import OpTimes
from tlm.kernel import Event, Module, wait
from tlm.workload.program import StoreMode, TileProgram, store_int8

if TYPE_CHECKING:
    from tlm.blocks.scheduler import TileScheduler

# Store modes as plain ints (compared per tile: cheaper than enum members).
_INT32, _RELU_SHIFT = int(StoreMode.INT32), int(StoreMode.RELU_SHIFT_INT8)


class Engine(Module):
    """Engine `index`: started by the scheduler through `start(entry, tile_id)`."""

    def __init__(self, parent: Module, name: str, index: int, arch: Arch, program: TileProgram,
                 times: OpTimes, dma: Dma, trace: TraceRecorder, functional: bool,
                 tile_times: TileTimes | None = None, layer_of: list[int] | None = None) -> None:
        super().__init__(parent, name)
        self._connect(index, arch, program, times, dma, trace)
        self.busy = False
        self.free_at = 0      # cycle from which a new tile may start
        self.entry = -1
        self.tile_id = -1
        self.busy_cycles = 0
        self.tiles_done = 0
        self.start_ev = Event(self.sim, f"{self.name}.start")
        self.dma_done = Event(self.sim, f"{self.name}.dma_done")
        self.functional = functional
        self.tile_times = tile_times if tile_times is not None else TileTimes(program.entries)
        # Layer of each entry for trace records (shared by all engines); None
        # when not tracing or for a tiles-form workload.
        self.layer_of = layer_of
        if functional:
            self.spad = np.zeros(arch.scratchpad.bytes, dtype=np.uint8)
            self.out_buffer = np.zeros(4 * arch.tile_rows * arch.array.cols, dtype=np.uint8)
            self.array = MacArrayModel(arch, self.spad)
            # Per entry (m, n, k, load_c, store mode, shift) as Python values: numpy
            # scalar indexing and enum comparisons cost more than the arithmetic.
            mode = program.store_mode.tolist()
            self._dims = list(zip(program.m.tolist(), program.n.tolist(), program.k.tolist(),
                                  program.load_c.astype(bool).tolist(), mode,
                                  program.shift.tolist()))
        dma.attach(self)
        self.thread(self.run)

    def _connect(self, index: int, arch: Arch, program: TileProgram, times: OpTimes, dma: Dma,
                 trace: TraceRecorder) -> None:
        """What every engine kind shares: its place, the program and the blocks it talks to."""
        self.index = index
        self.arch = arch
        self.program = program
        self.times = times
        self.dma = dma
        self.trace = trace
        self.period = arch.clock.period_ps
        self.scheduler: TileScheduler | None = None
        # Operand reuse (docs/microarch.md, "Operand reuse"): the blocks each
        # operand buffer holds, as of the last tile dispatched to it.
        self.reuse = arch.engine.reuse and program.a_block is not None
        # per buffer: [A block, B block of slot 0, slot 1 ...] (`[engine] reuse_slots`)
        self.resident = [[-1] * (1 + arch.engine.reuse_slots), [-1, -1]]
        self.last_b = -1                       # B block of the last tile dispatched here
        self.skip = 0                          # loads the started tile skips (1 = A, 2 = B)
        self.bytes_saved = 0

    def start(self, entry: int, tile_id: int) -> None:
        """Begin `entry` (`tile_id` in traces) now; called by the scheduler at the
        end of a dispatch."""
        self.busy = True
        self.entry = entry
        self.tile_id = tile_id
        if self.reuse:
            self.skip = self.take_blocks(entry, 0)
        self.start_ev.notify()

    def take_blocks(self, x: int, buf: int) -> int:
        """Tile `x` goes to operand buffer `buf`: which of its loads it skips
        (1 = load_a, 2 = load_b: the buffer holds that block), and its blocks
        become the buffer's."""
        a = int(self.program.a_block[x])  # type: ignore[index]
        b = int(self.program.b_block[x])  # type: ignore[index]
        held = self.resident[buf]
        slots = self.program.b_slot
        slot = 0 if slots is None else int(slots[x])
        skip = (1 if a >= 0 and a == held[0] else 0) | (2 if b >= 0 and b == held[1 + slot] else 0)
        if skip == 3 and slots is None:
            skip = 1  # one B slot: no two compiled tiles share both; load A should they
        held[0], held[1 + slot] = a, b
        self.last_b = b
        if skip:
            moved = self.program.bytes
            self.bytes_saved += (int(moved["load_a"][x]) if skip & 1 else 0) + \
                (int(moved["load_b"][x]) if skip & 2 else 0)
            self.tile_times.reused[x] = skip
        return skip

    def resident_b(self) -> int:
        """The B block of the last tile dispatched here (-1: none): the dispatch preference."""
        return self.last_b

    async def run(self) -> None:
        t = self.arch.timing
        sim = self.sim
        period = self.period
        index = self.index
        trace = self.trace
        tracing = not is_null(trace)
        post, retire = self.dma.post, self.dma.retire
        start_ev, dma_done = self.start_ev, self.dma_done
        start_ps = t.engine_start_cycles * period
        phase = t.engine_phase_cycles
        phase_ps = phase * period
        done_cycles = t.engine_done_cycles
        drain = self.times.drain
        load_c = self.program.load_c.tolist()
        compute = self.times.compute_list
        functional = self.functional
        layer_of = self.layer_of if tracing else None
        tt = self.tile_times
        tt_start, tt_compute, tt_done, tt_engine = tt.start, tt.compute, tt.done, tt.engine
        reuse = self.reuse
        while True:
            if not self.busy:
                await start_ev
            x = self.entry
            tid = self.tile_id
            t0 = sim.now // period
            await wait(start_ps)
            # Each op: request it, sleep until the DMA's done cycle, then retire
            # it on the DMA (which frees the DMA and re-arbitrates). A load of
            # a resident block is skipped with its phase (`skip`, reuse only;
            # both only with several B slots: then nothing precedes compute).
            skip = self.skip
            if not skip & 1:
                post(index, "load_a", x, None)
                await dma_done
                retire()
            if not skip & 2:
                if not skip & 1:
                    await wait(phase_ps)
                post(index, "load_b", x, None)
                await dma_done
                retire()
            if load_c[x]:
                if skip != 3:  # with several B slots a tile may skip both loads
                    await wait(phase_ps)
                post(index, "load_c", x, None)
                await dma_done
                retire()
            # phase, compute, phase, drain: local timing only, one wait.
            c0 = sim.now // period + phase
            cycles = compute[x]
            s0 = c0 + cycles + phase
            if functional:
                self._compute_and_drain(x)
            if tracing:
                if layer_of is None:
                    trace.record("compute", tid, c0, c0 + cycles, engine=index)
                else:
                    trace.record("compute", tid, c0, c0 + cycles, engine=index, layer=layer_of[x])
            await wait((s0 + drain) * period - sim.now)
            post(index, "store_c", x, s0)  # store_c spans drain + store op
            await dma_done
            retire()
            done = sim.now // period + done_cycles
            if tracing:
                if reuse:
                    self._record_reuse_tile(tid, t0, done, x, skip)
                elif layer_of is None:
                    trace.record("tile", tid, t0, done, engine=index)
                else:
                    trace.record("tile", tid, t0, done, engine=index, layer=layer_of[x])
            tt_start[x] = t0
            tt_compute[x] = c0
            tt_done[x] = done
            tt_engine[x] = index
            self.busy_cycles += done - t0
            self.tiles_done += 1
            self.busy = False
            self.free_at = done
            self.scheduler.engine_done(index, x, done)  # type: ignore[union-attr]

    def _record_reuse_tile(self, tid: int, t0: int, done: int, x: int, skip: int) -> None:
        """The `tile` record with reuse on: `reused` = the loads skipped (1 = A, 2 = B)."""
        if self.layer_of is None:
            self.trace.record("tile", tid, t0, done, engine=self.index, reused=skip)
        else:
            self.trace.record("tile", tid, t0, done, engine=self.index, layer=self.layer_of[x],
                              reused=skip)

    def _compute_and_drain(self, x: int) -> None:
        """The tile's arithmetic: the MAC array, then the drain into the output buffer."""
        m, n, k, load_c, mode, shift = self._dims[x]
        slots = self.program.b_slot
        acc = self.array.compute(m, n, k, load_c, 0 if slots is None else int(slots[x]))
        c = self.arch.array.cols
        if mode == _RELU_SHIFT:
            view = self.out_buffer[:m * c].reshape(m, c)
            view[:, :n] = relu_shift_int8(acc, shift)
        elif mode != _INT32:
            view = self.out_buffer[:m * c].reshape(m, c)
            view[:, :n] = store_int8(acc, mode, shift).view(np.uint8)
        else:
            view = self.out_buffer[:4 * m * c].view("<i4").reshape(m, c)
            view[:, :n] = acc
