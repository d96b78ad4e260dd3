"""Accuracy figures of a TLM run against an RTL run of the same workload.

- accuracy: ``1 - |cycles_tlm - cycles_rtl| / cycles_rtl``, cycles from the
  footers (a trace without footer cannot be compared end to end);
- per op: the duration error of each matched record as a fraction of the
  RTL duration (`OpMatch.error`), summarised as mean (``mape``), 95th
  percentile (numpy's default linear interpolation) and max, with the worst
  tiles named, and the records found in one trace only;
- drift: start-time difference ``start_tlm - start_rtl`` of all matched
  records, summarised per tenth of the RTL run (by RTL start time);
- worst: the matched records with the largest duration error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tlm.compare.align import OpMatch, align
from tlm.compare.dram import DramRow, compare_dram
from tlm.compare.layers import LayerRow, compare_layers
from tlm.errors import InputError
from tlm.trace.reader import Trace
from tlm.trace.schema import MISSING, op_order

WORST_TILES_PER_OP = 3
DRIFT_BINS = 10


@dataclass
class OpStats:
    """Duration-error summary of one op (fractions of the RTL duration)."""

    op: str
    n: int
    mape: float | None
    p95: float | None
    max: float | None
    worst_tiles: list[int]
    unmatched_tlm: int
    unmatched_rtl: int

    def to_json(self) -> dict[str, Any]:
        return {"mape": _round(self.mape), "p95": _round(self.p95), "max": _round(self.max),
                "n": self.n, "worst_tiles": self.worst_tiles,
                "unmatched_tlm": self.unmatched_tlm, "unmatched_rtl": self.unmatched_rtl}


@dataclass
class DriftBin:
    """Start-time drift of the records whose RTL start falls in [lo, hi)."""

    lo: int
    hi: int
    n: int
    mean: float | None  # cycles, start_tlm - start_rtl
    min: int | None
    max: int | None

    @property
    def rel(self) -> float | None:
        """Mean drift over the bin's upper bound: drift as a fraction of elapsed time."""
        return None if self.mean is None else self.mean / max(self.hi, 1)

    def to_json(self) -> dict[str, Any]:
        return {"from": self.lo, "to": self.hi, "n": self.n, "mean": _round(self.mean),
                "min": self.min, "max": self.max, "rel": _round(self.rel)}


@dataclass
class Mismatch:
    """One matched record with its durations and starts in both traces."""

    op: str
    tile: int
    engine: int | None
    dur_tlm: int
    dur_rtl: int
    error: float
    start_tlm: int
    start_rtl: int

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "tile": self.tile, "engine": self.engine, "dur_tlm": self.dur_tlm,
                "dur_rtl": self.dur_rtl, "error": _round(self.error),
                "start_tlm": self.start_tlm, "start_rtl": self.start_rtl}


