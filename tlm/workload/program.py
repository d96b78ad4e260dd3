"""The tile program: a compiled workload, the one input of both models.

The workload compiler (`tlm.workload.compile`) produces a `TileProgram`; the
TLM accelerator (`tlm.blocks`) runs it and the RTL image encoder
(`tlm.rtl.image`) turns the very same object into memory images for
`accel_top`. docs/microarch.md explains what the hardware does with it.

Entries are in *admission order* (the order the tile scheduler admits them
into its dependency table), which the compiler makes topological: every
entry's predecessors come before it. Then the oldest entry in the table
always has all its predecessors done, so a table of any depth (even 1)
cannot deadlock. An entry is either a TILE (a GEMM tile job) or a
JOIN (no work: it completes as soon as its predecessors have; the compiler
inserts joins so that many-to-many layer dependencies stay linear in size).
Dependencies are entry indices, stored as CSR arrays.

Operand movement is described by DMA *segment lists*, one CSR list per op
kind (load_a, load_b, load_c, store_c). A segment moves `length` bytes
between external memory at `mem_addr` and the engine-local address
`local_addr`; a `zero` segment writes zeros (padding taps) without reading
memory. For loads, `local_addr` is in the engine scratchpad (A lanes, B
lanes, C buffer; see `Arch.spad_*_base`); for store_c it is a byte offset in
the engine's output buffer (results post-processed to int8 or int32,
row i at i * cols * elem_bytes).

Segment lists may be dropped (`segments is None`) in timing-only runs of large
workloads; `beats[op]` (memory bus beats per entry and op) and
`bytes[op]` are always present and are all the timing model needs.
"""

from __future__ import annotations

import builtins  # `bytes` is a field name below
import hashlib

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from tlm.workload.vector_ops import VectorOp, round_shift

OPS = ("load_a", "load_b", "load_c", "store_c")


class EntryKind(IntEnum):
    TILE = 0
    JOIN = 1
    VEC = 2   # a vector-unit job (graph workloads): op of `vector_ops[layer]`


class StoreMode(IntEnum):
    INT32 = 0            # raw accumulators, 4 bytes little-endian per element
    RELU_SHIFT_INT8 = 1  # clip(max(acc, 0) >> shift, 0, 127) as one byte
    SHIFT_INT8 = 2       # clip(acc >> shift, -128, 127): no ReLU, signed
    RELU_ROUND_INT8 = 3  # clip(round_half_even(max(acc, 0) / 2^shift), 0, 127)
    ROUND_INT8 = 4       # clip(round_half_even(acc / 2^shift), -128, 127)

    @staticmethod
    def of(relu: bool, rounding: bool) -> StoreMode:
        """The int8 store mode with or without ReLU, floor shift or rounding."""
        if rounding:
            return StoreMode.RELU_ROUND_INT8 if relu else StoreMode.ROUND_INT8
        return StoreMode.RELU_SHIFT_INT8 if relu else StoreMode.SHIFT_INT8


def store_int8(acc: np.ndarray, mode: int, shift: int) -> np.ndarray:
    """An int8 store mode's post-processing of int32 accumulators, as int8.

    Rounding is half to even (onnxruntime's QuantizeLinear): floor(acc / 2^shift)
    plus one when the dropped bits exceed half, or equal half and the floor is odd.
    ReLU before or after the rounding gives the same result.
    """
    a = acc.astype(np.int64)
    q = round_shift(a, shift) if mode in (StoreMode.RELU_ROUND_INT8, StoreMode.ROUND_INT8) else a >> shift
    lo = 0 if mode in (StoreMode.RELU_SHIFT_INT8, StoreMode.RELU_ROUND_INT8) else -128
    return np.clip(q, lo, 127).astype(np.int8)


@dataclass
class Csr:
    """Per-entry lists: items of entry i are idx[ptr[i]:ptr[i+1]]."""

    ptr: np.ndarray  # int64 [N+1]
    idx: np.ndarray  # int64 [nnz]

    def of(self, i: int) -> np.ndarray:
        return self.idx[self.ptr[i]:self.ptr[i + 1]]

    def count(self) -> np.ndarray:
        return np.diff(self.ptr)


