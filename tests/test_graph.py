"""Graph workloads (tlm-workload/2): validation, lowering, dependencies, the vector unit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch
from tlm.blocks import simulate
from tlm.cli import main
from tlm.workload import compile_workload
from tlm.workload.builtins import builtin
from tlm.workload.program import EntryKind
from tlm.workload.reference import run_program_functionally

ARCH = Arch()


def graph(layers: list[dict[str, Any]], shape: tuple[int, int, int] = (6, 6, 8), seed: int = 5) -> dict[str, Any]:
    h, w, c = shape
    return {"format": "tlm-workload/2", "name": "g", "seed": seed,
            "input": {"name": "input", "height": h, "width": w, "channels": c}, "layers": layers}


EVERY_OP = graph([
    {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3, "padding": 1},
    {"name": "dw", "op": "conv2d", "inputs": ["c1"], "out_channels": 8, "kernel": 3, "padding": 1, "groups": 8},
    {"name": "add", "op": "add", "inputs": ["dw", "input"]},
    {"name": "r", "op": "relu", "inputs": ["add"]},
    {"name": "mp", "op": "maxpool", "inputs": ["r"], "kernel": 3, "stride": 2, "padding": 1},
    {"name": "ap", "op": "avgpool", "inputs": ["mp"], "kernel": 2, "stride": 1},
    {"name": "cat", "op": "concat", "inputs": ["ap", "ap"]},
    {"name": "sm", "op": "softmax", "inputs": ["cat"]},
    {"name": "ln", "op": "layernorm", "inputs": ["sm"]},
    {"name": "cl", "op": "clip", "inputs": ["ln"], "min": -10, "max": 20},
    {"name": "rq", "op": "requant", "inputs": ["cl"], "multiplier": 3, "shift": 1},
    {"name": "gap", "op": "globalavgpool", "inputs": ["rq"]},
    {"name": "fl", "op": "flatten", "inputs": ["gap"]},
    {"name": "fc", "op": "gemm", "inputs": ["fl"], "N": 10},
])


def test_every_op_runs_functionally_and_segments_agree_with_the_reference() -> None:
    program = compile_workload(EVERY_OP, ARCH)
    assert program.vector_ops and int(np.count_nonzero(program.kind == EntryKind.VEC)) > 0
    res = simulate(program, ARCH)
    assert res.functional == "pass", res.mismatches[:3]
    got = run_program_functionally(program, ARCH)
    for name, want in program.expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert program.expected["fc"].dtype == np.int32  # read by nobody: raw accumulators


def test_a_wrong_vector_result_is_caught() -> None:
    """The check is not vacuous: a corrupted expected vector output fails the run."""
    program = compile_workload(EVERY_OP, ARCH)
    program.expected["mp"] = program.expected["mp"].copy()
    program.expected["mp"][0, 0] ^= 1
    assert simulate(program, ARCH).functional == "fail"


def test_a_pure_mac_graph_compiles_to_the_v1_program() -> None:
    """tlm-workload/1 chains and the same chain as a graph give the same program (hash)."""
    v1 = builtin("dilated_vgg_small")
    first = v1["layers"][0]
    layers = []
    prev = "input"
    for lay in v1["layers"]:
        layers.append({**lay, "inputs": [prev]})
        prev = lay["name"]
    v2 = {"format": "tlm-workload/2", "name": v1["name"], "seed": v1["seed"],
          "input": {"name": "input", "height": first["height"], "width": first["width"],
                    "channels": first["in_channels"]}, "layers": layers}
    a, b = compile_workload(v1, ARCH), compile_workload(v2, ARCH)
    assert a.content_hash() == b.content_hash()
    for name, want in a.expected.items():
        np.testing.assert_array_equal(b.expected[name], want)


def test_independent_branches_overlap_and_depend_only_on_their_producers() -> None:
    w = graph([
        {"name": "a", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3, "padding": 1},
        {"name": "b", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 1},
        {"name": "s", "op": "add", "inputs": ["a", "b"]},
    ], shape=(8, 8, 8))
    program = compile_workload(w, ARCH)
    info = program.info["layers"]
    first_b = info[1]["first_entry"]
    # branch b's tiles wait for nothing (they read the network input)
    b_entries = range(first_b, first_b + info[1]["m_groups"] * (info[1]["n_groups"] * info[1]["k_chunks"] + 1))
    assert all(program.preds.of(e).shape[0] == 0 or program.layer[program.preds.of(e)].min() == 1
               for e in b_entries)
    # add's entry g waits for exactly m-group g's representative of a and of b
    s0 = info[2]["first_entry"]
    for g in range(info[2]["m_groups"]):
        preds = program.preds.of(s0 + g).tolist()
        assert sorted(program.layer[preds].tolist()) == [0, 1]
    res = simulate(program, ARCH)
    assert res.functional == "pass"
    rows = {r["name"]: r for r in res.layers}
    assert rows["b"]["start"] < rows["a"]["end"]  # b overlaps a on the engines


@pytest.mark.parametrize("layers,where,what", [
    ([{"name": "x", "op": "relu", "inputs": ["nope"]}], "layers[0].inputs", "unknown tensor 'nope'"),
    ([{"name": "x", "op": "relu", "inputs": ["y"]}, {"name": "y", "op": "relu", "inputs": ["x"]}],
     "layers[0].inputs", "dependency cycle"),
    ([{"name": "x", "op": "relu", "inputs": ["input"], "bogus": 1}], "layers[0].bogus", "unknown key"),
    ([{"name": "p", "op": "maxpool", "inputs": ["input"], "kernel": 2},
      {"name": "x", "op": "add", "inputs": ["input", "p"]}], "layers[1].inputs", "expected 6x6x8"),
    ([{"name": "x", "op": "add", "inputs": ["input"]}], "layers[0].inputs", "takes 2 inputs"),
    ([{"name": "input", "op": "relu", "inputs": ["input"]}], "layers[0].name", "duplicate"),
    ([{"name": "c", "op": "conv2d", "inputs": ["input"], "in_channels": 3, "out_channels": 4, "kernel": 1}],
     "layers[0].in_channels", "input tensor has 8"),
    ([{"name": "x", "op": "softmax", "inputs": ["input"], "shift": 9}], "layers[0].shift", "must be in"),
    ([{"name": "x", "op": "reshape", "inputs": ["input"], "shape": [2, 2, 2]}], "layers[0].shape", "does not hold"),
    ([{"name": "x", "op": "transpose", "inputs": ["input"]}], "layers[0].perm", "must be a permutation"),
    ([{"name": "x", "op": "transpose", "inputs": ["input"], "perm": [0, 0, 1]}], "layers[0].perm",
     "must be a permutation"),
    ([{"name": "x", "op": "transpose", "inputs": ["input"], "perm": [0, 1, 2], "axes": 1}], "layers[0].axes",
     "unknown key"),
    ([{"name": "x", "op": "frobnicate", "inputs": ["input"]}], "layers[0].op", "must be one of"),
])
def test_bad_graphs_exit_2_with_one_line(tmp_path: Path, capsys: Any, layers: list[dict[str, Any]],
                                          where: str, what: str) -> None:
    f = tmp_path / "w.json"
    f.write_text(json.dumps(graph(layers)))
    assert main(["sim", "-w", str(f), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {f}: {where}: ") and what in err, err


def test_rtl_refuses_a_vector_op(tmp_path: Path, capsys: Any) -> None:
    f = tmp_path / "w.json"
    f.write_text(json.dumps(EVERY_OP))
    assert main(["rtl", "-w", str(f), "-t", str(tmp_path / "t.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {f}: layer 'sm': vector op softmax cannot run on the RTL (its vector unit has " \
                  "no softmax: float64 arithmetic); use tlmsim sim\n"


def test_trace_has_vector_records(tmp_path: Path) -> None:
    t = tmp_path / "t.jsonl"
    assert main(["sim", "-w", str(_write(tmp_path, EVERY_OP)), "--no-progress", "--trace", str(t)]) == 0
    ops = {json.loads(line).get("op") for line in t.read_text().splitlines()[1:]}
    assert "vector" in ops


def _write(tmp_path: Path, obj: dict[str, Any]) -> Path:
    f = tmp_path / "w.json"
    f.write_text(json.dumps(obj))
    return f


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 6), k=st.integers(1, 3),
       s=st.integers(1, 3), p=st.integers(0, 2), op=st.sampled_from(["maxpool", "avgpool"]),
       seed=st.integers(0, 3))
def test_pools_of_any_geometry_match_the_reference(h: int, w: int, c: int, k: int, s: int, p: int,
                                                   op: str, seed: int) -> None:
    if p >= k or (h + 2 * p - k) < 0 or (w + 2 * p - k) < 0:
        return
    wl = graph([{"name": "pool", "op": op, "inputs": ["input"], "kernel": k, "stride": s, "padding": p},
                {"name": "r", "op": "relu", "inputs": ["pool"]}], shape=(h, w, c), seed=seed)
    program = compile_workload(wl, ARCH)
    got = run_program_functionally(program, ARCH)
    for name, want in program.expected.items():
        np.testing.assert_array_equal(got[name], want)
    # an independent naive pool
    x = program.memory_image[0][1]
    img = np.frombuffer(x, dtype=np.int8).reshape(h, w, c).astype(np.int64)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    naive = np.zeros((oh, ow, c), dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            taps = [img[y, xx] for y in range(oy * s - p, oy * s - p + k) for xx in range(ox * s - p, ox * s - p + k)
                    if 0 <= y < h and 0 <= xx < w]
            naive[oy, ox] = np.max(taps, axis=0) if op == "maxpool" else np.sum(taps, axis=0) // (k * k)
    np.testing.assert_array_equal(program.expected["pool"], naive.reshape(oh * ow, c).astype(np.int8))


@settings(max_examples=12, deadline=None)
@given(tokens=st.integers(1, 9), heads=st.integers(1, 3), width=st.integers(1, 6), tb=st.booleans())
def test_batched_matmul_matches_an_einsum(tokens: int, heads: int, width: int, tb: bool) -> None:
    """matmul reads B from an activation (attention's Q.K^T with transpose_b, P.V without).

    B is a gemm of the input (`tokens` rows): with transpose_b it is N x heads*K
    (n = tokens, dk = width), otherwise K x heads*N (dk = tokens, n = width).
    """
    n, dk = (tokens, width) if tb else (width, tokens)
    wl = graph([
        {"name": "a", "op": "gemm", "inputs": ["input"], "N": heads * dk, "shift": 5},
        {"name": "b", "op": "gemm", "inputs": ["input"], "N": heads * (dk if tb else n), "shift": 5},
        {"name": "mm", "op": "matmul", "inputs": ["a", "b"], "heads": heads, "transpose_b": tb},
    ], shape=(tokens, 1, 8))
    program = compile_workload(wl, ARCH)
    res = simulate(program, ARCH)
    assert res.functional == "pass", res.mismatches[:3]
    a = program.expected["a"].astype(np.int64).reshape(tokens, heads, dk)
    b = program.expected["b"].astype(np.int64)
    if tb:
        want = np.einsum("mhk,nhk->mhn", a, b.reshape(n, heads, dk))
    else:
        want = np.einsum("mhk,khn->mhn", a, b.reshape(dk, heads, n))
    np.testing.assert_array_equal(program.expected["mm"], want.reshape(tokens, heads * n).astype(np.int32))
    rows = {r["name"]: r for r in res.layers}
    assert rows["mm"]["macs"] == tokens * heads * n * dk


def test_attention_block_runs_functionally() -> None:
    w = graph([
        {"name": "q", "op": "gemm", "inputs": ["input"], "N": 16},
        {"name": "k", "op": "gemm", "inputs": ["input"], "N": 16},
        {"name": "v", "op": "gemm", "inputs": ["input"], "N": 16},
        {"name": "s", "op": "matmul", "inputs": ["q", "k"], "heads": 2, "transpose_b": True, "shift": 9},
        {"name": "p", "op": "softmax", "inputs": ["s"], "groups": 2},
        {"name": "o", "op": "matmul", "inputs": ["p", "v"], "heads": 2, "shift": 8},
        {"name": "res", "op": "add", "inputs": ["o", "input"]},
        {"name": "ln", "op": "layernorm", "inputs": ["res"]},
    ], shape=(10, 1, 16))
    program = compile_workload(w, ARCH)
    assert simulate(program, ARCH).functional == "pass"
    got = run_program_functionally(program, ARCH)
    for name, want in program.expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    # each head's softmax row sums to about 127
    p = program.expected["p"].astype(np.int64).reshape(10, 2, 10).sum(axis=2)
    assert np.all(np.abs(p - 127) <= 10)


def test_budget_refuses_a_huge_graph(tmp_path: Path, capsys: Any) -> None:
    """Tile and memory limits cover graphs: a huge branchy graph is one line, exit 2."""
    w = graph([{"name": "a", "op": "conv2d", "inputs": ["input"], "out_channels": 512, "kernel": 3, "padding": 1},
               {"name": "b", "op": "conv2d", "inputs": ["input"], "out_channels": 512, "kernel": 1},
               {"name": "s", "op": "add", "inputs": ["a", "b"]}], shape=(256, 256, 64))
    f = _write(tmp_path, w)
    assert main(["sim", "-w", str(f), "--no-progress", "--timing-only", "--max-tiles", "1000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {f}: layers: lowers to ") and "tiles" in err and err.count("\n") == 1
    assert main(["sim", "-w", str(f), "--no-progress", "--max-memory", "120M", "--max-tiles", "10000000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {f}: ") and "memory" in err and err.count("\n") == 1, err


def test_graph_runs_are_deterministic(tmp_path: Path) -> None:
    """Same graph, same arch: the same program hash and byte-identical traces."""
    f = _write(tmp_path, EVERY_OP)
    traces = []
    for i in range(2):
        t = tmp_path / f"t{i}.jsonl"
        assert main(["sim", "-w", str(f), "--no-progress", "--trace", str(t)]) == 0
        traces.append(t.read_bytes().splitlines()[:-1])  # the end record holds wall-clock times
    assert traces[0] == traces[1] and len(traces[0]) > 100
    assert compile_workload(EVERY_OP, ARCH).content_hash() == compile_workload(EVERY_OP, ARCH).content_hash()


@pytest.mark.parametrize("layer,where,what", [
    ({"name": "m", "op": "matmul", "inputs": ["input", "input"], "heads": 3}, "layers[0].heads", "does not divide"),
    ({"name": "m", "op": "matmul", "inputs": ["input", "input"], "transpose_b": "yes"}, "layers[0].transpose_b",
     "true or false"),
    ({"name": "p", "op": "maxpool", "inputs": ["input"], "kernel": 40}, "layers[0].kernel", "must be in 1..32"),
    ({"name": "p", "op": "maxpool", "inputs": ["input"], "kernel": 2, "padding": 2}, "layers[0].padding",
     "must be in 0..1"),
    ({"name": "c", "op": "clip", "inputs": ["input"], "min": 5, "max": 1}, "layers[0].min", "greater than max"),
    ({"name": "s", "op": "softmax", "inputs": ["input"], "groups": 3}, "layers[0].groups", "does not divide"),
])
def test_bad_vector_and_matmul_parameters(tmp_path: Path, capsys: Any, layer: dict[str, Any], where: str,
                                          what: str) -> None:
    f = _write(tmp_path, graph([layer]))
    assert main(["sim", "-w", str(f), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {f}: {where}: ") and what in err, err


def test_vector_entries_count_in_the_critical_path() -> None:
    """A chain of vector layers has a critical path of their standalone times (not 0), below the run."""
    w = graph([{"name": "a", "op": "relu", "inputs": ["input"]},
               {"name": "b", "op": "softmax", "inputs": ["a"]},
               {"name": "c", "op": "maxpool", "inputs": ["b"], "kernel": 2}])
    program = compile_workload(w, ARCH)
    res = simulate(program, ARCH)
    assert 0 < res.critical_path <= res.cycles
    assert program.info["depth"] == 3


@pytest.mark.parametrize("overlay", [
    {"array": {"dataflow": "ws"}},
    {"array": {"dataflow": "ws", "rows": 3, "cols": 5}, "engine": {"double_buffer": True}},
    {"engine": {"double_buffer": True, "overlap_drain": True}},
    {"engine": {"reuse": True}, "array": {"engines": 1}},
])
def test_graphs_run_functionally_with_every_dataflow_and_engine_option(overlay: dict[str, Any]) -> None:
    """Graph layers group pixels by the tile's rows (R, or tile_rows in WS) everywhere."""
    from tlm.arch import arch_from_dict

    arch = arch_from_dict(overlay)
    attention = graph([
        {"name": "q", "op": "gemm", "inputs": ["input"], "N": 16},
        {"name": "k", "op": "gemm", "inputs": ["input"], "N": 16},
        {"name": "v", "op": "gemm", "inputs": ["input"], "N": 16},
        {"name": "s", "op": "matmul", "inputs": ["q", "k"], "heads": 2, "transpose_b": True, "shift": 9},
        {"name": "p", "op": "softmax", "inputs": ["s"], "groups": 2},
        {"name": "o", "op": "matmul", "inputs": ["p", "v"], "heads": 2, "shift": 8},
        {"name": "res", "op": "add", "inputs": ["o", "input"]},
    ], shape=(40, 1, 16))
    for w in (EVERY_OP, attention):
        program = compile_workload(w, arch)
        res = simulate(program, arch)
        assert res.functional == "pass", (overlay, res.mismatches[:3])
        got = run_program_functionally(program, arch)
        for name, want in program.expected.items():
            np.testing.assert_array_equal(got[name], want, err_msg=name)
