"""Speed and scale of the TLM accelerator model.

Simulated cycles and tiles per wall second on `dilated_vgg_small` and on a
large random DAG, cost versus tile count (linearity), and the full-size
`vgg16` timing-only run (wall time and peak memory, in a child process so
its RSS is its own). Prints Markdown.

Run: `.venv/bin/python bench/bench_accel.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time

from tlm.cli.common import resolve_arch
from tlm.blocks import simulate
from tlm.workload import compile_workload


REPEAT = 3


def random_dag(n: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    tiles = []
    for i in range(n):
        deps = sorted({rng.randrange(max(0, i - 40), i) for _ in range(rng.randrange(0, 4))}) if i else []
        tiles.append({"id": i, "m": rng.randint(1, 4), "n": rng.randint(1, 4),
                      "k": rng.randint(8, 256), "deps": deps})
    return {"format": "tlm-workload/1", "name": f"random_dag_{n}", "seed": seed, "tiles": tiles}


def conv_net(size: int) -> dict:
    return {"format": "tlm-workload/1", "name": f"conv_{size}x{size}", "seed": 1, "layers": [
        {"name": "c1", "op": "conv2d", "in_channels": 8, "out_channels": 16, "height": size,
         "width": size, "kernel": 3, "padding": 1},
        {"name": "c2", "op": "conv2d", "in_channels": 16, "out_channels": 16, "height": size,
         "width": size, "kernel": 3, "padding": 2, "dilation": 2}]}


def run(source: object, functional: bool) -> tuple[int, int, float, float]:
    arch = resolve_arch(None)  # what `tlmsim sim` uses: defaults + shipped calibration
    t0 = time.perf_counter()
    program = compile_workload(source, arch, functional=functional)  # type: ignore[arg-type]
    compile_s = time.perf_counter() - t0
    r = simulate(program, arch, functional=functional)
    assert r.functional in ("pass", "skipped"), r.mismatches
    return r.cycles, r.tiles, compile_s, r.sim_s


def vgg16_child() -> None:
    t0 = time.perf_counter()
    cycles, tiles, compile_s, sim_s = run("builtin:vgg16", functional=False)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cycles": cycles, "tiles": tiles, "compile_s": compile_s, "sim_s": sim_s,
                      "wall_s": wall, "rss_mib": rss}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the full-size vgg16 run")
    ap.add_argument("--vgg16-child", action="store_true", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.vgg16_child:
        vgg16_child()
        return
    print(f"Best of {REPEAT} runs per row (one run for vgg16).\n")
    print("| workload | mode | tiles | cycles | compile s | sim s | cycles/s | tiles/s |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [("builtin:dilated_vgg_small", True), ("builtin:dilated_vgg_small", False),
             (random_dag(20_000), False), (conv_net(32), False), (conv_net(64), False)]
    for source, functional in cases:
        # Small runs take milliseconds: the best of a few is the model's
        # speed, not the machine's slowest moment.
        runs = [run(source, functional) for _ in range(REPEAT)]
        cycles, tiles = runs[0][:2]
        cs, ss = min(r[2] for r in runs), min(r[3] for r in runs)
        name = source if isinstance(source, str) else source["name"]
        mode = "functional" if functional else "timing-only"
        print(f"| {name} | {mode} | {tiles:,} | {cycles:,} | {cs:.3f} | {ss:.3f} | "
              f"{cycles / ss:,.0f} | {tiles / ss:,.0f} |", flush=True)
    if not ns.quick:
        out = subprocess.run([sys.executable, __file__, "--vgg16-child"], check=True,
                             capture_output=True, text=True).stdout
        v = json.loads(out.strip().splitlines()[-1])
        print(f"| builtin:vgg16 (224x224) | timing-only | {v['tiles']:,} | {v['cycles']:,} | "
              f"{v['compile_s']:.2f} | {v['sim_s']:.2f} | {v['cycles'] / v['sim_s']:,.0f} | "
              f"{v['tiles'] / v['sim_s']:,.0f} |")
        print(f"\nvgg16 timing-only: wall {v['wall_s']:.1f} s (compile + simulate), "
              f"peak RSS {v['rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