@dataclass
class Comparison:
    """Everything `tlmsim compare` reports; `matches` keeps the aligned records."""

    workload: str
    tlm_path: str
    rtl_path: str
    cycles_tlm: int
    cycles_rtl: int
    accuracy: float
    matched: int
    unmatched: int
    per_op: dict[str, OpStats]
    drift: list[DriftBin]
    worst: list[Mismatch]
    sim_s_tlm: float | None
    sim_s_rtl: float | None
    matches: dict[str, OpMatch] = field(repr=False, default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    layers: list[LayerRow] = field(default_factory=list)  # empty without layers
    dram: list[DramRow] = field(default_factory=list)     # empty without a DRAM in either trace

    @property
    def speedup(self) -> float | None:
        """RTL simulation time over TLM simulation time, when both traces carry it."""
        if self.sim_s_tlm and self.sim_s_rtl:
            return self.sim_s_rtl / self.sim_s_tlm
        return None

    def to_json(self) -> dict[str, Any]:
        """The `tlmsim compare --json` object (docs/cli.md plus extras)."""
        return {
            "accuracy": _round(self.accuracy),
            "cycles_tlm": self.cycles_tlm,
            "cycles_rtl": self.cycles_rtl,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "per_op": {op: s.to_json() for op, s in self.per_op.items()},
            "workload": self.workload,
            "speedup": _round(self.speedup),
            "drift": [b.to_json() for b in self.drift],
            "worst": [m.to_json() for m in self.worst],
            "warnings": self.warnings,
            "layers": [row.to_json() for row in self.layers],
            "dram": [row.to_json() for row in self.dram],
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _footer_cycles(trace: Trace) -> int:
    if trace.cycles is None:
        raise InputError(trace.path, "footer",
                         "missing: the run was cut short, so it has no end-to-end cycle count")
    return trace.cycles


def end_to_end_accuracy(cycles_tlm: int, cycles_rtl: int) -> float:
    """``1 - |tlm - rtl| / rtl`` (1.0 for two empty runs, can go below 0)."""
    if cycles_rtl == 0:
        return 1.0 if cycles_tlm == 0 else 0.0
    return 1.0 - abs(cycles_tlm - cycles_rtl) / cycles_rtl


def op_stats(m: OpMatch) -> OpStats:
    """Summary of one op's matched records."""
    err = m.error
    if err.size == 0:
        mape = p95 = mx = None
        worst: list[int] = []
    else:
        mape, p95, mx = float(err.mean()), float(np.percentile(err, 95)), float(err.max())
        # Largest error first; ties in tile order (lexsort's last key is primary).
        order = np.lexsort((m.tiles, -err))[:WORST_TILES_PER_OP]
        worst = [int(m.tiles[i]) for i in order if err[i] > 0]
    return OpStats(m.op, int(err.size), mape, p95, mx, worst, int(m.only_tlm.size), int(m.only_rtl.size))


def drift_bins(matches: dict[str, OpMatch], cycles_rtl: int, bins: int = DRIFT_BINS) -> list[DriftBin]:
    """Start drift of all matched records, per `bins`-th of the RTL run."""
    s_rtl = np.concatenate([m.rtl["start"] for m in matches.values()] or [np.zeros(0, np.int64)])
    s_tlm = np.concatenate([m.tlm["start"] for m in matches.values()] or [np.zeros(0, np.int64)])
    span = max(cycles_rtl, int(s_rtl.max()) + 1 if s_rtl.size else 0, 1)
    edges = [span * k // bins for k in range(bins + 1)]
    which = np.searchsorted(edges, s_rtl, side="right") - 1
    out: list[DriftBin] = []
    for k in range(bins):
        d = (s_tlm - s_rtl)[which == k]
        if d.size:
            out.append(DriftBin(edges[k], edges[k + 1], int(d.size), float(d.mean()),
                                int(d.min()), int(d.max())))
        else:
            out.append(DriftBin(edges[k], edges[k + 1], 0, None, None, None))
    return out


def worst_mismatches(matches: dict[str, OpMatch], n: int) -> list[Mismatch]:
    """The `n` matched records with the largest duration error (ties: op, tile)."""
    rows: list[tuple[float, tuple[int, str], int, OpMatch, int]] = []
    for m in matches.values():
        err = m.error
        if err.size == 0:
            continue
        key = op_order(m.op)
        top = np.lexsort((m.tiles, -err))[:n]
        rows.extend((-float(err[i]), key, int(m.tiles[i]), m, int(i)) for i in top if err[i] > 0)
    rows.sort(key=lambda r: r[:3])
    out = []
    for neg_err, _, tile, m, i in rows[:n]:
        engine = int(m.rtl["engine"][i]) if "engine" in (m.rtl.dtype.names or ()) else MISSING
        out.append(Mismatch(m.op, tile, None if engine == MISSING else engine,
                            int(m.dur_tlm[i]), int(m.dur_rtl[i]), -neg_err,
                            int(m.tlm["start"][i]), int(m.rtl["start"][i])))
    return out


def compare_traces(tlm: Trace, rtl: Trace, *, worst: int = 10) -> Comparison:
    """Compare a TLM trace with an RTL trace of the same workload and hardware.

    Raises:
        InputError: Different workloads or hardware, or a trace without footer.
    """
    matches = align(tlm, rtl)
    cycles_tlm, cycles_rtl = _footer_cycles(tlm), _footer_cycles(rtl)
    per_op = {op: op_stats(m) for op, m in matches.items()}
    warnings = [f"{t.path}: {w}" for t in (tlm, rtl) for w in t.warnings]
    warnings += [f"{t.path}: no program_hash (an older trace): the workload is checked by name only"
                 for t in (tlm, rtl) if "program_hash" not in t.header]
    layers, layer_warnings = compare_layers(tlm, rtl)
    return Comparison(
        workload=rtl.workload,
        tlm_path=tlm.path,
        rtl_path=rtl.path,
        cycles_tlm=cycles_tlm,
        cycles_rtl=cycles_rtl,
        accuracy=end_to_end_accuracy(cycles_tlm, cycles_rtl),
        matched=sum(s.n for s in per_op.values()),
        unmatched=sum(s.unmatched_tlm + s.unmatched_rtl for s in per_op.values()),
        per_op=per_op,
        drift=drift_bins(matches, cycles_rtl),
        worst=worst_mismatches(matches, worst),
        sim_s_tlm=tlm.perf("sim_s"),
        sim_s_rtl=rtl.perf("sim_s"),
        matches=matches,
        warnings=warnings + layer_warnings,
        layers=layers,
        dram=compare_dram(tlm, rtl),
    )
