"""Operand reuse (`[engine] reuse`): block ids and the reuse tile order.

docs/microarch.md, "Operand reuse", is the contract. A tile's A block is
its (layer, m-group, conv group, K-chunk) unit and its B block its
(layer, n-group, K-chunk) unit: two tiles of one unit load the very same
bytes into the very same scratchpad lanes, so an engine that still holds the
block skips the load. Ids are global (unique across layers); -1 marks an
entry that is never reusable (joins, every tile of the tiles form, whose
operands each have their own region, and in graph workloads the vector
unit's entries).

Each layer's tiles are reordered so that consecutive tiles share a block:
*weight-major* (n-group, K-chunk, m-group: one B block for a whole sweep of
m-groups) or *input-major* (m-group, K-chunk, n-group: one A block for a
sweep of n-groups), whichever loads fewer bytes; weight-major on a tie. A
layer's joins move right after the last tile of their m-group. Layers keep
their place, so the order stays topological (a tile's previous K-chunk is in
the previous sweep; producers are in earlier layers).

With S > 1 B slots (`[engine] reuse_slots`, "Several B blocks resident") a
weight-major sweep covers a chunk of S n-groups (slot = n-group mod S) and
runs the chunk's n-groups back to back per m-group, so they share the A
block; input-major places B blocks by Belady's rule. The order is chosen by
the bytes it loads when run in program order on one engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tlm.workload.dag import permute_entries
from tlm.workload.program import EntryKind, TileProgram

WEIGHT_MAJOR = "weight"
INPUT_MAJOR = "input"


def _layer_units(meta: dict[str, Any]) -> dict[str, np.ndarray]:
    """mg, ng, c, join, unit_a, unit_b (layer-local) of every entry of a layer."""
    mgs, ngs, nc = int(meta["m_groups"]), int(meta["n_groups"]), int(meta["k_chunks"])
    groups = int(meta.get("groups", 1))
    join = int(meta["joins"]) > 0
    per = ngs * nc + int(join)
    e = np.arange(mgs * per, dtype=np.int64)
    mg, r = e // per, e % per
    is_join = (r == per - 1) if join else np.zeros(e.shape[0], dtype=bool)
    ng, c = r // nc, r % nc
    grp = ng // (ngs // groups)
    return {"mg": mg, "ng": ng, "c": c, "join": is_join,
            "unit_a": (mg * groups + grp) * nc + c, "unit_b": ng * nc + c}


def _unique_bytes(unit: np.ndarray, moved: np.ndarray) -> int:
    _, first = np.unique(unit, return_index=True)
    return int(moved[first].sum())


def _order_keys(u: dict[str, np.ndarray], weight: bool, mgs: int, ngs: int, nc: int,
                chunk: int) -> np.ndarray:
    """Sort keys of a layer's entries: weight-major in n-chunks of `chunk` n-groups, or input-major.

    Weight-major: sweeps (n-chunk, K-chunk) x m-groups x the chunk's n-groups
    (chunk 1: (n-group, K-chunk) x m-groups). A join sorts right after its
    m-group's last tile.
    """
    mg, ng, c = u["mg"], u["ng"], u["c"]
    if weight:
        pos = ((ng // chunk * nc + c) * mgs + mg) * chunk + ng % chunk
        last = (((ngs - 1) // chunk * nc + nc - 1) * mgs + mg) * chunk + (ngs - 1) % chunk
    else:
        pos = (mg * nc + c) * ngs + ng
        last = (mg * nc + nc - 1) * ngs + ngs - 1
    return np.where(u["join"], 2 * last + 1, 2 * pos) if u["join"].any() else 2 * pos


def belady_slots(seq: np.ndarray, slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Slot of each use of block `seq[i]` and whether it is a miss (a load), by Belady's rule.

    A block not resident goes to the lowest free slot, else to the slot whose
    block is next used furthest ahead (never again counts as furthest; the
    lowest slot on a tie). Optimal in loads for blocks of one size.
    """
    n = seq.shape[0]
    pos = np.arange(n, dtype=np.int64)
    by = np.lexsort((pos, seq))
    nxt_sorted = np.full(n, n, dtype=np.int64)
    same = seq[by][1:] == seq[by][:-1]
    nxt_sorted[:-1][same] = by[1:][same]
    nxt = np.empty(n, dtype=np.int64)
    nxt[by] = nxt_sorted
    held = [-1] * slots
    held_next = [-1] * slots
    where: dict[int, int] = {}
    slot_of = np.empty(n, dtype=np.int64)
    miss = np.zeros(n, dtype=bool)
    for i, (b, nu) in enumerate(zip(seq.tolist(), nxt.tolist())):
        s = where.get(b)
        if s is None:
            miss[i] = True
            s = held.index(-1) if -1 in held else held_next.index(max(held_next))
            if held[s] != -1:
                del where[held[s]]
            held[s] = b
            where[b] = s
        held_next[s] = nu
        slot_of[i] = s
    return slot_of, miss


def _a_misses(seq: np.ndarray) -> np.ndarray:
    """Loads of the one A slot: a tile whose A block differs from the previous tile's."""
    miss = np.ones(seq.shape[0], dtype=bool)
    miss[1:] = seq[1:] != seq[:-1]
    return miss


