"""Tiling and external-memory layout of a layers-form workload.

A layer with GEMM shape C[M x N] = A[M x K] . B[K x N] is cut into
m-groups of `rows` consecutive output pixels (flattened M), n-groups of
`cols` output channels and K-chunks: `nchunks = ceil(K / kmax)` chunks of
`ceil(K / nchunks)` (the last one smaller). Program order is layer by layer;
inside a layer m-group major, then n-group, then K-chunk, and after the last
tile of an m-group a JOIN entry when the layer has >= 2 n-groups and is not
the last layer. So every m-group occupies `entries_per_group` consecutive
entries and its "representative" (the join, or its single final tile) is the
last of them.

Memory regions are allocated in this order, each aligned to 64 bytes: the
first layer's input (pixels x channels int8), then per layer its own input
when it has `fresh_input` (drawn from the seed like the first one), its weights
(N x K int8, transposed), its output (M x N, int8, or int32 for the last
layer) and, when K is chunked, a partial-sum area (M x N int32, where each
(m-group, n-group) owns its sub-block).
"""

from __future__ import annotations

from dataclasses import dataclass

from tlm.arch import Arch
from tlm.workload.spec import LayerSpec

ALIGN = 64
MAX_ENTRIES = 1 << 24  # beyond this a program is absurd for this simulator (and its memory)


def align_up(x: int, a: int = ALIGN) -> int:
    return (x + a - 1) // a * a


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class LayerPlan:
    """How one layer is tiled and where its tensors live."""

    index: int
    spec: LayerSpec
    m_groups: int
    n_groups: int
    k_chunks: int
    chunk: int            # K-chunk size (the last chunk may be smaller)
    join: bool            # a JOIN entry closes every m-group
    last: bool            # the network's last layer (int32 output)
    first_entry: int      # global index of this layer's first entry
    first_tile: int       # global tile id of this layer's first tile
    in_addr: int          # A source: previous output or the network input
    in_row: int           # bytes per A source row: in_channels (conv) or K (gemm)
    w_addr: int
    out_addr: int
    part_addr: int        # -1 when K is a single chunk

    @property
    def entries_per_group(self) -> int:
        return self.n_groups * self.k_chunks + int(self.join)

    @property
    def entries(self) -> int:
        return self.m_groups * self.entries_per_group

    @property
    def tiles(self) -> int:
        return self.m_groups * self.n_groups * self.k_chunks

    @property
    def out_elem(self) -> int:
        return 4 if self.last else 1


@dataclass(frozen=True)
class Layout:
    plans: tuple[LayerPlan, ...]
    input_addr: int
    input_shape: tuple[int, int]   # pixels x channels of the first layer's input
    memory_size: int
    entries: int


def plan_layers(layers: tuple[LayerSpec, ...], arch: Arch) -> Layout:
    """Tiling and memory regions for a validated layer stack (no big arrays)."""
    rows, cols, kmax = arch.tile_rows, arch.array.cols, arch.kmax  # tile_rows: R, or more in WS
    input_shape = layers[0].input_shape
    addr = 0
    input_addr = addr
    addr = align_up(addr + input_shape[0] * input_shape[1])
    in_addr = input_addr
    plans: list[LayerPlan] = []
    entry = tile = 0
    for i, spec in enumerate(layers):
        last = i == len(layers) - 1
        if spec.fresh_input and i > 0:
            in_addr = addr
            addr = align_up(addr + spec.input_shape[0] * spec.input_shape[1])
        # n-groups never straddle two convolution groups: each group is its own GEMM
        m_groups, n_groups = ceil_div(spec.M, rows), spec.groups * ceil_div(spec.group_out, cols)
        k_chunks = ceil_div(spec.K, kmax)
        chunk = ceil_div(spec.K, k_chunks)
        w_addr = addr
        addr = align_up(addr + spec.N * spec.K)
        out_addr = addr
        addr = align_up(addr + spec.M * spec.N * (4 if last else 1))
        part_addr = -1
        if k_chunks > 1:
            part_addr = addr
            addr = align_up(addr + spec.M * spec.N * 4)
        plan = LayerPlan(index=i, spec=spec, m_groups=m_groups, n_groups=n_groups, k_chunks=k_chunks,
                         chunk=chunk, join=n_groups >= 2 and not last, last=last, first_entry=entry,
                         first_tile=tile, in_addr=in_addr,
                         in_row=spec.in_channels if spec.is_conv else spec.K,
                         w_addr=w_addr, out_addr=out_addr, part_addr=part_addr)
        plans.append(plan)
        entry += plan.entries
        tile += plan.tiles
        in_addr = out_addr
    return Layout(tuple(plans), input_addr, input_shape, addr, entry)
