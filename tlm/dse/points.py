"""Design points: the grid, a seeded random sample of it, and their keys."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.dse.spec import SweepSpec
from tlm.errors import InputError

Point = dict[str, Any]


def grid(spec: SweepSpec) -> list[Point]:
    """Every combination of the axes' values, the first axis varying slowest."""
    keys = list(spec.axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*spec.axes.values())]


def random_points(spec: SweepSpec) -> list[Point]:
    """`samples` distinct grid points drawn with `seed` (the whole grid when smaller)."""
    size = spec.grid_size
    if spec.samples >= size:
        return grid(spec)
    rng = np.random.default_rng(spec.seed)
    chosen = sorted(int(i) for i in rng.choice(size, size=spec.samples, replace=False))
    keys, dims = list(spec.axes), [len(v) for v in spec.axes.values()]
    out = []
    for flat in chosen:
        idx = np.unravel_index(flat, dims)
        out.append({k: spec.axes[k][int(i)] for k, i in zip(keys, idx)})
    return out


def check_size(spec: SweepSpec, max_points: int) -> None:
    """Refuse a sweep with more points than `max_points` (the `--max-points` flag)."""
    n = spec.grid_size if spec.strategy == "grid" else min(spec.samples, spec.grid_size)
    if n > max_points:
        raise InputError(spec.file, "axes", f"the sweep has {n} points, more than the limit "
                         f"{max_points}; raise it with --max-points or sample (strategy = \"random\")")


def run_key(arch: Arch, workload_digest: str, version: str, functional: bool) -> str:
    """The key of one (point, workload) result: same arch, workload, model -> same key."""
    text = json.dumps({"arch": arch.to_dict(), "workload": workload_digest, "model": version,
                       "functional": functional}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
