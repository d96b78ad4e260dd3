"""Non-dominated (Pareto-optimal) rows under minimised objectives."""

from __future__ import annotations

from typing import Any

import numpy as np


def nondominated(values: np.ndarray) -> np.ndarray:
    """Mask of the rows of `values` (n x objectives, minimised) no other row dominates."""
    n = values.shape[0]
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        v = values[i]
        dominated = np.all(values <= v, axis=1) & np.any(values < v, axis=1)
        if dominated.any():
            keep[i] = False
    return keep


def pareto_ranks(values: np.ndarray) -> np.ndarray:
    """Front index of each row: 0 the non-dominated ones, 1 those after removing them, ..."""
    ranks = np.full(values.shape[0], -1, dtype=np.int64)
    left = np.arange(values.shape[0])
    r = 0
    while left.size:
        mask = nondominated(values[left])
        ranks[left[mask]] = r
        left = left[~mask]
        r += 1
    return ranks


def pareto_frame(df: Any, objectives: tuple[str, ...], feasible: Any) -> Any:
    """The Pareto-optimal ok, feasible rows of each workload (a DataFrame)."""
    import pandas as pd

    if not len(df) or "status" not in df.columns:
        return df.iloc[0:0]
    ok = df[(df["status"] == "ok") & feasible]
    parts = []
    for _, g in ok.groupby("workload", sort=False):
        vals = g[list(objectives)].to_numpy(dtype=float)
        parts.append(g[nondominated(vals)].sort_values(list(objectives)))
    return pd.concat(parts, ignore_index=True) if parts else ok.iloc[0:0]
