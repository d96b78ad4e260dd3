"""Plain-text and Markdown renderings of a `Comparison` (no plotting here)."""

from __future__ import annotations

from tlm.compare.dram import DRAM_HEAD, dram_rows
from tlm.compare.layers import LayerRow
from tlm.compare.metrics import Comparison
from tlm.outputs import safe_text

#: Layers listed in text and Markdown; longer networks show those with the most RTL cycles.
LAYER_ROWS = 20
LAYER_HEAD = ["#", "layer", "op", "cycles tlm", "cycles rtl", "error", "start rtl", "end rtl"]


def pct(x: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, '-' when unknown."""
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table_rows(c: Comparison) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    per_op = [[op, str(s.n), pct(s.mape), pct(s.p95), pct(s.max),
               f"{s.unmatched_tlm}/{s.unmatched_rtl}",
               " ".join(map(str, s.worst_tiles)) or "-"]
              for op, s in c.per_op.items()]
    drift = [[f"{b.lo}..{b.hi}", str(b.n), _num(b.mean), "-" if b.min is None else str(b.min),
              "-" if b.max is None else str(b.max), pct(b.rel, 3)] for b in c.drift]
    worst = [[m.op, str(m.tile), "-" if m.engine is None else str(m.engine), str(m.dur_tlm),
              str(m.dur_rtl), pct(m.error), str(m.start_tlm), str(m.start_rtl)] for m in c.worst]
    return per_op, drift, worst


def layer_rows(c: Comparison, limit: int | None = LAYER_ROWS) -> tuple[list[list[str]], int]:
    """Per-layer table rows (at most `limit`, the slowest in RTL cycles) and how many are left out."""
    rows: list[LayerRow] = c.layers
    if limit is not None and len(rows) > limit:
        rows = sorted(sorted(rows, key=lambda r: (-r.cycles_rtl, r.index))[:limit],
                      key=lambda r: r.index)
    out = [_printable([str(r.index), r.name, r.op, str(r.cycles_tlm), str(r.cycles_rtl),
                       pct(r.error), str(r.start_rtl), str(r.end_rtl)]) for r in rows]
    return out, len(c.layers) - len(rows)


PER_OP_HEAD = ["op", "matched", "mape", "p95", "max", "only tlm/rtl", "worst tiles"]
DRIFT_HEAD = ["rtl cycles", "records", "mean", "min", "max", "mean/elapsed"]
WORST_HEAD = ["op", "tile", "engine", "dur tlm", "dur rtl", "error", "start tlm", "start rtl"]


def headline(c: Comparison) -> list[tuple[str, str]]:
    """The summary figures as (label, value) pairs."""
    rows = [
        ("workload", safe_text(c.workload)),
        ("cycles (TLM)", str(c.cycles_tlm)),
        ("cycles (RTL)", str(c.cycles_rtl)),
        ("accuracy", pct(c.accuracy, 3)),
        ("records matched", str(c.matched)),
        ("records unmatched", str(c.unmatched)),
    ]
    if c.speedup is not None:
        rows.append(("simulation speed-up (RTL s / TLM s)",
                     f"{c.speedup:.1f}x ({c.sim_s_rtl:.3g} s / {c.sim_s_tlm:.3g} s)"))
    return rows


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*head)] + [fmt.format(*r) for r in rows]


def render_text(c: Comparison) -> str:
    """The human summary `tlmsim compare` prints."""
    per_op, drift, worst = table_rows(c)
    out = [f"{label}: {value}" for label, value in headline(c)]
    out += ["", "duration error per op (fraction of the RTL duration):"]
    out += ["  " + line for line in _table(PER_OP_HEAD, per_op)]
    layers, more = layer_rows(c)
    if layers:
        out += ["", "cycles per layer (each cycle shared among the layers on the engines):"]
        out += ["  " + line for line in _table(LAYER_HEAD, layers)]
        if more:
            out.append(f"  ... {more} more layers")
    if c.dram:
        out += ["", "DRAM row outcomes per DMA op (requests, then shares of them):"]
        out += ["  " + line for line in _table(DRAM_HEAD, dram_rows(c.dram))]
    out += ["", "start drift, TLM - RTL in cycles, per tenth of the RTL run:"]
    out += ["  " + line for line in _table(DRIFT_HEAD, drift)]
    if worst:
        out += ["", "worst mismatches:"]
        out += ["  " + line for line in _table(WORST_HEAD, worst)]
    out += [f"warning: {w}" for w in c.warnings]
    return "\n".join(out) + "\n"


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    esc = [[cell.replace("|", "\\|") for cell in r] for r in rows]
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(r) + " |" for r in esc])


def render_markdown(c: Comparison) -> str:
    """A Markdown summary (for CI logs): headline, per-op, drift, worst tables."""
    per_op, drift, worst = table_rows(c)
    out = [f"## TLM vs RTL: {safe_text(c.workload)}", ""]
    out += _md_table(["figure", "value"], [[a, b] for a, b in headline(c)])
    out += ["", "### Duration error per op", "", "Fractions of the RTL duration.", ""]
    out += _md_table(PER_OP_HEAD, per_op)
    layers, more = layer_rows(c)
    if layers:
        out += ["", "### Cycles per layer", "",
                "Each cycle is shared among the layers whose tiles are on the engines.", ""]
        out += _md_table(LAYER_HEAD, layers)
        if more:
            out += ["", f"{more} more layers not shown."]
    if c.dram:
        out += ["", "### DRAM row outcomes per DMA op", "", "Requests, then shares of them.", ""]
        out += _md_table(DRAM_HEAD, dram_rows(c.dram))
    out += ["", "### Start drift (TLM - RTL, cycles) per tenth of the RTL run", ""]
    out += _md_table(DRIFT_HEAD, drift)
    if worst:
        out += ["", "### Worst mismatches", ""]
        out += _md_table(WORST_HEAD, worst)
    if c.warnings:
        out += [""] + [f"- warning: {w}" for w in c.warnings]
    return "\n".join(out) + "\n"


def _printable(row: list[str]) -> list[str]:
    """Cells safe to print: no control characters, no lone surrogates (names are data)."""
    out = []
    for cell in row:
        text = cell.encode("utf-8", "backslashreplace").decode("utf-8")
        out.append("".join(ch if ch.isprintable() else "?" for ch in text))
    return out
