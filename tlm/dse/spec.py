"""The sweep spec (TOML): parsing and validation.

Every bad key or value is an `InputError` naming it (the CLI's exit 2 and one
line). Each axis value is checked alone over the base arch, so a value the
arch rejects is reported before anything runs; a *combination* of valid
values the arch rejects (e.g. a scratchpad too small for the biggest array)
becomes a failed point recorded with its error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlm.arch import KEY_HELP, Arch
from tlm.errors import InputError
from tlm.limits import MIB, read_toml

STRATEGIES = ("grid", "random", "optuna")
OBJECTIVES = ("cycles", "area", "energy", "dram_bytes")
METRICS = OBJECTIVES + ("mac_utilisation", "macs")
TOP_KEYS = ("workloads", "strategy", "samples", "seed", "objectives", "constraints", "functional",
            "calibrated", "batch", "base", "axes")
DEFAULT_MAX_POINTS = 10_000
#: Largest sweep spec file.
MAX_SPEC_BYTES = 1 * MIB
_CONSTRAINT = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    value: float
    text: str

    def holds(self, row: dict[str, Any]) -> bool:
        v = row.get(self.metric)
        if v is None:
            return False
        x = float(v)
        return {"<=": x <= self.value, "<": x < self.value, ">=": x >= self.value,
                ">": x > self.value}[self.op]


@dataclass(frozen=True)
class SweepSpec:
    file: str
    workloads: tuple[str, ...]      # as written in the spec (the `workload` column)
    sources: tuple[str, ...]        # the same, paths made relative to the spec's folder
    strategy: str
    samples: int
    seed: int
    objectives: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    functional: bool
    calibrated: bool
    batch: int | None
    base: Arch
    axes: dict[str, tuple[Any, ...]]

    @property
    def grid_size(self) -> int:
        n = 1
        for values in self.axes.values():
            n *= len(values)
        return n

    def feasible(self, row: dict[str, Any]) -> bool:
        return all(c.holds(row) for c in self.constraints)


def _want(file: str, where: str, v: Any, kind: type, what: str) -> Any:
    ok = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
    if not ok:
        raise InputError(file, where, f"must be {what}, got {v!r}")
    return v


def point_arch(base: Arch, point: dict[str, Any], file: str = "<point>") -> Arch:
    """`base` with the point's dotted keys set (validated like an arch file)."""
    from tlm.arch import arch_from_dict

    nested: dict[str, dict[str, Any]] = {}
    for key, v in point.items():
        sec, k = key.split(".", 1)
        nested.setdefault(sec, {})[k] = v
    return arch_from_dict(nested, file, base)


def _base(file: str, raw: Any, folder: Path, calibrated: bool) -> Arch:
    from tlm.api import resolve_arch

    if raw is None:
        return resolve_arch(None, calibrated=calibrated)
    if isinstance(raw, str):
        p = Path(raw)
        return resolve_arch(p if p.is_absolute() else folder / p, calibrated=calibrated)
    if isinstance(raw, dict):
        try:
            return resolve_arch(raw, calibrated=calibrated)
        except InputError as e:
            raise InputError(file, f"[base] {e.where}", e.what) from None
    raise InputError(file, "base", f"must be a table of arch sections or a path, got {raw!r}")


