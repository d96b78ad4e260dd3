"""Graph workload (`tlm-workload/2`) -> TileProgram.

Layers are lowered in the graph's compile order (topological). A MAC layer
is lowered exactly like a v1 layer (`tlm.workload.lowering`), with the
producer of its input tensor in the role of the previous layer, so its tiles
wait only for the m-groups that produced the bytes they read. A vector layer
becomes one VEC entry per chunk of `rows` output pixels (the m-group size of
every layer, so any consumer finds its producers by pixel / rows):

- load_a: per input, one segment of the input pixels the chunk reads (pools:
  whole input image rows; globalavgpool: the whole input; a broadcast mul's
  gate: its one pixel), placed one after the other in the vector unit's
  buffer from local address 0; a lut's 256-byte table follows its input;
- store_c: one segment, the chunk's output pixels, from local address 0;
- dependencies: per input, the representative entry (join or final tile or
  VEC entry) of every producer m-group holding a byte the chunk reads.

A transpose or resize gathers its output bytes in output order instead (one
segment per run contiguous in memory: per pixel when the channels stay last,
per byte otherwise).

Memory: the network input, then per layer in compile order its weights
(MAC) or table (lut), its output, its partial sums (MAC with a chunked K). `reshape` and
`flatten` own no memory: they name the bytes of their input.
"""

from __future__ import annotations

import numpy as np

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.limits import RunLimits
from tlm.workload import data
from tlm.workload.budget import PER_DMA_BYTE, PER_EDGE, PER_ENTRY, PER_SEGMENT, layers_budget
from tlm.workload.graph_matmul import patch_b
from tlm.workload.graph_spec import GraphNode, GraphSpec
from tlm.workload.layout import MAX_ENTRIES, LayerPlan, Layout, align_up, ceil_div
from tlm.workload.lowering import LayerEntries, lower_layer
from tlm.workload.program import OPS, Csr, EntryKind, OutputRegion, TileProgram
from tlm.workload.segments import SegList, SegmentCollector, merge_adjacent, ptr_from_counts, range_index, \
    seglist_from_groups, segment_beats, sum_per_owner, unique_sorted
from tlm.workload.spec import LayerSpec
from tlm.workload.vector_ops import GATHERS, LUT_BYTES, POOLS, VectorOp


def _bases(graph: GraphSpec) -> dict[str, str]:
    """Per tensor name, the tensor owning its bytes (aliases resolved)."""
    base = {graph.input_name: graph.input_name}
    for n in graph.nodes:
        base[n.name] = base[n.inputs[0]] if n.is_alias else n.name
    return base


