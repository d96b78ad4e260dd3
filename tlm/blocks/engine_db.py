"""A double-buffered engine (`[engine] double_buffer = true`).

The engine holds up to two tiles, one per operand buffer (each half of the
scratchpad is laid out like a single-buffered scratchpad). The DMA request
port serves one op at a time, in this order of preference: the store of a
drained tile, then the next load of the oldest tile with loads left. The MAC
array computes the tiles in dispatch order; the next tile's loads overlap
the current compute, and a tile's store overlaps the next tile's compute.
docs/microarch.md, "Double buffering", is the cycle-level contract; every
decision below is one of its formulas, in whole cycles.

The engine is one process that wakes on a dispatch, on its DMA op's done
cycle or at the next cycle a waiting request becomes eligible, applies what
is due, and works out every local time (compute, drain) as soon as the
times it depends on are known.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from tlm.arch import Arch
from tlm.blocks.dma import Dma
from tlm.blocks.engine import Engine
from tlm.blocks.mac_array import MacArrayModel, relu_shift_int8
from tlm.blocks.profile import TileTimes
from tlm.blocks.sink import TraceRecorder, is_null
from tlm.blocks.timing import OpTimes
from tlm.kernel import Event, Module, wait
from tlm.workload.program import StoreMode, TileProgram, store_int8

UNKNOWN = -1

# Store modes as plain ints (compared per tile: cheaper than enum members).
_INT32, _RELU_SHIFT = int(StoreMode.INT32), int(StoreMode.RELU_SHIFT_INT8)


class _Tile:
    """One tile held by the engine, with the cycles of its steps once known."""

    __slots__ = ("x", "tid", "t0", "buf", "ops", "next_op", "load_at", "loaded", "c0", "s0",
                 "store_at", "store_posted", "store_done", "skip")

    def __init__(self, x: int, tid: int, t0: int, buf: int, ops: tuple[str, ...]) -> None:
        self.x, self.tid, self.t0, self.buf, self.ops = x, tid, t0, buf, ops
        self.next_op = 0            # index into ops of the next load to request
        self.load_at = UNKNOWN      # cycle the next load may be requested
        self.loaded = UNKNOWN       # last load done + phase: compute may start
        self.c0 = UNKNOWN           # compute start
        self.s0 = UNKNOWN           # drain start
        self.store_at = UNKNOWN     # drain end: the store may be requested
        self.store_posted = False
        self.store_done = UNKNOWN
        self.skip = 0               # loads skipped, resident in the buffer (1 = A, 2 = B)


class DoubleBufferedEngine(Engine):
    """Engine `index` with two operand buffers; the scheduler dispatches up to two tiles.

    An `Engine` to the DMA and the scheduler (same attributes), with its own
    process; `Engine.__init__` is not run.
    """

    def __init__(self, parent: Module, name: str, index: int, arch: Arch, program: TileProgram,
                 times: OpTimes, dma: Dma, trace: TraceRecorder, functional: bool,
                 tile_times: TileTimes | None = None, layer_of: list[int] | None = None) -> None:
        Module.__init__(self, parent, name)
        self._connect(index, arch, program, times, dma, trace)
        # Slots as the scheduler sees them: tiles reserved and not yet announced
        # done, and the done cycles of announced tiles (free from that cycle).
        self.held = 0
        self.release_at: list[int] = []
        self.busy = False            # unused by the double-buffered dispatch (kept for the API)
        self.free_at = 0
        self.entry = -1
        self.tile_id = -1            # the tile of the op on the DMA port (its trace records)
        self.busy_cycles = 0
        self.tiles_done = 0
        self.start_ev = Event(self.sim, f"{self.name}.start")   # a dispatch to an idle port
        self._idle = False           # the process sleeps until a dispatch
        self.dma_done = Event(self.sim, f"{self.name}.dma_done")
        self.functional = functional
        self.tile_times = tile_times if tile_times is not None else TileTimes(program.entries)
        self.layer_of = layer_of
        self.tiles: deque[_Tile] = deque()
        self._arrivals: deque[tuple[int, int, int]] = deque()
        self._next_buf = 0
        self._span_end = 0           # end of the union of tile intervals so far (busy_cycles)
        load_c = program.load_c.astype(bool).tolist()
        self._ops = [("load_a", "load_b", "load_c") if c else ("load_a", "load_b") for c in load_c]
        if functional:
            size = arch.scratchpad.bytes
            self.spad_all = np.zeros(size, dtype=np.uint8)
            off = arch.spad_buffer_bytes
            self.buffers = [self.spad_all[:off], self.spad_all[off:2 * off]]
            self.spad = self.buffers[0]  # what the DMA writes: the buffer of the op on the port
            self.out_buffer = np.zeros(4 * arch.tile_rows * arch.array.cols, dtype=np.uint8)
            self.arrays = [MacArrayModel(arch, b) for b in self.buffers]
            mode = program.store_mode.tolist()
            self._dims = list(zip(program.m.tolist(), program.n.tolist(), program.k.tolist(),
                                  load_c, mode, program.shift.tolist()))
        dma.attach(self)
        self.thread(self.run)

    # -- the scheduler's view ------------------------------------------------------
    def slots_used(self, now: int) -> int:
        """Tiles the engine holds at cycle `now` (0..2), counting reservations."""
        rel = self.release_at
        if rel:
            rel[:] = [d for d in rel if d > now]
        return self.held + len(rel)

    def next_release(self, now: int) -> int:
        """The next cycle after `now` a slot frees (-1: none announced)."""
        later = [d for d in self.release_at if d > now]
        return min(later) if later else -1

    def reserve(self) -> None:
        """The scheduler starts a dispatch action to this engine."""
        self.held += 1

    def start(self, entry: int, tile_id: int) -> None:
        """Accept `entry` (`tile_id` in traces) now, at the end of its dispatch action."""
        self._arrivals.append((entry, tile_id, self.sim.now // self.period))
        # Only a process with an idle port waits for this; otherwise the tile
        # is taken when the port's op is done.
        if self._idle:
            self.start_ev.notify()

    # -- the engine ------------------------------------------------------------------
    async def run(self) -> None:
        t = self.arch.timing
        period = self.period
        sim = self.sim
        start_c, phase, done_c = t.engine_start_cycles, t.engine_phase_cycles, t.engine_done_cycles
        drain = self.times.drain
        compute = self.times.compute_list
        tiles = self.tiles
        arrivals = self._arrivals
        post, retire = self.dma.post, self.dma.retire
        tracing = not is_null(self.trace)
        port_busy = False
        port_free = 0           # cycle from which the port may issue a request
        port_tile: _Tile | None = None
        array_free = 0          # cycle from which the array may start a tile
        last_store_done = 0     # store done of the last tile finished (the output buffer)
        start_ev, dma_done = self.start_ev, self.dma_done
        op_done = False
        overlap = self.arch.engine.overlap_drain
        while True:
            now = sim.now // period
            if op_done:
                # The op on the port ends now: retire it first (it frees the DMA).
                op_done = False
                retire()
                port_busy = False
                port_free = now + phase
                assert port_tile is not None
                tile = port_tile
                if tile.store_posted:
                    tile.store_done = last_store_done = now
                    self._finish(tiles.popleft(), now + done_c)
                else:
                    if tile.next_op == len(tile.ops):
                        tile.loaded = now + phase
                    else:
                        tile.load_at = now + phase
            while arrivals:
                x, tid, t0 = arrivals.popleft()
                tile = _Tile(x, tid, t0, self._next_buf, self._ops[x])
                tile.load_at = t0 + start_c
                if self.reuse:
                    self._skip_resident(tile)
                self._next_buf ^= 1
                tiles.append(tile)
            # The array: compute and drain times as soon as they are determined.
            for i, tile in enumerate(tiles):
                if tile.c0 == UNKNOWN:
                    if tile.loaded == UNKNOWN or array_free == UNKNOWN:
                        break
                    tile.c0 = max(tile.loaded, array_free)
                    array_free = UNKNOWN
                    if tracing:
                        self._record("compute", tile, tile.c0, tile.c0 + compute[tile.x])
                if tile.s0 == UNKNOWN:
                    # The output buffer is free once the previous tile's store is done.
                    prev_store_done = tiles[i - 1].store_done if i > 0 else last_store_done
                    if prev_store_done == UNKNOWN:
                        break
                    tile.s0 = max(tile.c0 + compute[tile.x] + phase, prev_store_done + phase)
                    tile.store_at = tile.s0 + drain
                    # overlap_drain: the sums leave the array as the drain starts
                    array_free = tile.s0 if overlap else tile.store_at
                    if self.functional:
                        self._compute_and_drain_tile(tile)
            # The port: a drained tile's store first, else the oldest tile's next load,
            # each from the cycle it is eligible and the port is free.
            wake = -1
            sure = False  # the next request cannot change before `wake`
            if not port_busy:
                store: _Tile | None = None
                load: _Tile | None = None
                s_at = l_at = -1
                for tile in tiles:
                    if tile.store_at != UNKNOWN and not tile.store_posted:
                        store, s_at = tile, max(tile.store_at, port_free)
                        break
                for tile in tiles:
                    if tile.next_op < len(tile.ops):
                        if tile.load_at != UNKNOWN:
                            load, l_at = tile, max(tile.load_at, port_free)
                        break
                if store is not None and s_at <= now:
                    port_busy = True
                    port_tile = store
                    self.tile_id = store.tid
                    store.store_posted = True
                    post(self.index, "store_c", store.x, store.s0)
                elif load is not None and l_at <= now:
                    port_busy = True
                    port_tile = load
                    self.tile_id = load.tid
                    if self.functional:
                        self.spad = self.buffers[load.buf]
                    op = load.ops[load.next_op]
                    load.next_op += 1
                    load.load_at = UNKNOWN
                    post(self.index, op, load.x, None)
                elif load is not None and (store is None or l_at < s_at):
                    # An older tile's load goes first: no dispatch can change that.
                    wake, sure = l_at, True
                elif store is not None:
                    # A new tile's load (eligible from a dispatch + engine_start)
                    # could come before the store, unless the store is due by then.
                    wake, sure = s_at, load is None and s_at - now <= start_c
            # Between this engine's DMA events only a dispatch can happen, and
            # while an op is on the port it changes nothing until the op is done.
            # An idle port sleeps until its next request is due or a dispatch
            # (whose load may come first): `start_ev` doubles as the timer (an
            # immediate notification cancels the timed one).
            if port_busy:
                await dma_done
                op_done = True
            elif sure:
                await wait((wake - now) * period)
            else:
                if wake >= 0:
                    start_ev.notify((wake - now) * period)
                self._idle = True
                await start_ev
                self._idle = False

    def _finish(self, tile: _Tile, done: int) -> None:
        """The tile's store is done: trace it, free its slot at `done`, tell the scheduler."""
        x = tile.x
        if not is_null(self.trace):
            self._record("tile", tile, tile.t0, done)
        tt = self.tile_times
        # The profile's engine split wants one tile at a time: a tile's time on
        # the engine starts when the previous one's ended, and its compute is
        # placed inside that span (overlapped loads and stores are not counted).
        start = max(tile.t0, self._span_end)
        tt.start[x] = start
        tt.compute[x] = max(start, min(tile.c0, done - self.times.compute_list[x]))
        tt.done[x] = done
        tt.engine[x] = self.index
        self.busy_cycles += done - start
        self._span_end = done
        self.tiles_done += 1
        self.held -= 1
        self.release_at.append(done)
        self.free_at = done
        self.scheduler.engine_done(self.index, x, done)  # type: ignore[union-attr]

    def _skip_resident(self, tile: _Tile) -> None:
        """Operand reuse: drop the load of a block the tile's buffer holds (one at most)."""
        tile.skip = skip = self.take_blocks(tile.x, tile.buf)
        if skip:
            drop = "load_a" if skip == 1 else "load_b"
            tile.ops = tuple(op for op in tile.ops if op != drop)

    def _record(self, op: str, tile: _Tile, start: int, end: int) -> None:
        if op == "tile" and self.reuse:
            if self.layer_of is None:
                self.trace.record(op, tile.tid, start, end, engine=self.index, reused=tile.skip)
            else:
                self.trace.record(op, tile.tid, start, end, engine=self.index,
                                  layer=self.layer_of[tile.x], reused=tile.skip)
        elif self.layer_of is None:
            self.trace.record(op, tile.tid, start, end, engine=self.index)
        else:
            self.trace.record(op, tile.tid, start, end, engine=self.index, layer=self.layer_of[tile.x])

    def _compute_and_drain_tile(self, tile: _Tile) -> None:
        """The tile's arithmetic from its buffer, drained into the output buffer."""
        m, n, k, load_c, mode, shift = self._dims[tile.x]
        acc = self.arrays[tile.buf].compute(m, n, k, load_c)
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
