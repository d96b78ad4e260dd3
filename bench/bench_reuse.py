"""Operand reuse (`[engine] reuse`): VGG-16 DMA traffic and cycles, cost of the run, RTL accuracy.

1. `builtin:vgg16` timing-only on one 32x32 engine, reuse off and on, single
   and double buffered, for the default memory (8-byte bus, latency 20) and
   a fast one (128-byte bus, latency 1): tiles, cycles, DMA bytes, bytes
   saved, cycles / SCALE-Sim's stall-free count; each run in a child
   process, with its wall time and peak RSS.
2. `builtin:vgg16` on the default arch (the largest run), reuse off and on:
   wall time and peak RSS.
3. Drain overlap (`[engine] overlap_drain`, double buffering) on the fast
   memory, with and without reuse.
4. TLM vs RTL with reuse on (single and double buffered), and with drain
   overlap on (calibrated TLM, fixed-latency memory): end-to-end accuracy
   and records matched.
5. Several B slots (`[engine] reuse_slots`): VGG-16 and ResNet-50 on one
   32x32 engine, both memories, over scratchpad sizes and slot counts.
6. Graph workloads: the model zoo's ResNet-50, MobileNetV2 and BERT-base at
   full size on the default arch, reuse off, on, and on with 4 B slots.

Run: `.venv/bin/python bench/bench_reuse.py [--no-rtl] [--slots-only] [--graphs-only]`. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_double_buffer import FAST, ONE_32, merge, scalesim_cycles  # noqa: E402


def child(overlay: dict[str, Any], network: str = "vgg16") -> None:
    """One timing-only run of `network` (vgg16, or bench_dataflow's resnet50); prints its figures as JSON."""
    from tlm.api import simulate

    workload: Any = "builtin:vgg16"
    if network.startswith("builtin:"):
        workload = network
    elif network == "resnet50":
        from bench_dataflow import resnet50
        workload = resnet50()
    t0 = time.perf_counter()
    r = simulate(workload, overlay, timing_only=True, layers=False)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cycles": r.cycles, "tiles": r.tiles, "wall_s": wall, "rss_mib": rss,
                      "dma_bytes": r.dma_bytes, "saved": r.summary.get("bytes_saved", 0)}))