def plan_graph(graph: GraphSpec, arch: Arch, file: str) -> tuple[list[LayerPlan | None], dict[str, int], int]:
    """Per node its plan (None for aliases), per storage tensor its address, the memory size."""
    rows, cols, kmax = arch.tile_rows, arch.array.cols, arch.kmax  # tile_rows: R, or more in WS
    base = _bases(graph)
    read = {base[t] for n in graph.nodes if not n.is_alias for t in n.inputs}
    h, w, c = graph.input_shape
    addr_of = {graph.input_name: 0}
    channels = {graph.input_name: c}
    addr = align_up(h * w * c)
    plans: list[LayerPlan | None] = []
    entry = tile = 0
    for i, node in enumerate(graph.nodes):
        if node.is_alias:
            plans.append(None)
            continue
        src = base[node.inputs[0]]
        last = node.name not in read
        if node.layer is not None:
            spec = node.layer
            if spec.is_conv and channels[src] != spec.in_channels:
                raise InputError(file, f"layers[{node.position}].inputs",
                                 f"conv2d cannot read {node.inputs[0]!r}, a reshape that changes the channels")
            m_groups, n_groups = ceil_div(spec.M, rows), spec.groups * ceil_div(spec.group_out, cols)
            k_chunks = ceil_div(spec.K, kmax)
            w_addr = addr
            addr = align_up(addr + spec.N * spec.K)
            out_addr = addr
            addr = align_up(addr + spec.M * spec.N * (4 if last else 1))
            part_addr = -1
            if k_chunks > 1:
                part_addr = addr
                addr = align_up(addr + spec.M * spec.N * 4)
            plan = LayerPlan(index=i, spec=spec, m_groups=m_groups, n_groups=n_groups, k_chunks=k_chunks,
                             chunk=ceil_div(spec.K, k_chunks), join=n_groups >= 2 and not last, last=last,
                             first_entry=entry, first_tile=tile, in_addr=addr_of[src],
                             in_row=spec.in_channels if spec.is_conv else spec.K,
                             w_addr=w_addr, out_addr=out_addr, part_addr=part_addr)
        else:
            v = node.vec
            assert v is not None
            oh, ow, oc = node.shape
            spec = LayerSpec(name=node.name, op=node.op, M=oh * ow, N=oc, K=0, out_h=oh, out_w=ow)
            table_addr = -1
            if v.op == "lut":  # its table, a constant every entry loads
                table_addr = addr
                addr = align_up(addr + LUT_BYTES)
            out_addr = addr
            addr = align_up(addr + oh * ow * oc)
            plan = LayerPlan(index=i, spec=spec, m_groups=ceil_div(oh * ow, rows), n_groups=1, k_chunks=1,
                             chunk=0, join=False, last=False, first_entry=entry, first_tile=tile,
                             in_addr=addr_of[src], in_row=c, w_addr=table_addr, out_addr=out_addr,
                             part_addr=-1)
        addr_of[node.name] = plan.out_addr
        channels[node.name] = node.shape[2]
        plans.append(plan)
        entry += plan.entries
        tile += plan.entries if node.vec is not None else plan.tiles
    if addr > arch.memory.bytes:
        raise InputError(file, "layers", f"operands need {addr} bytes of external memory, "
                                         f"more than [memory] bytes = {arch.memory.bytes}")
    if entry > MAX_ENTRIES:
        raise InputError(file, "layers", f"lowers to {entry} entries, more than the {MAX_ENTRIES} supported")
    return plans, addr_of, addr


