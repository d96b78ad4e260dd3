"""`tlmsim report`: one self-contained HTML page (or a Markdown summary) of a comparison.

The HTML embeds its figures as base64 PNG and its style inline, so the file
can be mailed or attached to a CI run on its own. Sections: summary,
cycles per layer, timelines (TLM above RTL, per engine and the DMA: the whole run
binned, then the start in detail), duration errors per op,
per-record durations, start drift, worst mismatches, workload and arch.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from tlm.compare import plots
from tlm.compare.dram import DRAM_HEAD, dram_rows
from tlm.compare.layers import engine_time
from tlm.compare.metrics import Comparison
from tlm.compare.summary import (
    DRIFT_HEAD, LAYER_HEAD, PER_OP_HEAD, WORST_HEAD, headline, layer_rows, render_markdown,
    table_rows,
)
from tlm.outputs import safe_text, write_file
from tlm.trace.reader import Trace

SECTIONS = ("summary", "layers", "engines", "timelines", "errors", "durations", "drift", "worst",
            "workload", "arch")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.diff td { background: #fff3cd; }
.note { color: #666; font-size: 0.9em; } img { max-width: 100%; }
.warn { color: #a00; }
"""


def _esc(x: Any) -> str:
    # Names are data: escaped for HTML, and what UTF-8 cannot carry (lone surrogates) escaped too.
    return html.escape(safe_text(str(x)))


def _table(head: list[str], rows: list[list[str]], diff_rows: set[int] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in head) + "</tr>"]
    for i, r in enumerate(rows):
        cls = ' class="diff"' if diff_rows and i in diff_rows else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{_esc(v)}</td>" for v in r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _img(data: bytes | None, alt: str) -> str:
    if data is None:
        return '<p class="note">No matched records to plot.</p>'
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _arch_rows(tlm: Trace, rtl: Trace) -> tuple[list[list[str]], set[int]]:
    a, b = tlm.arch.to_dict(), rtl.arch.to_dict()
    rows: list[list[str]] = []
    diff: set[int] = set()
    for section, values in a.items():
        for key, va in values.items():
            vb = b[section][key]
            if va != vb:
                diff.add(len(rows))
            rows.append([f"[{section}] {key}", str(va), str(vb)])
    return rows, diff


def _workload_rows(tlm: Trace, rtl: Trace) -> list[list[str]]:
    def footer(t: Trace, key: str) -> str:
        return "cut short" if t.footer is None else str(t.footer.get(key, "-"))

    rows = [
        ["file", tlm.path, rtl.path],
        ["source", tlm.source, rtl.source],
        ["clock period (ps)", str(tlm.clock_period_ps), str(rtl.clock_period_ps)],
        ["tiles", footer(tlm, "tiles"), footer(rtl, "tiles")],
        ["functional", footer(tlm, "functional"), footer(rtl, "functional")],
        ["records", str(len(tlm)), str(len(rtl))],
    ]
    for key in ("sim_s", "wall_s"):
        vt, vr = tlm.perf(key), rtl.perf(key)
        if vt is not None or vr is not None:
            rows.append([f"{key} (s)", "-" if vt is None else f"{vt:.3g}", "-" if vr is None else f"{vr:.3g}"])
    return rows


def _engine_table(tlm: Trace, rtl: Trace) -> str:
    a, b = engine_time(tlm), engine_time(rtl)
    if a is None or b is None:
        return '<p class="note">A trace lacks the tile and compute records this needs.</p>'
    parts = ("compute", "load", "store", "idle")
    rows = [[f"engine {e}", *(f"{x[k]} / {y[k]}" for k in parts)] for e, (x, y) in enumerate(zip(a, b))]
    return _table(["cycles TLM / RTL", *parts], rows)


