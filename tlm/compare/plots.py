"""The report's figures, drawn with matplotlib's object API (no pyplot state).

Each function returns PNG bytes. Large runs are thinned deterministically:
Gantt charts show the start of the run up to `GANTT_MAX_RECORDS` records,
scatter plots every k-th point, so the same inputs give the same images.
The activity timeline always spans the whole run: each lane's ops are
binned (`ACTIVITY_BINS` bins at most) and drawn as the fraction of each bin
they cover.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tlm.compare.layers import LayerRow
from tlm.compare.metrics import Comparison
from tlm.trace.reader import Trace
from tlm.trace.schema import op_order

GANTT_MAX_RECORDS = 500
SCATTER_MAX_POINTS = 20000
ACTIVITY_BINS = 200
LAYER_LABELS_MAX = 40   # more layers than this are labelled by index only
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



def run_span(tlm: Trace, rtl: Trace) -> int:
    """Cycles the whole-run timeline spans: the longer footer or the last record's end."""
    return max(rtl.cycles or 0, tlm.cycles or 0,
               *(int(a["end"].max()) for t in (tlm, rtl) for a in t.ops.values() if a.size), 1)


def covered(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Cycles of each bin [edges[j], edges[j+1]) covered by the intervals [start, end)."""
    def upto(s: np.ndarray) -> np.ndarray:
        # sum over intervals of max(0, t - s) for each edge t
        s = np.sort(s.astype(np.float64))
        k = np.searchsorted(s, edges, side="left")
        before = np.concatenate(([0.0], np.cumsum(s)))
        return k * edges - before[k]

    total = upto(start) - upto(end)
    return np.diff(total)


def activity(trace: Trace, engines: int, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Per op, [engines + 1, bins] fractions of each bin the op covers (last lane: DMA)."""
    width = np.maximum(np.diff(edges), 1e-9)
    out: dict[str, np.ndarray] = {}
    for op in sorted(trace.ops, key=op_order):
        if op in ("tile", "dispatch"):
            continue
        a = trace.ops[op]
        names = a.dtype.names or ()
        lanes = np.zeros((engines + 1, edges.shape[0] - 1))
        if "engine" in names:
            for e in range(engines):
                sel = a[a["engine"] == e]
                lanes[e] = covered(sel["start"], sel["end"], edges) / width
        if "grant" in names:
            sel = a[a["grant"] >= 0]
            lanes[engines] = covered(sel["grant"], sel["end"], edges) / width
        if lanes.any():
            out[op] = lanes
    return out


def activity_timeline(tlm: Trace, rtl: Trace, layers: list[LayerRow] | None = None
                      ) -> tuple[bytes, int, int]:
    """The whole run, TLM above RTL: per lane, the share of each bin each op covers.

    With `layers` (at most `LAYER_LABELS_MAX`), a dotted line marks where each
    layer's first tile starts. Returns the PNG, the span in cycles and the bin
    width in cycles.
    """
    span = run_span(tlm, rtl)
    bins = min(ACTIVITY_BINS, span)
    edges = np.linspace(0, span, bins + 1)
    engines = rtl.arch.array.engines
    fig = Figure(figsize=(11, 1.2 + 0.9 * (engines + 1)))
    axes = fig.subplots(2, 1, sharex=True)
    for ax, trace in zip(axes, (tlm, rtl)):
        lanes = activity(trace, engines, edges)
        for lane in range(engines + 1):
            base = np.zeros(bins)
            for op, frac in lanes.items():
                top = base + np.minimum(frac[lane], 1.0) * 0.8
                if frac[lane].any():
                    # step="post" holds each value to the next edge; repeat the last one
                    # so that the last bin is drawn up to the end of the run.
                    ax.fill_between(edges, np.append(lane + 0.4 - base, lane + 0.4 - base[-1]),
                                    np.append(lane + 0.4 - top, lane + 0.4 - top[-1]), step="post",
                                    color=color_of(op), linewidth=0,
                                    label=op if lane == min(i for i in range(engines + 1)
                                                            if frac[i].any()) else None)
                base = top
        if layers and len(layers) <= LAYER_LABELS_MAX:
            for r in layers[1:]:
                ax.axvline(r.start_tlm if trace is tlm else r.start_rtl, color="#444444",
                           linewidth=0.7, linestyle=":")
        ax.set_yticks(range(engines + 1), [f"engine {e}" for e in range(engines)] + ["dma"])
        ax.set_ylim(engines + 0.6, -0.6)
        ax.set_xlim(0, span)
        ax.set_title(f"{trace.source} ({trace.path})", fontsize=9, loc="left")
    axes[1].set_xlabel("clock cycle")
    handles, labels = axes[1].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", ncols=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return png(fig), span, int(np.ceil(span / bins))


def layer_bars(rows: list[LayerRow]) -> bytes | None:
    """Per layer: TLM and RTL cycles side by side, and the error of the TLM's."""
    if not rows:
        return None
    n = len(rows)
    x = np.arange(n)
    fig = Figure(figsize=(min(11, 3 + 0.35 * n) if n < 24 else 11, 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.4))
    top.bar(x - 0.2, [r.cycles_tlm for r in rows], 0.4, color="#4e79a7", label="TLM")
    top.bar(x + 0.2, [r.cycles_rtl for r in rows], 0.4, color="#f28e2b", label="RTL")
    top.set_ylabel("cycles")
    top.legend(fontsize=8)
    bottom.bar(x, [100 * r.error for r in rows], 0.6, color="#e15759")
    bottom.set_ylabel("|error| %")
    bottom.set_ylim(0, max(1.0, 1.1 * max(100 * r.error for r in rows)))
    if n <= LAYER_LABELS_MAX:
        bottom.set_xticks(x, [f"{r.index} {_label(r.name)}" for r in rows], rotation=60,
                          ha="right", fontsize=7, parse_math=False)
    else:
        bottom.set_xlabel("layer index")
    fig.tight_layout()
    return png(fig)


def _label(name: str, width: int = 16) -> str:
    """A layer name as text for a tick label: printable and short (mathtext is off)."""
    text = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else "?" for c in text)[:width]
