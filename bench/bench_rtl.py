"""RTL simulation speed: simulated cycles per second of accel_top under cocotb + Icarus.

Runs built-in workloads through `tlmsim rtl`'s runner (build cached, so the
build is excluded) and prints Markdown. Run: `.venv/bin/python bench/bench_rtl.py`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tlm.arch import Arch, arch_from_dict
from tlm.rtl.run import run_rtl
from tlm.workload import compile_workload

CASES = [
    ("builtin:gemm_small", {}),
    ("builtin:random_dag", {}),
    ("builtin:dilated_vgg_small", {}),
    ("builtin:dilated_vgg_small", {"array": {"engines": 1}}),
    ("builtin:deformable_small", {}),
]


def regression() -> None:
    """Wall time of the whole cocotb regression (what `make rtl` runs)."""
    import subprocess
    import sys

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "testbenches", "-q"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "no output"
    print(f"\nRegression (`make rtl`, `pytest testbenches`): {summary.strip('= ')}; "
          f"wall {wall:.0f} s.")


def main() -> None:
    import sys

    if "--regression-only" in sys.argv:
        regression()
        return
    print("| workload | arch | tiles | cycles | RTL sim s | RTL wall s | cycles/s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for source, overrides in CASES:
            arch = arch_from_dict(overrides) if overrides else Arch()
            program = compile_workload(source, arch)
            run_rtl(program, arch, Path(tmp) / "warm.jsonl", progress=False)  # build once
            t0 = time.perf_counter()
            r = run_rtl(program, arch, Path(tmp) / "t.jsonl", progress=False)
            wall = time.perf_counter() - t0
            assert r.functional == "pass", r.mismatches
            a = arch.array
            print(f"| {source} | {a.engines}x {a.rows}x{a.cols} | {r.tiles} | {r.cycles:,} | "
                  f"{r.sim_s:.2f} | {wall:.2f} | {r.cycles / r.sim_s:,.0f} |", flush=True)
    if "--no-regression" not in sys.argv:
        regression()


if __name__ == "__main__":
    main()
