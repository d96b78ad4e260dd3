"""Vectorised building blocks for DMA segment lists.

A segment list is kept as flat numpy arrays plus a CSR pointer over the
entries (or over "units" that several entries share, like the A rows of one
m-group and K-chunk, which every n-group of that m-group loads). Nothing here
loops over segments in Python.

Beats follow docs/microarch.md: a memory segment of `len` bytes at `a` takes
`floor((a+len-1)/B) - floor(a/B) + 1` bus beats, a zero segment `ceil(len/B)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tlm.workload.program import Segments


@dataclass
class SegList:
    """Flat segments grouped by a CSR pointer over owners (entries or units)."""

    ptr: np.ndarray        # int64 [owners+1]
    mem_addr: np.ndarray   # int64
    length: np.ndarray     # int64 (narrowed to int32 in the final Segments)
    local_addr: np.ndarray  # int64
    zero: np.ndarray       # bool

    @property
    def owners(self) -> int:
        return int(self.ptr.shape[0]) - 1


def ptr_from_counts(counts: np.ndarray) -> np.ndarray:
    ptr = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr


def range_index(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s+c) for each (s, c), without a Python loop."""
    counts = counts.astype(np.int64, copy=False)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ptr = ptr_from_counts(counts)
    shift = np.repeat(starts.astype(np.int64) - ptr[:-1], counts)
    return np.arange(total, dtype=np.int64) + shift


def owner_of_items(ptr: np.ndarray) -> np.ndarray:
    """For a CSR pointer, the owner index of every item."""
    return np.repeat(np.arange(ptr.shape[0] - 1, dtype=np.int64), np.diff(ptr))


def sum_per_owner(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """int64 sum of `values` over each owner's items (owners may be empty)."""
    cs = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(values, out=cs[1:])
    return cs[ptr[1:]] - cs[ptr[:-1]]


def segment_beats(mem_addr: np.ndarray, length: np.ndarray, zero: np.ndarray, bus: int) -> np.ndarray:
    """Memory bus beats of each segment (int64)."""
    mem = (mem_addr + length - 1) // bus - mem_addr // bus + 1
    return np.where(zero, (length + bus - 1) // bus, mem)


def merge_adjacent(group: np.ndarray, mem: np.ndarray, length: np.ndarray, local: np.ndarray,
                   zero: np.ndarray) -> tuple[np.ndarray, ...]:
    """Merge neighbours of one group that are contiguous in memory and locally.

    Two consecutive segments of the same group merge when both are zero
    segments, or both read memory and the second starts where the first ends
    in memory; in both cases the second must also start where the first ends
    locally. Inputs are parallel arrays in list order; returns the merged
    (group, mem, length, local, zero).
    """
    if group.shape[0] == 0:
        return group, mem, length, local, zero
    same = np.zeros(group.shape[0], dtype=bool)
    same[1:] = (group[1:] == group[:-1]) & (zero[1:] == zero[:-1]) & \
        (local[1:] == local[:-1] + length[:-1]) & \
        (zero[1:] | (mem[1:] == mem[:-1] + length[:-1]))
    starts = np.flatnonzero(~same)
    merged_len = np.add.reduceat(length, starts)
    return group[starts], mem[starts], merged_len, local[starts], zero[starts]


def seglist_from_groups(owners: int, owner: np.ndarray, mem: np.ndarray, length: np.ndarray,
                        local: np.ndarray, zero: np.ndarray) -> SegList:
    """Build a SegList from segments already sorted by owner."""
    counts = np.bincount(owner, minlength=owners).astype(np.int64)
    return SegList(ptr_from_counts(counts), mem.astype(np.int64), length.astype(np.int64),
                   local.astype(np.int64), zero.astype(bool))


def expand(units: SegList, unit_of_owner: np.ndarray) -> SegList:
    """The segment lists of owners that each reuse one unit's list."""
    counts = np.diff(units.ptr)[unit_of_owner]
    idx = range_index(units.ptr[unit_of_owner], counts)
    return SegList(ptr_from_counts(counts), units.mem_addr[idx], units.length[idx],
                   units.local_addr[idx], units.zero[idx])


def row_segments(t_m: np.ndarray, base: np.ndarray, row_stride: np.ndarray, length: np.ndarray,
                  local_stride: np.ndarray, local_base: int) -> SegList:
    """m segments per tile: row i at base + i*row_stride, local_base + i*local_stride (per-tile arrays)."""
    ptr = ptr_from_counts(t_m)
    t = owner_of_items(ptr)
    i = np.arange(ptr[-1], dtype=np.int64) - ptr[t]
    return SegList(ptr, base[t] + i * row_stride[t], length[t], local_base + i * local_stride[t],
                   np.zeros(t.shape[0], dtype=bool))


class SegmentCollector:
    """Concatenates per-layer SegLists (owned by consecutive entries) into Segments."""

    def __init__(self) -> None:
        self._counts: list[np.ndarray] = []
        self._parts: list[SegList] = []

    def add(self, seg: SegList) -> None:
        self._counts.append(np.diff(seg.ptr))
        self._parts.append(seg)

    def add_empty(self, owners: int) -> None:
        self._counts.append(np.zeros(owners, dtype=np.int64))

    def build(self) -> Segments:
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, dtype=np.int64)
        parts = self._parts

        def cat(attr: str, dtype: type) -> np.ndarray:
            if not parts:
                return np.zeros(0, dtype=dtype)
            return np.concatenate([getattr(p, attr) for p in parts]).astype(dtype)

        return Segments(ptr=ptr_from_counts(counts), mem_addr=cat("mem_addr", np.int64),
                        length=cat("length", np.int32), local_addr=cat("local_addr", np.int32),
                        zero=cat("zero", np.bool_))


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """np.unique(x) for integer keys: a stable sort (fast on the nearly sorted keys the lowering
    makes) and a mask; numpy's hash-based unique is tens of times slower on such arrays."""
    if x.shape[0] == 0:
        return x.copy()
    s = np.sort(x, kind="stable")
    keep = np.empty(s.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]