def _slot_misses(seq: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Loads of blocks placed statically: a use whose slot last held another block."""
    n = seq.shape[0]
    by = np.lexsort((np.arange(n), slot))
    miss_sorted = np.ones(n, dtype=bool)
    miss_sorted[1:] = (seq[by][1:] != seq[by][:-1]) | (slot[by][1:] != slot[by][:-1])
    miss = np.empty(n, dtype=bool)
    miss[by] = miss_sorted
    return miss


def _plan(u: dict[str, np.ndarray], weight: bool, dims: tuple[int, int, int], slots: int,
          a_bytes: np.ndarray, b_bytes: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(bytes loaded, local order, B slot per local entry) of one order with `slots` B slots,
    run in program order on one engine."""
    mgs, ngs, nc = dims
    perm = np.argsort(_order_keys(u, weight, mgs, ngs, nc, slots if weight else 1), kind="stable")
    tile = ~u["join"][perm]
    tiles = perm[tile]
    seq_a, seq_b = u["unit_a"][tiles], u["unit_b"][tiles]
    if weight:
        slot = u["ng"][tiles] % slots
        b_miss = _slot_misses(seq_b, slot)
    else:
        slot, b_miss = belady_slots(seq_b, slots)
    cost = int(a_bytes[tiles][_a_misses(seq_a)].sum()) + int(b_bytes[tiles][b_miss].sum())
    slot_local = np.zeros(perm.shape[0], dtype=np.int64)
    slot_local[tiles] = slot
    return cost, perm, slot_local


def _reusable(meta: dict[str, Any]) -> bool:
    """A layer on the MAC arrays (conv2d, gemm, matmul: entries laid out as in the layers form).

    Graph workloads add vector layers and aliases (no entries): they keep -1.
    A matmul is a grouped 1x1 convolution (a group per head) whose B is an
    activation written once before any of its readers runs, so its blocks
    are as constant as weights.
    """
    return (int(meta.get("first_entry", -1)) >= 0 and "m_groups" in meta
            and "vector_entries" not in meta)


def apply_reuse(program: TileProgram, slots: int = 1, slot_bytes: int = 0) -> TileProgram:
    """`program` (layers or graph form) with block ids, in the reuse tile order.

    Tile ids are renumbered 0, 1, 2 ... in the new program order over the
    entries that have one (joins keep -1; vector-unit entries keep their
    place in the count); `info["layers"][i]["reuse_order"]` names each
    reordered layer's order. With `slots` > 1 B slots (`[engine]
    reuse_slots`) every tile also gets a B slot (`b_slot`) and its load_b
    segments move `slot * slot_bytes` up.
    """
    layers: list[dict[str, Any]] = program.info["layers"]  # type: ignore[assignment]
    n = program.entries
    a_block = np.full(n, -1, dtype=np.int64)
    b_block = np.full(n, -1, dtype=np.int64)
    b_slot = np.zeros(n, dtype=np.int64)
    order = np.arange(n, dtype=np.int64)
    a_base = b_base = 0
    for meta in layers:
        if not _reusable(meta):
            continue
        u = _layer_units(meta)
        first = int(meta["first_entry"])
        size = u["mg"].shape[0]
        glob = np.arange(first, first + size)
        tile = ~u["join"]
        a_block[glob[tile]] = a_base + u["unit_a"][tile]
        b_block[glob[tile]] = b_base + u["unit_b"][tile]
        a_base += int(meta["m_groups"]) * int(meta.get("groups", 1)) * int(meta["k_chunks"])
        b_base += int(meta["n_groups"]) * int(meta["k_chunks"])
        a_bytes = program.bytes["load_a"][glob]
        b_bytes = program.bytes["load_b"][glob]
        dims = (int(meta["m_groups"]), int(meta["n_groups"]), int(meta["k_chunks"]))
        if slots == 1:
            # Bytes loaded: every tile loads the operand that changes along the
            # sweep, and each block of the shared operand once.
            weight_cost = int(a_bytes[tile].sum()) + _unique_bytes(u["unit_b"][tile], b_bytes[tile])
            input_cost = int(b_bytes[tile].sum()) + _unique_bytes(u["unit_a"][tile], a_bytes[tile])
            weight = weight_cost <= input_cost
            perm = np.argsort(_order_keys(u, weight, *dims, 1), kind="stable")
        else:
            plans = [_plan(u, w, dims, slots, a_bytes, b_bytes) for w in (True, False)]
            weight = plans[0][0] <= plans[1][0]
            _, perm, slot_local = plans[0] if weight else plans[1]
            b_slot[glob] = slot_local  # by entry; permuted below with `order`
        meta["reuse_order"] = WEIGHT_MAJOR if weight else INPUT_MAJOR
        order[first:first + size] = first + perm
    out = permute_entries(program, order) if not np.array_equal(order, np.arange(n)) else program
    out.a_block, out.b_block = a_block[order], b_block[order]
    if slots > 1:
        out.b_slot = b_slot[order]
        _move_b_segments(out, slot_bytes)
    counted = out.kind != EntryKind.JOIN
    tile_id = np.full(n, -1, dtype=np.int64)
    tile_id[counted] = np.arange(int(counted.sum()), dtype=np.int64)
    out.tile_id = tile_id
    return out


def _move_b_segments(program: TileProgram, slot_bytes: int) -> None:
    """Shift every tile's load_b segments into the lanes of its B slot."""
    if program.segments is None or program.b_slot is None:
        return
    seg = program.segments["load_b"]
    shift = np.repeat(program.b_slot * slot_bytes, np.diff(seg.ptr))
    seg.local_addr = (seg.local_addr.astype(np.int64) + shift).astype(seg.local_addr.dtype)


def no_reuse_blocks(program: TileProgram) -> TileProgram:
    """`program` with block ids that never match (the tiles form: every operand has its own region)."""
    program.a_block = np.full(program.entries, -1, dtype=np.int64)
    program.b_block = np.full(program.entries, -1, dtype=np.int64)
    return program