def _vector_rows(v: VectorOp, p0: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `vector_ops.input_rows`: the input pixels each chunk reads (first input)."""
    if v.op == "globalavgpool":
        return np.zeros_like(p0), np.full_like(p1, v.height * v.width)
    if v.op not in POOLS:
        return p0, p1
    oy0, oy1 = p0 // v.out_w, (p1 - 1) // v.out_w
    iy0 = np.maximum(0, oy0 * v.stride - v.padding)
    iy1 = np.minimum(v.height - 1, oy1 * v.stride - v.padding + v.kernel - 1)
    return iy0 * v.width, (iy1 + 1) * v.width


def _transpose_load(v: VectorOp, addr: int, rows: int, entries: int) -> tuple[SegList, np.ndarray]:
    """A transpose's or resize's load_a lists and, per output element, the input byte it reads.

    Every output element, in output order, is one byte of the input; runs that
    are contiguous in memory merge into one segment (whole pixels when the
    channels stay last), packed from buffer address 0 in output order.
    """
    h, w, c = v.height, v.width, v.in_channels[0]
    strides = (w * c, c, 1)
    oshape = (v.out_h, v.out_w, v.out_channels)
    grid = np.zeros(oshape, dtype=np.int64)
    for j in range(3):  # output axis j walks input axis perm[j] (resize: the same axis, / stride)
        shape = [1, 1, 1]
        shape[j] = oshape[j]
        at = np.arange(oshape[j], dtype=np.int64)
        if v.op == "resize" and j < 2:
            at = at // v.stride
        grid = grid + at.reshape(shape) * strides[v.perm[j]]
    src: np.ndarray = grid.ravel()
    per_pixel = v.out_channels
    owner = np.arange(src.shape[0], dtype=np.int64) // (rows * per_pixel)
    local = np.arange(src.shape[0], dtype=np.int64) - owner * rows * per_pixel
    ones = np.ones(src.shape[0], dtype=np.int64)
    grp, mem, length, loc, zero = merge_adjacent(owner, addr + src, ones, local, np.zeros(src.shape[0], dtype=bool))
    return seglist_from_groups(entries, grp, mem, length, loc, zero), src


def lower_vector(plan: LayerPlan, v: VectorOp, sources: list[tuple[int, LayerPlan | None, int]],
                 arch: Arch, functional: bool) -> LayerEntries:
    """The VEC entries of one vector layer.

    Args:
        sources: per input (address, producer plan or None for the network
            input, channels of the producer's own tensor).
    """
    if v.op in GATHERS:
        return _lower_gather(plan, v, sources[0], arch, functional)
    rows, bus = arch.tile_rows, arch.dma.bus_bytes
    E = plan.entries
    g = np.arange(E, dtype=np.int64)
    p0 = g * rows
    p1 = np.minimum(plan.spec.M, p0 + rows)
    lengths: list[np.ndarray] = []
    mems: list[np.ndarray] = []
    producers: list[tuple[np.ndarray, np.ndarray, int, int] | None] = []
    for (addr, prod, base_c), ch, (r0, r1, lo, cnt) in zip(sources, v.in_channels,
                                                           _input_spans(plan, v, sources, rows)):
        lengths.append((r1 - r0) * ch)
        mems.append(addr + r0 * ch)
        if prod is None:
            producers.append(None)
            continue
        per = prod.entries_per_group
        producers.append((lo, cnt, prod.first_entry + per - 1, per))
    if v.op == "lut":  # the table, after the input (no producer: a constant)
        lengths.append(np.full(E, LUT_BYTES, dtype=np.int64))
        mems.append(np.full(E, plan.w_addr, dtype=np.int64))
    n_in = len(lengths)
    length = np.stack(lengths, axis=1).ravel()
    mem = np.stack(mems, axis=1).ravel()
    local = (np.cumsum(np.stack(lengths, axis=1), axis=1) - np.stack(lengths, axis=1)).ravel()
    load = SegList(np.arange(E + 1, dtype=np.int64) * n_in, mem, length, local,
                   np.zeros(E * n_in, dtype=bool))
    # dependencies: per entry, the producers' representatives, deduplicated and ascending
    owners, items = [], []
    for p in producers:
        if p is None:
            continue
        lo, cnt, first_rep, per = p
        owners.append(np.repeat(g, cnt))
        items.append(first_rep + range_index(lo, cnt) * per)
    if owners:
        own, itm = np.concatenate(owners), np.concatenate(items)
        key = unique_sorted(own * (1 << 32) + itm)
        own, itm = key >> 32, key & ((1 << 32) - 1)
    else:
        own = itm = np.zeros(0, dtype=np.int64)
    return _vec_entries(plan, p0, p1, load, own, itm, bus, functional)


def _input_spans(plan: LayerPlan, v: VectorOp, sources: list[tuple[int, LayerPlan | None, int]],
                 rows: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per input, per entry: the first and one-past-last input pixel it reads, and the first
    producer m-group holding them and how many (dependencies before deduplication)."""
    p0 = np.arange(plan.entries, dtype=np.int64) * rows
    p1 = np.minimum(plan.spec.M, p0 + rows)
    first_rows = _vector_rows(v, p0, p1)
    out = []
    for j, ((_addr, _prod, base_c), ch) in enumerate(zip(sources, v.in_channels)):
        # a broadcast mul reads its gate's one pixel for every chunk
        r0, r1 = (np.zeros_like(p0), np.ones_like(p1)) if j and v.broadcast else first_rows
        lo = (r0 * ch) // base_c // rows
        out.append((r0, r1, lo, (r1 * ch - 1) // base_c // rows - lo + 1))
    return out


def vector_dependencies(plan: LayerPlan, v: VectorOp, sources: list[tuple[int, LayerPlan | None, int]],
                        rows: int) -> int:
    """Dependencies a vector layer's lowering handles before deduplication (its memory scales so);
    not for gathers, whose plan is per byte."""
    return sum(int(cnt.sum()) for (_a, prod, _c), (_r0, _r1, _lo, cnt)
               in zip(sources, _input_spans(plan, v, sources, rows)) if prod is not None)


def _lower_gather(plan: LayerPlan, v: VectorOp, source: tuple[int, LayerPlan | None, int], arch: Arch,
                  functional: bool) -> LayerEntries:
    """The VEC entries of a transpose or resize: an element-order gather, no compute (`_transpose_load`)."""
    rows, bus = arch.tile_rows, arch.dma.bus_bytes
    E = plan.entries
    g = np.arange(E, dtype=np.int64)
    p0 = g * rows
    p1 = np.minimum(plan.spec.M, p0 + rows)
    addr, prod, base_c = source
    load, src = _transpose_load(v, addr, rows, E)
    oc = plan.spec.N
    if prod is None:
        own = itm = np.zeros(0, dtype=np.int64)
    else:  # the producer m-group of every byte read, once per entry
        per = prod.entries_per_group
        owner = np.arange(src.shape[0], dtype=np.int64) // (rows * oc)
        group = src // base_c // rows
        key = unique_sorted(owner * (1 << 32) + group)
        own, itm = key >> 32, prod.first_entry + per - 1 + (key & ((1 << 32) - 1)) * per
    return _vec_entries(plan, p0, p1, load, own, itm, bus, functional)


def _vec_entries(plan: LayerPlan, p0: np.ndarray, p1: np.ndarray, load: SegList, own: np.ndarray,
                 itm: np.ndarray, bus: int, functional: bool) -> LayerEntries:
    """A vector layer's entries from their load lists and (owner, predecessor) pairs, owners ascending.

    Each entry stores its output pixels [p0, p1) from buffer address 0.
    """
    E = plan.entries
    oc = plan.spec.N
    store = SegList(np.arange(E + 1, dtype=np.int64), plan.out_addr + p0 * oc, (p1 - p0) * oc,
                    np.zeros(E, dtype=np.int64), np.zeros(E, dtype=bool))
    beats = {op: np.zeros(E, dtype=np.int64) for op in OPS}
    moved = {op: np.zeros(E, dtype=np.int64) for op in OPS}
    for op, sl in (("load_a", load), ("store_c", store)):
        beats[op] = sum_per_owner(segment_beats(sl.mem_addr, sl.length, sl.zero, bus), sl.ptr)
        moved[op] = sum_per_owner(sl.length, sl.ptr)
    counts = np.bincount(own, minlength=E).astype(np.int64)
    empty = SegList(np.zeros(E + 1, dtype=np.int64), *(np.zeros(0, dtype=np.int64),) * 3, np.zeros(0, dtype=bool))
    return LayerEntries(kind=np.full(E, EntryKind.VEC, dtype=np.uint8),
                        tile_id=plan.first_tile + np.arange(E, dtype=np.int64),
                        m=(p1 - p0).astype(np.int32), n=np.full(E, oc, dtype=np.int32),
                        k=np.zeros(E, dtype=np.int32), load_c=np.zeros(E, dtype=np.bool_),
                        store_mode=np.zeros(E, dtype=np.uint8), pred_counts=counts, pred_idx=itm,
                        beats=beats, bytes=moved,
                        segments={"load_a": load, "store_c": store, "load_b": empty, "load_c": empty}
                        if functional else None)


def compile_graph(name: str, seed: int, graph: GraphSpec, arch: Arch, file: str, functional: bool,
                  limits: RunLimits) -> TileProgram:
    """Lower a validated graph to a TileProgram (entries in compile order)."""
    plans, addr_of, memory_size = plan_graph(graph, arch, file)
    base = _bases(graph)
    plan_of = {n.name: p for n, p in zip(graph.nodes, plans) if p is not None}
    channels = {graph.input_name: graph.input_shape[2], **{n.name: n.shape[2] for n in graph.nodes}}
    mac = tuple(p for n, p in zip(graph.nodes, plans) if p is not None and n.layer is not None)
    n_entries = sum(p.entries for p in plans if p is not None)
    budget = layers_budget(file, Layout(mac, 0, (1, 1), memory_size, sum(p.entries for p in mac)),
                           arch, limits, functional)
    vec_entries = n_entries - sum(p.entries for p in mac)
    budget.add(vec_entries * PER_ENTRY, f"{vec_entries:,} vector entries")
    if functional:
        budget.add(PER_DMA_BYTE * 2 * memory_size, "the vector unit's copy plans")
    sources = {n.name: [(addr_of[base[t]], plan_of.get(base[t]), channels[base[t]]) for t in n.inputs]
               for n in graph.nodes if n.vec is not None}
    for n, p in zip(graph.nodes, plans):
        if n.vec is None or p is None:
            continue
        if n.vec.op in GATHERS:  # a byte-by-byte gather plan
            budget.add((PER_SEGMENT + 2 * PER_DMA_BYTE) * p.spec.M * p.spec.N,
                       f"the gather plan of {n.vec.op} {n.name!r}")
        else:  # deduplicating the dependencies takes several int64 per item
            deps = vector_dependencies(p, n.vec, sources[n.name], arch.tile_rows)
            budget.add(PER_EDGE * deps, f"the dependencies of layer {n.name!r}")
    budget.check("layers", "the whole program")
    parts: list[LayerEntries] = []
    used: list[LayerPlan] = []
    collectors = {op: SegmentCollector() for op in OPS} if functional else None
    vector_ops: dict[int, VectorOp] = {}
    for node, plan in zip(graph.nodes, plans):
        if plan is None:
            continue
        if node.vec is not None:
            part = lower_vector(plan, node.vec, sources[node.name], arch, functional)
            vector_ops[plan.index] = node.vec
        else:
            part = lower_layer(plan, plan_of.get(base[node.inputs[0]]), arch, seed, functional, budget)
            if node.heads:  # matmul: B is the second input tensor, not weights
                b = base[node.inputs[1]]
                part = patch_b(part, plan, arch, addr_of[b], plan_of.get(b), channels[b], node.transpose_b,
                               functional)
        if collectors is not None and part.segments is not None:
            for op in OPS:
                collectors[op].add(part.segments[op])
            part.segments = None
        parts.append(part)
        used.append(plan)

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(p, attr) for p in parts])

    kind = cat("kind")
    layer = np.concatenate([np.full(p.entries, p.index, dtype=np.int32) for p in used])
    shift = np.concatenate([np.full(p.entries, p.spec.shift, dtype=np.uint8) for p in used])
    shift[kind != EntryKind.TILE] = 0
    program = TileProgram(
        name=name, seed=seed, kind=kind, tile_id=cat("tile_id"), layer=layer,
        m=cat("m"), n=cat("n"), k=cat("k"), load_c=cat("load_c"), store_mode=cat("store_mode"),
        shift=shift, preds=Csr(ptr=ptr_from_counts(cat("pred_counts")), idx=cat("pred_idx")),
        succs=Csr(ptr=np.zeros(1, dtype=np.int64), idx=np.zeros(0, dtype=np.int64)),
        beats={op: np.concatenate([p.beats[op] for p in parts]) for op in OPS},
        bytes={op: np.concatenate([p.bytes[op] for p in parts]) for op in OPS},
        segments={op: c.build() for op, c in collectors.items()} if collectors is not None else None,
        memory_size=memory_size, vector_ops=vector_ops)
    program.info["form"] = "graph"
    program.info["layers"] = [_layer_info(n, p) for n, p in zip(graph.nodes, plans)]
    for n, p in zip(graph.nodes, plans):
        if p is not None:
            program.outputs.append(OutputRegion(n.name, p.out_addr, "int32" if p.last and n.layer else "int8",
                                                (p.spec.M, p.spec.N)))
    if functional:
        h, w, c = graph.input_shape
        program.memory_image.append((0, data.layer_input(seed, h * w, c).tobytes()))
        for n, p in zip(graph.nodes, plans):
            if p is not None and n.vec is not None and n.vec.op == "lut":
                program.memory_image.append((p.w_addr, np.array(n.vec.table, dtype=np.int8).tobytes()))
            if p is not None and n.layer is not None and not n.heads:
                wt = graph.weights.get(n.name)
                if wt is None:
                    wt = data.layer_weights_t(seed, p.index, p.spec.N, p.spec.K)
                program.memory_image.append((p.w_addr, wt.tobytes()))
    return program


def _layer_info(node: GraphNode, p: LayerPlan | None) -> dict[str, object]:
    """A layer's row of `program.info["layers"]` (aliases: no entries)."""
    if p is None:
        return {"name": node.name, "op": node.op, "M": 0, "N": 0, "K": 0, "tiles": 0, "joins": 0,
                "first_entry": -1, "inputs": list(node.inputs)}
    s = p.spec
    row: dict[str, object] = {"name": s.name, "op": node.op, "M": s.M, "N": s.N, "K": s.K,
                              "m_groups": p.m_groups, "n_groups": p.n_groups, "k_chunks": p.k_chunks,
                              "chunk": p.chunk, "tiles": p.tiles if node.layer else 0,
                              "joins": p.m_groups if p.join else 0, "first_entry": p.first_entry,
                              "inputs": list(node.inputs)}
    if node.vec is not None:
        row["vector_entries"] = p.entries
    if s.is_conv:
        row.update({"out_h": s.out_h, "out_w": s.out_w})
        if s.groups > 1:
            row["groups"] = s.groups
    return row