def parse_spec(data: dict[str, Any], file: str, folder: Path = Path(".")) -> SweepSpec:
    """Validate a loaded spec; relative paths are relative to `folder`."""
    for key in data:
        if key not in TOP_KEYS:
            raise InputError(file, key, f"unknown key (known: {', '.join(TOP_KEYS)})")
    if "workloads" not in data:
        raise InputError(file, "workloads", "missing (a list of workload sources)")
    wl = _want(file, "workloads", data["workloads"], list, "a non-empty list of strings")
    if not wl:
        raise InputError(file, "workloads", "must not be empty")
    for i, w in enumerate(wl):
        _want(file, f"workloads[{i}]", w, str, "a string (a path or builtin:NAME)")
    if len(set(wl)) != len(wl):
        raise InputError(file, "workloads", "lists a workload twice")
    sources = tuple(w if w.startswith("builtin:") or Path(w).is_absolute() else str(folder / w)
                    for w in wl)
    strategy = _want(file, "strategy", data.get("strategy", "grid"), str, "a string")
    if strategy not in STRATEGIES:
        raise InputError(file, "strategy", f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    samples = _want(file, "samples", data.get("samples", 20), int, "a positive integer")
    if not 1 <= samples <= 1_000_000:
        raise InputError(file, "samples", f"must be in 1..1000000, got {samples}")
    seed = _want(file, "seed", data.get("seed", 1), int, "an integer")
    objectives = _want(file, "objectives", data.get("objectives", ["cycles", "area"]), list,
                       "a non-empty list")
    if not objectives:
        raise InputError(file, "objectives", "must not be empty")
    for i, o in enumerate(objectives):
        if o not in OBJECTIVES:
            raise InputError(file, f"objectives[{i}]", f"unknown objective {o!r} (known: {', '.join(OBJECTIVES)})")
    if len(set(objectives)) != len(objectives):
        raise InputError(file, "objectives", "lists an objective twice")
    constraints = []
    for i, c in enumerate(_want(file, "constraints", data.get("constraints", []), list, "a list of strings")):
        m = _CONSTRAINT.match(c) if isinstance(c, str) else None
        if m is None:
            raise InputError(file, f"constraints[{i}]", f"must read 'METRIC <= NUMBER' (or <, >=, >), got {c!r}")
        if m.group(1) not in METRICS:
            raise InputError(file, f"constraints[{i}]", f"unknown metric {m.group(1)!r} (known: {', '.join(METRICS)})")
        try:
            value = float(m.group(3))
        except ValueError:
            raise InputError(file, f"constraints[{i}]", f"bad number {m.group(3)!r}") from None
        constraints.append(Constraint(m.group(1), m.group(2), value, c.strip()))
    functional = _want(file, "functional", data.get("functional", False), bool, "true or false")
    calibrated = _want(file, "calibrated", data.get("calibrated", True), bool, "true or false")
    batch = data.get("batch")
    if batch is not None and (_want(file, "batch", batch, int, "a positive integer") < 1 or batch > 10_000):
        raise InputError(file, "batch", f"must be in 1..10000, got {batch}")
    base = _base(file, data.get("base"), folder, calibrated)
    raw_axes = _want(file, "axes", data.get("axes", {}), dict, "a table of dotted arch keys")
    axes: dict[str, tuple[Any, ...]] = {}
    for key, values in raw_axes.items():
        where = f'[axes] "{key}"'
        if isinstance(values, dict):
            raise InputError(file, where, 'must be a dotted arch key in quotes ("array.rows"), '
                             "with a list of values")
        if key not in KEY_HELP:
            raise InputError(file, where, "unknown arch key (tlmsim sim --help-arch lists them)")
        _want(file, where, values, list, "a non-empty list of values")
        if not values:
            raise InputError(file, where, "must not be empty")
        if len({repr(v) for v in values}) != len(values):
            raise InputError(file, where, "lists a value twice")
        for i, v in enumerate(values):
            try:
                point_arch(base, {key: v}, file)
            except InputError as e:
                raise InputError(file, f"{where}[{i}]", e.what) from None
        axes[key] = tuple(values)
    if strategy != "grid" and not axes:
        raise InputError(file, "axes", f"strategy {strategy!r} needs at least one axis")
    return SweepSpec(file=file, workloads=tuple(wl), sources=sources, strategy=strategy, samples=samples, seed=seed,
                     objectives=tuple(objectives), constraints=tuple(constraints),
                     functional=functional, calibrated=calibrated, batch=batch, base=base, axes=axes)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file."""
    p = Path(path)
    return parse_spec(read_toml(str(p), MAX_SPEC_BYTES), str(p), p.parent)
