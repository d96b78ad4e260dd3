"""Model zoo at full size: ResNet-18, ResNet-50, MobileNetV2, EfficientNet-B0, BERT-base timing-only, default arch.

Each network runs in a child process (so its peak RSS is its own) the way
`tlmsim sim -w builtin:NAME --timing-only` runs it: default arch plus the
shipped calibration. Budget: resnet50, mobilenet_v2 and efficientnet_b0 <= 60 s, bert_base <= 120 s,
each <= 2 GiB.
Prints Markdown.

Run: `.venv/bin/python bench/bench_zoo.py`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "bert_base")


def child(name: str) -> None:
    from tlm.blocks import simulate
    from tlm.cli.common import resolve_arch
    from tlm.workload import compile_workload

    arch = resolve_arch(None)
    t0 = time.perf_counter()
    program = compile_workload(f"builtin:{name}", arch, functional=False)
    compile_s = time.perf_counter() - t0
    r = simulate(program, arch, functional=False)
    wall = time.perf_counter() - t0
    vec = sum(1 for x in program.info["layers"] if x.get("vector_entries"))  # type: ignore[union-attr]
    print(json.dumps({"entries": program.entries, "tiles": program.tiles, "vector_layers": vec,
                      "macs": r.macs, "cycles": r.cycles, "compile_s": compile_s, "sim_s": r.sim_s,
                      "wall_s": wall, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.child:
        child(ns.child)
        return
    print("One run each, timing-only, default arch + shipped calibration, in its own process.\n")
    print("| network | entries | MAC tiles | vector layers | GMACs | cycles | compile s | sim s | wall s | "
          "peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in MODELS:
        out = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True,
                             check=True).stdout
        d = json.loads(out.strip().splitlines()[-1])
        print(f"| {name} | {d['entries']:,} | {d['tiles']:,} | {d['vector_layers']} | {d['macs'] / 1e9:.3f} | "
              f"{d['cycles']:,} | {d['compile_s']:.2f} | {d['sim_s']:.2f} | {d['wall_s']:.1f} | "
              f"{d['rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