def render_html(c: Comparison, tlm: Trace, rtl: Trace) -> str:
    """The whole report page as one string."""
    per_op, drift, worst = table_rows(c)
    gantt_png, until, cut = plots.gantt(tlm, rtl)
    activity_png, span, bin_width = plots.activity_timeline(tlm, rtl, c.layers)
    arch_rows, arch_diff = _arch_rows(tlm, rtl)
    window = (f"The first {until} cycles are shown (the run has more records than one chart can show)."
              if cut else f"The whole run ({until} cycles).")
    layers, _ = layer_rows(c, None)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>TLM vs RTL: {_esc(c.workload)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>TLM vs RTL: {_esc(c.workload)}</h1>",
        '<h2 id="summary">Summary</h2>',
        _table(["figure", "value"], [[a, b] for a, b in headline(c)]),
        '<p class="note">Accuracy is 1 - |cycles_tlm - cycles_rtl| / cycles_rtl, end to end.</p>',
    ]
    parts += [f'<p class="warn">warning: {_esc(w)}</p>' for w in c.warnings]
    parts += [
        '<h2 id="layers">Cycles per layer</h2>',
        '<p class="note">Each cycle of a run is shared among the layers whose tiles occupy '
        "engines in that cycle (in proportion to the engines they occupy; a cycle with no tile "
        "goes to the layer of the next tile to start), so the layers' cycles sum to the run's. "
        "Error: |cycles TLM - cycles RTL| / cycles RTL.</p>",
        *((_table(LAYER_HEAD, layers), _img(plots.layer_bars(c.layers), "cycles per layer"))
          if layers else ('<p class="note">The traces name no layers (a tiles-form workload, '
                          "or traces written before layers were recorded or filtered).</p>",)),
        '<h2 id="engines">Engine time</h2>',
        '<p class="note">Each engine\'s cycles split four ways (they sum to the run\'s cycles): '
        "compute, the MAC array's R + C + k - 2 cycles; load, from a tile's start until its "
        "compute starts (waiting for the DMA, the loads, phase gaps); store, from the end of "
        "compute until the engine is done (drain, waiting for the DMA, the store); idle, the "
        "engine holds no tile.</p>",
        _engine_table(tlm, rtl),
        '<h2 id="timelines">Timelines</h2>',
        f'<p class="note">The whole run: cycles 0 to {span}, TLM above, RTL below; one lane per '
        f"engine and one for the DMA; each lane shows the share of each {bin_width}-cycle bin "
        "an op occupies (DMA ops from grant to end)"
        + ("; dotted lines: where each layer's first tile starts" if c.layers else "") + ".</p>",
        _img(activity_png, "whole-run timelines"),
        f'<p class="note">In detail: each op as a bar. {_esc(window)}</p>',
        _img(gantt_png, "Gantt timelines"),
        '<h2 id="errors">Duration error per op</h2>',
        '<p class="note">|duration TLM - duration RTL| as a fraction of the RTL duration; '
        "p95 by linear interpolation.</p>",
        _table(PER_OP_HEAD, per_op),
        _img(plots.error_histograms(c), "error histograms"),
        '<h2 id="durations">Per-record durations</h2>',
        _img(plots.duration_scatter(c), "TLM against RTL durations"),
        *(('<h2 id="dram">DRAM row outcomes</h2>',
            '<p class="note">Per DMA op, the memory requests (zero fill excluded) and the share '
            "that found their row open (hit), their bank closed (miss) or another row open "
            "(conflict), as each model saw them; a request counts for the DMA op granted last "
            "before its first column command.</p>",
            _table(DRAM_HEAD, dram_rows(c.dram))) if c.dram else ()),
        '<h2 id="drift">Start drift</h2>',
        '<p class="note">start TLM - start RTL in cycles, per tenth of the RTL run.</p>',
        _table(DRIFT_HEAD, drift),
        _img(plots.drift_plot(c), "start drift"),
        '<h2 id="worst">Worst mismatches</h2>',
        _table(WORST_HEAD, worst) if worst else '<p class="note">No duration differs.</p>',
        '<h2 id="workload">Workload</h2>',
        _table(["", "TLM", "RTL"], _workload_rows(tlm, rtl)),
        '<h2 id="arch">Arch</h2>',
        '<p class="note">Highlighted rows differ (only [timing] may).</p>',
        _table(["key", "TLM", "RTL"], arch_rows, arch_diff),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(c: Comparison, tlm: Trace, rtl: Trace, out: str | Path, fmt: str = "html") -> None:
    """Render and write the report (`tlm.outputs.write_file`: temp file + rename).

    Raises:
        InputError: The output file cannot be written (disk full …).
    """
    text = render_html(c, tlm, rtl) if fmt == "html" else render_markdown(c)
    write_file(out, text.encode("utf-8", "backslashreplace"), "-o")
