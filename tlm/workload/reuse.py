"""Operand reuse (`[engine] reuse`): block ids and the reuse tile order.

docs/microarch.md, "Operand reuse", is the contract. A tile's A block is
its (layer, m-group, conv group, K-chunk) unit and its B block its
(layer, n-group, K-chunk) unit: two tiles of one unit load the very same
bytes into the very same scratchpad lanes, so an engine that still holds the
block skips the load. Ids are global (unique across layers); -1 marks an
entry that is never reusable (joins, every tile of the tiles form, whose
operands each have their own region).

Each layer's tiles are reordered so that consecutive tiles share a block:
*weight-major* (n-group, K-chunk, m-group: one B block for a whole sweep of
m-groups) or *input-major* (m-group, K-chunk, n-group: one A block for a
sweep of n-groups), whichever loads fewer bytes; weight-major on a tie. A
layer's joins move right after the last tile of their m-group. Layers keep
their place, so the order stays topological (a tile's previous K-chunk is in
the previous sweep; producers are in earlier layers).
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


def apply_reuse(program: TileProgram) -> TileProgram:
    """The layers-form `program` with block ids, in the reuse tile order.

    Tile ids are renumbered 0, 1, 2 ... in the new program order (joins keep
    -1); `info["layers"][i]["reuse_order"]` names each layer's order.
    """
    layers: list[dict[str, Any]] = program.info["layers"]  # type: ignore[assignment]
    n = program.entries
    a_block = np.full(n, -1, dtype=np.int64)
    b_block = np.full(n, -1, dtype=np.int64)
    order = np.arange(n, dtype=np.int64)
    a_base = b_base = 0
    for meta in layers:
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
        # Bytes loaded: every tile loads the operand that changes along the
        # sweep, and each block of the shared operand once.
        weight_cost = int(a_bytes[tile].sum()) + _unique_bytes(u["unit_b"][tile], b_bytes[tile])
        input_cost = int(b_bytes[tile].sum()) + _unique_bytes(u["unit_a"][tile], a_bytes[tile])
        weight = weight_cost <= input_cost
        meta["reuse_order"] = WEIGHT_MAJOR if weight else INPUT_MAJOR
        mgs = int(meta["m_groups"])
        ngs, nc = int(meta["n_groups"]), int(meta["k_chunks"])
        if weight:
            pos = (u["ng"] * nc + u["c"]) * mgs + u["mg"]
        else:
            pos = (u["mg"] * nc + u["c"]) * ngs + u["ng"]
        key = 2 * pos
        if u["join"].any():
            # a join right after its m-group's last tile (ng, c both last)
            last = (((ngs - 1) * nc + nc - 1) * mgs + u["mg"]) if weight else \
                ((u["mg"] * nc + nc - 1) * ngs + ngs - 1)
            key = np.where(u["join"], 2 * last + 1, key)
        order[first:first + size] = first + np.argsort(key, kind="stable")
    out = permute_entries(program, order) if not np.array_equal(order, np.arange(n)) else program
    out.a_block, out.b_block = a_block[order], b_block[order]
    tiles = out.kind == EntryKind.TILE
    tile_id = np.full(n, -1, dtype=np.int64)
    tile_id[tiles] = np.arange(int(tiles.sum()), dtype=np.int64)
    out.tile_id = tile_id
    return out


def no_reuse_blocks(program: TileProgram) -> TileProgram:
    """`program` with block ids that never match (the tiles form: every operand has its own region)."""
    program.a_block = np.full(program.entries, -1, dtype=np.int64)
    program.b_block = np.full(program.entries, -1, dtype=np.int64)
    return program
