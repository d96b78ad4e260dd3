"""Runs that calibration compares: the TLM model in memory, and its references.

Calibration re-runs the TLM model hundreds of times, so its traces stay in
memory (`MemorySink` -> `RunTrace`) instead of going through JSONL files.
A *reference* is what the TLM is fitted to; it turns a case (workload + arch)
into a `RunTrace`:

- `RtlReference`: the Verilog RTL under cocotb + Icarus (`tlm.rtl.run`),
  with its traces cached in the per-user cache (``~/.cache/tlmsim/calib/``
  by default) keyed by workload, hardware config and the RTL sources, so that a rerun costs nothing;
- `StandInReference`: the TLM model itself with hidden `[timing]` values.
  It exists to test the fitter (it must recover them); its figures are
  never RTL figures, and everything derived from it is labelled `stand-in`.

`FitCase` pairs a compiled case with its reference run; `case_error` says
how far a TLM run is from it (the quantity calibration minimises).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.blocks import simulate
from tlm.trace.reader import Trace, read_trace
from tlm.trace.schema import KNOWN_OPS, MISSING
from tlm.workload.program import TileProgram

#: Columns every op array of a `RunTrace` has (MISSING where a record lacks one).
COLUMNS = ("tile", "start", "end", "engine", "grant", "beats")
_DTYPE = np.dtype([(c, np.int64) for c in COLUMNS])


@dataclass
class RunTrace:
    """One run's records, per op a structured array sorted by tile (`COLUMNS`)."""

    source: str
    cycles: int
    functional: str
    ops: dict[str, np.ndarray]
    sim_s: float | None = None
    wall_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _op_array(rows: list[tuple[int, ...]]) -> np.ndarray:
    arr = np.array(rows, dtype=_DTYPE) if rows else np.zeros(0, dtype=_DTYPE)
    return np.sort(arr, order="tile")


class MemorySink:
    """A trace sink (`tlm.trace.base.TraceSink`) that keeps the records as tuples."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[int, ...]]] = {}

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        rows = self.rows.get(op)
        if rows is None:
            rows = self.rows[op] = []
        rows.append((tile, start, end, extra.get("engine", MISSING), extra.get("grant", MISSING),
                     extra.get("beats", MISSING)))

    def occupancy(self, time: int, value: int) -> None:
        return None

    def op_arrays(self) -> dict[str, np.ndarray]:
        return {op: _op_array(rows) for op, rows in self.rows.items()}


def run_tlm(program: TileProgram, arch: Arch, *, functional: bool = False) -> RunTrace:
    """Run the TLM model and keep its trace in memory.

    Raises:
        DeadlockError: The program cannot finish on this arch.
    """
    sink = MemorySink()
    result = simulate(program, arch, functional=functional, trace=sink)
    return RunTrace("tlm", result.cycles, result.functional, sink.op_arrays(), sim_s=result.sim_s)


def run_trace_from_file(trace: Trace) -> RunTrace:
    """A parsed `tlm-trace/1` file as a `RunTrace` (needs the footer)."""
    ops: dict[str, np.ndarray] = {}
    for op, arr in trace.ops.items():
        out = np.full(arr.shape[0], MISSING, dtype=_DTYPE)
        for c in COLUMNS:
            if c in (arr.dtype.names or ()):
                out[c] = arr[c]
        ops[op] = np.sort(out, order="tile")
    footer = trace.footer or {}
    run = RunTrace(trace.source, int(trace.cycles or 0), str(footer.get("functional", "skipped")),
                   ops, sim_s=trace.perf("sim_s"), wall_s=trace.perf("wall_s"))
    if isinstance(footer.get("dram"), dict):
        run.info["dram"] = footer["dram"]
    return run


# -- a case and its reference; how far a TLM run is from it -----------------------------

@dataclass
class FitCase:
    """One fitting (or validation) case with its reference run."""

    name: str
    program: TileProgram
    arch: Arch          # hardware of the case; its timing is replaced while fitting
    ref: RunTrace


@dataclass
class CaseError:
    """How far one TLM run is from its reference."""

    accuracy: float
    dur_err: dict[str, np.ndarray]     # op -> |dur_tlm - dur_ref| / max(dur_ref, 1)
    residual: dict[str, np.ndarray]    # op -> dur_tlm - dur_ref (cycles)
    start_err: float                   # mean |start_tlm - start_ref| / cycles_ref

    @property
    def objective(self) -> float:
        durs = [float(e.mean()) for e in self.dur_err.values() if e.size]
        return (1.0 - self.accuracy) + (float(np.mean(durs)) if durs else 0.0) + self.start_err


def pair_by_tile(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of two op arrays that share a tile, in tile order."""
    if a.shape == b.shape and np.array_equal(a["tile"], b["tile"]):
        return a, b
    _, ia, ib = np.intersect1d(a["tile"], b["tile"], assume_unique=True, return_indices=True)
    return a[ia], b[ib]


