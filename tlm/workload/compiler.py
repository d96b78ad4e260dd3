"""Workload -> TileProgram: assembling the per-layer lowerings into one program.

`compile_spec` is the whole compiler behind `tlm.workload.compile_workload`.
The layers form is lowered layer by layer (`tlm.workload.lowering`) and
concatenated; the tiles form maps each tile to one entry, in the
deterministic topological order that takes the lowest file position first
among the tiles whose predecessors are all placed (file order when that is
already topological). Either way every entry comes after its predecessors,
which is what makes in-order admission deadlock-free at any table depth. In
timing-only mode (`functional=False`) no operand data is drawn and segment
lists are dropped once beats and bytes are known, which keeps full-size
networks (VGG-16: ~850k tiles) within seconds and a few hundred MiB.

Layers form: tile ids are 0, 1, 2 ... in program order (joins have id -1);
every layer's output is an `OutputRegion` named after the layer (int8
`M x N`, the last layer int32). Tiles form: tile ids are the user's ids and
tile `id`'s C is the int32 region `tile<id>`; A_t (m x k) and B_t stored
transposed (n x k) occupy their own regions, in file order, and a tile's
data is drawn from its file position (so reordering changes no value).
"""

from __future__ import annotations

import numpy as np

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.limits import RunLimits
from tlm.workload import data
from tlm.workload.budget import layers_budget, tiles_budget
from tlm.workload.dag import admission_order, depth, is_topological, transpose
from tlm.workload.layout import MAX_ENTRIES, align_up, plan_layers
from tlm.workload.lowering import LayerEntries, lower_layer
from tlm.workload.program import OPS, Csr, EntryKind, OutputRegion, StoreMode, TileProgram
from tlm.workload.reference import reference_outputs
from tlm.workload.reuse import apply_reuse, no_reuse_blocks
from tlm.workload.segments import (
    SegList,
    SegmentCollector,
    ptr_from_counts,
    range_index,
    row_segments,
    segment_beats,
    sum_per_owner,
)
from tlm.workload.spec import TileSpec, WorkloadSpec


def _arch_layout(arch: Arch) -> dict[str, int]:
    return {"rows": arch.tile_rows, "cols": arch.array.cols, "kmax": arch.kmax,
            "spad_bytes": arch.scratchpad.bytes, "spad_b_base": arch.spad_b_base,
            "spad_c_base": arch.spad_c_base, "bus_bytes": arch.dma.bus_bytes}


def _check_fits(file: str, where: str, memory_size: int, entries: int, arch: Arch) -> None:
    if memory_size > arch.memory.bytes:
        raise InputError(file, where, f"operands need {memory_size} bytes of external memory, "
                                      f"more than [memory] bytes = {arch.memory.bytes}")
    if entries > MAX_ENTRIES:
        raise InputError(file, where, f"lowers to {entries} tiles, more than the {MAX_ENTRIES} supported")


def compile_spec(spec: WorkloadSpec, arch: Arch, file: str, functional: bool = True,
                 limits: RunLimits | None = None) -> TileProgram:
    """Lower a validated workload to a TileProgram (see `compile_workload`)."""
    limits = limits or RunLimits()
    if spec.graph is not None:
        from tlm.workload.graph_compile import compile_graph

        program = compile_graph(spec.name, spec.seed, spec.graph, arch, file, functional, limits)
    elif spec.layers is not None:
        program = _compile_layers(spec, arch, file, functional, limits)
    else:
        program = _compile_tiles(spec, arch, file, functional, limits)
    # The scheduler admits entries in program order, so a predecessor listed after
    # its successor can fill the dependency table with tiles that never become
    # ready. The layers form is topological by construction (a tile waits for the
    # previous K-chunk of its group and for earlier layers; a join comes right
    # after its group's final tiles); the tiles form is sorted by `_tile_order`.
    if not is_topological(program.preds):
        raise AssertionError(f"{program.name}: entries are not in a topological order")
    program.succs = transpose(program.preds, program.entries)
    if arch.engine.reuse:  # block ids, and layers in the reuse tile order (not the tiles form)
        program = no_reuse_blocks(program) if spec.layers is None and spec.graph is None \
            else apply_reuse(program, arch.engine.reuse_slots, arch.spad_slot_bytes)
    tiles = program.tiles
    program.info.update({
        "entries": program.entries,
        "tiles": tiles,
        "joins": program.entries - tiles,
        "edges": int(program.preds.idx.shape[0]),
        "depth": depth(program),
        "macs": int(np.dot(program.m.astype(np.int64) * program.n, program.k.astype(np.int64))),
        "memory_size": program.memory_size,
        "dma_bytes": {op: int(program.bytes[op].sum()) for op in OPS},
        "dma_beats": {op: int(program.beats[op].sum()) for op in OPS},
        "arch": _arch_layout(arch),
    })
    if functional:
        program.expected = reference_outputs(spec, arch)
    return program


