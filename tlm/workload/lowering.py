"""Lowering one layer of the layers form to tile-program entries.

Everything is computed per layer with numpy over all tiles at once (the
tiling and memory layout are in `tlm.workload.layout`):

- A rows. Conv2d is lowered to GEMM with K ordered (ky, kx, c): output pixel
  r's A row is, tap after tap, the `in_channels` bytes of the input pixel the
  tap lands on (`iy = oy*stride - padding + ky*dilation + dy`, likewise x,
  with (dy, dx) the m-group's deformable offset), or zeros for a tap outside
  the input. A K-chunk may cut a tap, so a chunk is a list of *pieces*
  (tap, channel offset, lane offset, length). Load_a segments depend only on
  (m-group, K-chunk) -- a *unit* -- and are shared by every n-group; adjacent
  pieces of one lane merge when they are contiguous in memory (or both zero).
  A gemm layer's A row r is bytes [r*K, (r+1)*K) of its source (the network
  input, or the previous output read row-major: a flatten when the shapes
  differ).
- Groups. A grouped conv is one GEMM per group: an A unit is (m-group,
  group, K-chunk), its pieces gather the group's channel slice of each tap,
  and n-groups never straddle two groups (layout), so B and C need nothing
  else than the group's first output channel.
- Dependencies. A tile depends on the previous K-chunk of its (m-group,
  n-group) and on the previous layer's m-groups (their join, or their single
  final tile) that produced any input byte of its own chunk's pieces;
  padding taps need nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tlm.arch import Arch
from tlm.workload.budget import PER_EDGE, Budget
from tlm.workload.data import deformable_offsets
from tlm.workload.layout import LayerPlan
from tlm.workload.program import OPS, EntryKind, StoreMode
from tlm.workload.segments import (
    SegList,
    expand,
    merge_adjacent,
    ptr_from_counts,
    range_index,
    row_segments,
    segment_beats,
    seglist_from_groups,
    sum_per_owner,
    unique_sorted,
)


@dataclass
class LayerEntries:
    """One layer's entries (arrays over the layer's entries, in program order)."""

    kind: np.ndarray
    tile_id: np.ndarray
    m: np.ndarray
    n: np.ndarray
    k: np.ndarray
    load_c: np.ndarray
    store_mode: np.ndarray
    pred_counts: np.ndarray   # int64 per entry
    pred_idx: np.ndarray      # int64 global entry indices, CSR order
    beats: dict[str, np.ndarray]
    bytes: dict[str, np.ndarray]
    segments: dict[str, SegList] | None  # over the layer's entries


@dataclass
class _Items:
    """A-row pieces of every unit, in unit / row / piece order (before merging)."""

    unit: np.ndarray
    row: np.ndarray
    mem: np.ndarray
    length: np.ndarray
    local: np.ndarray
    zero: np.ndarray
    src_lo: np.ndarray  # first and last source pixel read (for dependencies)
    src_hi: np.ndarray


def _chunk_bounds(plan: LayerPlan, c: int) -> tuple[int, int]:
    k0 = c * plan.chunk
    return k0, min(plan.spec.K, k0 + plan.chunk)


def _conv_pieces(plan: LayerPlan, c: int) -> tuple[np.ndarray, ...]:
    """(tap, channel offset, lane offset, length) of chunk c's pieces."""
    cin = plan.spec.group_in
    k0, k1 = _chunk_bounds(plan, c)
    taps = np.arange(k0 // cin, (k1 - 1) // cin + 1, dtype=np.int64)
    lo = np.maximum(k0, taps * cin)
    hi = np.minimum(k1, (taps + 1) * cin)
    return taps, lo - taps * cin, lo - k0, hi - lo


def _a_items(plan: LayerPlan, prev: LayerPlan | None, arch: Arch, seed: int) -> _Items:
    spec = plan.spec
    rows, kmax = arch.tile_rows, arch.kmax
    r = np.arange(spec.M, dtype=np.int64)
    mg, i = r // rows, r % rows
    offsets = None
    if spec.is_conv and spec.max_offset is not None:
        offsets = deformable_offsets(seed, plan.index, plan.m_groups, spec.max_offset)
    if spec.is_conv and spec.groups > 1 and plan.k_chunks == 1:
        return _grouped_a_items(plan, arch, offsets)
    parts: list[tuple[np.ndarray, ...]] = []
    for gc in range(plan.k_chunks * spec.groups):
        grp, c = divmod(gc, plan.k_chunks)
        if spec.is_conv:
            taps, ch_off, lane, length = _conv_pieces(plan, c)
            ch_off = ch_off + grp * spec.group_in
            valid, q = _tap_pixels(plan, r, mg, taps, offsets)
            mem = np.where(valid, plan.in_addr + q * spec.in_channels + ch_off[None, :], 0)
            shape = q.shape
            src_lo = src_hi = q
            length2 = np.broadcast_to(length[None, :], shape)
            local = (i * kmax)[:, None] + lane[None, :]
        else:
            k0, k1 = _chunk_bounds(plan, c)
            shape = (spec.M, 1)
            mem = (plan.in_addr + r * spec.K + k0)[:, None]
            valid = np.ones(shape, dtype=bool)
            length2 = np.full(shape, k1 - k0, dtype=np.int64)
            local = (i * kmax)[:, None]
            if prev is not None:
                # the source is the previous output read as a flat byte string
                src_lo = ((r * spec.K + k0) // prev.spec.N)[:, None]
                src_hi = ((r * spec.K + k1 - 1) // prev.spec.N)[:, None]
            else:
                src_lo = src_hi = np.full(shape, -1, dtype=np.int64)
        unit = np.broadcast_to(((mg * spec.groups + grp) * plan.k_chunks + c)[:, None], shape)
        row = np.broadcast_to(i[:, None], shape)
        parts.append(tuple(np.ascontiguousarray(a).ravel() for a in
                           (unit, row, mem, length2, local, ~valid, src_lo, src_hi)))
    cols = [np.concatenate([p[j] for p in parts]) for j in range(8)]
    if plan.k_chunks * spec.groups > 1:
        order = np.argsort(cols[0], kind="stable")
        cols = [a[order] for a in cols]
    return _Items(*cols)


def _tap_pixels(plan: LayerPlan, pix: np.ndarray, mg: np.ndarray, taps: np.ndarray,
                offsets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel and tap: whether it falls inside the input, and the input pixel (-1: padding)."""
    spec = plan.spec
    by = pix // spec.out_w * spec.stride - spec.padding
    bx = pix % spec.out_w * spec.stride - spec.padding
    if offsets is not None:
        by = by + offsets[mg, 0]
        bx = bx + offsets[mg, 1]
    iy = by[:, None] + (taps // spec.kernel * spec.dilation)[None, :]
    ix = bx[:, None] + (taps % spec.kernel * spec.dilation)[None, :]
    valid = (iy >= 0) & (iy < spec.height) & (ix >= 0) & (ix < spec.width)
    return valid, np.where(valid, iy * spec.width + ix, -1)


def _grouped_a_items(plan: LayerPlan, arch: Arch, offsets: np.ndarray | None) -> _Items:
    """`_a_items` of a grouped convolution without a K split, built for all groups at once.

    Every group gathers the same taps of the same pixels, only from its own
    channels, so the pieces are computed once per pixel and broadcast over the
    groups, directly in unit (m-group, group) / row / piece order; a
    depthwise layer would otherwise take one pass per channel.
    """
    spec = plan.spec
    rows, kmax = arch.tile_rows, arch.kmax
    mgs, groups = plan.m_groups, spec.groups
    r = np.arange(mgs * rows, dtype=np.int64)  # rows of the last m-group padded (dropped below)
    mg, i = r // rows, r % rows
    pix = np.minimum(r, spec.M - 1)
    taps, ch_off, lane, length = _conv_pieces(plan, 0)
    valid, q = _tap_pixels(plan, pix, mg, taps, offsets)
    mem = np.where(valid, plan.in_addr + q * spec.in_channels + ch_off[None, :], 0)
    shape = (mgs, groups, rows, taps.shape[0])
    g = np.arange(groups, dtype=np.int64).reshape(1, groups, 1, 1)

    def per_group(a: np.ndarray) -> np.ndarray:  # [pixel, piece] -> [m-group, group, row, piece]
        return np.broadcast_to(a.reshape(mgs, 1, rows, -1), shape)

    keep = np.broadcast_to((r < spec.M).reshape(mgs, 1, rows, 1), shape)
    cols = (np.broadcast_to(np.arange(mgs, dtype=np.int64).reshape(mgs, 1, 1, 1) * groups + g, shape),
            per_group(i[:, None]), per_group(mem) + per_group(valid) * g * spec.group_in,
            np.broadcast_to(length, shape), per_group((i * kmax)[:, None] + lane[None, :]),
            per_group(~valid), per_group(q), per_group(q))
    return _Items(*(np.ascontiguousarray(a[keep]) for a in cols))


def _unit_producers(plan: LayerPlan, prev: LayerPlan, items: _Items, rows: int,
                    budget: Budget | None = None) -> tuple[np.ndarray, np.ndarray]:
    """CSR (ptr over units, global entry index of producer representatives)."""
    units = plan.m_groups * plan.spec.groups * plan.k_chunks
    use = ~items.zero & (items.src_lo >= 0)
    lo = items.src_lo[use] // rows
    cnt = items.src_hi[use] // rows - lo + 1
    if budget is not None:
        # a piece can span many producer m-groups (a flatten of a narrow output)
        budget.check(f"layers[{plan.index}]", f"the dependencies of layer {plan.spec.name!r}",
                     int(cnt.sum()) * 32)
    pmg = range_index(lo, cnt)
    unit = np.repeat(items.unit[use], cnt)
    key = unique_sorted(unit * prev.m_groups + pmg)
    unit, pmg = key // prev.m_groups, key % prev.m_groups
    per = prev.entries_per_group
    producers = prev.first_entry + pmg * per + per - 1
    return ptr_from_counts(np.bincount(unit, minlength=units)), producers


def _b_units(plan: LayerPlan, arch: Arch) -> SegList:
    """load_b segments per (n-group, K-chunk) unit: one per column."""
    spec, cols, kmax = plan.spec, arch.array.cols, arch.kmax
    col = np.arange(spec.N, dtype=np.int64)
    grp, jj = col // spec.group_out, col % spec.group_out
    ng, j = grp * -(-spec.group_out // cols) + jj // cols, jj % cols
    parts = []
    for c in range(plan.k_chunks):
        k0, k1 = _chunk_bounds(plan, c)
        parts.append((ng * plan.k_chunks + c, plan.w_addr + col * spec.K + k0,
                      np.full(spec.N, k1 - k0, dtype=np.int64), arch.spad_b_base + j * kmax))
    unit, mem, length, local = (np.concatenate([p[x] for p in parts]) for x in range(4))
    order = np.argsort(unit, kind="stable")
    return seglist_from_groups(plan.n_groups * plan.k_chunks, unit[order], mem[order], length[order],
                               local[order], np.zeros(unit.shape[0], dtype=bool))


def _totals(seg: SegList, bus: int) -> tuple[np.ndarray, np.ndarray]:
    beats = sum_per_owner(segment_beats(seg.mem_addr, seg.length, seg.zero, bus), seg.ptr)
    moved = sum_per_owner(np.where(seg.zero, 0, seg.length), seg.ptr)
    return beats, moved


def lower_layer(plan: LayerPlan, prev: LayerPlan | None, arch: Arch, seed: int,
                functional: bool, budget: Budget | None = None) -> LayerEntries:
    """All entries of one layer: shapes, dependencies, beats/bytes and (optionally) segments.

    `budget`, when given, is charged the layer's dependency edges before they
    are allocated (raising InputError past the memory limit).
    """
    spec = plan.spec
    rows, cols, bus = arch.tile_rows, arch.array.cols, arch.dma.bus_bytes
    nc, ng_count, per = plan.k_chunks, plan.n_groups, plan.entries_per_group
    E, T = plan.entries, plan.tiles

    g = np.arange(T, dtype=np.int64)
    c, ng, mg = g % nc, (g // nc) % ng_count, g // (nc * ng_count)
    t_entry = mg * per + ng * nc + c          # layer-local entry index of each tile
    grp, jn = divmod(ng, ng_count // spec.groups)  # the conv group, the n-group inside it
    n0 = grp * spec.group_out + jn * cols      # first output channel of the tile
    t_m = np.minimum(rows, spec.M - mg * rows)
    t_n = np.minimum(cols, spec.group_out - jn * cols)
    t_k = np.minimum(plan.chunk, spec.K - c * plan.chunk)
    final = c == nc - 1
    unit_a, unit_b = (mg * spec.groups + grp) * nc + c, ng * nc + c

    # -- load_a: per (m-group, K-chunk) unit, merged per lane
    items = _a_items(plan, prev, arch, seed)
    if prev is not None:
        uptr, producers = _unit_producers(plan, prev, items, rows, budget)
    else:
        uptr = np.zeros(plan.m_groups * spec.groups * nc + 1, dtype=np.int64)
        producers = np.zeros(0, dtype=np.int64)
    group = items.unit * rows + items.row
    mgroup, mmem, mlen, mlocal, mzero = merge_adjacent(group, items.mem, items.length, items.local, items.zero)
    del items
    a_units = seglist_from_groups(plan.m_groups * spec.groups * nc, mgroup // rows, mmem, mlen, mlocal, mzero)
    b_units = _b_units(plan, arch)

    # -- load_c / store_c: one segment per tile row
    cpos = (mg * rows * spec.N + n0) * 4  # (row 0 of the tile) in an M x N int32 matrix
    c_tiles = np.flatnonzero(c > 0)
    n_c = c_tiles.shape[0]
    load_c = row_segments(t_m[c_tiles], plan.part_addr + cpos[c_tiles], np.full(n_c, 4 * spec.N),
                           4 * t_n[c_tiles], np.full(n_c, 4 * cols), arch.spad_c_base)
    # non-final chunks store raw int32 partial sums; the final one int8 (int32 in the last layer)
    out_elem = np.where(final, plan.out_elem, 4)
    out_base = np.where(final, plan.out_addr + cpos // 4 * plan.out_elem, plan.part_addr + cpos)
    store = row_segments(t_m, out_base, spec.N * out_elem, t_n * out_elem, cols * out_elem, 0)

    beats: dict[str, np.ndarray] = {op: np.zeros(E, dtype=np.int64) for op in OPS}
    moved: dict[str, np.ndarray] = {op: np.zeros(E, dtype=np.int64) for op in OPS}
    ab, am = _totals(a_units, bus)
    bb, bm = _totals(b_units, bus)
    beats["load_a"][t_entry], moved["load_a"][t_entry] = ab[unit_a], am[unit_a]
    beats["load_b"][t_entry], moved["load_b"][t_entry] = bb[unit_b], bm[unit_b]
    cb, cm = _totals(load_c, bus)
    beats["load_c"][t_entry[c_tiles]], moved["load_c"][t_entry[c_tiles]] = cb, cm
    beats["store_c"][t_entry], moved["store_c"][t_entry] = _totals(store, bus)

    segments = None
    if functional:
        segments = {
            "load_a": _on_entries(expand(a_units, unit_a), t_entry, E),
            "load_b": _on_entries(expand(b_units, unit_b), t_entry, E),
            "load_c": _on_entries(load_c, t_entry[c_tiles], E),
            "store_c": _on_entries(store, t_entry, E),
        }

    # -- predecessors: producers of the tile's unit, then the previous K-chunk; joins: final tiles
    counts = np.zeros(E, dtype=np.int64)
    npro = np.diff(uptr)[unit_a]
    counts[t_entry] = npro + (c > 0)
    join_entry = np.arange(plan.m_groups, dtype=np.int64) * per + per - 1
    if plan.join:
        counts[join_entry] = ng_count
    ptr = ptr_from_counts(counts)
    if budget is not None:
        budget.add(int(ptr[-1]) * PER_EDGE, f"{int(ptr[-1]):,} dependencies of layer {plan.spec.name!r}")
        budget.check(f"layers[{plan.index}]", f"the dependencies of layer {plan.spec.name!r}")
    idx = np.empty(int(ptr[-1]), dtype=np.int64)
    idx[range_index(ptr[t_entry], npro)] = producers[range_index(uptr[unit_a], npro)]
    chained = c > 0
    idx[ptr[t_entry[chained]] + npro[chained]] = plan.first_entry + t_entry[chained] - 1
    if plan.join:
        finals = t_entry[final].reshape(plan.m_groups, ng_count)
        idx[range_index(ptr[join_entry], np.full(plan.m_groups, ng_count))] = plan.first_entry + finals.ravel()

    kind = np.full(E, EntryKind.JOIN, dtype=np.uint8)
    kind[t_entry] = EntryKind.TILE
    tile_id = np.full(E, -1, dtype=np.int64)
    tile_id[t_entry] = plan.first_tile + g

    def on_tiles(values: np.ndarray, dtype: type) -> np.ndarray:
        out: np.ndarray = np.zeros(E, dtype=dtype)
        out[t_entry] = values
        return out

    int8_mode = StoreMode.of(plan.spec.relu, plan.spec.rounding)
    mode = np.where(final & (not plan.last), int8_mode, StoreMode.INT32)
    return LayerEntries(kind=kind, tile_id=tile_id, m=on_tiles(t_m, np.int32), n=on_tiles(t_n, np.int32),
                        k=on_tiles(t_k, np.int32), load_c=on_tiles(c > 0, np.bool_),
                        store_mode=on_tiles(mode, np.uint8), pred_counts=counts, pred_idx=idx,
                        beats=beats, bytes=moved, segments=segments)


def _on_entries(seg: SegList, t_entry: np.ndarray, entries: int) -> SegList:
    """Re-point a per-tile SegList at layer entries (joins and skipped tiles get none)."""
    counts = np.zeros(entries, dtype=np.int64)
    counts[t_entry] = np.diff(seg.ptr)
    return SegList(ptr_from_counts(counts), seg.mem_addr, seg.length, seg.local_addr, seg.zero)