def case_error(tlm: RunTrace, ref: RunTrace) -> CaseError:
    """Compare a TLM run with the reference run of the same case."""
    acc = 1.0 - abs(tlm.cycles - ref.cycles) / max(ref.cycles, 1)
    dur_err: dict[str, np.ndarray] = {}
    residual: dict[str, np.ndarray] = {}
    starts: list[np.ndarray] = []
    for op, r in ref.ops.items():
        t = tlm.ops.get(op)
        if t is None or op not in KNOWN_OPS:  # refresh windows are the memory's, not an op's
            continue
        t, r = pair_by_tile(t, r)
        dt, dr = t["end"] - t["start"], r["end"] - r["start"]
        residual[op] = dt - dr
        dur_err[op] = np.abs(dt - dr) / np.maximum(dr, 1)
        starts.append(np.abs(t["start"] - r["start"]))
    s = np.concatenate(starts) if starts else np.zeros(0)
    start_err = float(s.mean()) / max(ref.cycles, 1) if s.size else 0.0
    return CaseError(acc, dur_err, residual, start_err)


# -- references ------------------------------------------------------------------------------

class Reference:
    """What the TLM is fitted to: `run(name, workload, program, arch) -> RunTrace`."""

    label = "reference"

    def run(self, name: str, workload: dict[str, Any], program: TileProgram, arch: Arch) -> RunTrace:
        raise NotImplementedError  # pragma: no cover - interface


class StandInReference(Reference):
    """The TLM model run with hidden `[timing]` values (testing the fitter only)."""

    label = "stand-in"

    def __init__(self, hidden: dict[str, int]) -> None:
        self.hidden = dict(hidden)

    def run(self, name: str, workload: dict[str, Any], program: TileProgram, arch: Arch) -> RunTrace:
        t0 = time.perf_counter()
        run = run_tlm(program, arch.with_timing(**self.hidden), functional=program.functional)
        run.source = self.label
        run.wall_s = time.perf_counter() - t0
        return run


def rtl_sources_digest(root: Path) -> str:
    """Digest of the Verilog the RTL runs are built from (a cache key part)."""
    h = hashlib.sha256()
    for folder in (root / "rtl", root / "testbenches" / "hdl"):
        for p in sorted(folder.rglob("*.v")) if folder.is_dir() else []:
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    for p in (root / "tlm" / "rtl" / "run.py", root / "tlm" / "rtl" / "image.py",
              root / "tlm" / "rtl" / "accel_bench.py"):
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


class RtlReference(Reference):
    """The RTL under cocotb + Icarus, cached per (workload, hardware, RTL sources).

    Args:
        cache_dir: Where traces and summaries are kept (created when missing).
        progress: Passed to `run_rtl` (a progress bar on stderr).
        on_run: Called with the case name before a run that is not cached.
    """

    label = "rtl"

    def __init__(self, cache_dir: Path, *, progress: bool = False,
                 on_run: Callable[[str, bool], None] | None = None, hardware: Any = None) -> None:
        from tlm.rtl.runner import REPO_ROOT

        self.hardware = hardware  # tlm.rtl.hardware.Hardware: the RTL with that DRAM; None: fixed memory
        self.cache_dir = cache_dir
        self.progress = progress
        self.on_run = on_run
        self.digest = rtl_sources_digest(REPO_ROOT)

    def key(self, workload: dict[str, Any], arch: Arch) -> str:
        key: dict[str, Any] = {"workload": workload, "hardware": arch.hardware_dict(), "rtl": self.digest}
        if self.hardware is not None:  # absent otherwise, so that fixed-memory keys stay the same
            key["dram"] = dataclasses.asdict(self.hardware.dram)
        blob = json.dumps(key, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def run(self, name: str, workload: dict[str, Any], program: TileProgram, arch: Arch) -> RunTrace:
        from tlm.rtl.run import run_rtl  # imported late: needs cocotb and Icarus

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        key = self.key(workload, arch)
        trace_path = self.cache_dir / f"{name}-{key}.jsonl"
        meta_path = self.cache_dir / f"{name}-{key}.json"
        cached = trace_path.is_file() and meta_path.is_file()
        if self.on_run is not None:
            self.on_run(name, cached)
        if not cached:
            tmp = self.cache_dir / f".{name}-{key}.{os.getpid()}.jsonl"
            try:
                result = run_rtl(program, arch, tmp, waves=False, progress=self.progress,
                                 hardware=self.hardware)
            except BaseException:
                tmp.unlink(missing_ok=True)  # a failed run's trace prefix is not a cache entry
                raise
            meta: dict[str, Any] = {"cycles": int(result.cycles), "functional": str(result.functional),
                    "sim_s": float(result.sim_s), "wall_s": float(result.wall_s)}
            os.replace(tmp, trace_path)
            meta_tmp = meta_path.with_suffix(f".{os.getpid()}.tmp")
            meta_tmp.write_text(json.dumps(meta))
            os.replace(meta_tmp, meta_path)
        meta = json.loads(meta_path.read_text())
        run = run_trace_from_file(read_trace(trace_path))
        run.source = self.label
        run.cycles = int(meta["cycles"])
        run.functional = str(meta["functional"])
        run.sim_s = float(meta["sim_s"])
        run.wall_s = float(meta["wall_s"])
        run.info["cached"] = cached
        run.info["trace"] = str(trace_path)
        return run