def _empty_csr(n: int) -> Csr:
    return Csr(ptr=np.zeros(n + 1, dtype=np.int64), idx=np.zeros(0, dtype=np.int64))


def _compile_layers(spec: WorkloadSpec, arch: Arch, file: str, functional: bool,
                    limits: RunLimits) -> TileProgram:
    assert spec.layers is not None
    layout = plan_layers(spec.layers, arch)
    _check_fits(file, "layers", layout.memory_size, layout.entries, arch)
    budget = layers_budget(file, layout, arch, limits, functional)
    parts: list[LayerEntries] = []
    collectors = {op: SegmentCollector() for op in OPS} if functional else None
    prev = None
    for plan in layout.plans:
        src = None if plan.spec.fresh_input else prev
        part = lower_layer(plan, src, arch, spec.seed, functional, budget)
        if collectors is not None and part.segments is not None:
            for op in OPS:
                collectors[op].add(part.segments[op])
            part.segments = None  # the collector holds them
        parts.append(part)
        prev = plan

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(p, attr) for p in parts])

    kind = cat("kind")
    layer = np.concatenate([np.full(p.entries, p.index, dtype=np.int32) for p in layout.plans])
    shift = np.concatenate([np.full(p.entries, p.spec.shift, dtype=np.uint8) for p in layout.plans])
    shift[kind != EntryKind.TILE] = 0
    preds = Csr(ptr=ptr_from_counts(cat("pred_counts")), idx=cat("pred_idx"))
    program = TileProgram(
        name=spec.name, seed=spec.seed, kind=kind, tile_id=cat("tile_id"), layer=layer,
        m=cat("m"), n=cat("n"), k=cat("k"), load_c=cat("load_c"), store_mode=cat("store_mode"),
        shift=shift, preds=preds, succs=_empty_csr(0),
        beats={op: np.concatenate([p.beats[op] for p in parts]) for op in OPS},
        bytes={op: np.concatenate([p.bytes[op] for p in parts]) for op in OPS},
        segments={op: c.build() for op, c in collectors.items()} if collectors is not None else None,
        memory_size=layout.memory_size)
    program.info["form"] = "layers"
    program.info["layers"] = [
        {"name": p.spec.name, "op": p.spec.op, "M": p.spec.M, "N": p.spec.N, "K": p.spec.K,
         "m_groups": p.m_groups, "n_groups": p.n_groups, "k_chunks": p.k_chunks, "chunk": p.chunk,
         "tiles": p.tiles, "joins": p.m_groups if p.join else 0, "first_entry": p.first_entry,
         **({"out_h": p.spec.out_h, "out_w": p.spec.out_w} if p.spec.is_conv else {}),
         **({"groups": p.spec.groups} if p.spec.groups > 1 else {})}
        for p in layout.plans]
    for p in layout.plans:
        program.outputs.append(OutputRegion(p.spec.name, p.out_addr, "int32" if p.last else "int8",
                                            (p.spec.M, p.spec.N)))
    if functional:
        program.memory_image.append(
            (layout.input_addr, data.layer_input(spec.seed, *layout.input_shape).tobytes()))
        for p in layout.plans:
            if p.spec.fresh_input and p.index > 0:
                program.memory_image.append(
                    (p.in_addr, data.layer_input(spec.seed, *p.spec.input_shape, p.index).tobytes()))
            program.memory_image.append((p.w_addr, data.layer_weights_t(spec.seed, p.index, p.spec.N,
                                                                        p.spec.K).tobytes()))
    return program


