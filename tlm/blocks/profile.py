"""Where the time goes: per-engine time split and per-layer figures of a run.

During the run each engine writes four numbers per tile into flat arrays
(`TileTimes`): the cycles when the tile started on the engine, when its
compute began and when the engine was done with it, and the engine. All the
rest is computed once, after the run and only when asked for, with numpy
over those arrays and the program's per-entry arrays, so the simulation's
hot path only pays four array stores per tile.

Definitions (all in clock cycles; they are the ones the summaries print):

- engine time split, per engine, summing to the run's cycles:
  ``load`` from a tile's start until its compute starts (start overhead,
  waiting for the DMA, the load ops, the phase gaps between them);
  ``compute`` the MAC array's R + C + k - 2 cycles; ``store`` from the end
  of compute until the engine is done (phase, drain, waiting for the DMA,
  the store op, the done delay); ``idle`` the engine holds no tile (none is
  ready, or the scheduler has not dispatched one yet).
- a layer's ``cycles``: every cycle of the run is shared among the layers
  whose tiles occupy engines in that cycle, in proportion to the engines
  they occupy; a cycle with no tile on any engine goes to the layer of the
  next tile to start (after the last tile: the layer that ended last).
  Layers' cycles therefore sum to the run's cycles, and a layer's MAC
  utilisation ``macs / (cycles * engines * rows * cols)`` is at most 1.
- ``start`` / ``end``: first start and last end of the layer's tiles.
- a layer's ``engine_cycles``: ``compute``, ``load``, ``store`` summed over
  its tiles (engine-cycles); ``idle`` = ``cycles * engines`` minus the
  engine-cycles its tiles held (engines idle in the layer's share of time).
- ``bound``: ``"memory"`` when the layer's engines spent more cycles on
  load + store than on compute, else ``"compute"``.
"""

from __future__ import annotations

import array
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.blocks.timing import OpTimes
from tlm.workload.program import OPS, EntryKind, TileProgram

SPLIT = ("compute", "load", "store", "idle")


