"""Two independent functional models of a workload, for cross-checking.

- `reference_outputs` computes every layer's output straight from the
  workload description with numpy (im2col with the same deformable offsets,
  int32 matmul, ReLU/shift/clip). It shares only the seeded data
  (`tlm.workload.data`) with the compiler, never its tiling or segments. This
  is what `TileProgram.expected` holds.
- `run_program_functionally` executes a compiled program's *segment lists*
  on a flat byte memory, tile by tile in dependency order, the way the DMA
  and MAC array do. Agreement of the two proves the segments (gather
  addresses, padding, K-chunk partial sums, store layout) are right.

Accumulators are int32 and wrap modulo 2**32 like the hardware's; partial
sums stored between K-chunks wrap the same way, so both paths agree bit for
bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.workload import data
from tlm.workload.program import EntryKind, StoreMode, TileProgram, store_int8
from tlm.workload.spec import LayerSpec, WorkloadSpec


def relu_shift_int8(acc: np.ndarray, shift: int) -> np.ndarray:
    """clip(max(acc, 0) >> shift, 0, 127) as int8."""
    return np.clip(np.maximum(acc, 0) >> shift, 0, 127).astype(np.int8)


#: Elements of one operand block of the reference product (bounds its temporaries).
MATMUL_BLOCK = 1 << 22


def _matmul_int32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int8 x int8 -> int32 product with wrap-around accumulation.

    Computed in blocks of K (and of M) in float64, which is exact here: a
    block's sum of int8 products stays far below 2**53. So the temporaries
    stay within a few `MATMUL_BLOCK`s whatever the shapes, and the product
    runs on BLAS; the int64 sum of the blocks wraps to int32 at the end.
    """
    M, K = a.shape
    N = b.shape[1]
    acc = np.zeros((M, N), dtype=np.int64)
    kb = max(1, min(K, MATMUL_BLOCK // max(1, N)))
    for k0 in range(0, K, kb):
        bf = b[k0:k0 + kb].astype(np.float64)
        width = bf.shape[0]
        mb = max(1, MATMUL_BLOCK // max(1, width, N))
        for m0 in range(0, M, mb):
            acc[m0:m0 + mb] += (a[m0:m0 + mb, k0:k0 + kb].astype(np.float64) @ bf).astype(np.int64)
    return acc.astype(np.int32)


def im2col(x: np.ndarray, layer: LayerSpec, offsets: np.ndarray | None, rows: int) -> np.ndarray:
    """The A matrix [out_h*out_w x K] of a conv layer (of one group); K ordered (ky, kx, c).

    Args:
        x: the input, pixels x channels (NHWC flattened; one group's channels), int8.
        layer: the conv layer.
        offsets: (dy, dx) per output m-group of `rows` pixels, or None.
        rows: the array's row count (m-group size).
    """
    cin = x.shape[1]
    img = x.reshape(layer.height, layer.width, cin)
    oy, ox = np.divmod(np.arange(layer.M), layer.out_w)
    dy = dx = np.zeros(layer.M, dtype=np.int64)
    if offsets is not None:
        dy, dx = offsets[np.arange(layer.M) // rows].T
    a = np.zeros((layer.M, layer.kernel * layer.kernel * cin), dtype=np.int8)
    for ky in range(layer.kernel):
        for kx in range(layer.kernel):
            iy = oy * layer.stride - layer.padding + ky * layer.dilation + dy
            ix = ox * layer.stride - layer.padding + kx * layer.dilation + dx
            ok = (iy >= 0) & (iy < layer.height) & (ix >= 0) & (ix < layer.width)
            tap = ky * layer.kernel + kx
            a[ok, tap * cin:(tap + 1) * cin] = img[iy[ok], ix[ok]]
    return a


def reference_outputs(spec: WorkloadSpec, arch: Arch) -> dict[str, np.ndarray]:
    """Every layer's output (or every tile's C) computed directly with numpy."""
    rows = arch.tile_rows
    out: dict[str, np.ndarray] = {}
    if spec.graph is not None:
        return _graph_outputs(spec, rows)
    if spec.tiles is not None:
        for i, t in enumerate(spec.tiles):
            a = data.tile_a(spec.seed, i, t.m, t.k)
            b_t = data.tile_b_t(spec.seed, i, t.n, t.k)
            out[f"tile{t.id}"] = _matmul_int32(a, b_t.T)
        return out
    assert spec.layers is not None
    x = data.layer_input(spec.seed, *spec.layers[0].input_shape)
    for li, layer in enumerate(spec.layers):
        if layer.fresh_input and li > 0:
            x = data.layer_input(spec.seed, *layer.input_shape, li)
        w_t = data.layer_weights_t(spec.seed, li, layer.N, layer.K)
        if layer.is_conv:
            offsets = None
            if layer.max_offset is not None:
                m_groups = -(-layer.M // rows)
                offsets = data.deformable_offsets(spec.seed, li, m_groups, layer.max_offset)
            acc = np.empty((layer.M, layer.N), dtype=np.int32)
            gi, go = layer.group_in, layer.group_out
            for g in range(layer.groups):  # one GEMM per group, on its channel slice
                a = im2col(x.reshape(-1, layer.in_channels)[:, g * gi:(g + 1) * gi], layer, offsets, rows)
                acc[:, g * go:(g + 1) * go] = _matmul_int32(a, w_t[g * go:(g + 1) * go].T)
        else:
            acc = _matmul_int32(x.reshape(layer.M, layer.K), w_t.T)
        x = acc if li == len(spec.layers) - 1 else relu_shift_int8(acc, layer.shift)
        out[layer.name] = x
    return out


def _run_vector_entry(program: TileProgram, mem: np.ndarray, e: int, first_vec: dict[int, int],
                      rows: int) -> None:
    """One VEC entry on the flat memory: gather its inputs, apply its op, scatter its output."""
    from tlm.workload.segments import range_index
    from tlm.workload.vector_ops import GATHERS, POOLS, apply, load_widths

    assert program.segments is not None
    v = program.vector_ops[int(program.layer[e])]
    s = program.segments["load_a"]
    sl = s.range(e)
    if v.op in GATHERS:  # the load gathers the output bytes in order
        y = np.zeros(int(program.m[e]) * v.out_channels, dtype=np.uint8)
        y[range_index(s.local_addr[sl], s.length[sl])] = mem[range_index(s.mem_addr[sl], s.length[sl])]
        st = program.segments["store_c"]
        a, n = int(st.mem_addr[st.range(e)][0]), int(st.length[st.range(e)][0])
        mem[a:a + n] = y[:n]
        return
    inputs = [mem[a:a + n].view(np.int8).reshape(-1, ch)
              for a, n, ch in zip(s.mem_addr[sl].tolist(), s.length[sl].tolist(), load_widths(v))]
    first = first_vec[int(program.layer[e])]
    p0 = (e - first) * rows
    row0 = 0
    if v.op in POOLS:
        row0 = int(s.mem_addr[sl][0] - s.mem_addr[s.range(first)][0]) // v.in_channels[0]
    y = apply(v, inputs, p0, p0 + int(program.m[e]), row0).view(np.uint8).ravel()
    st = program.segments["store_c"]
    for a, n, lo in zip(st.mem_addr[st.range(e)].tolist(), st.length[st.range(e)].tolist(),
                        st.local_addr[st.range(e)].tolist()):
        mem[a:a + n] = y[lo:lo + n]


def _conv_or_gemm(x: np.ndarray, layer: LayerSpec, w_t: np.ndarray, seed: int, li: int,
                  rows: int) -> np.ndarray:
    """A MAC layer's int32 accumulators from its int8 input (pixels x channels, or flat)."""
    if not layer.is_conv:
        return _matmul_int32(x.reshape(layer.M, layer.K), w_t.T)
    offsets = None
    if layer.max_offset is not None:
        offsets = data.deformable_offsets(seed, li, -(-layer.M // rows), layer.max_offset)
    acc = np.empty((layer.M, layer.N), dtype=np.int32)
    gi, go = layer.group_in, layer.group_out
    x = x.reshape(-1, layer.in_channels)
    for g in range(layer.groups):
        a = im2col(x[:, g * gi:(g + 1) * gi], layer, offsets, rows)
        acc[:, g * go:(g + 1) * go] = _matmul_int32(a, w_t[g * go:(g + 1) * go].T)
    return acc


def _graph_outputs(spec: WorkloadSpec, rows: int) -> dict[str, np.ndarray]:
    """Every tensor of a graph workload, layer by layer on whole tensors."""
    from tlm.workload.vector_ops import apply

    graph = spec.graph
    assert graph is not None
    h, w, c = graph.input_shape
    tensors = {graph.input_name: data.layer_input(spec.seed, h * w, c)}
    read = {t for n in graph.nodes for t in n.inputs}
    out: dict[str, np.ndarray] = {}
    for li, node in enumerate(graph.nodes):
        xs = [tensors[t] for t in node.inputs]
        oh, ow, oc = node.shape
        if node.is_alias:
            tensors[node.name] = xs[0].reshape(oh * ow, oc)
            continue
        if node.layer is not None:
            layer = node.layer
            if node.heads:  # matmul: per head A_h . B_h, heads side by side
                from tlm.workload.graph_matmul import reference_matmul

                pairs = reference_matmul(xs[0].reshape(layer.M, -1), xs[1].reshape(-1, xs[1].shape[-1]),
                                         node.heads, node.transpose_b)
                acc = np.concatenate([_matmul_int32(a, b) for a, b in pairs], axis=1)
            else:
                w_t = graph.weights.get(node.name)
                if w_t is None:
                    w_t = data.layer_weights_t(spec.seed, li, layer.N, layer.K)
                acc = _conv_or_gemm(xs[0], layer, w_t, spec.seed, li, rows)
            # int32 when nothing reads it (directly or through a reshape)
            mode = StoreMode.of(layer.relu, layer.rounding)
            y = store_int8(acc, mode, layer.shift) if _is_read(graph, node.name, read) else acc
        else:
            assert node.vec is not None
            y = apply(node.vec, [x.reshape(-1, x.shape[-1]) for x in xs], 0, oh * ow)
        tensors[node.name] = y
        out[node.name] = y
    return out


def _is_read(graph: Any, name: str, read: set[str]) -> bool:
    if name in read and any(not n.is_alias for n in graph.nodes if name in n.inputs):
        return True
    return any(n.is_alias and n.inputs[0] == name and _is_read(graph, n.name, read) for n in graph.nodes)


def _layout(program: TileProgram, arch: Arch | None) -> dict[str, int]:
    if arch is not None:
        return {"rows": arch.tile_rows, "cols": arch.array.cols, "kmax": arch.kmax,
                "spad_bytes": arch.scratchpad.bytes, "spad_b_base": arch.spad_b_base,
                "spad_c_base": arch.spad_c_base}
    info: Any = program.info["arch"]
    return dict(info)


def run_program_functionally(program: TileProgram, arch: Arch | None = None) -> dict[str, np.ndarray]:
    """Execute the segment lists on a flat memory; returns every output region.

    The scratchpad and output buffer are filled with a marker before each
    tile, so a byte no segment writes shows up as a wrong result.

    Args:
        program: a functional program (segments and memory image present).
        arch: the arch it was compiled for (default: the layout in `program.info`).
    """
    from tlm.workload.dag import topological_order

    if not program.functional:
        raise ValueError("program has no segment lists or memory image (compiled with functional=False)")
    lay = _layout(program, arch)
    rows, cols, kmax = lay["rows"], lay["cols"], lay["kmax"]
    b_base, c_base = lay["spad_b_base"], lay["spad_c_base"]
    mem = np.zeros(program.memory_size, dtype=np.uint8)
    for addr, blob in program.memory_image:
        mem[addr:addr + len(blob)] = np.frombuffer(blob, dtype=np.uint8)
    spad = np.empty(lay["spad_bytes"], dtype=np.uint8)
    outbuf = np.empty(rows * cols * 4, dtype=np.uint8)
    segs = program.segments
    assert segs is not None
    first_vec: dict[int, int] = {}
    for e in topological_order(program):
        if program.kind[e] == EntryKind.VEC:
            first_vec.setdefault(int(program.layer[e]), e)
            _run_vector_entry(program, mem, e, first_vec, rows)
            continue
        if program.kind[e] != EntryKind.TILE:
            continue
        spad.fill(0xA5)
        for op in ("load_a", "load_b", "load_c"):
            s = segs[op]
            for j in range(int(s.ptr[e]), int(s.ptr[e + 1])):
                lo, ln = int(s.local_addr[j]), int(s.length[j])
                if s.zero[j]:
                    spad[lo:lo + ln] = 0
                else:
                    ma = int(s.mem_addr[j])
                    spad[lo:lo + ln] = mem[ma:ma + ln]
        m, n, k = int(program.m[e]), int(program.n[e]), int(program.k[e])
        a = spad[:rows * kmax].reshape(rows, kmax)[:m, :k].view(np.int8)
        lane0 = b_base + (0 if program.b_slot is None else int(program.b_slot[e]) * cols * kmax)
        b = spad[lane0:lane0 + cols * kmax].reshape(cols, kmax)[:n, :k].view(np.int8)
        acc = a.astype(np.int64) @ b.T.astype(np.int64)
        if program.load_c[e]:
            acc += spad[c_base:c_base + rows * cols * 4].view("<i4").reshape(rows, cols)[:m, :n]
        acc32 = acc.astype(np.int32)
        outbuf.fill(0x5A)
        mode = int(program.store_mode[e])
        if mode != StoreMode.INT32:
            view = outbuf[:rows * cols].reshape(rows, cols)
            view[:m, :n] = store_int8(acc32, mode, int(program.shift[e])).view(np.uint8)
        else:
            outbuf.view("<i4").reshape(rows, cols)[:m, :n] = acc32
        s = segs["store_c"]
        for j in range(int(s.ptr[e]), int(s.ptr[e + 1])):
            lo, ln, ma = int(s.local_addr[j]), int(s.length[j]), int(s.mem_addr[j])
            mem[ma:ma + ln] = outbuf[lo:lo + ln]
    result: dict[str, np.ndarray] = {}
    for region in program.outputs:
        size = region.shape[0] * region.shape[1] * (4 if region.dtype == "int32" else 1)
        raw = mem[region.addr:region.addr + size].copy()
        result[region.name] = raw.view("<i4" if region.dtype == "int32" else np.int8).reshape(region.shape)
    return result
