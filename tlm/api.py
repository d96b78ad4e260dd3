"""The Python API: run the TLM model from a script or a notebook.

    from tlm.api import simulate
    r = simulate("builtin:gemm_small", {"array": {"rows": 8}}, timing_only=True)
    r.cycles, r.area, r.energy, r.layers[0]["cycles"]
    r.to_json()          # the same object `tlmsim sim --json` prints

`simulate` takes a workload source (a path, `builtin:NAME`, or an already
loaded workload dict) and an arch (an `Arch`, a dict of overrides over the
defaults with the shipped calibrated timing, a TOML path, or None). Bad input
raises `tlm.errors.InputError`, exactly as the CLI reports it.

The summary is `SimResult.summary(arch)` (whatever keys the model reports)
plus the cost estimates (`area`, `energy`, `cost`), `macs`, `dram_bytes`,
`arch` (the full config) and, unless the model already reports them, the
per-layer breakdown `layers`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tlm.arch import Arch, arch_from_dict, load_arch
from tlm.cost import cost_summary
from tlm.workload.program import EntryKind, TileProgram

WorkloadSource = str | Path | Mapping[str, Any]
ArchSource = Arch | Mapping[str, Any] | str | Path | None


@dataclass
class Result:
    """One run: `summary` holds every `--json` key; attributes read through to it.

    `r.cycles` is `r.summary["cycles"]`; `to_json()` is the summary itself.
    """

    summary: dict[str, Any]
    arch: Arch = field(repr=False)

    def __getattr__(self, name: str) -> Any:
        if name in ("summary", "arch") or name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.summary[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of `tlmsim sim --json` (a plain dict, JSON-serialisable)."""
        return dict(self.summary)


def resolve_arch(arch: ArchSource, *, calibrated: bool = True) -> Arch:
    """An `Arch` from any accepted arch source (dict/path overlay the calibrated defaults)."""
    from tlm.cli.common import calibrated_base

    if isinstance(arch, Arch):
        return arch
    base = calibrated_base() if calibrated else Arch()
    if arch is None:
        return base
    if isinstance(arch, Mapping):
        return arch_from_dict(dict(arch), "<arch>", base)
    return load_arch(arch, base=base)


def workload_object(workload: WorkloadSource) -> dict[str, Any]:
    """The workload JSON object of a source (read and parsed, not yet validated)."""
    from tlm.workload import load_workload

    if isinstance(workload, Mapping):
        return dict(workload)
    return load_workload(workload)


def workload_digest(workload: WorkloadSource) -> str:
    """sha256 of the workload's canonical JSON: the same content gives the same digest."""
    text = json.dumps(workload_object(workload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def extra_summary(arch: Arch, program: TileProgram, dma_bytes: int) -> dict[str, Any]:
    """What the API and `tlmsim sim --json` add to the model's summary: `macs`,
    `dram_bytes`, the area/energy estimates (`area`, `energy`, `cost`) and `arch`."""
    tiles = program.kind == EntryKind.TILE
    m = program.m[tiles].astype(np.int64)
    n = program.n[tiles].astype(np.int64)
    macs = int(np.sum(m * n * program.k[tiles]))
    out = int(np.sum(m * n))
    return {"macs": macs, "dram_bytes": int(dma_bytes),
            **cost_summary(arch, macs=macs, dma_bytes=dma_bytes, out_elems=out),
            "arch": arch.to_dict()}


def layer_rows(program: TileProgram, layers: list[dict[str, Any]], cycles: int) -> list[dict[str, Any]]:
    """The model's per-layer figures plus each layer's GEMM shape (`M`, `N`, `K`) and `incr`.

    `incr` is the cycles the layer adds to the run (its end minus the latest
    end before it; the last layer's runs to the end of the run), so the run's
    `cycles` are the sum of `incr` (what `tlm.predict` learns).
    """
    info: Any = program.info.get("layers") or []
    out: list[dict[str, Any]] = []
    prev_end = 0
    for lay, x in zip(layers, info):
        out.append({**lay, **{d: int(x[d]) for d in ("M", "N", "K")},
                    "incr": max(int(lay["end"]), prev_end) - prev_end})
        prev_end = max(prev_end, int(lay["end"]))
    if out:
        out[-1]["incr"] += max(0, cycles - prev_end)
    return out


def simulate(workload: WorkloadSource, arch: ArchSource = None, *, timing_only: bool = False,
             calibrated: bool = True, layers: bool = True) -> Result:
    """Compile and run a workload on the TLM model.

    Args:
        workload: a workload file path, `builtin:NAME`, or a workload dict.
        arch: an `Arch`, a dict of overrides (e.g. `{"array": {"rows": 8}}`),
            an arch TOML path, or None for the defaults.
        timing_only: no data, no functional check (`functional` is "skipped").
        calibrated: dict/path/None archs overlay the shipped calibrated timing.
        layers: keep the per-layer breakdown (`layers`) in the summary.

    Returns:
        The run's `Result`.

    Raises:
        InputError: bad workload or arch.
        CheckFailed: the simulation deadlocked.
    """
    from tlm.blocks import simulate as run_model
    from tlm.workload import compile_workload

    wall0 = time.perf_counter()
    a = resolve_arch(arch, calibrated=calibrated)
    source: Any = dict(workload) if isinstance(workload, Mapping) else workload
    program = compile_workload(source, a, functional=not timing_only)
    res = run_model(program, a, functional=not timing_only)
    summary: dict[str, Any] = dict(res.summary(a))
    for k, v in extra_summary(a, program, res.dma_bytes).items():
        summary.setdefault(k, v)
    summary["layers"] = layer_rows(program, summary.get("layers") or [], res.cycles) if layers else []
    from tlm.workload.ksplit import ksplit_warning

    summary["wall_s"] = round(time.perf_counter() - wall0, 4)
    summary["warnings"] = [w for w in (ksplit_warning(program, a),) if w is not None]
    return Result(summary=summary, arch=a)