class TileTimes:
    """Per entry: start, compute start and done cycle on its engine, and the engine.

    `array` rather than lists: 8 bytes an entry and no int objects kept alive.
    """

    def __init__(self, entries: int) -> None:
        zeros = bytes(8 * entries)
        self.start = array.array("q", zeros)
        self.compute = array.array("q", zeros)
        self.done = array.array("q", zeros)
        self.engine = array.array("q", zeros)
        # `[engine] reuse`: loads each tile skipped (1 = load_a, 2 = load_b)
        self.reused = bytearray(entries)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The four arrays as int64 numpy views (no copy)."""
        return tuple(np.frombuffer(a, dtype=np.int64)  # type: ignore[return-value]
                     for a in (self.start, self.compute, self.done, self.engine))


def layer_header(program: TileProgram) -> list[dict[str, str]]:
    """``[{"name", "op"}, ...]`` in layer order (empty for a tiles-form workload)."""
    layers = program.info.get("layers")
    if not isinstance(layers, list):
        return []
    return [{"name": str(x["name"]), "op": str(x["op"])} for x in layers]


def share_cycles(start: np.ndarray, end: np.ndarray, group: np.ndarray, groups: int,
                 total: int) -> np.ndarray:
    """Cycles [0, total) shared among `groups` by the intervals [start, end) of each group.

    See the module docstring ("a layer's cycles"). Returns int64 [groups]
    summing to `total` (largest-remainder rounding, ties to the lower
    group) when there is at least one interval, else zeros.
    """
    out = np.zeros(groups, dtype=np.int64)
    if start.shape[0] == 0 or groups == 0 or total <= 0:
        return out
    s = np.clip(start.astype(np.int64), 0, total)
    e = np.clip(end.astype(np.int64), 0, total)
    e = np.maximum(e, s)
    pts = np.sort(np.concatenate((s, e, [0, total])), kind="stable")  # runs: timsort is fast
    pts = pts[np.concatenate(([True], pts[1:] != pts[:-1]))]  # np.unique hashes: slower
    i_s, i_e = np.searchsorted(pts, s), np.searchsorted(pts, e)
    # Engines busy in each segment [pts[j], pts[j+1]).
    busy = np.cumsum(np.bincount(i_s, minlength=pts.shape[0])
                     - np.bincount(i_e, minlength=pts.shape[0]))[:-1]
    seg = np.diff(pts).astype(np.float64)
    # W(t): integral of 1 / busy; an interval's share is W(end) - W(start).
    rate = np.divide(seg, busy, out=np.zeros_like(seg), where=busy > 0)
    w = np.concatenate(([0.0], np.cumsum(rate)))
    exact = np.bincount(group, weights=w[i_e] - w[i_s], minlength=groups)[:groups]
    # Cycles no interval covers go to the group of the next interval to start
    # (the lowest such group when several start then); an idle segment ends
    # where one starts, or at `total` (then: the group that ended last).
    idle = np.flatnonzero((busy == 0) & (seg > 0))
    if idle.shape[0]:
        none = np.iinfo(np.int64).max
        first = np.full(pts.shape[0], none, dtype=np.int64)
        np.minimum.at(first, i_s, group)
        owner = first[idle + 1]
        tail = owner == none
        if tail.any():
            owner[tail] = group[e == e.max()].max()
        exact += np.bincount(owner, weights=seg[idle], minlength=groups)[:groups]
    return _round_to_total(exact, total)


def _round_to_total(x: np.ndarray, total: int) -> np.ndarray:
    base = np.floor(x + 1e-9).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        # Largest remainders first; stable sort keeps the lower index on ties.
        order = np.argsort(-(x - base), kind="stable")[:short]
        base[order] += 1
    elif short < 0:  # float error only: take from the largest
        base[int(np.argmax(base))] += short
    return base


class RunProfile:
    """The end-of-run figures of one simulation (see the module docstring).

    Computed on first use: runs whose caller only wants the cycles (a
    calibration loop, say) pay nothing for them.
    """

    def __init__(self, program: TileProgram, arch: Arch, times: OpTimes, tt: TileTimes,
                 cycles: int) -> None:
        self._inputs: tuple[TileProgram, Arch, OpTimes, TileTimes] | None = (program, arch, times, tt)
        self.cycles = cycles
        self._engine_time: list[dict[str, int]] = []
        self._layers: list[dict[str, Any]] = []

    @property
    def engine_time(self) -> list[dict[str, int]]:
        """Per engine {"compute", "load", "store", "idle"} cycles."""
        self._compute()
        return self._engine_time

    @property
    def layers(self) -> list[dict[str, Any]]:
        """Per layer, in layer order, the figures `tlmsim sim --json` prints (empty: no layers)."""
        self._compute()
        return self._layers

    def _compute(self) -> None:
        if self._inputs is None:
            return
        program, arch, times, tt = self._inputs
        self._inputs = None  # the run's arrays are no longer held once computed
        cycles = self.cycles
        engines = arch.array.engines
        peak = engines * arch.array.rows * arch.array.cols
        # graph workloads: VEC entries count as their vector layers' "tiles" (on the vector unit)
        tiles = np.flatnonzero(program.kind != EntryKind.JOIN)
        start, c0, done, eng = (c[tiles] for c in tt.columns())
        compute = times.compute[tiles]
        if program.vector_ops:
            from tlm.blocks.vector import vector_cycles

            vec = program.kind[tiles] == EntryKind.VEC
            compute = np.where(vec, vector_cycles(arch, program)[tiles], compute)
        load = c0 - start
        store = done - c0 - compute
        busy = done - start

        def per(index: np.ndarray, v: np.ndarray, n: int) -> list[int]:
            return np.bincount(index, weights=v, minlength=n)[:n].round().astype(np.int64).tolist()

        e_comp, e_load, e_store, e_busy = (per(eng, v, engines) for v in (compute, load, store, busy))
        self._engine_time = [{"compute": e_comp[i], "load": e_load[i], "store": e_store[i],
                              "idle": cycles - e_busy[i]} for i in range(engines)]
        names = layer_header(program)
        if not names:
            return
        n = len(names)
        layer = program.layer[tiles].astype(np.int64)
        macs = program.m[tiles].astype(np.int64) * program.n[tiles] * program.k[tiles]
        share = share_cycles(start, done, layer, n, cycles)
        count = np.bincount(layer, minlength=n)[:n].tolist()
        l_macs, l_comp, l_load, l_store, l_busy = (per(layer, v, n) for v in (macs, compute, load,
                                                                              store, busy))
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, layer, start)
        last = np.zeros(n, dtype=np.int64)
        np.maximum.at(last, layer, done)
        all_layers = program.layer.astype(np.int64)
        valid = all_layers >= 0
        moved = np.zeros(int(valid.sum()), dtype=np.int64)
        for op in OPS:
            moved += program.bytes[op][valid]
        if program.a_block is not None:  # operand reuse: skipped loads moved nothing
            mask = np.frombuffer(tt.reused, dtype=np.uint8)[valid]
            moved -= np.where(mask & 1, program.bytes["load_a"][valid], 0)
            moved -= np.where(mask & 2, program.bytes["load_b"][valid], 0)
        dma = per(all_layers[valid], moved, n)
        for i, meta in enumerate(names):
            cyc = int(share[i])
            self._layers.append({
                "index": i, "name": meta["name"], "op": meta["op"], "tiles": count[i],
                "macs": l_macs[i],
                "start": int(first[i]) if count[i] else 0, "end": int(last[i]),
                "cycles": cyc, "share": round(cyc / cycles, 4) if cycles else 0.0,
                "mac_utilisation": round(l_macs[i] / (cyc * peak), 4) if cyc else 0.0,
                "dma_bytes": dma[i],
                "bound": "memory" if l_load[i] + l_store[i] > l_comp[i] else "compute",
                "engine_cycles": {"compute": l_comp[i], "load": l_load[i], "store": l_store[i],
                                  "idle": max(0, cyc * engines - l_busy[i])},
            })
