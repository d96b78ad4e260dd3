"""The report's figures, drawn with matplotlib's object API (no pyplot state).

Each function returns PNG bytes. Large runs are thinned deterministically:
Gantt charts show the start of the run up to `GANTT_MAX_RECORDS` records,
scatter plots every k-th point, so the same inputs give the same images.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tlm.compare.metrics import Comparison
from tlm.trace.reader import Trace
from tlm.trace.schema import op_order

GANTT_MAX_RECORDS = 500
SCATTER_MAX_POINTS = 20000
_PHASE_OPS = ("load_a", "load_b", "load_c", "compute", "store_c")
_COLORS = {"dispatch": "#bcbd22", "tile": "#7f7f7f", "load_a": "#4e79a7", "load_b": "#59a14f",
           "load_c": "#b07aa1", "compute": "#e15759", "store_c": "#f28e2b"}
_OTHER_COLORS = ("#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac")


def color_of(op: str) -> str:
    if op in _COLORS:
        return _COLORS[op]
    return _OTHER_COLORS[sum(map(ord, op)) % len(_OTHER_COLORS)]


def png(fig: Figure) -> bytes:
    """PNG bytes of a figure, without the software-version metadata (reproducible)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def gantt_window(tlm: Trace, rtl: Trace) -> tuple[int, bool]:
    """End cycle of the part of the run the Gantt charts show, and whether it is cut."""
    starts = np.sort(np.concatenate([a["start"] for a in rtl.ops.values()] or [np.zeros(0, np.int64)]))
    span = max(rtl.cycles or 0, tlm.cycles or 0,
               *(int(a["end"].max()) for t in (tlm, rtl) for a in t.ops.values() if a.size), 1)
    if starts.size <= GANTT_MAX_RECORDS:
        return span, False
    return int(starts[GANTT_MAX_RECORDS]), True


def _gantt_axes(ax: Axes, trace: Trace, until: int, engines: int) -> None:
    """Draw one trace: a lane per engine (its phases) and one for the DMA."""
    lanes: dict[str, list[list[tuple[int, int]]]] = {}
    for op in sorted(trace.ops, key=op_order):
        if op in ("tile", "dispatch"):
            continue
        a = trace.ops[op]
        a = a[a["start"] < until]
        per_lane = lanes.setdefault(op, [[] for _ in range(engines + 1)])
        names = a.dtype.names or ()
        if "engine" in names:
            for e in range(engines):
                sel = a[a["engine"] == e]
                per_lane[e].extend(zip(sel["start"].tolist(), (sel["end"] - sel["start"]).tolist()))
        if "grant" in names:
            sel = a[a["grant"] >= 0]
            per_lane[engines].extend(zip(sel["grant"].tolist(), (sel["end"] - sel["grant"]).tolist()))
    for op, per_lane in lanes.items():
        for lane, bars in enumerate(per_lane):
            if bars:
                ax.broken_barh(bars, (lane - 0.4, 0.8), facecolors=color_of(op),
                               label=op if lane == min(i for i, b in enumerate(per_lane) if b) else None)
    ax.set_yticks(range(engines + 1), [f"engine {e}" for e in range(engines)] + ["dma"])
    ax.set_ylim(engines + 0.6, -0.6)
    ax.set_xlim(0, until)
    ax.set_title(f"{trace.source} ({trace.path})", fontsize=9, loc="left")


def gantt(tlm: Trace, rtl: Trace) -> tuple[bytes, int, bool]:
    """Side-by-side (stacked) timelines; returns PNG, window end, and whether cut."""
    until, cut = gantt_window(tlm, rtl)
    engines = rtl.arch.array.engines
    fig = Figure(figsize=(11, 1.2 + 0.9 * (engines + 1)))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, trace in zip(axes, (tlm, rtl)):
        _gantt_axes(ax, trace, until, engines)
    axes[1].set_xlabel("clock cycle")
    handles, labels = axes[1].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", ncols=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return png(fig), until, cut


def error_histograms(c: Comparison) -> bytes | None:
    """One histogram per op of the duration error (% of the RTL duration)."""
    ops = [op for op, m in c.matches.items() if m.tiles.size]
    if not ops:
        return None
    cols = min(3, len(ops))
    rows = (len(ops) + cols - 1) // cols
    fig = Figure(figsize=(3.6 * cols, 2.6 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, op in zip(axes, ops):
        err = 100 * c.matches[op].error
        # From 0 and at least 0..1 %, so an op without error shows one bar at 0.
        ax.hist(err, bins=30, range=(0.0, max(1.0, float(err.max()) * 1.05)), color=color_of(op))
        ax.set_title(f"{op} (n={err.size})", fontsize=9)
        ax.set_xlabel("|error| % of RTL duration", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(ops):]:
        ax.set_visible(False)
    fig.tight_layout()
    return png(fig)


def _thin(n: int, limit: int) -> slice:
    return slice(None, None, max(1, -(-n // limit)))


def duration_scatter(c: Comparison) -> bytes | None:
    """Per-record duration, TLM against RTL, one colour per op, with y = x."""
    ops = [op for op, m in c.matches.items() if m.tiles.size]
    if not ops:
        return None
    total = sum(c.matches[op].tiles.size for op in ops)
    fig = Figure(figsize=(6.5, 5.5))
    ax = fig.subplots()
    hi = 1
    for op in ops:
        m = c.matches[op]
        s = _thin(total, SCATTER_MAX_POINTS)
        x, y = m.dur_rtl[s], m.dur_tlm[s]
        hi = max(hi, int(x.max()), int(y.max()))
        ax.scatter(x, y, s=6, alpha=0.6, color=color_of(op), label=op)
    ax.plot([0, hi], [0, hi], color="black", linewidth=0.8, linestyle="--", label="tlm = rtl")
    ax.set_xlabel("RTL duration (cycles)")
    ax.set_ylabel("TLM duration (cycles)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png(fig)


def drift_plot(c: Comparison) -> bytes | None:
    """Start-time drift (TLM - RTL) of every matched record against its RTL start."""
    xs = [m.rtl["start"] for m in c.matches.values() if m.tiles.size]
    if not xs:
        return None
    x = np.concatenate(xs)
    y = np.concatenate([m.tlm["start"] - m.rtl["start"] for m in c.matches.values() if m.tiles.size])
    order = np.argsort(x, kind="stable")[_thin(x.size, SCATTER_MAX_POINTS)]
    fig = Figure(figsize=(9, 3))
    ax = fig.subplots()
    ax.plot(x[order], y[order], ".", markersize=2, color="#4e79a7")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("RTL start (cycle)")
    ax.set_ylabel("start TLM - RTL (cycles)")
    fig.tight_layout()
    return png(fig)

