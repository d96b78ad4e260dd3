"""DAG summaries: depth, critical path, tiles-only networkx view, admission deadlock."""

from __future__ import annotations

import networkx as nx
import pytest
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch
from tlm.workload import admission_deadlock, compile_workload, critical_path, tile_dag
from tlm.workload.dag import permute_entries
from tlm.workload.program import EntryKind

FMT = "tlm-workload/1"


def tiles_workload(deps: list[list[int]]) -> dict:
    return {"format": FMT, "seed": 3,
            "tiles": [{"id": 10 * i, "m": 2, "n": 3, "k": 5, "deps": [10 * d for d in ds]}
                      for i, ds in enumerate(deps)]}


@st.composite
def random_dags(draw: st.DrawFn) -> list[list[int]]:
    """Acyclic deps over a random permutation of list positions (forward refs included)."""
    n = draw(st.integers(1, 25))
    order = draw(st.permutations(range(n)))
    rank = {v: i for i, v in enumerate(order)}
    deps = []
    for v in range(n):
        earlier = [u for u in range(n) if rank[u] < rank[v]]
        deps.append(sorted(draw(st.sets(st.sampled_from(earlier), max_size=4))) if earlier else [])
    return deps


@settings(max_examples=40, deadline=None)
@given(random_dags(), st.lists(st.integers(0, 50), min_size=25, max_size=25))
def test_critical_path_matches_networkx(deps: list[list[int]], weights: list[int]) -> None:
    """critical_path equals networkx's longest weighted path on the tile DAG."""
    prog = compile_workload(tiles_workload(deps), Arch())
    w = np.array(weights[:prog.entries], dtype=np.int64)
    g = tile_dag(prog)
    best = {}
    for v in nx.topological_sort(g):
        best[v] = w[v] + max((best[u] for u in g.predecessors(v)), default=0)
    assert critical_path(prog, w) == max(best.values())
    assert prog.info["depth"] == nx.dag_longest_path_length(g) + 1
    assert prog.info["edges"] == sum(len(d) for d in deps)


def test_joins_weigh_nothing_and_expand() -> None:
    """Joins are transparent: tile_dag connects producers to consumers directly."""
    wl = {"format": FMT, "seed": 1, "layers": [
        {"name": "a", "op": "gemm", "M": 4, "N": 8, "K": 4},
        {"name": "b", "op": "gemm", "M": 4, "N": 4, "K": 8}]}
    prog = compile_workload(wl, Arch())
    assert prog.kind.tolist() == [EntryKind.TILE, EntryKind.TILE, EntryKind.JOIN, EntryKind.TILE]
    g = tile_dag(prog)
    assert sorted(g.edges) == [(0, 3), (1, 3)]
    assert critical_path(prog, np.array([5, 7, 100, 1])) == 8
    assert prog.info["depth"] == 2 and prog.info["joins"] == 1


def test_admission_deadlock() -> None:
    """Compiled programs never deadlock; a forward reference farther than the table does."""
    deps = [[5]] + [[] for _ in range(5)]  # tile 0 waits for tile 5, listed last
    prog = compile_workload(tiles_workload(deps), Arch())
    assert all(admission_deadlock(prog, d) is None for d in (1, 2, 6))
    chain = [[1], [2], [3], [4], [5], []]       # every tile waits for the next one
    prog = compile_workload(tiles_workload(chain), Arch())
    assert prog.tile_id.tolist() == [50, 40, 30, 20, 10, 0]
    assert admission_deadlock(prog, 1) is None
    in_file_order = permute_entries(prog, np.arange(5, -1, -1))
    assert admission_deadlock(in_file_order, 6) is None
    assert admission_deadlock(in_file_order, 5) == 5


@settings(max_examples=40, deadline=None)
@given(random_dags(), st.lists(st.integers(0, 50), min_size=25, max_size=25), st.integers(1, 4))
def test_longest_paths_narrow_pass_agrees_with_the_numpy_sweep(deps, weights, after) -> None:
    """Switching to the plain pass after any number of steps gives the same distances."""
    from tlm.workload.dag import longest_paths

    prog = compile_workload(tiles_workload(deps), Arch())
    w = np.array(weights[:prog.entries], dtype=np.int64)
    sweep = longest_paths(prog.preds, prog.succs, w, narrow_after=10**9)
    assert np.array_equal(longest_paths(prog.preds, prog.succs, w, narrow_after=after), sweep)


def test_longest_paths_of_a_long_chain_and_a_cycle() -> None:
    """A 5,000-long chain takes the plain pass; a cycle is still refused there."""
    from tlm.workload.dag import longest_paths, transpose
    from tlm.workload.program import Csr
    from tlm.workload.segments import ptr_from_counts

    n = 5000
    preds = Csr(ptr_from_counts(np.r_[0, np.ones(n - 1, dtype=np.int64)]), np.arange(n - 1, dtype=np.int64))
    d = longest_paths(preds, transpose(preds, n), np.full(n, 2, dtype=np.int64))
    assert d.tolist() == list(range(2, 2 * n + 1, 2))
    # entries 0..99 a chain, then 100 <-> 101 wait for each other
    counts = np.r_[0, np.ones(101, dtype=np.int64)]
    counts[100] = 2
    idx = np.r_[np.arange(99), [99, 101], [100]].astype(np.int64)
    cyc = Csr(ptr_from_counts(counts), idx)
    with pytest.raises(ValueError, match="cycle"):
        longest_paths(cyc, transpose(cyc, 102), np.ones(102, dtype=np.int64), narrow_after=10)