def run_child(overlay: dict[str, Any], network: str = "vgg16") -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(overlay), "--network", network],
                         check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def vgg_rows() -> list[str]:
    ss = scalesim_cycles(32, 32)
    lines = [f"SCALE-Sim stall-free OS count, VGG-16 on 32x32: {ss:,} cycles.\n",
             "| memory | [scratchpad] bytes | double_buffer | reuse | tiles | cycles | / SCALE-Sim | "
             "DMA bytes | bytes saved | wall s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for mem_name, mem in (("default (bus 8 B, latency 20)", {}), ("bus 128 B, latency 1", FAST)):
        for spad, db in ((65536, False), (65536, True), (131072, True)):
            for reuse in (False, True):
                overlay = merge(ONE_32, mem, {"scratchpad": {"bytes": spad},
                                              "engine": {"double_buffer": db, "reuse": reuse}})
                r = run_child(overlay)
                lines.append(f"| {mem_name} | {spad} | {str(db).lower()} | {str(reuse).lower()} | "
                             f"{r['tiles']:,} | {r['cycles']:,} | {r['cycles'] / ss:.3f} | "
                             f"{r['dma_bytes']:,} | {r['saved']:,} | {r['wall_s']:.1f} | "
                             f"{r['rss_mib']:.0f} |")
    return lines


def overlap_rows() -> list[str]:
    """Drain overlap (`[engine] overlap_drain`) where the drain is on the critical path."""
    ss = scalesim_cycles(32, 32)
    lines = ["\nDrain overlap, VGG-16 on one 32x32 engine, bus 128 B, latency 1, 131072-byte "
             "scratchpad, double buffering:\n",
             "| overlap_drain | reuse | cycles | / SCALE-Sim | DMA bytes | wall s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for overlap in (False, True):
        for reuse in (False, True):
            overlay = merge(ONE_32, FAST, {"scratchpad": {"bytes": 131072}, "engine": {
                "double_buffer": True, "overlap_drain": overlap, "reuse": reuse}})
            r = run_child(overlay)
            lines.append(f"| {str(overlap).lower()} | {str(reuse).lower()} | {r['cycles']:,} | "
                         f"{r['cycles'] / ss:.3f} | {r['dma_bytes']:,} | {r['wall_s']:.1f} | "
                         f"{r['rss_mib']:.0f} |")
    return lines


def bound_rows() -> list[str]:
    """What one resident block per operand can save at best, VGG-16 on one 32x32 engine."""
    import numpy as np

    from tlm.arch import arch_from_dict
    from tlm.workload import compile_workload

    program = compile_workload("builtin:vgg16", arch_from_dict(merge(ONE_32, {"engine": {"reuse": True}})),
                               functional=False)
    b = program.bytes
    cs = int(b["load_c"].sum() + b["store_c"].sum())
    # Per layer: every block is loaded once, and no two tiles share both
    # blocks, so every tile but the first loads at least its smaller block.
    floor = cs
    for i in range(len(program.info["layers"])):  # type: ignore[arg-type]
        sel = (program.layer == i) & (program.kind == 0)
        a, w = b["load_a"][sel], b["load_b"][sel]
        ua = int(a[np.unique(program.a_block[sel], return_index=True)[1]].sum())  # type: ignore[index]
        ub = int(w[np.unique(program.b_block[sel], return_index=True)[1]].sum())  # type: ignore[index]
        floor += max(ua + ub, int(np.minimum(a, w).sum()))
    weights = sum(x["N"] * x["K"] for x in program.info["layers"])  # type: ignore[union-attr]
    return [f"\nLower bound on the DMA bytes with one A and one B block resident (per layer: every "
            f"block loaded once, and every tile loads at least its smaller block; plus partial sums "
            f"and outputs): {floor:,} bytes. Of these the weights are {weights:,} bytes and partial "
            f"sums and outputs {cs:,} bytes.\n"]


def default_rows() -> list[str]:
    lines = ["\nVGG-16 timing-only on the default arch (2 engines x 4x4, bus 8 B, latency 20):\n",
             "| reuse | tiles | cycles | DMA bytes | bytes saved | wall s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for reuse in (False, True):
        r = run_child({"engine": {"reuse": reuse}})
        lines.append(f"| {str(reuse).lower()} | {r['tiles']:,} | {r['cycles']:,} | {r['dma_bytes']:,} | "
                     f"{r['saved']:,} | {r['wall_s']:.1f} | {r['rss_mib']:.0f} |")
    return lines


def rtl_rows(only: tuple[str, ...] = ()) -> list[str]:
    from tlm.arch import arch_from_dict
    from tlm.blocks import simulate
    from tlm.cli.common import calibrated_base
    from tlm.compare import compare_traces
    from tlm.rtl.run import run_rtl
    from tlm.trace.reader import read_trace
    from tlm.trace.writer import TraceWriter
    from tlm.workload import compile_workload

    variants = {"default + reuse": {"engine": {"reuse": True}},
                "default + double_buffer + overlap_drain": {
                    "engine": {"double_buffer": True, "overlap_drain": True}},
                "1 x 4x4, bus 64, latency 1 + double_buffer + overlap_drain": {
                    "engine": {"double_buffer": True, "overlap_drain": True},
                    "array": {"engines": 1}, "dma": {"bus_bytes": 64}, "memory": {"latency_cycles": 1}},
                "3 x 4x8, bus 64, latency 2, 4 KiB spad, table 6 + reuse": {
                    "engine": {"reuse": True}, "array": {"engines": 3, "rows": 4, "cols": 8},
                    "dma": {"bus_bytes": 64}, "memory": {"latency_cycles": 2},
                    "scratchpad": {"bytes": 4096}, "scheduler": {"table_depth": 6}},
                "default + reuse + double_buffer": {"engine": {"reuse": True, "double_buffer": True}},
                "default + reuse + double_buffer + overlap_drain": {
                    "engine": {"reuse": True, "double_buffer": True, "overlap_drain": True}},
                "default + reuse, reuse_slots 2": {"engine": {"reuse": True, "reuse_slots": 2}},
                "1 x 4x4, 4 KiB spad + reuse, reuse_slots 4": {
                    "engine": {"reuse": True, "reuse_slots": 4}, "array": {"engines": 1},
                    "scratchpad": {"bytes": 4096}}}
    lines = ["\nTLM (calibrated) vs RTL, fixed-latency memory, operand reuse or drain overlap on:\n",
             "| hardware | workload | tiles | loads skipped | cycles TLM | cycles RTL | accuracy | "
             "records matched / unmatched |",
             "|---|---|---|---|---|---|---|---|"]
    for name, overlay in variants.items():
        if only and not any(o in name for o in only):
            continue
        arch = arch_from_dict(overlay, "<bench>", base=calibrated_base())
        for work in ("gemm_small", "random_dag", "dilated_vgg_small", "deformable_small"):
            try:
                program = compile_workload(f"builtin:{work}", arch)
            except Exception as e:  # a workload that does not fit this scratchpad
                lines.append(f"| {name} | {work} | - | - | - | - | n/a ({str(e).split(': ')[-1]}) | - |")
                continue
            with tempfile.TemporaryDirectory() as d:
                tmp = Path(d)
                run_rtl(program, arch, tmp / "rtl.jsonl", progress=False)
                with TraceWriter(tmp / "tlm.jsonl", source="tlm", workload=program.name, arch=arch,
                                 clock_period_ps=arch.clock.period_ps) as w:
                    res = simulate(program, arch, trace=w)
                    w.close(res.cycles, res.tiles, res.functional)
                tlm_trace = read_trace(tmp / "tlm.jsonl")
                cmp = compare_traces(tlm_trace, read_trace(tmp / "rtl.jsonl"))
            tiles = tlm_trace.ops["tile"]
            skipped = 0
            if "reused" in (tiles.dtype.names or ()):
                skipped = int((tiles["reused"] & 1).astype(bool).sum() + (tiles["reused"] & 2).astype(bool).sum())
            lines.append(f"| {name} | {work} | {program.tiles} | {skipped} | {cmp.cycles_tlm:,} | "
                         f"{cmp.cycles_rtl:,} | {cmp.accuracy:.2%} | {cmp.matched} / {cmp.unmatched} |")
    return lines


def network_rows() -> list[str]:
    """VGG-16 and ResNet-50 (bench_dataflow's GEMM layers) within reach of SCALE-Sim on fast memory."""
    from bench_dataflow import resnet50, run, scalesim, vgg16

    lines = ["\nBoth networks on one 32x32 engine, bus 128 B, latency 1, double buffering with the drain "
             "hidden (`overlap_drain`), timing-only, against SCALE-Sim's stall-free OS count "
             "(ResNet-50 v1.5 as bench_dataflow.py defines its GEMM layers):\n",
             "| network | [scratchpad] bytes | reuse | cycles | SCALE-Sim | / SCALE-Sim | DMA bytes |",
             "|---|---|---|---|---|---|---|"]
    for name, w in (("VGG-16", vgg16()), ("ResNet-50", resnet50())):
        ss = sum(scalesim(w, 32, 32)["os"])
        for spad in (131072, 262144):
            for reuse in (False, True):
                r = run(w, merge(ONE_32, FAST, {"scratchpad": {"bytes": spad}, "engine": {
                    "double_buffer": True, "overlap_drain": True, "reuse": reuse}}))
                lines.append(f"| {name} | {spad} | {str(reuse).lower()} | {r['cycles']:,} | {ss:,} | "
                             f"{r['cycles'] / ss:.3f} | {r['dma_bytes']:,} |")
    return lines


#: (slots, scratchpad bytes): 64 KiB, then for each slot count a size that
#: splits K = 4608 (VGG-16's and ResNet-50's largest conv K) and one that holds it.
SLOT_POINTS = ((1, 65536), (1, 299008), (2, 262144), (2, 446464), (4, 262144), (4, 741376),
               (8, 741376), (8, 1331200))


def slot_rows() -> list[str]:
    """Several B slots: traffic and cycles of VGG-16 and ResNet-50 on one 32x32 engine."""
    from bench_dataflow import resnet50, scalesim

    ss = {"VGG-16": scalesim_cycles(32, 32), "ResNet-50": sum(scalesim(resnet50(), 32, 32)["os"])}
    lines = ["\nSeveral B slots (`[engine] reuse_slots`, reuse on, single buffering), one 32x32 engine, "
             "timing-only; kmax = (bytes - 4096) / (32 + 32 * slots); SCALE-Sim stall-free OS count: "
             f"VGG-16 {ss['VGG-16']:,}, ResNet-50 {ss['ResNet-50']:,} cycles:\n",
             "| network | memory | slots | [scratchpad] bytes | kmax | tiles | cycles | / SCALE-Sim | "
             "DMA bytes | bytes saved | wall s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for net, key in (("VGG-16", "vgg16"), ("ResNet-50", "resnet50")):
        for mem_name, mem in (("default", {}), ("bus 128 B, latency 1", FAST)):
            for slots, spad in SLOT_POINTS:
                kmax = (spad - 4096) // (32 + 32 * slots)
                r = run_child(merge(ONE_32, mem, {"scratchpad": {"bytes": spad},
                                                  "engine": {"reuse": True, "reuse_slots": slots}}), key)
                lines.append(f"| {net} | {mem_name} | {slots} | {spad:,} | {kmax} | {r['tiles']:,} | "
                             f"{r['cycles']:,} | {r['cycles'] / ss[net]:.3f} | {r['dma_bytes']:,} | "
                             f"{r['saved']:,} | {r['wall_s']:.1f} | {r['rss_mib']:.0f} |")
    return lines


def small_spad_rows() -> list[str]:
    """The smallest scratchpads that keep VGG-16 under 0.40 GB (default memory)."""
    lines = ["\nVGG-16, one 32x32 engine, default memory: DMA bytes by scratchpad size and slot count "
             "(GB = 1e9 bytes; the target is <= 0.40 GB):\n",
             "| [scratchpad] bytes | " + " | ".join(f"slots {s}" for s in (1, 2, 4, 8)) + " |",
             "|---|---|---|---|---|"]
    for spad in (98304, 131072, 196608, 262144):
        cells = []
        for slots in (1, 2, 4, 8):
            r = run_child(merge(ONE_32, {"scratchpad": {"bytes": spad},
                                         "engine": {"reuse": True, "reuse_slots": slots}}))
            cells.append(f"{r['dma_bytes'] / 1e9:.3f}")
        lines.append(f"| {spad:,} | " + " | ".join(cells) + " |")
    return lines


#: Graph-workload configurations: (label, overlay); 4 slots with a 128 KiB scratchpad.
GRAPH_POINTS = (("off", {}), ("on", {"engine": {"reuse": True}}),
                ("on, 4 slots, 128 KiB", {"scratchpad": {"bytes": 131072},
                                          "engine": {"reuse": True, "reuse_slots": 4}}))


def graph_rows() -> list[str]:
    """The zoo's graph workloads at full size: their MAC layers reuse blocks too."""
    lines = ["\nGraph workloads (model zoo, full size), default arch, timing-only: the conv, gemm and "
             "matmul layers get block ids (vector layers do not):\n",
             "| network | reuse | cycles | DMA bytes | bytes saved | DMA vs off | cycles vs off | wall s | "
             "peak RSS MiB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for net in ("resnet50", "mobilenet_v2", "efficientnet_b0", "bert_base"):
        base: dict[str, Any] | None = None
        for label, overlay in GRAPH_POINTS:
            r = run_child(overlay, f"builtin:{net}")
            base = base or r
            lines.append(f"| {net} | {label} | {r['cycles']:,} | {r['dma_bytes']:,} | {r['saved']:,} | "
                         f"{r['dma_bytes'] / base['dma_bytes']:.3f} | {r['cycles'] / base['cycles']:.3f} | "
                         f"{r['wall_s']:.1f} | {r['rss_mib']:.0f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--network", default="vgg16", help=argparse.SUPPRESS)
    ap.add_argument("--no-rtl", action="store_true", help="skip the TLM-vs-RTL table")
    ap.add_argument("--slots-only", action="store_true", help="only the several-B-slots table")
    ap.add_argument("--graphs-only", action="store_true", help="only the graph-workload table")
    ns = ap.parse_args()
    if ns.child:
        child(json.loads(ns.child), ns.network)
        return
    if ns.graphs_only:
        print("\n".join(graph_rows()))
        return
    if ns.slots_only:
        print("\n".join(slot_rows() + small_spad_rows()))
        return
    lines = vgg_rows() + bound_rows() + overlap_rows() + network_rows() + default_rows() + slot_rows() \
        + small_spad_rows() + graph_rows()
    if not ns.no_rtl:
        lines += rtl_rows()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