def _tile_order(tiles: tuple[TileSpec, ...], file: str) -> tuple[np.ndarray, Csr]:
    """Admission order of the tiles form and its predecessor lists over entries.

    Returns:
        (order, preds): order[e] is the file position of entry e; preds are
        entry indices, ascending per entry.
    """
    n_e = len(tiles)
    counts = np.fromiter((len(t.deps) for t in tiles), dtype=np.int64, count=n_e)
    idx = np.fromiter((d for t in tiles for d in t.deps), dtype=np.int64, count=int(counts.sum()))
    file_preds = Csr(ptr=ptr_from_counts(counts), idx=idx)
    try:
        order = admission_order(file_preds, n_e)
    except ValueError:
        raise InputError(file, "tiles", "dependency cycle") from None  # the parser names one first
    if np.array_equal(order, np.arange(n_e)):
        return order, file_preds
    entry_of = np.empty(n_e, dtype=np.int64)
    entry_of[order] = np.arange(n_e, dtype=np.int64)
    new_counts = counts[order]
    rows = range_index(file_preds.ptr[order], new_counts)
    owner = np.repeat(np.arange(n_e, dtype=np.int64), new_counts)
    pred = entry_of[idx[rows]]
    pred = pred[np.lexsort((pred, owner))]  # ascending per entry, as the layers form has them
    return order, Csr(ptr=ptr_from_counts(new_counts), idx=pred)


def _compile_tiles(spec: WorkloadSpec, arch: Arch, file: str, functional: bool,
                   limits: RunLimits) -> TileProgram:
    assert spec.tiles is not None
    tiles = spec.tiles
    n_e = len(tiles)
    m = np.array([t.m for t in tiles], dtype=np.int64)
    n = np.array([t.n for t in tiles], dtype=np.int64)
    k = np.array([t.k for t in tiles], dtype=np.int64)
    tiles_budget(file, tiles, arch, limits, functional)
    # regions A_t, B_t, C_t per tile in file order, each 64-byte aligned
    sizes = np.stack([m * k, n * k, m * n * 4], axis=1)
    aligned = (sizes + 63) // 64 * 64
    starts = np.concatenate([[0], np.cumsum(aligned.ravel())[:-1]]).reshape(n_e, 3)
    memory_size = align_up(int(aligned.sum()))
    _check_fits(file, "tiles", memory_size, n_e, arch)
    a_file, b_file, c_file = starts[:, 0], starts[:, 1], starts[:, 2]
    # Entries in admission order: every tile after the tiles it waits for, so no
    # table depth can fill up with tiles whose predecessors are not admitted.
    order, preds = _tile_order(tiles, file)
    m, n, k = m[order], n[order], k[order]
    a_addr, b_addr, c_addr = a_file[order], b_file[order], c_file[order]
    cols, kmax = arch.array.cols, arch.kmax
    seg = {
        "load_a": row_segments(m, a_addr, k, k, np.full(n_e, kmax), 0),
        "load_b": row_segments(n, b_addr, k, k, np.full(n_e, kmax), arch.spad_b_base),
        "load_c": SegList(np.zeros(n_e + 1, dtype=np.int64), *(np.zeros(0, dtype=np.int64),) * 3,
                          np.zeros(0, dtype=bool)),
        "store_c": row_segments(m, c_addr, 4 * n, 4 * n, np.full(n_e, 4 * cols), 0),
    }
    beats, moved = {}, {}
    for op, s in seg.items():
        beats[op] = sum_per_owner(segment_beats(s.mem_addr, s.length, s.zero, arch.dma.bus_bytes), s.ptr)
        moved[op] = sum_per_owner(s.length, s.ptr)
    segments = None
    if functional:
        segments = {}
        for op, s in seg.items():
            col = SegmentCollector()
            col.add(s)
            segments[op] = col.build()
    tile_id = np.fromiter((t.id for t in tiles), dtype=np.int64, count=n_e)[order]
    program = TileProgram(
        name=spec.name, seed=spec.seed, kind=np.full(n_e, EntryKind.TILE, dtype=np.uint8),
        tile_id=tile_id, layer=np.full(n_e, -1, dtype=np.int32),
        m=m.astype(np.int32), n=n.astype(np.int32), k=k.astype(np.int32),
        load_c=np.zeros(n_e, dtype=bool), store_mode=np.full(n_e, StoreMode.INT32, dtype=np.uint8),
        shift=np.zeros(n_e, dtype=np.uint8), preds=preds,
        succs=_empty_csr(0), beats=beats, bytes=moved, segments=segments, memory_size=memory_size)
    program.info["form"] = "tiles"
    program.info["layers"] = []
    # outputs and operand data stay in file order: tile i's data is drawn from its file position
    for i, t in enumerate(tiles):
        program.outputs.append(OutputRegion(f"tile{t.id}", int(c_file[i]), "int32", (t.m, t.n)))
        if functional:
            program.memory_image.append((int(a_file[i]), data.tile_a(spec.seed, i, t.m, t.k).tobytes()))
            program.memory_image.append((int(b_file[i]), data.tile_b_t(spec.seed, i, t.n, t.k).tobytes()))
    return program
