"""Admission order: tiles-form DAGs listed in any order run at every table depth."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.cli import main
from tlm.errors import DeadlockError, InputError
from tlm.workload import admission_deadlock, compile_workload, load_workload
from tlm.workload.dag import admission_order, is_topological, permute_entries
from tlm.workload.data import tile_a, tile_b_t
from tlm.workload.program import Csr
from tlm.workload.segments import ptr_from_counts

FMT = "tlm-workload/1"


def chain(n: int, file_order: list[int]) -> dict:
    """Tile i waits for tile i-1; the file lists the ids in `file_order`."""
    return {"format": FMT, "name": f"chain{n}", "seed": 4, "tiles": [
        {"id": i, "m": 1 + i % 4, "n": 1 + (i * 3) % 4, "k": 1 + i % 9, "deps": [i - 1] if i else []}
        for i in file_order]}


def depth_arch(depth: int, engines: int = 2) -> Arch:
    return arch_from_dict({"scheduler": {"table_depth": depth}, "array": {"engines": engines}})


class Tiles:
    """A trace sink that keeps each tile's (start, end)."""

    def __init__(self) -> None:
        self.span: dict[int, tuple[int, int]] = {}

    def record(self, op, tile, start, end, **extra):
        if op == "tile":
            assert tile not in self.span
            self.span[tile] = (start, end)

    def occupancy(self, time, value):
        pass


def numpy_outputs(wl: dict) -> dict[str, np.ndarray]:
    """C = A @ B of every tile, straight from the seeded data of its file position."""
    out = {}
    for i, t in enumerate(wl["tiles"]):
        a = tile_a(wl["seed"], i, t["m"], t["k"]).astype(np.int64)
        b = tile_b_t(wl["seed"], i, t["n"], t["k"]).astype(np.int64).T
        out[f"tile{t['id']}"] = (a @ b).astype(np.int32)
    return out


# -- the reported cases -----------------------------------------------------------------------

