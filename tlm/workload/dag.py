"""The dependency DAG of a tile program: depth, critical path, networkx view.

Longest paths are computed on the CSR arrays with a frontier (Kahn) sweep:
each step takes every entry whose predecessors are all finished, so the work
is O(entries + edges) numpy operations in as many steps as the DAG is deep
(long narrow stretches are finished by a plain pass in topological order),
and no topological order is assumed. `admission_order` is the order the
compiler gives the entries of the tiles form (which may list a tile before
one it depends on): topological, lowest file position first when free.
"""

from __future__ import annotations

import copy
import heapq

import networkx as nx
import numpy as np

from tlm.workload.program import Csr, EntryKind, Segments, TileProgram
from tlm.workload.segments import ptr_from_counts, range_index


def transpose(preds: Csr, entries: int) -> Csr:
    """Successor lists (ascending) from predecessor lists."""
    owner = np.repeat(np.arange(entries, dtype=np.int64), np.diff(preds.ptr))
    order = np.argsort(preds.idx, kind="stable")
    counts = np.bincount(preds.idx, minlength=entries).astype(np.int64)
    return Csr(ptr=ptr_from_counts(counts), idx=owner[order])


def longest_paths(preds: Csr, succs: Csr, weight: np.ndarray, *, narrow_after: int = 64) -> np.ndarray:
    """Per entry, the heaviest path ending at it (its own weight included).

    Wide DAGs (layers: a few steps of many entries) go level by level in
    numpy. A numpy step costs tens of microseconds however small its
    frontier, so once `narrow_after` steps have averaged fewer than 64
    entries each (a long chain), the rest is finished in one plain pass in
    topological order.

    Raises:
        ValueError: the graph has a cycle.
    """
    n = int(weight.shape[0])
    weight = weight.astype(np.int64, copy=False)
    pending = np.diff(preds.ptr).astype(np.int64)
    best_in = np.zeros(n, dtype=np.int64)
    dist = np.zeros(n, dtype=np.int64)
    succ_count = np.diff(succs.ptr)
    frontier = np.flatnonzero(pending == 0)
    finished = steps = 0
    while frontier.shape[0]:
        dist[frontier] = best_in[frontier] + weight[frontier]
        finished += frontier.shape[0]
        steps += 1
        cnt = succ_count[frontier]
        nxt = succs.idx[range_index(succs.ptr[frontier], cnt)]
        if nxt.shape[0] == 0:
            break
        np.maximum.at(best_in, nxt, np.repeat(dist[frontier], cnt))
        touched, dec = np.unique(nxt, return_counts=True)
        pending[touched] -= dec
        frontier = touched[pending[touched] == 0]
        if steps >= narrow_after and finished < 64 * steps:
            return _finish_longest(preds, weight, dist, frontier, pending)
    if finished < n:
        raise ValueError("dependency graph has a cycle")
    return dist


def _finish_longest(preds: Csr, weight: np.ndarray, dist: np.ndarray, frontier: np.ndarray,
                    pending: np.ndarray) -> np.ndarray:
    """`longest_paths` for the entries not finished yet, in one pass in topological order."""
    todo = pending > 0
    todo[frontier] = True
    order = admission_order(preds, int(weight.shape[0]))  # raises on a cycle
    d = dist.tolist()
    pp, pi, w = preds.ptr.tolist(), preds.idx.tolist(), weight.tolist()
    for e in order[todo[order]].tolist():
        d[e] = w[e] + max((d[p] for p in pi[pp[e]:pp[e + 1]]), default=0)
    return np.array(d, dtype=np.int64)


def critical_path(program: TileProgram, weight: np.ndarray) -> int:
    """Longest path through the DAG with per-entry weights (joins weigh 0, VEC entries count).

    Args:
        program: the compiled program.
        weight: one non-negative weight per entry (e.g. cycles per tile).
    """
    w = np.where(program.kind != EntryKind.JOIN, weight, 0)  # tiles and vector entries
    if program.entries == 0:
        return 0
    return int(longest_paths(program.preds, program.succs, w).max())


def depth(program: TileProgram) -> int:
    """Tiles on the longest dependency chain."""
    return critical_path(program, np.ones(program.entries, dtype=np.int64))


def topological_order(program: TileProgram) -> list[int]:
    """Entries in a dependency-respecting order, lowest index first when free."""
    return admission_order(program.preds, program.entries).tolist()  # type: ignore[no-any-return]


def is_topological(preds: Csr) -> bool:
    """Whether every entry's predecessors come before it."""
    owner = np.repeat(np.arange(preds.ptr.shape[0] - 1, dtype=np.int64), np.diff(preds.ptr))
    return bool(np.all(preds.idx < owner))


