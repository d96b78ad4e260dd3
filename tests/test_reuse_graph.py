"""Operand reuse on graph workloads: the MAC layers of a graph (conv2d, gemm,
matmul) get block ids and the reuse tile order as layers-form layers do;
vector-unit entries keep -1.

docs/microarch.md, "Operand reuse". TLM vs RTL with skipped loads on graphs:
testbenches/test_vector_rtl.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reuse import _same_blocks_same_segments

from tlm.arch import arch_from_dict
from tlm.blocks import simulate
from tlm.workload import compile_workload
from tlm.workload.dag import admission_deadlock, is_topological
from tlm.workload.program import EntryKind, TileProgram
from tlm.workload.zoo import bert, resnet


def _graph(layers: list[dict[str, Any]], shape: tuple[int, int, int], seed: int) -> dict[str, Any]:
    h, w, c = shape
    return {"format": "tlm-workload/2", "name": "reuse_graph", "seed": seed,
            "input": {"name": "input", "height": h, "width": w, "channels": c}, "layers": layers}


@st.composite
def cnn_graphs(draw: Any) -> dict[str, Any]:
    """Convolutions (grouped or not, a K split when the scratchpad is small), a
    residual add or a concat, a pool and a gemm."""
    h, w, c = draw(st.integers(3, 6)), draw(st.integers(3, 6)), draw(st.integers(1, 12))
    c1 = draw(st.integers(1, 10))
    layers: list[dict[str, Any]] = [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": c1, "kernel": 3, "padding": 1,
         "relu": draw(st.booleans())}]
    groups = draw(st.sampled_from([1, c1])) if c1 > 1 else 1
    layers.append({"name": "c2", "op": "conv2d", "inputs": ["c1"], "out_channels": c1, "kernel": 3,
                   "padding": 1, **({"groups": groups} if groups > 1 else {})})
    join = draw(st.sampled_from(["add", "concat"]))
    layers.append({"name": "j", "op": join, "inputs": ["c2", "c1"]})
    layers.append({"name": "p", "op": "maxpool", "inputs": ["j"], "kernel": 2, "stride": 1})
    layers.append({"name": "fc", "op": "gemm", "inputs": ["p"], "N": draw(st.integers(1, 12))})
    return _graph(layers, (h, w, c), draw(st.integers(0, 99)))


@st.composite
def attention_graphs(draw: Any) -> dict[str, Any]:
    """Projections, Q.K^T per head (transpose_b), scores . V per head, a residual add."""
    tokens, heads, dk = draw(st.integers(1, 12)), draw(st.integers(1, 3)), draw(st.integers(1, 9))
    width = heads * dk
    layers: list[dict[str, Any]] = [
        {"name": n, "op": "gemm", "inputs": ["input"], "N": width, "relu": False} for n in ("q", "k", "v")]
    layers += [
        {"name": "s", "op": "matmul", "inputs": ["q", "k"], "heads": heads, "transpose_b": True, "shift": 5},
        {"name": "o", "op": "matmul", "inputs": ["s", "v"], "heads": heads, "shift": 4},
        {"name": "r", "op": "add", "inputs": ["o", "q"]}]
    return _graph(layers, (tokens, 1, draw(st.integers(1, 20))), draw(st.integers(0, 99)))


HW = st.fixed_dictionaries({
    "array": st.fixed_dictionaries({"engines": st.integers(1, 3), "rows": st.integers(2, 4),
                                    "cols": st.integers(2, 4)}),
    "scratchpad": st.sampled_from([{"bytes": 1024}, {"bytes": 4096}]),
    "engine": st.sampled_from([{"reuse": True}, {"reuse": True, "double_buffer": True},
                               {"reuse": True, "reuse_slots": 3}]),
})


def _check_ids(program: TileProgram) -> None:
    """Block ids only on MAC tiles; trace ids 0, 1, 2 ... over the non-join entries."""
    assert program.a_block is not None and program.b_block is not None
    not_tile = program.kind != EntryKind.TILE
    assert (program.a_block[not_tile] == -1).all() and (program.b_block[not_tile] == -1).all()
    counted = program.kind != EntryKind.JOIN
    assert np.array_equal(program.tile_id[counted], np.arange(int(counted.sum())))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work=st.one_of(cnn_graphs(), attention_graphs()), hw=HW)
def test_graph_reuse_is_functionally_correct_and_conserves_bytes(work: dict[str, Any], hw: dict[str, Any]) -> None:
    """Reuse on a graph: numpy-exact results (every layer), bytes moved + saved = bytes with reuse off."""
    arch = arch_from_dict(hw)
    program = compile_workload(work, arch)
    assert is_topological(program.preds)
    assert admission_deadlock(program, arch.scheduler.table_depth) is None
    _check_ids(program)
    _same_blocks_same_segments(program)
    on = simulate(program, arch)
    assert on.functional == "pass", on.mismatches
    assert on.dma_bytes + on.bytes_saved == sum(int(v.sum()) for v in program.bytes.values())
    if "reuse_slots" not in hw["engine"]:  # slots change kmax, so the K split
        off_arch = arch_from_dict({**hw, "engine": {**hw["engine"], "reuse": False}})
        off = simulate(compile_workload(work, off_arch), off_arch)
        assert on.dma_bytes + on.bytes_saved == off.dma_bytes
        assert on.tiles == off.tiles and on.macs == off.macs


def test_a_reduced_resnet_saves_loads() -> None:
    """ResNet-18 at 32x32, channels / 8: most layers reuse blocks; traffic falls, results stay exact."""
    work = resnet(18, size=32, div=8)
    arch = arch_from_dict({"engine": {"reuse": True}})
    program = compile_workload(work, arch)
    _check_ids(program)
    orders = [m.get("reuse_order") for m in program.info["layers"]]  # type: ignore[union-attr]
    assert orders.count("weight") + orders.count("input") >= 15
    on = simulate(program, arch)
    off = simulate(compile_workload(work, arch_from_dict({})), arch_from_dict({}))
    assert on.functional == "pass" and off.functional == "pass"
    assert on.bytes_saved > 0.2 * off.dma_bytes
    assert on.cycles < off.cycles


def test_an_encoder_layer_reuses_in_its_matmuls_too() -> None:
    """In a BERT layer the projections, the FFN and the per-head matmuls get ids and an order;
    softmax and layernorm (vector unit) do not."""
    work = bert(layers=1, seq=8, hidden=16, heads=2, ffn=32, name="bert_tiny")
    arch = arch_from_dict({"engine": {"reuse": True}})
    program = compile_workload(work, arch, functional=False)
    _check_ids(program)
    rows = {m["name"]: m for m in program.info["layers"]}  # type: ignore[union-attr]
    matmul = np.isin(program.layer, [i for i, m in enumerate(program.info["layers"])  # type: ignore[arg-type]
                                     if m["op"] == "matmul"]) & (program.kind == EntryKind.TILE)
    assert (program.a_block[matmul] >= 0).all() and (program.b_block[matmul] >= 0).all()  # type: ignore[index]
    for name in ("layer0.attention.q", "layer0.attention.scores", "layer0.attention.context", "layer0.ffn.up"):
        assert rows[name]["reuse_order"] in ("weight", "input"), name
    assert "reuse_order" not in rows["layer0.attention.softmax"]
    assert simulate(program, arch, functional=False).bytes_saved > 0
