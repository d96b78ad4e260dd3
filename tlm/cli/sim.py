"""`tlmsim sim`: run a workload on the transaction-level accelerator model."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from tlm.arch import KEY_HELP, Arch, arch_keys
from tlm.cli.common import add_workload_args, calibrated_base, parent_dir_ok, resolve_arch
from tlm.errors import InputError

def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "sim", help="simulate a workload on the TLM accelerator model",
        description="Compile a workload into a tile program and run it on the transaction-level "
        "model of the accelerator. Prints total cycles, utilisation, DMA traffic and simulation "
        "speed. Exit 1 when the functional check or the run fails, 2 on bad input.")
    add_workload_args(p, required=False)
    p.add_argument("--trace", "-t", metavar="T", help="write the tlm-trace/1 JSONL trace to T")
    p.add_argument("--perfetto", metavar="P", help="write a Chrome/Perfetto trace-event JSON to P")
    p.add_argument("--vcd", metavar="V", help="write a VCD of engine/DMA busy and table occupancy")
    p.add_argument("--timing-only", action="store_true",
                   help="no data: timing only (for full-size networks)")
    p.add_argument("--uncalibrated", action="store_true",
                   help="use the default [timing] guesses, not the shipped calibration")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--help-arch", action="store_true",
                   help="list every arch key with the value this run would use (with --arch and "
                   "--uncalibrated as given) and exit")
    return p


def run(args: argparse.Namespace) -> int:
    from tlm.blocks import simulate
    from tlm.cli import print_json
    from tlm.trace.sinks import open_sinks
    from tlm.workload import compile_workload

    wall0 = time.perf_counter()
    arch = resolve_arch(args.arch, calibrated=not args.uncalibrated)
    if args.help_arch:
        print(help_arch(arch, args.arch, calibrated=not args.uncalibrated))
        return 0
    if args.workload is None:
        raise InputError("tlmsim sim", "arguments", "the following arguments are required: --workload/-w")
    chosen = [(p, k) for p, k in ((args.trace, ".jsonl"), (args.perfetto, ".json"), (args.vcd, ".vcd")) if p]
    outputs = [p for p, _ in chosen]
    for flag, path in (("--trace", args.trace), ("--perfetto", args.perfetto), ("--vcd", args.vcd)):
        if path:
            parent_dir_ok(path, flag)
    program = compile_workload(args.workload, arch, functional=not args.timing_only)
    bar = _progress_bar(program.entries, args.no_progress)
    sink = open_sinks(outputs, source="tlm", workload=program.name, arch=arch,
                      kinds=[k for _, k in chosen])
    with sink:
        result = simulate(program, arch, functional=not args.timing_only, trace=sink,
                          progress=bar.update if bar else None)
        if bar:
            bar.close()
        wall_s = time.perf_counter() - wall0
        sink.close(result.cycles, result.tiles, result.functional,
                   sim_s=round(result.sim_s, 4), wall_s=round(wall_s, 4))
    summary = result.summary(arch)
    from tlm.api import extra_summary  # macs, dram_bytes, area/energy estimates, arch

    summary.update({k: v for k, v in extra_summary(arch, program, result.dma_bytes).items() if k not in summary})
    summary["wall_s"] = round(time.perf_counter() - wall0, 4)
    if args.json:
        print_json(summary)
    else:
        _print_human(summary, result, arch, outputs)
    if result.functional == "fail":
        sys.stderr.write("functional check failed: " + "; ".join(result.mismatches) + "\n")
        return 1
    return 0


def help_arch(arch: Arch, path: str | None, *, calibrated: bool) -> str:
    """Every arch key, the value a run uses, where that value comes from, and its meaning."""
    base = dict(((s, k), v) for s, k, v in arch_keys(calibrated_base() if calibrated else Arch()))
    lines = [f"arch keys and the values this run uses (file: {path or 'none'}; "
             f"{'calibrated timing overlay' if calibrated else 'uncalibrated'}); docs/arch.md has the rules",
             f"  {'key':34s} {'value':>12s}  {'from':10s} meaning"]
    for (sec, key, value), (_, _, default) in zip(arch_keys(arch), arch_keys(Arch())):
        if value != base[sec, key]:
            origin = "--arch"
        elif value != default:
            origin = "calibrated"
        else:
            origin = "default"
        lines.append(f"  {f'[{sec}] {key}':34s} {value!s:>12s}  {origin:10s} {KEY_HELP[f'{sec}.{key}']}")
    return "\n".join(lines)


def _progress_bar(total: int, disabled: bool) -> Any:
    if disabled or total < 50_000:
        return None
    from tqdm import tqdm

    class Bar:
        def __init__(self) -> None:
            self.t = tqdm(total=total, unit="entry", file=sys.stderr, mininterval=0.5,
                          desc="simulating", disable=None)
            self.seen = 0

        def update(self, done: int, _total: int) -> None:
            self.t.update(done - self.seen)
            self.seen = done

        def close(self) -> None:
            self.t.update(total - self.seen)
            self.t.close()

    return Bar()


def _print_human(s: dict[str, Any], result: Any, arch: Any, outputs: list[str]) -> None:
    e = arch.array
    period_ns = arch.clock.period_ps / 1000
    lines = [
        f"workload      {s['workload']}  ({result.tiles} tiles, {result.entries - result.tiles} joins)",
        f"accelerator   {e.engines} engines x {e.rows}x{e.cols} MACs, table {arch.scheduler.table_depth}, "
        f"bus {arch.dma.bus_bytes} B, memory latency {arch.memory.latency_cycles} cycles",
        f"cycles        {s['cycles']:,}  ({s['cycles'] * period_ns / 1e3:,.3f} us at {1e3 / period_ns:g} MHz)",
        f"DAG           {result.entries:,} entries, {result.info.get('edges', '?'):,} edges, "
        f"depth {result.info.get('depth', '?')}",
        f"critical path {s['critical_path']:,} cycles  (achieved / critical = "
        f"{s['cycles'] / max(1, s['critical_path']):.2f})",
        "engines       " + "  ".join(f"e{i} {u:.1%} ({t} tiles)" for i, (u, t) in
                                     enumerate(zip(s['engine_utilisation'], result.engine_tiles))),
        f"MAC util      {s['mac_utilisation']:.2%}",
        f"DMA           {s['dma_bytes']:,} bytes in {result.dma_ops:,} ops, busy {s['dma_busy']:.1%}",
        f"table         max occupancy {s['max_table_occupancy']} of {arch.scheduler.table_depth}",
        f"functional    {s['functional']}",
        f"speed         {s['cycles_per_s']:,} simulated cycles/s  (sim {s['sim_s']:.3f} s, wall {s['wall_s']:.3f} s)",
    ]
    for o in outputs:
        lines.append(f"wrote         {o}")
    print("\n".join(lines))
