"""Step 1 of the fit: what the reference traces show directly (docs/microarch.md).

``load_a.start - tile.start`` is ``engine_start_cycles``, the gap between one
phase's end and the next's start is ``engine_phase_cycles``, a read op's
``end - grant`` is ``setup + L + beats + read_done`` (least squares against
beats: the slope must be 1, the intercept is the fixed part), and so on. DMA
setup and the done latencies appear only as sums (``setup + read_done``,
``setup + write_done``); setup takes half of the smaller sum (the split
no trace can check; half matches an RTL whose steps each take a cycle) and
the done latencies the rest. Completion and admission costs are estimated from
when tiles become ready; `fit.refine` corrects what is estimated only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tlm.arch import Timing
from tlm.calibrate.runs import FitCase, pair_by_tile
from tlm.trace.schema import MISSING

#: Bounds of every estimate (inclusive); also the search bounds of `fit.refine`.
LOWER, UPPER = 0, 200
READS = ("load_a", "load_b", "load_c")

def _mode(values: np.ndarray) -> int | None:
    if values.size == 0:
        return None
    vals, counts = np.unique(values, return_counts=True)
    return int(vals[np.argmax(counts)])


@dataclass
class Measurement:
    """Step 1's result: parameter estimates and what the traces said about the contract."""

    values: dict[str, int]
    notes: list[str] = field(default_factory=list)


