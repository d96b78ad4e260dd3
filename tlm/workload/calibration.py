"""The workloads `tlmsim calibrate` fits on, and the ones it validates on.

Two disjoint sets of *cases*. A case is a plain dict::

    {"name": "cal_dma_chain", "workload": {...tlm-workload/1...}, "arch": {...overlay...}}

`arch` is an arch-config overlay (same nesting as the TOML; may be empty)
applied over the arch being calibrated, so that one case can stress, say, a
4-entry dependency table while every case still fits the same `[timing]`.

The calibration set isolates one timing relation per case where it can:

- DMA sizes: a chain of single tiles (one op in flight at a time) with varied
  m, n, k, including lengths that are not multiples of the bus width;
- tile shapes: every m x n on the array, one at a time;
- contention: many independent tiles, all engines competing for the DMA;
- scheduler pressure: wide fan-out / fan-in, a long chain of tiny tiles, and
  an irregular DAG through a small dependency table;
- small layer stacks, one with a scratchpad small enough to split K (load_c).

The validation set is never fitted on: the small built-ins plus seeded
random irregular DAGs of other sizes and shapes.

Every case is small (tens of tiles, a few thousand cycles) so that an RTL
run of it takes seconds.

The cases fit every arch the parser accepts: tile shapes are clipped to the
array (rows or cols may be 1) and reduction lengths to the scratchpad lane
(`kmax`); on arrays larger than 8x8 `shape_chain` samples the tile sides
(1, 2, 3, half, all but one, all) instead of listing every m x n. On the
default 4x4 array with its 8184-byte lanes nothing is clipped or sampled,
so the cases (and the RTL results cached for them) stay the same.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.workload.builtins import builtin, random_dag

FORMAT = "tlm-workload/1"
KMAX = Arch().kmax  # the default arch's lane: 8184 bytes
Case = dict[str, Any]


def _tiles(name: str, seed: int, tiles: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "name": name, "seed": seed, "tiles": tiles}


def _chain(shapes: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    """One tile after the other: each waits for the previous, so only one op is in flight."""
    return [{"id": i, "m": m, "n": n, "k": k, "deps": [i - 1] if i else []}
            for i, (m, n, k) in enumerate(shapes)]


def _sides(size: int) -> list[int]:
    """Tile sides to try on an array side of `size`: all of them up to 8, else a sample."""
    if size <= 8:
        return list(range(1, size + 1))
    return sorted({1, 2, 3, size // 2, size - 1, size})


def dma_chain(rows: int, cols: int, kmax: int = KMAX) -> dict[str, Any]:
    """Single tiles in sequence with k from 1 to 200, aligned and unaligned."""
    ks = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 100, 127, 129, 200]
    shapes = [(1 + i % rows, 1 + (3 * i) % cols, min(k, kmax)) for i, k in enumerate(ks)]
    return _tiles("cal_dma_chain", 21, _chain(shapes))


def shape_chain(rows: int, cols: int, kmax: int = KMAX) -> dict[str, Any]:
    """Every tile shape m x n on the array (a sample on large arrays), one at a time, two k."""
    shapes = [(m, n, min(k, kmax)) for k in (5, 24) for m in _sides(rows) for n in _sides(cols)]
    return _tiles("cal_shapes", 22, _chain(shapes))


def contention(rows: int, cols: int, count: int = 32, kmax: int = KMAX) -> dict[str, Any]:
    """Independent tiles of mixed sizes: every engine busy, the DMA contended."""
    rng = np.random.default_rng(23)
    tiles = [{"id": i, "m": int(rng.integers(1, rows + 1)), "n": int(rng.integers(1, cols + 1)),
              "k": min(int(rng.integers(1, 160)), kmax), "deps": []} for i in range(count)]
    return _tiles("cal_contention", 23, tiles)


def fan_out_in(rows: int, cols: int, width: int = 14, kmax: int = KMAX) -> dict[str, Any]:
    """root -> width tiles -> one sink waiting for all of them, twice in a row."""
    tiles: list[dict[str, Any]] = []
    prev: list[int] = []
    nid = 0
    for stage in range(2):
        root = nid
        tiles.append({"id": root, "m": rows, "n": cols, "k": min(8, kmax), "deps": prev})
        nid += 1
        mids = list(range(nid, nid + width))
        for j, t in enumerate(mids):
            tiles.append({"id": t, "m": 1 + j % rows, "n": cols, "k": min(4 + 3 * j + stage, kmax),
                          "deps": [root]})
        nid += width
        tiles.append({"id": nid, "m": rows, "n": min(1 + stage, cols), "k": min(12, kmax), "deps": mids})
        prev = [nid]
        nid += 1
    return _tiles("cal_fan_out_in", 24, tiles)


def long_chain(rows: int, cols: int, count: int = 40, kmax: int = KMAX) -> dict[str, Any]:
    """Tiny tiles in a long chain with some skip edges: scheduler costs dominate."""
    tiles = [{"id": i, "m": min(1 + i % 2, rows), "n": 1, "k": min(1 + i % 3, kmax),
              "deps": sorted({i - 1} | ({i - 3} if i >= 3 and i % 4 == 0 else set())) if i else []}
             for i in range(count)]
    return _tiles("cal_long_chain", 25, tiles)


def layer_stack() -> dict[str, Any]:
    """Two gemms and a small conv: joins, gathers and int8 stores between layers."""
    return {"format": FORMAT, "name": "cal_layers", "seed": 26, "layers": [
        {"name": "fc1", "op": "gemm", "M": 16, "N": 12, "K": 30},
        {"name": "fc2", "op": "gemm", "M": 16, "N": 8, "K": 12, "shift": 5},
        {"name": "conv", "op": "conv2d", "in_channels": 8, "out_channels": 4, "height": 4,
         "width": 4, "kernel": 3, "stride": 1, "padding": 1, "dilation": 1},
    ]}


def split_k_stack() -> dict[str, Any]:
    """A gemm whose K exceeds the (small) scratchpad lane: partial sums via load_c."""
    return {"format": FORMAT, "name": "cal_split_k", "seed": 27, "layers": [
        {"name": "fc1", "op": "gemm", "M": 8, "N": 8, "K": 100},
        {"name": "fc2", "op": "gemm", "M": 8, "N": 4, "K": 8},
    ]}


def _renamed(workload: dict[str, Any], name: str) -> dict[str, Any]:
    w = copy.deepcopy(workload)
    w["name"] = name
    return w


def calibration_set(rows: int = 4, cols: int = 4, kmax: int = KMAX) -> list[Case]:
    """The cases `tlmsim calibrate` fits the `[timing]` parameters on.

    Args:
        rows, cols: the array calibrated (`[array] rows`, `cols`).
        kmax: its scratchpad lane (`Arch.kmax`): no tile gets a longer k.
    """
    # A scratchpad of 4RC + (R+C)*32 bytes gives 32-byte lanes: K=100 splits in 4 chunks.
    small_spad = 4 * rows * cols + (rows + cols) * 32
    return [
        {"name": "cal_dma_chain", "workload": dma_chain(rows, cols, kmax), "arch": {}},
        {"name": "cal_shapes", "workload": shape_chain(rows, cols, kmax), "arch": {}},
        {"name": "cal_contention", "workload": contention(rows, cols, kmax=kmax), "arch": {}},
        {"name": "cal_fan_out_in", "workload": fan_out_in(rows, cols, kmax=kmax), "arch": {}},
        {"name": "cal_long_chain", "workload": long_chain(rows, cols, kmax=kmax), "arch": {}},
        {"name": "cal_small_table",
         "workload": _renamed(random_dag(seed=31, count=36, rows=rows, cols=cols, kmax=min(96, kmax)),
                              "cal_small_table"),
         "arch": {"scheduler": {"table_depth": 4}}},
        {"name": "cal_layers", "workload": layer_stack(), "arch": {}},
        {"name": "cal_split_k", "workload": split_k_stack(),
         "arch": {"scratchpad": {"bytes": small_spad}}},
    ]


def validation_set(rows: int = 4, cols: int = 4, kmax: int = KMAX) -> list[Case]:
    """Held-out cases: never fitted on; the accuracy `calibrate` reports and checks.

    Args:
        rows, cols, kmax: as for `calibration_set`.
    """
    cases: list[Case] = []
    for name in ("gemm_small", "dilated_vgg_small", "deformable_small"):
        w = builtin(name)
        assert w is not None
        cases.append({"name": name, "workload": w, "arch": {}})
    # The built-in random_dag draws tile shapes for a 4x4 array; this is the same DAG
    # with shapes drawn for the array being calibrated (identical on 4x4).
    cases.append({"name": "random_dag", "workload": random_dag(rows=rows, cols=cols, kmax=min(256, kmax)),
                  "arch": {}})
    for seed, count, k in ((41, 48, 200), (42, 80, 64), (43, 30, 400)):
        name = f"val_random_dag_{seed}"
        w = _renamed(random_dag(seed=seed, count=count, rows=rows, cols=cols, kmax=min(k, kmax)), name)
        cases.append({"name": name, "workload": w, "arch": {}})
    return cases
