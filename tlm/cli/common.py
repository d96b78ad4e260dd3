"""Options shared by the commands that simulate (`sim`, `rtl`, `calibrate`)."""

from __future__ import annotations

import argparse
import os
from importlib import resources
from pathlib import Path
from typing import Any

from tlm.arch import Arch, arch_from_dict, load_arch
from tlm.limits import add_limit_args

CALIBRATED = "calibrated_timing.toml"


def calibrated_base() -> Arch:
    """Defaults with the shipped calibrated `[timing]` overlay, when there is one."""
    try:
        text = resources.files("tlm.data").joinpath(CALIBRATED).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return Arch()
    import tomllib

    return arch_from_dict(tomllib.loads(text), f"tlm/data/{CALIBRATED}")


def resolve_arch(path: str | None, *, calibrated: bool = True) -> Arch:
    """The arch for a run: defaults (+ calibrated timing) overlaid by the user's file."""
    base = calibrated_base() if calibrated else Arch()
    return load_arch(path, base=base)


def add_workload_args(p: argparse.ArgumentParser, *, default: str | None = None,
                      required: bool = True) -> None:
    p.add_argument("--workload", "-w", metavar="W", default=default,
                   required=required and default is None,
                   help="workload file (tlm-workload/1 JSON, ONNX .onnx, SCALE-Sim .csv) or builtin:NAME")
    p.add_argument("--arch", "-a", metavar="A", default=None,
                   help="arch config TOML (keys not given take the defaults)")
    add_limit_args(p)


def check_trace_pair(tlm: Any, rtl: Any) -> None:
    """Refuse comparing a file with itself, or two traces of the TLM model.

    Args:
        tlm, rtl: `tlm.trace.reader.Trace` objects, as given on the command line.
    """
    from tlm.errors import InputError

    try:
        same = os.path.samefile(tlm.path, rtl.path)
    except OSError:
        same = False
    if same:
        raise InputError(rtl.path, "RTL", f"is the same file as TLM {tlm.path}: "
                         "compare a TLM trace with an RTL trace")
    if tlm.source == "tlm" and rtl.source == "tlm":
        raise InputError(rtl.path, "line 1: field source", "both traces are from the TLM model "
                         "(source 'tlm'): the second must be an RTL trace")


def check_outputs(outputs: list[tuple[str, str | None]], inputs: list[tuple[str, str | None]]) -> None:
    """Refuse bad output paths and outputs that name another output or an input file.

    `outputs` and `inputs` are (flag, path) pairs; None paths were not given.
    A workload ``builtin:NAME`` is not a file.
    """
    from tlm.outputs import refuse_clashes

    files = [(f, p) for f, p in inputs if p and not p.startswith("builtin:")]
    refuse_clashes(outputs, files)


def entry_counts(kind: Any) -> str:
    """"N tiles, J joins" (and ", V vector entries" for graph workloads) of a program's entry kinds."""
    import numpy as np

    from tlm.workload.program import EntryKind

    counts = np.bincount(np.asarray(kind, dtype=np.int64), minlength=3)
    text = f"{int(counts[EntryKind.TILE]):,} tiles, {int(counts[EntryKind.JOIN]):,} joins"
    return text + (f", {int(counts[EntryKind.VEC]):,} vector entries" if counts[EntryKind.VEC] else "")
