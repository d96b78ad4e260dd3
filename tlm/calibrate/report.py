"""Markdown tables of a calibration result (CLI output and bench/RESULTS.md)."""

from __future__ import annotations

import dataclasses

from tlm.calibrate.core import FIT, HELD_OUT, CalibrationResult


def _pct(x: float) -> str:
    return f"{x:.2%}"


#: Why a fitted value may differ from the one measured in the traces, by parameter group.
_WHY_DIFFERENT = {
    "sched_": "the traces show only when tiles become ready and start, i.e. sums of scheduler "
              "costs; the measurement holds sched_complete_cycles at its uncalibrated value and puts "
              "the rest of the sum in sched_notice_cycles, the fit keeps the split that reproduces "
              "every run",
    "dma_": "a DMA op's trace shows request, grant and end only, so setup and done costs are seen "
            "as one sum (measured: half of it as setup); the fit keeps the split that matches the "
            "op durations",
    "engine_": "measured as the most common gap between an engine's phases; the fit moves it when "
               "other parameters already explain part of that gap",
    "drain_": "measured from the store's request to its grant, less the rows and the grant cost; "
              "the fit moves it when the grant cost explains part of that gap",
}


def markdown_params(result: CalibrationResult) -> str:
    """Parameter | uncalibrated | measured from traces | fitted | why fitted != measured."""
    before = dataclasses.asdict(result.uncalibrated.timing)
    after = dataclasses.asdict(result.arch.timing)
    lines = ["| [timing] parameter | uncalibrated | measured | fitted | why fitted differs from measured |",
             "|---|---:|---:|---:|---|"]
    for name, v in after.items():
        m = result.fit.measured.get(name)
        why = ""
        if m is not None and m != v:
            why = next((w for prefix, w in _WHY_DIFFERENT.items() if name.startswith(prefix)),
                       "the fit minimises end-to-end and per-op error over all fitting runs")
        lines.append(f"| {name} | {before[name]} | {'' if m is None else m} | {v} | {why} |")
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
