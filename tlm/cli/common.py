"""Options shared by the commands that simulate (`sim`, `rtl`, `calibrate`)."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

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
                   help="workload file (tlm-workload/1 JSON) or builtin:NAME")
    p.add_argument("--arch", "-a", metavar="A", default=None,
                   help="arch config TOML (keys not given take the defaults)")
    add_limit_args(p)


def parent_dir_ok(path: str, flag: str) -> None:
    """An output path whose folder does not exist is bad input, caught before running."""
    from tlm.errors import InputError

    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise InputError(path, flag, f"folder {folder} does not exist")
