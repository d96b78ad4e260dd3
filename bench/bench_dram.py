"""Trust figure of the TLM memory-model levels against the RTL with a DRAM; prints Markdown.

    .venv/bin/python bench/bench_dram.py [--hardware examples/hardware/hw_a.toml ...] [--cache DIR]

Per hardware file:

1. calibrate once at the default arch (`tlm.calibrate.dram.calibrate_memory`,
   the pipeline of `tlmsim calibrate --hardware`; RTL runs cached);
2. end-to-end accuracy of three TLM levels against the RTL with that DRAM:
   fixed with the arch's own values (what `tlmsim sim` does without a
   calibration), fixed fitted, dram fitted; on the small built-ins, the
   validation workloads and workloads the calibration never ran (`unseen`);
3. design ranking: over seven arch points (engines, array, bus, burst), the
   Kendall tau between the RTL's and each level's cycles, per workload;
4. speed: simulated cycles per second of each level (TLM only, functional).

Needs Icarus Verilog, cocotb and scipy. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tlm.arch import Arch, arch_from_dict  # noqa: E402
from tlm.blocks import simulate  # noqa: E402
from tlm.calibrate.core import compile_case  # noqa: E402
from tlm.calibrate.dram import (calibrate_memory, hardware_values, level_arch, markdown_memory_ops,  # noqa: E402
                                markdown_memory_worst)
from tlm.trace.dram import hit_rate  # noqa: E402
from tlm.calibrate.runs import RtlReference, pair_by_tile, run_tlm  # noqa: E402
from tlm.cli.common import calibrated_base  # noqa: E402
from tlm.rtl.hardware import load_hardware  # noqa: E402
from tlm.workload.builtins import random_dag  # noqa: E402
from tlm.workload.calibration import validation_set  # noqa: E402

LEVELS = ("uncalibrated", "fixed", "dram")
LABEL = {"uncalibrated": "fixed, arch values", "fixed": "fixed, fitted", "dram": "dram, fitted"}

#: Arch points of the ranking (overlays over the default arch).
POINTS: list[tuple[str, dict[str, Any]]] = [
    ("default", {}),
    ("1 engine", {"array": {"engines": 1}}),
    ("4 engines", {"array": {"engines": 4}}),
    ("bus 16 B", {"dma": {"bus_bytes": 16}}),
    ("bus 4 B", {"dma": {"bus_bytes": 4}}),
    ("8x8 array", {"array": {"rows": 8, "cols": 8}}),
    ("burst 4", {"dma": {"max_burst_beats": 4}}),
]


def unseen_cases() -> list[dict[str, Any]]:
    """Workloads neither fitted nor validated on by the calibration."""
    fmt = "tlm-workload/1"
    rd = random_dag(seed=61, count=50, kmax=300)
    rd["name"] = "unseen_random_dag_61"
    return [
        {"name": "unseen_random_dag_61", "arch": {}, "workload": rd},
        {"name": "unseen_conv_stack", "arch": {}, "workload": {"format": fmt, "name": "unseen_conv_stack",
         "seed": 71, "layers": [
             {"name": "c1", "op": "conv2d", "in_channels": 4, "out_channels": 8, "height": 10, "width": 10,
              "kernel": 3, "stride": 1, "padding": 1, "dilation": 1},
             {"name": "c2", "op": "conv2d", "in_channels": 8, "out_channels": 8, "height": 10, "width": 10,
              "kernel": 3, "stride": 2, "padding": 1, "dilation": 1}]}},
        {"name": "unseen_gemm_wide", "arch": {}, "workload": {"format": fmt, "name": "unseen_gemm_wide",
         "seed": 72, "layers": [{"name": "fc", "op": "gemm", "M": 24, "N": 20, "K": 700}]}},
    ]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def tlm_cycles(program: Any, arch: Arch) -> tuple[int, float]:
    res = simulate(program, arch, functional=False)
    return res.cycles, res.sim_s


def kendall(a: list[int], b: list[int]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def run_hardware(hw_path: str, cache: Path, out: dict[str, Any]) -> list[str]:
    hw = load_hardware(hw_path)
    ref = RtlReference(cache, hardware=hw)
    base = calibrated_base()
    t0 = time.perf_counter()
    cal = calibrate_memory(base, ref, dataclasses.asdict(hw.dram))
    cal_s = time.perf_counter() - t0
    fitted = cal.arch
    lines = [f"### {Path(hw_path).name}", "",
             f"Calibration: {len(cal.rows) - len(cal.held_out())} fitting workloads, "
             f"{len(cal.held_out())} held out; fit {cal.fit_s:.0f} s "
             f"({cal.dram_fit.evaluations} evaluations), whole call {cal_s:.0f} s "
             f"(RTL runs cached after the first call). Dram-level fit error (per-op error + bias) on the fitting runs: "
             f"{cal.dram_fit.error_start:.2%} with the generic defaults, {cal.dram_fit.error:.2%} fitted.", "",
             "| workload | set | cycles RTL+DRAM | " + " | ".join(LABEL[lv] for lv in LEVELS)
             + " | row hits RTL / TLM dram |",
             "|---|---|---:|" + "---:|" * len(LEVELS) + "---:|"]
    acc: dict[str, dict[str, list[float]]] = {"held-out": {lv: [] for lv in LEVELS},
                                              "unseen": {lv: [] for lv in LEVELS}}
    for r in cal.rows:
        if r.set != "held-out":
            continue
        lines.append(f"| {r.name} | held-out | {r.cycles_ref:,} | "
                     + " | ".join(f"{r.cycles[lv]:,} ({r.accuracy[lv]:.2%})" for lv in LEVELS)
                     + f" | {_pct(r.rtl_row_hit_rate)} / {_pct(r.row_hit_rate)} |")
        for lv in LEVELS:
            acc["held-out"][lv].append(r.accuracy[lv])
    for case in unseen_cases():
        a, program = compile_case(case, base)
        rtl = ref.run(case["name"], case["workload"], program, a)
        cells = []
        hits = "-"
        for lv in LEVELS:
            res = simulate(program, level_arch(a, lv, fitted), functional=False)
            c = res.cycles
            if lv == "dram" and res.dram is not None and isinstance(rtl.info.get("dram"), dict):
                hits = f"{_pct(hit_rate(rtl.info['dram']))} / {_pct(hit_rate(res.dram))}"
            x = 1.0 - abs(c - rtl.cycles) / rtl.cycles
            acc["unseen"][lv].append(x)
            cells.append(f"{c:,} ({x:.2%})")
        lines.append(f"| {case['name']} | unseen | {rtl.cycles:,} | " + " | ".join(cells) + f" | {hits} |")
    lines += ["", "| set | " + " | ".join(f"{LABEL[lv]} min / mean" for lv in LEVELS) + " |",
              "|---|" + "---:|" * len(LEVELS)]
    for s, per in acc.items():
        lines.append(f"| {s} | " + " | ".join(f"{min(v):.2%} / {np.mean(v):.2%}" for v in per.values()) + " |")
    allv = {lv: acc["held-out"][lv] + acc["unseen"][lv] for lv in LEVELS}
    lines.append("| all | " + " | ".join(f"{min(v):.2%} / {np.mean(v):.2%}" for v in allv.values()) + " |")
    p95_rows = []
    errs: dict[str, dict[str, list[np.ndarray]]] = {"duration": {}, "service": {}}
    for case in validation_set() + unseen_cases():
        a, program = compile_case(case, base)
        rtl = ref.run(case["name"], case["workload"], program, a)
        tlm = run_tlm(program, level_arch(a, "dram", fitted))
        for op in ("load_a", "load_b", "load_c", "store_c", "tile"):
            if op not in rtl.ops or op not in tlm.ops:
                continue
            t, r = pair_by_tile(tlm.ops[op], rtl.ops[op])
            for kind, s0 in (("duration", "start"), ("service", "grant")):
                if kind == "service" and op == "tile":
                    continue
                d = (r["end"] - r[s0]).astype(float)
                errs[kind].setdefault(op, []).append(np.abs((t["end"] - t[s0]) - d) / np.maximum(d, 1.0))
    for op in errs["duration"]:
        dur = np.concatenate(errs["duration"][op])
        svc = np.concatenate(errs["service"][op]) if op in errs["service"] else None
        p95_rows.append(f"| {op} | {dur.size} | {np.percentile(dur, 95):.2%} | "
                        + (f"{np.percentile(svc, 95):.2%} |" if svc is not None else "- |"))
    true_acc = []
    true_arch = dataclasses.replace(base, memory=dataclasses.replace(base.memory, model="dram"),
                                    memory_model=dataclasses.replace(
                                        base.memory_model, **hardware_values(dataclasses.asdict(hw.dram))))
    for case in validation_set() + unseen_cases():
        a, program = compile_case(case, base)
        rtl = ref.run(case["name"], case["workload"], program, a)
        c = simulate(program, dataclasses.replace(true_arch, array=a.array), functional=False).cycles
        true_acc.append(1.0 - abs(c - rtl.cycles) / rtl.cycles)
    lines += ["", f"Diagnostic, not a result: the dram level given {Path(hw_path).name}'s own values "
              f"(which calibration never reads) is at {min(true_acc):.2%} min / {np.mean(true_acc):.2%} mean "
              "over the same 10 workloads: what is left is the level's structure, the rest of the gap the fit."]
    lines += ["", "Per-op p95 error of the fitted dram level, whole runs (TLM trace against RTL trace, records "
              "paired by tile) over the same 10 workloads: duration = start to end (waiting for the DMA "
              "included), service = DMA grant to done:", "",
              "| op | records | p95 duration error | p95 service error |", "|---|---:|---:|---:|", *p95_rows]
    lines += ["", "Per DMA op over the held-out workloads: summed |duration error| over the summed RTL "
              "durations (ops replayed at the RTL's grant cycles):", "", markdown_memory_ops(cal),
              "", "The held-out DMA ops the fitted dram level times worst:", "", markdown_memory_worst(cal)]

    # design ranking
    lines += ["", f"Design ranking over {len(POINTS)} arch points (" + ", ".join(p for p, _ in POINTS)
              + "), calibrated once at the default arch: Kendall tau between the RTL's and the TLM's cycles.",
              "", "| workload | cycles RTL+DRAM per point | " + " | ".join(f"tau {LABEL[lv]}" for lv in LEVELS)
              + " |", "|---|---|" + "---:|" * len(LEVELS)]
    rank: dict[str, Any] = {}
    for wname in ("gemm_small", "deformable_small"):
        from tlm.workload.builtins import builtin

        w = builtin(wname)
        rtl_c: list[int] = []
        tlm_c: dict[str, list[int]] = {lv: [] for lv in LEVELS}
        for pname, overlay in POINTS:
            pa = arch_from_dict(overlay, f"<point {pname}>", base=base)
            a, program = compile_case({"name": wname, "workload": w, "arch": {}}, pa)
            rtl_c.append(ref.run(f"{wname}-{pname.replace(' ', '_')}", w, program, a).cycles)
            for lv in LEVELS:
                tlm_c[lv].append(tlm_cycles(program, level_arch(a, lv, fitted))[0])
        taus = {lv: kendall(rtl_c, tlm_c[lv]) for lv in LEVELS}
        rank[wname] = {"rtl": rtl_c, "tlm": tlm_c, "tau": taus}
        lines.append(f"| {wname} | {', '.join(f'{c:,}' for c in rtl_c)} | "
                     + " | ".join(f"{taus[lv]:.3f}" for lv in LEVELS) + " |")

    # speed
    from tlm.workload.builtins import builtin

    a, program = compile_case({"name": "s", "workload": builtin("dilated_vgg_small"), "arch": {}}, base)
    speed = {}
    for lv in ("fixed", "dram"):
        best = min(simulate(program, level_arch(a, lv, fitted), functional=True).sim_s for _ in range(3))
        cyc = simulate(program, level_arch(a, lv, fitted), functional=False).cycles
        speed[lv] = cyc / best
    lines += ["", f"Speed (dilated_vgg_small, functional, best of 3, `sim_s`): fixed "
              f"{speed['fixed']:,.0f} cycles/s, dram {speed['dram']:,.0f} cycles/s "
              f"(dram costs {speed['fixed'] / speed['dram']:.1f}x the fixed level's time).", ""]
    out[Path(hw_path).name] = {"calibration": cal.to_json(), "accuracy": acc, "ranking": rank, "speed": speed}
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hardware", nargs="+", default=[str(REPO / "examples/hardware/hw_a.toml"),
                                                       str(REPO / "examples/hardware/hw_b.toml")])
    ap.add_argument("--cache", default=str(REPO / "sim_build" / "calib-cache"))
    ap.add_argument("--json", default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    lines: list[str] = []
    for hw in args.hardware:
        lines += run_hardware(hw, Path(args.cache), out)
        print("\n".join(lines), flush=True)
        lines = []
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
