"""`tlmsim rtl`: run a workload on the Verilog RTL (Icarus Verilog + cocotb)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from tlm.cli.common import add_workload_args, check_outputs, entry_counts, resolve_arch
from tlm.outputs import safe_text


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "rtl", help="simulate a workload on the RTL (Icarus Verilog + cocotb)",
        description="Compile a workload into a tile program, check the arch against the RTL's "
        "parameters, build accel_top (cached), run it under Icarus Verilog and write its "
        "tlm-trace/1 trace. The outputs in memory are checked against numpy. Exit 1 when they "
        "differ, the run deadlocks or the simulator fails, 2 on bad input.")
    add_workload_args(p)
    p.add_argument("--trace", "-t", metavar="T", required=True, help="write the tlm-trace/1 JSONL trace to T")
    p.add_argument("--hardware", metavar="HW",
                   help="hardware file (TOML, [dram]): run with the DRAM memory system it describes "
                   "instead of the fixed-latency memory")
    p.add_argument("--waves", action="store_true",
                   help="also record an FST waveform (GTKWave / Surfer) and print its path")
    p.add_argument("--max-cycles", metavar="N", type=int, default=MAX_RTL_CYCLES,
                   help=f"refuse a run the TLM estimates at more than N cycles (default {MAX_RTL_CYCLES:,}; "
                   "Icarus simulates some 10-20k cycles a second)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress messages on stderr")
    return p


#: Default `--max-cycles`: about ten minutes of Icarus.
MAX_RTL_CYCLES = 10_000_000


def estimated_cycles(program: Any, arch: Any, hardware: Any) -> int:
    """The TLM's timing-only cycles for the run (with a hardware file: its dram level on the
    hardware's own values), to refuse hopeless runs before building anything."""
    import dataclasses

    from tlm.blocks import simulate

    if hardware is not None:
        from tlm.calibrate.dram import with_hardware_values

        arch = with_hardware_values(arch, dataclasses.asdict(hardware.dram))
    return int(simulate(program, arch, functional=False).cycles)


def run(args: argparse.Namespace) -> int:
    from tlm.cli import print_json
    from tlm.errors import InputError
    from tlm.rtl.hardware import load_hardware, verilog_parameters
    from tlm.rtl.run import run_rtl
    from tlm.rtl.runner import RtlError
    from tlm.limits import limits_from_args
    from tlm.workload import compile_workload

    wall0 = time.perf_counter()
    if args.max_cycles < 1:
        raise InputError("--max-cycles", "value", f"must be a positive integer, got {args.max_cycles}")
    arch = resolve_arch(args.arch)
    check_outputs([("--trace", args.trace)], [("--workload", args.workload), ("--arch", args.arch),
                                              ("--hardware", args.hardware)])
    if args.waves and Path(args.trace).suffix == ".fst":
        raise InputError(args.trace, "--trace", "ends in .fst, the waveform's name with --waves: "
                         "use .jsonl")
    hardware = load_hardware(args.hardware) if args.hardware else None
    if hardware is not None:
        verilog_parameters(hardware, arch, args.hardware)  # bad combinations before compiling
    program = compile_workload(args.workload, arch, functional=True, limits=limits_from_args(args))
    from tlm.rtl.vector_image import check_vector_rtl

    check_vector_rtl(program, arch, str(args.workload))
    from tlm.workload.ksplit import warn_ksplit

    warn_ksplit(program, arch)
    estimate = estimated_cycles(program, arch, hardware)
    if estimate > args.max_cycles:
        raise InputError(str(args.hardware or args.workload), "cycles",
                         f"the TLM estimates {estimate:,} cycles, more than the RTL limit of "
                         f"{args.max_cycles:,} (--max-cycles raises it)")
    try:
        result = run_rtl(program, arch, args.trace, waves=args.waves, progress=not args.no_progress,
                         hardware=hardware)
    except RtlError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        sys.stderr.write(f"error: rtl: {first}\n")
        return 1
    summary: dict[str, Any] = {
        "workload": program.name,
        "source": "rtl",
        "cycles": result.cycles,
        "tiles": result.tiles,
        "functional": result.functional,
        "wall_s": round(time.perf_counter() - wall0, 4),
        "sim_s": round(result.sim_s, 4),
        "cycles_per_s": int(result.cycles_per_s),
        "build_s": round(result.build_s, 4),
        "trace": str(args.trace),
    }
    if result.waves_path is not None:
        summary["waves"] = str(result.waves_path)
    if args.hardware:
        summary["hardware"] = str(args.hardware)
    if args.json:
        print_json(summary)
    else:
        arr = arch.array
        lines = [
            f"workload      {safe_text(program.name)}  ({entry_counts(program.kind)})",
            f"accelerator   {arr.engines} engines x {arr.rows}x{arr.cols} MACs, table "
            f"{arch.scheduler.table_depth}, bus {arch.dma.bus_bytes} B, memory "
            + (f"DRAM {args.hardware}" if args.hardware else f"latency {arch.memory.latency_cycles} cycles")
            + "  (RTL)",
            f"cycles        {result.cycles:,}",
            f"functional    {result.functional}",
            f"speed         {summary['cycles_per_s']:,} simulated cycles/s  (sim {result.sim_s:.3f} s, "
            f"build {result.build_s:.3f} s, wall {summary['wall_s']:.3f} s)",
            f"wrote         {safe_text(args.trace)}",
        ]
        if result.waves_path is not None:
            lines.append(f"waves         {safe_text(str(result.waves_path))}")
        print("\n".join(lines))
    if result.functional == "fail":
        sys.stderr.write("functional check failed: " + "; ".join(result.mismatches) + "\n")
        return 1
    return 0
