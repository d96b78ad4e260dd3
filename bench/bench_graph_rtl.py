"""Graph workloads (vector layers) on the RTL: reduced ResNet-18, MobileNetV2 and EfficientNet-B0, TLM vs RTL.

Each network (`tlm.workload.zoo`, input 32x32, channels / 8) runs
functionally on the calibrated TLM (`tlmsim sim --trace`) and on the RTL
(`tlmsim rtl`, fixed-latency memory): cycles, functional check, whether the
two traces are identical (record lines sorted, header but `source`, footer
but the wall times), and wall times of the whole commands, each in its own
process; on the default arch, then with operand reuse on (`[engine] reuse`:
the conv and gemm layers skip resident blocks).

Run: `.venv/bin/python bench/bench_graph_rtl.py`. Prints Markdown.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tlm.trace.reader import comparable
from tlm.workload.zoo import efficientnet_b0, mobilenet_v2, resnet

NETS = {"resnet18 (32x32, /8)": lambda: resnet(18, 32, 8), "mobilenet_v2 (32x32, /8)": lambda: mobilenet_v2(32, 8),
        "efficientnet_b0 (32x32, /8)": lambda: efficientnet_b0(32, 8)}
TLMSIM = str(Path(sys.executable).with_name("tlmsim"))


def _run(args: list[str]) -> tuple[dict[str, Any], float]:
    t0 = time.perf_counter()
    out = subprocess.run([TLMSIM, *args, "--json", "--no-progress"], check=True, capture_output=True,
                         text=True).stdout
    return dict(json.loads(out)), time.perf_counter() - t0


ARCHS = {"default": "", "reuse": "[engine]\nreuse = true\n"}


def main() -> None:
    print("| network | arch | vector layers | entries | TLM cycles | RTL cycles | functional (TLM / RTL) | "
          "traces identical | loads skipped | TLM wall s | RTL wall s | RTL sim s | RTL / TLM wall |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, make in NETS.items():
            w = make()
            f, a = tmp / "w.json", tmp / "arch.toml"
            f.write_text(json.dumps(w))
            vec = sum(1 for layer in w["layers"] if layer["op"] not in ("conv2d", "gemm", "flatten"))
            for arch, text in ARCHS.items():
                a.write_text(text)
                tlm, tlm_wall = _run(["sim", "-w", str(f), "-a", str(a), "--trace", str(tmp / "tlm.jsonl")])
                rtl, rtl_wall = _run(["rtl", "-w", str(f), "-a", str(a), "-t", str(tmp / "rtl.jsonl")])
                tlm_t, rtl_t = comparable(tmp / "tlm.jsonl"), comparable(tmp / "rtl.jsonl")
                skipped = sum(1 for line in rtl_t[1] if json.loads(line).get("reused"))
                print(f"| {name} | {arch} | {vec} | {tlm['dag']['entries']:,} | {tlm['cycles']:,} | "
                      f"{rtl['cycles']:,} | {tlm['functional']} / {rtl['functional']} | "
                      f"{'yes' if tlm_t == rtl_t else 'NO'} | {skipped:,} | {tlm_wall:.2f} | {rtl_wall:.2f} | "
                      f"{rtl['sim_s']:.2f} | {rtl_wall / tlm_wall:.0f}x |", flush=True)
    print("\nWall times are of the whole commands (start-up, compile, build when not cached, "
          "simulation, trace), measured on the shared 2-core machine.")


if __name__ == "__main__":
    main()