@dataclass
class Segments:
    """One op kind's segment lists for all entries (CSR over entries)."""

    ptr: np.ndarray         # int64 [N+1]
    mem_addr: np.ndarray    # int64 [S] byte address in external memory (0 for zero segments)
    length: np.ndarray      # int32 [S] bytes, >= 1
    local_addr: np.ndarray  # int32 [S] scratchpad / output-buffer byte address
    zero: np.ndarray        # bool  [S] zero-fill, no memory read

    def range(self, i: int) -> slice:
        return slice(int(self.ptr[i]), int(self.ptr[i + 1]))


@dataclass
class OutputRegion:
    """A result in external memory that the functional check compares."""

    name: str
    addr: int
    dtype: str                # "int8" or "int32"
    shape: tuple[int, int]    # rows x cols, row-major, contiguous


@dataclass
class TileProgram:
    name: str
    seed: int
    kind: np.ndarray          # uint8 [N] EntryKind
    tile_id: np.ndarray       # int64 [N] id used in traces (user id in the tiles form)
    layer: np.ndarray         # int32 [N] layer index, -1 for the tiles form
    m: np.ndarray             # int32 [N] rows of the tile (<= arch rows); 0 for joins
    n: np.ndarray             # int32 [N] cols (<= arch cols); 0 for joins
    k: np.ndarray             # int32 [N] reduction length of this K-chunk (<= kmax); 0 for joins
    load_c: np.ndarray        # bool  [N] accumulate onto a partial sum loaded from memory
    store_mode: np.ndarray    # uint8 [N] StoreMode
    shift: np.ndarray         # uint8 [N] right shift of the int8 store modes
    preds: Csr                # predecessors (entry indices)
    succs: Csr                # successors (entry indices), the transpose of preds
    beats: dict[str, np.ndarray]   # op -> int64 [N] memory bus beats (zero segments count ceil(len/bus_bytes))
    bytes: dict[str, np.ndarray]   # op -> int64 [N] bytes really moved (zero fill excluded)
    segments: dict[str, Segments] | None  # op -> segment lists; None when dropped
    memory_size: int          # bytes of external memory the program uses
    memory_image: list[tuple[int, builtins.bytes]] = field(default_factory=list)  # initial contents
    outputs: list[OutputRegion] = field(default_factory=list)
    expected: dict[str, np.ndarray] = field(default_factory=dict)  # numpy reference per output
    info: dict[str, object] = field(default_factory=dict)  # DAG size, depth, layers ... for summaries
    # Operand block ids (`[engine] reuse`, docs/microarch.md "Operand reuse"): two
    # tiles with the same id >= 0 load the same bytes into the same lanes; -1 =
    # never reusable. None when reuse is off.
    a_block: np.ndarray | None = None  # int64 [N]
    b_block: np.ndarray | None = None  # int64 [N]
    # B slot of each tile (`[engine] reuse_slots` > 1; None otherwise): its
    # load_b segments write that slot's lanes and the engine reads them there.
    b_slot: np.ndarray | None = None   # int64 [N]
    vector_ops: dict[int, VectorOp] = field(default_factory=dict)  # layer index -> op of its VEC entries

    @property
    def entries(self) -> int:
        return int(self.kind.shape[0])

    @property
    def tiles(self) -> int:
        return int(np.count_nonzero(self.kind == EntryKind.TILE))

    @property
    def functional(self) -> bool:
        return self.segments is not None and bool(self.memory_image)

    def content_hash(self) -> str:
        """sha256 (hex) of what the models run: entries, shapes, dependencies, DMA beats and bytes.

        Traces carry it as `program_hash`, so `compare` tells two workloads
        apart by content, not by name. Data (segments, memory image) is left
        out: a timing-only and a functional compile of one workload agree.
        """
        h = hashlib.sha256(b"tlm-program/1")
        arrays = [self.kind, self.tile_id, self.layer, self.m, self.n, self.k, self.load_c,
                  self.store_mode, self.shift, self.preds.ptr, self.preds.idx]
        arrays += [self.beats[op] for op in OPS] + [self.bytes[op] for op in OPS]
        # Block ids only when present (reuse on): hashes of other programs do not change.
        arrays += [a for a in (self.a_block, self.b_block, self.b_slot) if a is not None]
        for a in arrays:
            v = np.ascontiguousarray(a, dtype="<i8")
            h.update(len(v).to_bytes(8, "little"))
            h.update(v.tobytes())
        for index, vop in sorted(self.vector_ops.items()):  # graph workloads only
            h.update(repr((index, vop)).encode())
        return h.hexdigest()
