"""Batched matmul (attention's Q.K^T and P.V): B read from an activation tensor.

A `matmul` layer is lowered as a grouped 1x1 convolution of A (one group per
head: `tlm.workload.lowering` gathers A_h's channel slice), and then its B
side is replaced here: instead of weights, each B column of a tile is read
from the B tensor and the tile also waits for the producer m-groups of those
B bytes.

- `transpose_b` (B stored N x heads*K, as K is for Q.K^T): column j of head
  h is the contiguous row slice `B[j, h*K + k0 : h*K + k1]`, one segment.
- otherwise (B stored K x heads*N, as V is for P.V): column j's K bytes are
  strided by heads*N, one 1-byte segment each (the DMA cost of a transposed
  read without a transpose unit).
"""

from __future__ import annotations

import numpy as np

from tlm.arch import Arch
from tlm.workload.layout import LayerPlan
from tlm.workload.lowering import LayerEntries, _on_entries
from tlm.workload.segments import SegList, expand, ptr_from_counts, range_index, segment_beats, \
    seglist_from_groups, sum_per_owner, unique_sorted


def _tiles(plan: LayerPlan) -> tuple[np.ndarray, ...]:
    """Per tile (the lowering's order): entry, unit_b, head, first column in head, columns, chunk."""
    nc, ngc, per = plan.k_chunks, plan.n_groups, plan.entries_per_group
    g = np.arange(plan.tiles, dtype=np.int64)
    c, ng, mg = g % nc, (g // nc) % ngc, g // (nc * ngc)
    head, jn = divmod(ng, ngc // plan.spec.groups)
    return mg * per + ng * nc + c, ng * nc + c, head, jn, c


def patch_b(part: LayerEntries, plan: LayerPlan, arch: Arch, b_addr: int, b_prod: LayerPlan | None,
            b_base_c: int, transpose_b: bool, functional: bool) -> LayerEntries:
    """Replace a matmul layer's load_b (weights) by reads of the B tensor, adding its dependencies."""
    spec = plan.spec
    heads, kk, nn = spec.groups, spec.K, spec.group_out
    cols, kmax, rows, bus = arch.array.cols, arch.kmax, arch.tile_rows, arch.dma.bus_bytes
    nc = plan.k_chunks
    ng_per = plan.n_groups // heads
    # B units: (n-group, chunk) -> segments
    units = plan.n_groups * nc
    u = np.arange(units, dtype=np.int64)
    ng, c = u // nc, u % nc
    head, jn = ng // ng_per, ng % ng_per
    k0 = c * plan.chunk
    k1 = np.minimum(kk, k0 + plan.chunk)
    width = np.minimum(cols, nn - jn * cols)
    # one row per (unit, column)
    owner = np.repeat(u, width)
    jj = np.arange(int(width.sum()), dtype=np.int64) - np.repeat(ptr_from_counts(width)[:-1], width)
    j = np.repeat(jn * cols, width) + jj
    h, lo, hi = np.repeat(head, width), np.repeat(k0, width), np.repeat(k1, width)
    local0 = arch.spad_b_base + jj * kmax
    if transpose_b:
        mem = b_addr + j * (heads * kk) + h * kk + lo
        seg = seglist_from_groups(units, owner, mem, hi - lo, local0, np.zeros(owner.shape[0], dtype=bool))
        first_byte, last_byte = mem, mem + (hi - lo) - 1
    else:
        cnt = hi - lo
        o2 = np.repeat(owner, cnt)
        kidx = range_index(lo, cnt)
        mem = b_addr + kidx * (heads * nn) + np.repeat(h * nn + j, cnt)
        local = np.repeat(local0, cnt) + kidx - np.repeat(lo, cnt)
        seg = seglist_from_groups(units, o2, mem, np.ones(o2.shape[0], dtype=np.int64), local,
                                  np.zeros(o2.shape[0], dtype=bool))
        first_byte = b_addr + lo * (heads * nn) + h * nn + j
        last_byte = b_addr + (hi - 1) * (heads * nn) + h * nn + j
    bb = sum_per_owner(segment_beats(seg.mem_addr, seg.length, seg.zero, bus), seg.ptr)
    bm = sum_per_owner(seg.length, seg.ptr)
    t_entry, unit_b, _, _, _ = _tiles(plan)
    part.beats["load_b"][t_entry] = bb[unit_b]
    part.bytes["load_b"][t_entry] = bm[unit_b]
    if functional and part.segments is not None:
        part.segments["load_b"] = _on_entries(expand(seg, unit_b), t_entry, plan.entries)
    if b_prod is None:
        return part
    # dependencies: producer m-groups of the B bytes each unit reads
    g_lo = np.full(units, np.iinfo(np.int64).max, dtype=np.int64)
    g_hi = np.zeros(units, dtype=np.int64)
    np.minimum.at(g_lo, owner, (first_byte - b_addr) // b_base_c // rows)
    np.maximum.at(g_hi, owner, (last_byte - b_addr) // b_base_c // rows)
    per = b_prod.entries_per_group
    cnt = (g_hi - g_lo + 1)[unit_b]
    new_owner = np.repeat(t_entry, cnt)
    new_pred = b_prod.first_entry + per - 1 + range_index(g_lo[unit_b], cnt) * per
    old_owner = np.repeat(np.arange(plan.entries, dtype=np.int64), part.pred_counts)
    all_owner = np.concatenate([old_owner, new_owner])
    all_pred = np.concatenate([part.pred_idx, new_pred])
    key = unique_sorted(all_owner * (1 << 32) + all_pred)
    own = key >> 32
    part.pred_idx = key & ((1 << 32) - 1)
    part.pred_counts = np.bincount(own, minlength=plan.entries).astype(np.int64)
    return part


def reference_matmul(a: np.ndarray, b: np.ndarray, heads: int, transpose_b: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per head (A_h, B_h) with A_h M x K and B_h K x N, from the A and B tensors (pixels x channels)."""
    k = a.shape[1] // heads
    out = []
    for h in range(heads):
        a_h = a[:, h * k:(h + 1) * k]
        if transpose_b:
            b_h = b[:, h * k:(h + 1) * k].T
        else:
            n = b.shape[1] // heads
            b_h = b[:, h * n:(h + 1) * n]
        out.append((a_h, b_h))
    return out