def admission_order(preds: Csr, entries: int) -> np.ndarray:
    """The deterministic topological order: among free entries, the lowest index first.

    Kahn's algorithm with a heap, O(E log V); an order that is already
    topological is returned as is (the common case, checked with numpy).

    Returns:
        int64 [entries]: the entry indices in order.

    Raises:
        ValueError: the graph has a cycle.
    """
    if is_topological(preds):
        return np.arange(entries, dtype=np.int64)
    succs = transpose(preds, entries)
    pending = np.diff(preds.ptr).tolist()
    sp, si = succs.ptr.tolist(), succs.idx.tolist()
    heap = [i for i, p in enumerate(pending) if p == 0]  # ascending: already a heap
    order: list[int] = []
    push, pop, emit = heapq.heappush, heapq.heappop, order.append
    while heap:
        x = pop(heap)
        emit(x)
        for s in si[sp[x]:sp[x + 1]]:
            pending[s] -= 1
            if not pending[s]:
                push(heap, s)
    if len(order) < entries:
        raise ValueError("dependency graph has a cycle")
    return np.array(order, dtype=np.int64)


def permute_entries(program: TileProgram, order: np.ndarray) -> TileProgram:
    """A copy of `program` with its entries in `order` (order[e] = old index of entry e).

    Dependencies, segment lists, beats and bytes follow their entries; memory,
    outputs and the reference are unchanged. The compiler never needs this
    (it emits a topological order directly); it exists to build programs in
    other admission orders, e.g. to exercise the scheduler's deadlock report.
    """
    n = program.entries
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError("order must be a permutation of the entries")
    new_of = np.empty(n, dtype=np.int64)
    new_of[order] = np.arange(n, dtype=np.int64)

    def csr(c: Csr) -> Csr:
        counts = np.diff(c.ptr)[order]
        items = new_of[c.idx[range_index(c.ptr[order], counts)]]
        owner = np.repeat(np.arange(n, dtype=np.int64), counts)
        return Csr(ptr=ptr_from_counts(counts), idx=items[np.lexsort((items, owner))])

    segments = None
    if program.segments is not None:
        segments = {}
        for op, seg in program.segments.items():
            counts = np.diff(seg.ptr)[order]
            rows = range_index(seg.ptr[order], counts)
            segments[op] = Segments(ptr=ptr_from_counts(counts), mem_addr=seg.mem_addr[rows],
                                    length=seg.length[rows], local_addr=seg.local_addr[rows],
                                    zero=seg.zero[rows])
    out = copy.copy(program)
    for name in ("kind", "tile_id", "layer", "m", "n", "k", "load_c", "store_mode", "shift"):
        setattr(out, name, getattr(program, name)[order])
    out.preds, out.succs = csr(program.preds), csr(program.succs)
    out.beats = {op: v[order] for op, v in program.beats.items()}
    out.bytes = {op: v[order] for op, v in program.bytes.items()}
    out.segments = segments
    if program.a_block is not None and program.b_block is not None:
        out.a_block, out.b_block = program.a_block[order], program.b_block[order]
    if program.b_slot is not None:
        out.b_slot = program.b_slot[order]
    out.info = dict(program.info)
    return out


def tile_dag(program: TileProgram) -> nx.DiGraph:
    """Tiles-only DAG (joins expanded into direct edges) for small programs.

    Nodes are entry indices with attributes `tile_id`, `layer`, `m`, `n`, `k`;
    an edge p -> t means t waits for p.
    """
    kind = program.kind
    tiles_of: dict[int, set[int]] = {}

    def tile_preds(entry: int) -> set[int]:
        out: set[int] = set()
        for p in program.preds.of(entry).tolist():
            if kind[p] == EntryKind.TILE:
                out.add(p)
            else:
                if p not in tiles_of:
                    tiles_of[p] = tile_preds(p)
                out |= tiles_of[p]
        return out

    g = nx.DiGraph()
    for e in np.flatnonzero(kind == EntryKind.TILE).tolist():
        g.add_node(e, tile_id=int(program.tile_id[e]), layer=int(program.layer[e]),
                   m=int(program.m[e]), n=int(program.n[e]), k=int(program.k[e]))
    for e in list(g.nodes):
        g.add_edges_from((p, e) for p in tile_preds(e))
    return g


def admission_deadlock(program: TileProgram, table_depth: int) -> int | None:
    """Whether in-order admission into a `table_depth`-entry table can deadlock.

    Completing a ready entry never hurts, so deadlock does not depend on
    timing: greedily admit in program order and complete whatever is ready.

    Returns:
        None when the program always runs to the end, otherwise the index of
        the first entry that can never be admitted.
    """
    n = program.entries
    pp, pi = program.preds.ptr.tolist(), program.preds.idx.tolist()
    sp, si = program.succs.ptr.tolist(), program.succs.idx.tolist()
    done = [False] * n
    admitted = [False] * n
    pending = [0] * n
    ready: list[int] = []
    in_table = nxt = 0
    while nxt < n or in_table:
        while nxt < n and in_table < table_depth:
            pending[nxt] = sum(1 for p in pi[pp[nxt]:pp[nxt + 1]] if not done[p])
            admitted[nxt] = True
            in_table += 1
            if pending[nxt] == 0:
                ready.append(nxt)
            nxt += 1
        if not ready:
            return nxt if nxt < n else done.index(False)
        x = ready.pop()
        done[x] = True
        in_table -= 1
        for s in si[sp[x]:sp[x + 1]]:
            if admitted[s]:
                pending[s] -= 1
                if pending[s] == 0:
                    ready.append(s)
    return None
