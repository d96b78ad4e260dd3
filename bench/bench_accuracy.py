"""Accuracy and speed of the TLM model against the RTL; prints Markdown for bench/RESULTS.md.

    .venv/bin/python bench/bench_accuracy.py [--arch A] [--skip-speed] [--cache DIR]

1. Accuracy: runs `tlmsim calibrate`'s pipeline (RTL results cached in
   the per-user cache, as `tlmsim calibrate` does) and prints, per workload of the calibration
   and held-out sets (the held-out set holds the small built-ins), the RTL
   cycles, end-to-end accuracy with the uncalibrated and the calibrated
   `[timing]`, and per-op duration error (mape, p95) after calibration;
   then the fitted parameters and the pooled per-op residuals.
2. Speed: one workload of more than 100k cycles (`speed_conv24`: four 3x3
   convs on 24x24x8, dilations 1-2-4-1, 1152 tiles), run once on the TLM
   (functional, as the RTL is) and once on the RTL, in this process;
   simulated cycles per second of the simulation alone (`sim_s`) and of the
   whole call (`wall_s`, compile/build and start-up included).

Needs Icarus Verilog and cocotb (the `[rtl]` extra). Not a test: nothing is
asserted, the figures are printed.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.cli.common import resolve_arch


def speed_workload() -> dict[str, Any]:
    def conv(name: str, cin: int, cout: int, dilation: int) -> dict[str, Any]:
        return {"name": name, "op": "conv2d", "in_channels": cin, "out_channels": cout,
                "height": 24, "width": 24, "kernel": 3, "stride": 1, "padding": dilation,
                "dilation": dilation}

    return {"format": "tlm-workload/1", "name": "speed_conv24", "seed": 9,
            "layers": [conv("c1", 3, 8, 1), conv("c2", 8, 8, 2), conv("c3", 8, 8, 4),
                       conv("c4", 8, 8, 1)]}


def speed_fc_workload() -> dict[str, Any]:
    """Fully connected layers with a long reduction: few, long tiles (~4k cycles each)."""
    return {"format": "tlm-workload/1", "name": "speed_fc4096", "seed": 9, "layers": [
        {"name": "fc1", "op": "gemm", "M": 16, "N": 32, "K": 4096},
        {"name": "fc2", "op": "gemm", "M": 16, "N": 8, "K": 32}]}


def accuracy_section(arch: Arch, cache: Path) -> str:
    from tlm.calibrate.report import markdown_params, markdown_residuals
    from tlm.calibrate.runs import RtlReference
    from tlm.calibrate.core import calibrate

    from tqdm import tqdm

    bar = tqdm(total=15, unit="run", file=sys.stderr, desc="RTL runs (cached)", disable=None)

    def on_case(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    t0 = time.perf_counter()
    result = calibrate(arch, RtlReference(cache), on_case=on_case)
    bar.close()
    elapsed = time.perf_counter() - t0
    ops = ("dispatch", "tile", "load_a", "load_b", "load_c", "compute", "store_c")
    lines = [
        "## Accuracy against the RTL (default arch)",
        "",
        f"Reference: `{result.source}`. End-to-end accuracy = 1 - |cycles_tlm - cycles_rtl| / "
        "cycles_rtl. Per-op: duration error as a fraction of the RTL duration, "
        "calibrated TLM; `mape`/`p95` shown as the worst op of the workload and per op "
        f"below. Calibration + validation took {elapsed:.1f} s (RTL results cached).",
        "",
        "| workload | set | RTL cycles | accuracy uncalibrated | accuracy calibrated | "
        "per-op p95 uncalibrated (worst) | per-op mape calibrated (worst) | "
        "per-op p95 calibrated (worst) | functional RTL/TLM |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result.rows:
        mape = max((s["mape"] for s in r.per_op.values()), default=0.0)
        p95 = max((s["p95"] for s in r.per_op.values()), default=0.0)
        lines.append(f"| {r.name} | {r.set} | {r.cycles_ref:,} | {r.acc_before:.2%} | "
                     f"{r.acc_after:.2%} | {r.p95_before:.2%} | {mape:.2%} | {p95:.2%} | "
                     f"{r.functional_ref}/{r.functional_tlm} |")
    held = result.held_out()
    lines += ["",
              f"Held-out (never fitted): min accuracy {result.held_out_min_accuracy:.2%}, "
              f"mean {sum(r.acc_after for r in held) / len(held):.2%}, worst per-op p95 "
              f"{max(r.p95_after for r in held):.2%} over {len(held)} workloads.",
              "", "Per-op p95 by workload (calibrated):", "",
              "| workload | " + " | ".join(ops) + " |", "|---|" + "---:|" * len(ops)]
    for r in result.rows:
        cells = [f"{r.per_op[op]['p95']:.2%}" if op in r.per_op else "" for op in ops]
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    lines += ["", "### Fitted `[timing]`", "", markdown_params(result), "",
              *[f"- {n}" for n in result.fit.notes], "",
              "### Residuals per op (calibrated TLM - RTL)", "", markdown_residuals(result)]
    return "\n".join(lines)


def speed_section(arch: Arch) -> str:
    from tlm.blocks import simulate
    from tlm.rtl.run import run_rtl
    from tlm.workload import compile_workload

    lines = ["## Speed: simulated cycles per second, same workload, one run", "",
             f"Default arch; {platform.python_implementation()} {platform.python_version()}, "
             f"{platform.machine()}. The TLM's cost is per event (a few per tile phase), the "
             "RTL's per clock cycle, so the ratio grows with the cycles a tile takes.", "",
             "| workload | model | cycles | sim s | cycles/s (sim) | wall s | cycles/s (wall) | functional |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    ratios = []
    for w in (speed_workload(), speed_fc_workload()):
        t0 = time.perf_counter()
        program = compile_workload(w, arch)
        tlm = simulate(program, arch, functional=True)
        tlm_wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        timing_only = simulate(compile_workload(w, arch, functional=False), arch, functional=False)
        to_wall = time.perf_counter() - t1
        with tempfile.TemporaryDirectory() as tmp:
            rtl = run_rtl(program, arch, Path(tmp) / "rtl.jsonl", progress=True)
        name = f"`{w['name']}` ({program.tiles} tiles)"
        rows = [("TLM (functional)", tlm.cycles, tlm.sim_s, tlm_wall, tlm.functional),
                ("TLM (timing only)", timing_only.cycles, timing_only.sim_s, to_wall, "skipped"),
                ("RTL (Icarus + cocotb)", rtl.cycles, rtl.sim_s, rtl.wall_s, rtl.functional)]
        for model, cyc, sim_s, wall_s, func in rows:
            lines.append(f"| {name} | {model} | {cyc:,} | {sim_s:.3f} | {cyc / sim_s:,.0f} | "
                         f"{wall_s:.3f} | {cyc / wall_s:,.0f} | {func} |")
        ratios.append(f"`{w['name']}`: functional {rtl.sim_s / tlm.sim_s:,.0f}x, timing-only "
                      f"{rtl.sim_s / timing_only.sim_s:,.0f}x, wall (functional) "
                      f"{rtl.wall_s / tlm_wall:,.0f}x; cycles TLM {tlm.cycles:,} vs RTL {rtl.cycles:,} "
                      f"(accuracy {1 - abs(tlm.cycles - rtl.cycles) / rtl.cycles:.2%})")
    lines += ["", "TLM/RTL speed ratio (sim time):", ""] + [f"- {r}" for r in ratios]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--arch", default=None, help="arch TOML (default: built-in defaults)")
    from tlm.rtl.runner import cache_root

    ap.add_argument("--cache", default=str(cache_root() / "calib"))
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args(argv)
    uncalibrated = resolve_arch(args.arch, calibrated=False)
    parts = []
    if not args.skip_accuracy:
        parts.append(accuracy_section(uncalibrated, Path(args.cache)))
    if not args.skip_speed:
        parts.append(speed_section(resolve_arch(args.arch, calibrated=True)))
    print("\n\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
