"""`tlmsim calibrate`: fit the TLM `[timing]` to the RTL and validate on held-out workloads."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from tlm.cli.common import check_outputs, resolve_arch
from tlm.errors import InputError
from tlm.outputs import is_special, safe_text
from tlm.rtl.runner import cache_root

DEFAULT_OUT = "calibrated_timing.toml"
DEFAULT_CACHE = cache_root() / "calib"  # per user: $TLMSIM_CACHE or ~/.cache/tlmsim


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "calibrate", help="fit the TLM timing parameters to the RTL",
        description="Run the calibration workloads through the RTL (cocotb + Icarus), fit the TLM "
        "model's [timing] parameters to the RTL traces, validate on held-out workloads that were "
        "not fitted, write the parameters as an arch overlay TOML and print a before/after table. "
        "RTL results are cached per (workload, arch, RTL sources). Exit 1 when the held-out "
        "accuracy is below --min-accuracy, 2 on bad input.")
    p.add_argument("--arch", "-a", metavar="A", default=None,
                   help="arch config TOML to calibrate (default: the built-in defaults)")
    p.add_argument("--out", "-o", metavar="FILE", default=DEFAULT_OUT,
                   help=f"the [timing] overlay to write (default: {DEFAULT_OUT})")
    p.add_argument("--min-accuracy", type=float, default=None, metavar="X",
                   help="exit 1 when a held-out workload's end-to-end accuracy is below X "
                   "(default 0.99; with --hardware: of the dram level, default 0.98)")
    p.add_argument("--hardware", metavar="HW", default=None,
                   help="hardware file (TOML, [dram]): run the RTL with that DRAM and fit the TLM's "
                   "memory-model levels ([memory_model]: fixed and dram) instead of [timing]; "
                   "use the overlay with `tlmsim sim --calibration OUT --memory-model dram`")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--cache", metavar="DIR", default=str(DEFAULT_CACHE),
                   help=f"RTL result cache folder (default: {DEFAULT_CACHE})")
    p.add_argument("--max-evaluations", type=int, default=3000, metavar="N",
                   help="search budget: stop restarting the descent after N evaluations "
                   "(one TLM run of every calibration case each; default 3000)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--stand-in", metavar="TOML", default=None,
                   help="testing aid: fit to the TLM model run with this file's [timing] "
                   "instead of the RTL (results are labelled stand-in)")
    return p


def _stand_in(path: str) -> Any:
    from tlm.arch import load_arch
    from tlm.calibrate.runs import StandInReference

    hidden = load_arch(path)
    return StandInReference(dataclasses.asdict(hidden.timing))


def run(args: argparse.Namespace) -> int:
    from tlm.cli import print_json
    from tlm.calibrate.runs import RtlReference
    from tlm.calibrate.core import calibrate, write_overlay
    from tlm.workload.calibration import calibration_set, validation_set

    if args.min_accuracy is None:
        args.min_accuracy = 0.98 if args.hardware else 0.99
    if not 0.0 <= args.min_accuracy <= 1.0:
        raise InputError("--min-accuracy", "value", f"must be in 0..1, got {args.min_accuracy}")
    if args.max_evaluations < 1:
        raise InputError("--max-evaluations", "value", f"must be >= 1, got {args.max_evaluations}")
    arch = resolve_arch(args.arch, calibrated=False)
    check_outputs([("--out", args.out)], [("--arch", args.arch), ("--stand-in", args.stand_in),
                                          ("--hardware", args.hardware)])
    folder = Path(args.out).resolve().parent
    if not is_special(args.out) and not os.access(folder, os.W_OK):
        raise InputError(args.out, "--out", f"folder {folder} is not writable")
    if not args.stand_in:
        from tlm.rtl.introspect import check_rtl_limits

        check_rtl_limits(arch)  # the RTL is the reference: refuse what it cannot build, up front
    if args.hardware:
        return run_hardware(args, arch)
    calibration = calibration_set(arch.array.rows, arch.array.cols, arch.kmax)
    validation = validation_set(arch.array.rows, arch.array.cols, arch.kmax)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(calibration) + len(validation), unit="run", file=sys.stderr,
                   desc="reference runs", disable=None)
    if args.stand_in:
        reference = _stand_in(args.stand_in)
    else:
        reference = RtlReference(Path(args.cache), progress=False)

    def on_case(name: str) -> None:
        if bar is not None:
            bar.set_postfix_str(name)
            bar.update(1)

    from tlm.rtl.runner import RtlError

    try:
        result = calibrate(arch, reference, calibration=calibration, validation=validation,
                           on_case=on_case, max_evaluations=args.max_evaluations)
    except RtlError as e:
        # Same convention as `tlmsim rtl`: the simulator could not run (exit 1, one line).
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        sys.stderr.write(f"error: rtl: {first}\n")
        return 1
    finally:
        if bar is not None:
            bar.close()
    write_overlay(args.out, result)
    passed = result.held_out_min_accuracy >= args.min_accuracy
    if args.json:
        summary = result.to_json()
        summary.update({"out": args.out, "min_accuracy": args.min_accuracy, "passed": passed})
        print_json(summary)
    else:
        print(render_text(result, args.out))
    if not passed:
        sys.stderr.write(f"check failed: held-out accuracy {result.held_out_min_accuracy:.4%} is "
                         f"below --min-accuracy {args.min_accuracy:.4%}\n")
        return 1
    return 0


def run_hardware(args: argparse.Namespace, arch: Any) -> int:
    """`--hardware`: fit `[memory_model]` to the RTL built with that DRAM."""
    from tlm.calibrate.dram import (calibrate_memory, dram_cases, markdown_memory, markdown_memory_ops,
                                    markdown_memory_worst, write_memory_overlay)
    from tlm.calibrate.runs import RtlReference
    from tlm.cli import print_json
    from tlm.cli.common import calibrated_base
    from tlm.rtl.hardware import load_hardware, verilog_parameters
    from tlm.rtl.runner import RtlError
    from tlm.workload.calibration import calibration_set, validation_set

    if args.stand_in:
        raise InputError("--stand-in", "value", "cannot be used with --hardware (the reference is the RTL)")
    hw = load_hardware(args.hardware)
    verilog_parameters(hw, arch, args.hardware)  # a row smaller than a bus beat: refused up front
    # [timing] is not refitted: the control costs do not depend on the memory.
    arch = resolve_arch_with_timing(args.arch, calibrated_base())
    r, c = arch.array.rows, arch.array.cols
    calibration = calibration_set(r, c, arch.kmax) + dram_cases(r, c)
    validation = validation_set(r, c, arch.kmax)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(calibration) + len(validation), unit="run", file=sys.stderr,
                   desc="RTL+DRAM runs", disable=None)

    def on_case(name: str) -> None:
        if bar is not None:
            bar.set_postfix_str(name)
            bar.update(1)

    reference = RtlReference(Path(args.cache), progress=False, hardware=hw)
    fit_bar: list[Any] = []

    def on_step(stage: str, error: float) -> None:
        """The dram fit takes minutes: one bar step per stage, with the fit error so far."""
        if args.no_progress:
            return
        if not fit_bar:
            from tqdm import tqdm

            if bar is not None:
                bar.close()   # the RTL runs are done when the fit starts

            from tlm.calibrate.dram_fit import fit_stages

            fit_bar.append(tqdm(total=fit_stages(), unit="stage", file=sys.stderr, desc="dram fit",
                                disable=None))
        fit_bar[0].set_postfix_str(f"{stage}: error {error:.2%}")
        fit_bar[0].update(1)

    try:
        result = calibrate_memory(arch, reference, dataclasses.asdict(hw.dram), calibration=calibration,
                                  validation=validation, on_case=on_case, on_step=on_step)
    except RtlError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        sys.stderr.write(f"error: rtl: {first}\n")
        return 1
    finally:
        if bar is not None:
            bar.close()
        for b in fit_bar:
            b.close()
    write_memory_overlay(args.out, result)
    low, mean = result.held_out_accuracy("dram")
    passed = low >= args.min_accuracy
    if args.json:
        summary = result.to_json()
        summary.update({"out": args.out, "min_accuracy": args.min_accuracy, "passed": passed})
        print_json(summary)
    else:
        flo, fmean = result.held_out_accuracy("fixed")
        print("\n".join([f"calibrated [memory_model] against: rtl with DRAM {safe_text(args.hardware)}", "",
                         markdown_memory(result), "",
                         "held-out DMA ops: summed |duration error| over summed RTL duration, per level", "",
                         markdown_memory_ops(result), "",
                         "held-out DMA ops the dram level times worst", "",
                         markdown_memory_worst(result), "",
                         f"dram level fit error (per-op error + bias): {result.dram_fit.error_start:.2%} (defaults) -> "
                         f"{result.dram_fit.error:.2%} (fitted, {result.dram_fit.evaluations} evaluations, "
                         f"{result.fit_s:.0f} s)",
                         f"held-out accuracy, dram level: min {low:.4%} mean {mean:.4%}",
                         f"held-out accuracy, fixed level: min {flo:.4%} mean {fmean:.4%}",
                         f"wrote {safe_text(args.out)}"]))
    if not passed:
        sys.stderr.write(f"check failed: held-out accuracy of the dram level {low:.4%} is below "
                         f"--min-accuracy {args.min_accuracy:.4%}\n")
        return 1
    return 0


def resolve_arch_with_timing(path: str | None, base: Any) -> Any:
    """The user's arch over the defaults with the shipped calibrated `[timing]`."""
    from tlm.arch import load_arch

    return load_arch(path, base=base)


def render_text(result: Any, out: str) -> str:
    """The human summary: parameters, before/after table, per-op residuals."""
    from tlm.calibrate.report import markdown_cases, markdown_params, markdown_residuals

    src = result.source
    parts = [f"calibrated against: {src}" + ("  (STAND-IN: not RTL figures)" if src == "stand-in" else ""),
             "", markdown_params(result), "", *[f"  {n}" for n in result.fit.notes], "",
             markdown_cases(result), "", markdown_residuals(result), "",
             f"held-out accuracy: min {result.held_out_min_accuracy:.4%}", f"wrote {safe_text(out)}"]
    return "\n".join(parts)
