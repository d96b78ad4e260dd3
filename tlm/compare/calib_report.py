"""Markdown tables of a calibration result (CLI output and bench/RESULTS.md)."""

from __future__ import annotations

import dataclasses

from tlm.compare.calibrate import FIT, HELD_OUT, CalibrationResult


def _pct(x: float) -> str:
    return f"{x:.2%}"


def markdown_params(result: CalibrationResult) -> str:
    """Parameter | uncalibrated | measured from traces | fitted."""
    before = dataclasses.asdict(result.uncalibrated.timing)
    after = dataclasses.asdict(result.arch.timing)
    lines = ["| [timing] parameter | uncalibrated | measured | fitted |", "|---|---:|---:|---:|"]
    for name, v in after.items():
        m = result.fit.measured.get(name)
        lines.append(f"| {name} | {before[name]} | {'' if m is None else m} | {v} |")
    return "\n".join(lines)


def markdown_cases(result: CalibrationResult) -> str:
    """The before/after table, one row per case."""
    src = "RTL" if result.source == "rtl" else result.source
    lines = [f"| workload | set | cycles {src} | TLM uncal. | TLM cal. | accuracy before | "
             f"accuracy after | per-op p95 after (worst op) | functional {src}/TLM |",
             "|---|---|---:|---:|---:|---:|---:|---|---|"]
    for r in result.rows:
        lines.append(f"| {r.name} | {r.set} | {r.cycles_ref:,} | {r.cycles_uncal:,} | "
                     f"{r.cycles_cal:,} | {_pct(r.acc_before)} | {_pct(r.acc_after)} | "
                     f"{_pct(r.p95_after)} ({r.worst_op or '-'}) | "
                     f"{r.functional_ref}/{r.functional_tlm} |")
    return "\n".join(lines)


def markdown_residuals(result: CalibrationResult) -> str:
    """Per-op duration residuals of the calibrated TLM, on the fitted and held-out sets."""
    lines = ["| set | op | records | mean residual (cycles) | mape | p95 | max |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for which in (FIT, HELD_OUT):
        for op, r in result.residuals.get(which, {}).items():
            lines.append(f"| {which} | {op} | {r.n:,} | {r.mean_cycles:+.3f} | {_pct(r.mape)} | "
                         f"{_pct(r.p95)} | {_pct(r.max)} |")
    return "\n".join(lines)