def measure(cases: Iterable[FitCase], base: Timing) -> Measurement:
    """Estimate what the reference traces show directly (see the module docstring)."""
    cases = list(cases)
    cat: dict[str, list[np.ndarray]] = {}

    def add(key: str, v: np.ndarray) -> None:
        cat.setdefault(key, []).append(np.asarray(v, dtype=np.int64))

    read_x: list[np.ndarray] = []
    read_y: list[np.ndarray] = []
    write_x: list[np.ndarray] = []
    write_y: list[np.ndarray] = []
    for c in cases:
        ops, rows = c.ref.ops, c.arch.tile_rows  # drain rows (R; more in WS)
        lat = c.arch.memory.latency_cycles
        tile = ops.get("tile")
        if tile is not None and "load_a" in ops:
            t, a = pair_by_tile(tile, ops["load_a"])
            add("engine_start_cycles", a["start"] - t["start"])
        if "load_a" in ops and "load_b" in ops:
            a, b = pair_by_tile(ops["load_a"], ops["load_b"])
            add("engine_phase_cycles", b["start"] - a["end"])
        if tile is not None and "store_c" in ops:
            t, s = pair_by_tile(tile, ops["store_c"])
            add("engine_done_cycles", t["end"] - s["end"])
        for op in READS:
            r = ops.get(op)
            if r is None or r.size == 0 or np.any(r["grant"] == MISSING):
                continue
            add("grant_lb", r["grant"] - r["start"])
            read_x.append(r["beats"])
            read_y.append(r["end"] - r["grant"] - lat)
        store = ops.get("store_c")
        if store is not None and store.size and not np.any(store["grant"] == MISSING):
            add("drain_lb", store["grant"] - store["start"] - rows)
            write_x.append(store["beats"])
            write_y.append(store["end"] - store["grant"])
        d = ops.get("dispatch")
        if d is not None and d.size:
            add("dispatch_lb", d["end"] - d["start"])
    values: dict[str, int] = {}
    notes: list[str] = []
    values.update(_scheduler_estimates(cases, base, notes))
    for key in ("engine_start_cycles", "engine_phase_cycles", "engine_done_cycles"):
        v = _mode(np.concatenate(cat[key])) if key in cat else None
        if v is not None:
            values[key] = v
    grant = int(np.concatenate(cat["grant_lb"]).min()) if "grant_lb" in cat else None
    if grant is not None:
        values["dma_grant_cycles"] = grant
        if "drain_lb" in cat:
            values["drain_extra_cycles"] = int(np.concatenate(cat["drain_lb"]).min()) - grant
    if "dispatch_lb" in cat:
        values["sched_dispatch_cycles"] = int(np.concatenate(cat["dispatch_lb"]).min())
    fixed: dict[str, int] = {}
    for kind, xs, ys in (("read", read_x, read_y), ("write", write_x, write_y)):
        if not xs:
            continue
        x, y = np.concatenate(xs).astype(float), np.concatenate(ys).astype(float)
        design = np.column_stack([np.ones_like(x), x])
        (intercept, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - (intercept + slope * x)
        notes.append(f"{kind} ops: end - grant{' - L' if kind == 'read' else ''} = "
                     f"{intercept:.3f} + {slope:.4f} * beats (n={x.size}, "
                     f"max |residual| {np.abs(resid).max():.2f} cycles)")
        # The contract says slope 1: the fixed part is then the mode of y - beats.
        fixed[kind] = int(_mode((y - x).astype(np.int64)) or 0)
    if fixed:
        setup = max(min(fixed.values()), 0) // 2
        values["dma_setup_cycles"] = setup
        if "read" in fixed:
            values["dma_read_done_cycles"] = fixed["read"] - setup
        if "write" in fixed:
            values["dma_write_done_cycles"] = fixed["write"] - setup
    values = {k: int(min(max(v, LOWER), UPPER)) for k, v in values.items()}
    return Measurement(values, notes)


def _scheduler_estimates(cases: list[FitCase], base: Timing, notes: list[str]) -> dict[str, int]:
    """Completion and admission costs from when tiles become ready.

    A tile whose predecessors are all tiles becomes ready at the end of the
    completion action of the predecessor that finished last:
    ``ready - end(p) >= notice + complete + succ * len(succs[p])``, with
    equality whenever the controller was idle. The minimum per successor
    count, fitted by least squares against the count, gives `succ` (slope)
    and `notice + complete` (intercept; complete held at the base value, as
    only the sum shows here). The first entry, when it has no predecessors,
    is ready when its admission ends: at `sched_admit_cycles`.
    """
    from tlm.workload.program import EntryKind

    by_count: dict[int, int] = {}
    admit: list[int] = []
    for c in cases:
        p, ops = c.program, c.ref.ops
        tile, disp = ops.get("tile"), ops.get("dispatch")
        if tile is None or disp is None or tile.size == 0:
            continue
        end = dict(zip(tile["tile"].tolist(), tile["end"].tolist()))
        ready = dict(zip(disp["tile"].tolist(), disp["start"].tolist()))
        ids, kind = p.tile_id.tolist(), p.kind
        if p.preds.count()[0] == 0 and kind[0] == EntryKind.TILE and ids[0] in ready:
            admit.append(ready[ids[0]])
        nsucc = p.succs.count()
        for x in range(p.entries):
            preds = p.preds.of(x).tolist()
            if kind[x] != EntryKind.TILE or not preds or any(kind[q] != EntryKind.TILE for q in preds):
                continue
            last = max(preds, key=lambda q: end.get(ids[q], -1))
            if ids[x] not in ready or ids[last] not in end:
                continue
            n = int(nsucc[last])
            gap = ready[ids[x]] - end[ids[last]]
            by_count[n] = min(by_count.get(n, gap), gap)
    out: dict[str, int] = {}
    if admit:
        out["sched_admit_cycles"] = int(min(admit))
    if len(by_count) >= 2:
        succs = np.array(sorted(by_count), dtype=np.float64)
        gaps = np.array([by_count[int(k)] for k in succs], dtype=np.float64)
        (intercept, slope), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(succs), succs]), gaps,
                                                  rcond=None)
        notes.append(f"completion: ready - end(last pred) >= {intercept:.2f} + {slope:.2f} * successors "
                     f"({len(succs)} successor counts)")
        both = int(round(intercept))
        complete = min(base.sched_complete_cycles, max(both, 0))
        out["sched_succ_cycles"] = int(round(slope))
        out["sched_complete_cycles"] = complete
        out["sched_notice_cycles"] = both - complete
    return out
