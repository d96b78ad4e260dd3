"""Per-layer features of (workload, arch) for the learned performance model.

Computed from the layer plan alone (`plan_layers`: tiling, no segment
lists), so a whole network's features cost well under a millisecond per
layer. Besides the raw shape and arch parameters, a few analytic estimates
(DMA-bound and engine-bound cycles of the layer) let the model learn a
correction ratio rather than cycles from scratch, which carries over to arch
points and layers it never saw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tlm.arch import Arch

FEATURES = (
    "engines", "rows", "cols", "kmax", "bus_bytes", "max_burst_beats", "latency", "table_depth",
    "M", "N", "K", "is_conv", "kernel", "stride", "dilation", "deformable", "in_channels",
    "m_groups", "n_groups", "k_chunks", "chunk", "tiles", "join", "last", "position",
    "m_fill", "n_fill", "a_beats", "b_beats", "c_beats", "dma_tile", "compute_tile", "tile_time",
    "dma_bound", "engine_bound", "estimate", "log_estimate", "dma_share",
)


def _beats(nbytes: float, bus: int, stride: int) -> float:
    """Expected bus beats of a segment of `nbytes` starting at a multiple of `stride`."""
    g = math.gcd(max(1, int(stride)), bus)
    return max(1.0, (nbytes + bus - g) / bus)


def layer_features(workload: Mapping[str, Any], arch: Arch, file: str = "<workload>") -> list[dict[str, float]]:
    """One dict of `FEATURES` per layer of a layers-form workload.

    Raises:
        InputError: an invalid workload, or a tiles-form one (no layers to predict).
    """
    from tlm.errors import InputError
    from tlm.workload.layout import plan_layers
    from tlm.workload.spec import parse_workload

    spec = parse_workload(dict(workload), file, arch)
    if spec.layers is None:
        raise InputError(file, "workload", "the performance model needs a layers-form workload")
    plans = plan_layers(spec.layers, arch).plans
    a, t = arch.array, arch.timing
    bus, burst, lat = arch.dma.bus_bytes, arch.dma.max_burst_beats, arch.memory.latency_cycles
    read_ovh = t.dma_grant_cycles + t.dma_setup_cycles + lat + t.dma_read_done_cycles
    write_ovh = t.dma_grant_cycles + t.dma_setup_cycles + t.dma_write_done_cycles
    out: list[dict[str, float]] = []
    for p in plans:
        s = p.spec
        m_fill = s.M / (p.m_groups * a.rows)
        n_fill = s.N / (p.n_groups * a.cols)
        rows_used = s.M / p.m_groups    # mean tile rows / cols
        cols_used = s.N / p.n_groups
        if s.is_conv:
            # an A row gathers one segment per tap, or per kernel row when dilation 1
            # makes a row's taps adjacent pixels (not with groups: a tap reads a channel
            # slice); a K-chunk takes its share of them
            seg = s.kernel * s.in_channels if s.dilation == 1 and s.groups == 1 else s.group_in
            nseg = s.K / seg
            a_row = max(1.0, nseg * p.chunk / s.K) * _beats(min(seg, p.chunk), bus, s.in_channels)
        else:
            a_row = _beats(p.chunk, bus, s.K)
        elem = 4 if (p.last or p.k_chunks > 1) else 1
        a_beats = rows_used * a_row
        b_beats = cols_used * _beats(p.chunk, bus, s.K)
        c_beats = rows_used * _beats(cols_used * elem, bus, s.N * elem)
        lc_share = (p.k_chunks - 1) / p.k_chunks
        dma_tile = (2 * read_ovh + a_beats + b_beats + write_ovh + c_beats
                    + lc_share * (read_ovh + rows_used * _beats(cols_used * 4, bus, s.N * 4)))
        compute_tile = a.rows + a.cols + p.chunk - 2 + a.rows + t.drain_extra_cycles
        tile_time = (dma_tile + compute_tile + t.engine_start_cycles + 4 * t.engine_phase_cycles
                     + t.engine_done_cycles)
        dma_bound = p.tiles * dma_tile
        engine_bound = p.tiles * tile_time / min(a.engines, p.tiles)
        estimate = max(dma_bound, engine_bound)
        out.append({
            "engines": a.engines, "rows": a.rows, "cols": a.cols, "kmax": arch.kmax,
            "bus_bytes": bus, "max_burst_beats": burst, "latency": lat,
            "table_depth": arch.scheduler.table_depth,
            "M": s.M, "N": s.N, "K": s.K, "is_conv": float(s.is_conv), "kernel": s.kernel,
            "stride": s.stride, "dilation": s.dilation, "deformable": float(s.max_offset is not None),
            "in_channels": s.in_channels, "m_groups": p.m_groups, "n_groups": p.n_groups,
            "k_chunks": p.k_chunks, "chunk": p.chunk, "tiles": p.tiles, "join": float(p.join),
            "last": float(p.last), "position": p.index, "m_fill": m_fill, "n_fill": n_fill,
            "a_beats": a_beats, "b_beats": b_beats, "c_beats": c_beats, "dma_tile": dma_tile,
            "compute_tile": compute_tile, "tile_time": tile_time, "dma_bound": dma_bound,
            "engine_bound": engine_bound, "estimate": estimate, "log_estimate": math.log(estimate),
            "dma_share": dma_bound / estimate,
        })
    return [{k: float(v) for k, v in row.items()} for row in out]
