"""`DIR/pareto.csv` and `DIR/report.html` of a finished sweep.

The report is one self-contained HTML file: a Pareto plot per workload
(first two objectives, PNG embedded), each axis's effect (mean of each
objective per axis value), and the best feasible point per workload (by the
first objective) with its per-layer breakdown. Area and energy are
estimates (`[cost]`), and the report says so.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

from tlm.dse.pareto import pareto_frame
from tlm.dse.spec import SweepSpec

UNITS = {"cycles": "cycles", "area": "mm^2 (estimate)", "energy": "uJ (estimate)",
         "dram_bytes": "bytes"}


def feasible_mask(df: Any, spec: SweepSpec) -> Any:
    import pandas as pd

    mask = pd.Series(True, index=df.index)
    for c in spec.constraints:
        if c.metric not in df.columns:
            return pd.Series(False, index=df.index)
        col = pd.to_numeric(df[c.metric], errors="coerce")
        mask &= {"<=": col <= c.value, "<": col < c.value, ">=": col >= c.value,
                 ">": col > c.value}[c.op].fillna(False)
    return mask


def write_outputs(out: str | Path, spec: SweepSpec, res: Any, layers: Any) -> None:
    """pareto.csv and report.html in `out` (each written to a temporary file and renamed)."""
    out = Path(out)
    feasible = feasible_mask(res, spec) if len(res) else None
    front = pareto_frame(res, spec.objectives, feasible) if len(res) else res
    cols = [c for c in list(spec.axes) + ["workload", "cycles", "macs", "area", "energy",
                                          "dram_bytes", "mac_utilisation", "key"] if c in front.columns]
    _atomic(out / "pareto.csv", front[cols].to_csv(index=False) if len(front) else ",".join(cols) + "\n")
    _atomic(out / "report.html", _html(spec, res, front, feasible, layers))


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _table(df: Any) -> str:
    return df.to_html(index=False, border=0, float_format=lambda x: f"{x:.4g}") if len(df) else "<p>none</p>"


def _html(spec: SweepSpec, res: Any, front: Any, feasible: Any, layers: Any) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>tlmsim sweep {e(spec.file)}</title>"
             "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:right}"
             "table{border-collapse:collapse}tr:nth-child(even){background:#f4f4f4}</style></head><body>",
             f"<h1>Sweep {e(spec.file)}</h1>",
             f"<p>{len(res)} runs; strategy {e(spec.strategy)}; objectives (minimised) "
             f"{e(', '.join(spec.objectives))}; constraints {e(', '.join(c.text for c in spec.constraints) or 'none')}. "
             "Area and energy are <b>estimates</b> from the arch's <code>[cost]</code> section.</p>"]
    if not len(res) or "cycles" not in res.columns:
        parts.append("<p>No successful run.</p></body></html>")
        return "\n".join(parts)
    ok = res[(res["status"] == "ok") & feasible]
    failed = res[res["status"] != "ok"]
    first = spec.objectives[0]
    x, y = (spec.objectives[1], first) if len(spec.objectives) > 1 else \
        ("area" if first != "area" else "cycles", first)
    for wl, g in ok.groupby("workload", sort=False):
        parts.append(f"<h2>{e(str(wl))}</h2>")
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(g[x], g[y], s=12, c="#999", label="feasible points")
        fr = front[front["workload"] == wl].sort_values(x)
        ax.plot(fr[x], fr[y], "o-", c="#c33", label="Pareto front")
        ax.set_xlabel(f"{x} ({UNITS[x]})")
        ax.set_ylabel(f"{y} ({UNITS[y]})")
        ax.legend()
        parts.append(_png(fig))
        parts.append("<h3>Effect of each axis (mean over the other axes)</h3>")
        for axis in spec.axes:
            eff = g.groupby(axis)[list(spec.objectives)].mean().reset_index()
            parts.append(f"<h4>{e(axis)}</h4>" + _table(eff))
        best = g.sort_values(list(spec.objectives)).iloc[0]
        parts.append(f"<h3>Best point by {e(spec.objectives[0])}</h3>")
        parts.append(_table(best[[c for c in list(spec.axes) + ["cycles", "area", "energy", "dram_bytes",
                                                               "mac_utilisation"] if c in best.index]].to_frame().T))
        if len(layers):
            lay = layers[layers["key"] == best["key"]]
            cols = [c for c in ("layer", "name", "op", "M", "N", "K", "tiles", "layer_macs", "start",
                                "end", "cycles", "incr", "share", "bound") if c in lay.columns]
            parts.append("<h4>Per-layer breakdown</h4>" + _table(lay[cols]))
    if len(failed):
        parts.append(f"<h2>Failed runs ({len(failed)})</h2>" + _table(failed[[c for c in list(spec.axes) + [
            "workload", "status"] if c in failed.columns]]))
    parts.append("</body></html>")
    return "\n".join(parts)
