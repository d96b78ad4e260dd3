"""Workloads: loading, validation and compilation to a `TileProgram`.

    program = compile_workload("builtin:dilated_vgg_small", Arch())
    program = compile_workload("net.json", arch, functional=False)  # timing only

`load_workload` reads a file or `builtin:NAME` into the JSON object;
`compile_workload` validates it (docs/workload.md) and lowers it
(docs/microarch.md). Bad input raises `tlm.errors.InputError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.importers import importer_for
from tlm.limits import MAX_WORKLOAD_BYTES, RunLimits, check_json_depth, read_capped
from tlm.workload.builtins import BUILTINS, builtin
from tlm.workload.compiler import compile_spec
from tlm.workload.dag import admission_deadlock, critical_path, depth, tile_dag
from tlm.workload.program import TileProgram
from tlm.workload.reference import reference_outputs, run_program_functionally
from tlm.workload.spec import WorkloadSpec, parse_workload

BUILTIN_PREFIX = "builtin:"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def load_workload(source: str | Path, *, max_bytes: int = MAX_WORKLOAD_BYTES) -> dict[str, Any]:
    """The workload object of a JSON file, an imported network or `builtin:NAME`.

    A `.csv` path is read as a SCALE-Sim topology and a `.onnx` path as an
    ONNX model (`tlm.importers`); anything else as `tlm-workload/1` JSON.

    Args:
        source: a path or `builtin:NAME`.
        max_bytes: largest file accepted (`--max-workload-bytes`).

    Raises:
        InputError: unreadable file, larger than `max_bytes`, nested too
            deep, invalid JSON, not an object, unknown built-in.
    """
    text = str(source)
    if text.startswith(BUILTIN_PREFIX):
        name = text[len(BUILTIN_PREFIX):]
        obj = builtin(name)
        if obj is None:
            raise InputError(text, "workload", f"unknown built-in {name!r} (known: {', '.join(BUILTINS)})")
        return obj
    importer = importer_for(text)
    if importer is not None:  # a SCALE-Sim topology (.csv) or an ONNX model (.onnx)
        return importer(text, max_bytes)
    raw = read_capped(text, max_bytes, "--max-workload-bytes raises it")
    if not raw.strip():
        raise InputError(text, "file", "is empty")
    check_json_depth(raw, text)
    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise InputError(text, "file", "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise InputError(text, f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}") from None
    except ValueError as e:
        raise InputError(text, "JSON", str(e)) from None
    if not isinstance(obj, dict):
        raise InputError(text, "top level", f"must be a JSON object, got {type(obj).__name__}")
    return obj


def compile_workload(source: str | Path | Mapping[str, Any], arch: Arch, *, functional: bool = True,
                     file: str | None = None, limits: RunLimits | None = None) -> TileProgram:
    """Load, validate and lower a workload for `arch`.

    Args:
        source: a file path, `builtin:NAME`, or an already loaded workload object.
        arch: the accelerator configuration (tile bounds, scratchpad, bus width).
        functional: also draw the operand data, keep segment lists and compute
            the numpy reference (`expected`); False gives a timing-only program.
        file: the name errors report (default: the path, or `<workload>`).
        limits: file size, tile count and host memory a run may take
            (`tlm.limits.RunLimits`; default: its defaults).

    Raises:
        InputError: bad input, naming the field (`layers[2].dilation`, `tiles[5].deps`),
            or a run over one of `limits` (the estimate and the limit).
    """
    limits = limits or RunLimits()
    if isinstance(source, (str, Path)):
        data, name = load_workload(source, max_bytes=limits.workload_bytes), file or str(source)
    else:
        data = dict(source) if isinstance(source, Mapping) else source
        name = file or "<workload>"
    spec = parse_workload(data, name, arch)
    return compile_spec(spec, arch, name, functional, limits)


__all__ = [
    "BUILTINS",
    "TileProgram",
    "WorkloadSpec",
    "admission_deadlock",
    "compile_workload",
    "critical_path",
    "depth",
    "load_workload",
    "parse_workload",
    "reference_outputs",
    "run_program_functionally",
    "tile_dag",
]