def test_reversed_chain_of_17_runs_on_the_default_arch(tmp_path, capsys):
    """17 tiles, each waiting for the one listed after it: used to fill the 16-entry table."""
    wl = chain(17, list(range(16, -1, -1)))
    f = tmp_path / "w.json"
    f.write_text(json.dumps(wl))
    trace = tmp_path / "t.jsonl"
    assert main(["sim", "-w", str(f), "--trace", str(trace), "--no-progress", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["functional"] == "pass" and s["tiles"] == 17
    spans = {}
    for line in trace.read_text().splitlines()[1:]:
        r = json.loads(line)
        if r.get("op") == "tile":
            spans[r["tile"]] = (r["start"], r["end"])
    assert sorted(spans) == list(range(17))   # the user's ids
    assert all(spans[i][0] >= spans[i - 1][1] for i in range(1, 17))


def test_first_tile_waiting_for_the_second_runs_with_one_slot(tmp_path, capsys):
    wl = {"format": FMT, "name": "fwd", "seed": 1, "tiles": [
        {"id": 0, "m": 2, "n": 2, "k": 4, "deps": [1]}, {"id": 1, "m": 2, "n": 2, "k": 4, "deps": []}]}
    f = tmp_path / "w.json"
    f.write_text(json.dumps(wl))
    a = tmp_path / "a.toml"
    a.write_text("[scheduler]\ntable_depth = 1\n")
    assert main(["sim", "-w", str(f), "--arch", str(a), "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["functional"] == "pass"


def test_shuffled_chain_of_20000_runs_timing_only():
    order = np.random.default_rng(7).permutation(20_000).tolist()
    wl = chain(20_000, order)
    arch = Arch()
    program = compile_workload(wl, arch, functional=False)
    assert program.tile_id.tolist() == list(range(20_000))  # the chain, whatever the file order
    assert admission_deadlock(program, 1) is None
    rec = Tiles()
    result = simulate(program, arch, functional=False, trace=rec)
    assert result.tiles == 20_000 and len(rec.span) == 20_000


@pytest.mark.parametrize("depth", [1, 2])
def test_builtin_random_dag_runs_with_a_tiny_table(depth):
    arch = depth_arch(depth)
    result = simulate(compile_workload("builtin:random_dag", arch), arch)
    assert result.functional == "pass"


# -- the order itself -------------------------------------------------------------------------

def _file_preds(deps: list[list[int]]) -> Csr:
    counts = np.array([len(d) for d in deps], dtype=np.int64)
    return Csr(ptr_from_counts(counts), np.array([x for d in deps for x in d], dtype=np.int64))


@st.composite
def shuffled_dags(draw: st.DrawFn, max_n: int = 24) -> list[list[int]]:
    """deps[i] = file positions tile i waits for; acyclic, in a random file order."""
    n = draw(st.integers(1, max_n))
    rank = draw(st.permutations(range(n)))  # a topological rank per file position
    deps = []
    for v in range(n):
        earlier = [u for u in range(n) if rank[u] < rank[v]]
        deps.append(sorted(draw(st.sets(st.sampled_from(earlier), max_size=4))) if earlier else [])
    return deps


@settings(max_examples=60, deadline=None)
@given(shuffled_dags(40))
def test_order_is_the_lowest_first_topological_sort(deps):
    """Same order as networkx's lexicographic topological sort (smallest free position first)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(len(deps)))
    g.add_edges_from((d, v) for v, ds in enumerate(deps) for d in ds)
    order = admission_order(_file_preds(deps), len(deps))
    assert order.tolist() == list(nx.lexicographical_topological_sort(g))


def test_order_is_the_identity_when_file_order_is_topological():
    deps = [[], [0], [0, 1], [], [3, 2]]
    assert admission_order(_file_preds(deps), 5).tolist() == [0, 1, 2, 3, 4]


def test_cycle_raises_in_the_order_and_is_bad_input():
    with pytest.raises(ValueError, match="cycle"):
        admission_order(_file_preds([[1], [0]]), 2)
    wl = {"format": FMT, "tiles": [{"id": 5, "m": 1, "n": 1, "k": 1, "deps": [6]},
                                    {"id": 6, "m": 1, "n": 1, "k": 1, "deps": [5]}]}
    with pytest.raises(InputError, match="dependency cycle"):
        compile_workload(wl, Arch())


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small", "random_dag"])
def test_every_builtin_program_is_topological(name):
    """The layers form is topological by construction (joins follow their group's tiles)."""
    program = compile_workload(f"builtin:{name}", Arch())
    assert is_topological(program.preds)
    assert admission_deadlock(program, 1) is None


def test_random_dag_file_still_lists_forward_references():
    """The built-in keeps its forward references in the file; the compiler sorts them out."""
    wl = load_workload("builtin:random_dag")
    pos = {t["id"]: i for i, t in enumerate(wl["tiles"])}
    assert any(pos[d] > i for i, t in enumerate(wl["tiles"]) for d in t["deps"])


def test_compile_is_deterministic():
    order = np.random.default_rng(3).permutation(300).tolist()
    a = compile_workload(chain(300, order), Arch())
    b = compile_workload(chain(300, order), Arch())
    for name in ("tile_id", "m", "n", "k"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert np.array_equal(a.preds.idx, b.preds.idx) and a.memory_image == b.memory_image
    for op in a.segments:
        assert np.array_equal(a.segments[op].mem_addr, b.segments[op].mem_addr)


# -- the property: shuffled DAGs never deadlock and compute the right values ------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shuffled_dags(), st.integers(1, 16), st.integers(1, 3), st.integers(0, 1000))
def test_shuffled_dags_never_deadlock_and_match_numpy(deps, depth, engines, seed):
    ids = [7 * i + 3 for i in range(len(deps))]
    wl = {"format": FMT, "name": "shuffled", "seed": seed, "tiles": [
        {"id": ids[i], "m": 1 + (i * 5 + seed) % 4, "n": 1 + (i * 7 + seed) % 4, "k": 1 + (i * 11 + seed) % 30,
         "deps": [ids[d] for d in ds]} for i, ds in enumerate(deps)]}
    arch = depth_arch(depth, engines)
    program = compile_workload(wl, arch)
    assert is_topological(program.preds)
    rec = Tiles()
    result = simulate(program, arch, trace=rec)
    assert result.functional == "pass", result.mismatches
    want = numpy_outputs(wl)
    assert set(program.expected) == set(want)
    for name, value in want.items():
        np.testing.assert_array_equal(program.expected[name], value)
    assert sorted(rec.span) == sorted(ids)
    for i, ds in enumerate(deps):
        for d in ds:
            assert rec.span[ids[i]][0] >= rec.span[ids[d]][1]


# -- what can still deadlock is still reported ---------------------------------------------------

def test_a_non_topological_program_still_raises_deadlock_error():
    """Built by hand (not by the compiler): the scheduler's diagnosis names the stuck tiles."""
    arch = depth_arch(2)
    wl = {"format": FMT, "name": "fwd", "seed": 1, "tiles": [
        {"id": 0, "m": 2, "n": 2, "k": 4, "deps": [2]},
        {"id": 1, "m": 2, "n": 2, "k": 4, "deps": [2]},
        {"id": 2, "m": 2, "n": 2, "k": 4, "deps": []}]}
    program = compile_workload(wl, arch)
    assert program.tile_id.tolist() == [2, 0, 1]
    assert simulate(program, arch).functional == "pass"
    stuck = permute_entries(program, np.array([1, 2, 0]))   # file order: 0, 1, 2
    assert stuck.tile_id.tolist() == [0, 1, 2] and admission_deadlock(stuck, 2) == 2
    with pytest.raises(DeadlockError) as info:
        simulate(stuck, arch)
    msg = str(info.value)
    assert "tile 0 waits for [2]" in msg and "next to admit: tile 2" in msg


def test_permute_entries_keeps_every_output():
    """Any topological permutation of a functional program computes the same values."""
    arch = Arch()
    program = compile_workload("builtin:gemm_small", arch)
    g = nx.DiGraph()
    g.add_nodes_from(range(program.entries))
    g.add_edges_from((int(p), e) for e in range(program.entries) for p in program.preds.of(e))
    order = np.array(list(nx.lexicographical_topological_sort(g, key=lambda e: -e)))
    assert not np.array_equal(order, np.arange(program.entries))
    moved = permute_entries(program, order)
    assert is_topological(moved.preds)
    assert simulate(moved, arch).functional == "pass"
