"""Output stationary vs weight stationary (`[array] dataflow`) on VGG-16 and ResNet-50.

One 32x32 engine, 64 KiB scratchpad, calibrated timing, timing-only:

(a) a fast memory (128-byte bus, latency 1), against SCALE-Sim's stall-free
    counts per layer: OS ceil(M/R) * ceil(N/C) * (R + C + K - 2) - 1, WS
    ceil(K/R) * ceil(N/C) * (2R + C + M - 2) - 1 (docs/microarch.md,
    "Weight-stationary dataflow"), summed over the layers;
(b) the default fixed-latency memory (8-byte bus, latency 20);
(c) the dram memory model against the fixed one. The dram level needs the
    DMA's per-segment plans, which a full-size network does not fit in host
    memory (VGG-16: ~20 GiB), so (c) runs both networks at a 64x64 input
    (same layers and channels, 1/12 of the pixels).

Per network: total cycles per dataflow and which wins; per layer: how many
layers each dataflow wins (by the layer's span in the run). ResNet-50 is
v1.5 (stride in the 3x3 conv), written out here; pooling has no op, so a
layer whose input is not the previous output (after a pool, the projection
shortcuts) reads an input of its own (`fresh_input`), and the residual adds
are not modelled. A per-layer bar chart of VGG-16 goes to
bench/dataflow_vgg16.png (matplotlib, when installed).

Run: `.venv/bin/python bench/bench_dataflow.py [--quick]`. Prints Markdown.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ONE_32 = {"array": {"engines": 1, "rows": 32, "cols": 32}}
FAST = {"dma": {"bus_bytes": 128}, "memory": {"latency_cycles": 1}}
DATAFLOWS = ("os", "ws")


NOTE = "Why WS loses here: a WS tile streams at most `tile_rows` A rows (165 at 64 KiB, 219 at 1 MiB: the WS lane is a quarter of the OS lane, so the rows grow slowly with the scratchpad), and every fold pays `2R + C - 2 = 94` cycles of weight load and skew for them, capping the array at ~64% busy during compute where an OS tile (K up to 960) reaches ~94%; SCALE-Sim's WS streams all M rows per fold and pays that once per fold of the layer. M = 1 layers (fc6-fc8) are the worst case for WS (one row per fold). The 1 MiB rows show the trend with a larger scratchpad."


def _conv(name: str, cin: int, cout: int, size: int, kernel: int, stride: int, fresh: bool) -> dict[str, Any]:
    layer = {"name": name, "op": "conv2d", "in_channels": cin, "out_channels": cout, "height": size,
             "width": size, "kernel": kernel, "stride": stride, "padding": kernel // 2, "dilation": 1}
    if fresh:
        layer["fresh_input"] = True
    return layer


def resnet50(size: int = 224) -> dict[str, Any]:
    """ResNet-50 v1.5 convolutions and the classifier, at a `size` x `size` input."""
    layers = [_conv("conv1", 3, 64, size, 7, 2, False)]
    s = -(-size // 4)  # after conv1 (stride 2) and the 3x3 max pool (stride 2)
    cin = 64
    first = True
    for stage, (width, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), 2):
        for b in range(blocks):
            st = stride if b == 0 else 1
            p = f"res{stage}{chr(97 + b)}"
            layers.append(_conv(f"{p}_1", cin, width, s, 1, 1, first))
            layers.append(_conv(f"{p}_2", width, width, s, 3, st, False))
            out = -(-s // st)
            layers.append(_conv(f"{p}_3", width, 4 * width, out, 1, 1, False))
            if b == 0:  # projection shortcut, from the block's input
                layers.append(_conv(f"{p}_proj", cin, 4 * width, s, 1, st, True))
            cin, s, first = 4 * width, out, False
    layers.append({"name": "fc", "op": "gemm", "M": 1, "N": 1000, "K": cin, "fresh_input": True})
    return {"format": "tlm-workload/1", "name": "resnet50", "seed": 50, "layers": layers}


def vgg16(size: int = 224) -> dict[str, Any]:
    """The built-in VGG-16 (builtin:vgg16) at a `size` x `size` input."""
    from tlm.workload.builtins import vgg16 as full

    w = full()
    scale = size / 224
    for layer in w["layers"]:
        if layer["op"] == "conv2d":
            layer["height"] = layer["width"] = max(1, round(layer["height"] * scale))
    last = w["layers"][12]
    out = -(-last["height"] // last["stride"])
    w["layers"][13]["K"] = out * out * 512
    return w


def scalesim(workload: dict[str, Any], rows: int, cols: int) -> dict[str, list[int]]:
    """SCALE-Sim's stall-free cycles per layer, per dataflow."""
    from tlm.arch import Arch
    from tlm.workload.spec import parse_workload

    spec = parse_workload(workload, workload["name"], Arch())
    assert spec.layers is not None
    os_ = [-(-x.M // rows) * -(-x.N // cols) * (rows + cols + x.K - 2) - 1 for x in spec.layers]
    ws = [-(-x.K // rows) * -(-x.N // cols) * (2 * rows + cols + x.M - 2) - 1 for x in spec.layers]
    return {"os": os_, "ws": ws}


def merge(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in parts:
        for k, v in p.items():
            out[k] = {**out.get(k, {}), **v}
    return out


def run(workload: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """One timing-only run: cycles, per-layer spans, DMA bytes, wall time."""
    from tlm.api import resolve_arch
    from tlm.blocks import simulate
    from tlm.workload import compile_workload
    from tlm.limits import RunLimits

    arch = resolve_arch(overlay)
    dram = arch.memory.model == "dram"
    t0 = time.perf_counter()
    # the dram level needs the segment plans: a functional compile, run without data
    program = compile_workload(workload, arch, functional=dram,
                               limits=RunLimits(memory=8 << 30) if dram else None)
    res = simulate(program, arch, functional=False)
    layers = res.summary(arch).get("layers") or []
    return {"cycles": res.cycles, "tiles": res.tiles, "dma_bytes": res.dma_bytes,
            "layers": [int(x["cycles"]) for x in layers], "wall_s": time.perf_counter() - t0,
            "kmax": arch.kmax, "tile_rows": arch.tile_rows}


def _names(names: list[str], shown: int = 4) -> str:
    more = f" +{len(names) - shown}" if len(names) > shown else ""
    return (", ".join(names[:shown]) + more) or "-"


def wins(a: list[int], b: list[int]) -> tuple[int, int, int]:
    """(layers a is faster, b is faster, ties)."""
    return (sum(x < y for x, y in zip(a, b)), sum(y < x for x, y in zip(a, b)),
            sum(x == y for x, y in zip(a, b)))


def plot(name: str, rows: list[tuple[str, dict[str, Any], dict[str, Any]]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        return False
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 3.2 * len(rows)), squeeze=False)
    for ax, (title, os_, ws) in zip(axes[:, 0], rows):
        x = np.arange(len(os_["layers"]))
        ax.bar(x - 0.2, os_["layers"], 0.4, label="OS")
        ax.bar(x + 0.2, ws["layers"], 0.4, label="WS")
        ax.set_yscale("log")
        ax.set_title(f"{name}: {title}")
        ax.set_ylabel("layer cycles")
        ax.set_xticks(x)
        ax.set_xticklabels(os_["names"], rotation=60, fontsize=7)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="VGG-16 only")
    ns = ap.parse_args()
    nets = [("VGG-16", vgg16)] + ([] if ns.quick else [("ResNet-50", resnet50)])
    out = ["## Dataflows: output stationary vs weight stationary", "",
           "One 32x32 engine, 64 KiB scratchpad (OS: kmax 960, 32-row tiles; WS: kmax 224, "
           "165-row tiles; with double buffering 448 / 32 and 96 / 132), calibrated timing, timing-only. SCALE-Sim: its stall-free compute count "
           "per layer (OS `ceil(M/R)ceil(N/C)(R+C+K-2)-1`, WS `ceil(K/R)ceil(N/C)(2R+C+M-2)-1`). "
           "Layer wins: layers where that dataflow's span is shorter.", "",
           "| network | memory | OS cycles | WS cycles | WS / OS | faster | layers OS / WS / tie | "
           "WS wins | OS / SCALE-Sim OS | WS / SCALE-Sim WS | OS / WS DMA MB | wall s |",
           "|---|---|---:|---:|---:|---|---|---|---:|---:|---:|---:|"]
    ss_lines = []
    plots: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
    for name, make in nets:
        full = make(224)
        ss = scalesim(full, 32, 32)
        names = [x["name"] for x in full["layers"]]
        ss_os, ss_ws = sum(ss["os"]), sum(ss["ws"])
        ss_win = wins(ss["os"], ss["ws"])
        ss_won = [n for n, a, b in zip(names, ss["os"], ss["ws"]) if b < a]
        ss_lines.append(f"| {name} | {len(names)} | {ss_os:,} | {ss_ws:,} | {ss_ws / ss_os:.3f} | "
                        f"{'WS' if ss_ws < ss_os else 'OS'} | {ss_win[0]} / {ss_win[1]} / {ss_win[2]} | "
                        f"{_names(ss_won)} |")
        cases = [("bus 128 B, latency 1", FAST, full, True),
                 ("bus 128 B, latency 1, double buffer", merge(FAST, {"engine": {"double_buffer": True}}), full, True),
                 ("bus 128 B, latency 1, 1 MiB scratchpad", merge(FAST, {"scratchpad": {"bytes": 1 << 20}}),
                  full, True),
                 ("fixed (bus 8 B, latency 20)", {}, full, False)]
        small = make(64)
        cases += [("64x64 input, fixed", {}, small, False),
                  ("64x64 input, dram", {"memory": {"model": "dram"}}, small, False)]
        for label, mem, work, vs_ss in cases:
            r = {df: run(work, merge(ONE_32, mem, {"array": {"dataflow": df}})) for df in DATAFLOWS}
            for df in DATAFLOWS:
                r[df]["names"] = names
            o, w = r["os"], r["ws"]
            win = wins(o["layers"], w["layers"])
            ws_won = [n for n, a, b in zip(names, o["layers"], w["layers"]) if b < a]
            rel = (f"{o['cycles'] / ss_os:.2f} | {w['cycles'] / ss_ws:.2f}") if vs_ss else "- | -"
            out.append(f"| {name} | {label} | {o['cycles']:,} | {w['cycles']:,} | {w['cycles'] / o['cycles']:.2f} | "
                       f"{'WS' if w['cycles'] < o['cycles'] else 'OS'} | {win[0]} / {win[1]} / {win[2]} | "
                       f"{_names(ws_won)} | {rel} | {o['dma_bytes'] / 1e6:,.0f} / {w['dma_bytes'] / 1e6:,.0f} | "
                       f"{o['wall_s'] + w['wall_s']:.1f} |")
            if name == "VGG-16":
                plots.setdefault(name, []).append((label, o, w))
    out += ["", "SCALE-Sim's stall-free counts on one 32x32 array (no memory):", "",
            "| network | layers | OS | WS | WS / OS | faster | layers OS / WS / tie | WS wins |",
            "|---|---:|---:|---:|---:|---|---|---|", *ss_lines]
    out += ["", NOTE]
    if "VGG-16" in plots and plot("VGG-16", plots["VGG-16"], HERE / "dataflow_vgg16.png"):
        out += ["", "Per-layer cycles of VGG-16, OS vs WS: `bench/dataflow_vgg16.png`."]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
