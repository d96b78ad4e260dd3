"""The `transpose` graph op: a DMA gather in output order on the vector unit, against numpy."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.importers.onnx import model_to_workload
from tlm.workload import compile_workload, run_program_functionally
from tlm.workload.program import EntryKind

PERMS = [list(p) for p in itertools.permutations(range(3))]


def net(h: int, w: int, c: int, perm: list[int], n: int = 3) -> dict[str, Any]:
    """conv -> transpose -> gemm: the transpose reads a producer's tiles and feeds a consumer's."""
    return {"format": "tlm-workload/2", "name": "tr", "seed": 5,
            "input": {"name": "x", "height": h, "width": w, "channels": 2},
            "layers": [{"name": "c", "op": "conv2d", "inputs": ["x"], "out_channels": c, "kernel": 1},
                       {"name": "t", "op": "transpose", "inputs": ["c"], "perm": perm},
                       {"name": "g", "op": "gemm", "inputs": ["t"], "N": n}]}


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 9), st.sampled_from(PERMS),
       st.sampled_from([{}, {"array": {"engines": 1, "rows": 3, "cols": 5}, "dma": {"bus_bytes": 4}}]))
def test_transpose_equals_numpy(h: int, w: int, c: int, perm: list[int], arch_over: dict[str, Any]) -> None:
    """The TLM's gathered bytes (and the flat-memory replay) equal np.transpose of the producer."""
    arch = arch_from_dict(arch_over)
    program = compile_workload(net(h, w, c, perm), arch)
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]
    got = run_program_functionally(program, arch)
    conv = got["c"].reshape(h, w, c)
    want = conv.transpose(perm).reshape(-1, conv.transpose(perm).shape[2])
    np.testing.assert_array_equal(got["t"], want)


def test_channels_last_transpose_moves_whole_pixels() -> None:
    """Swapping height and width keeps each pixel's channels together: one segment per pixel."""
    program = compile_workload(net(4, 6, 8, [1, 0, 2]), Arch())
    assert program.segments is not None
    vec = np.flatnonzero(program.kind == EntryKind.VEC)
    seg = program.segments["load_a"]
    counts = [seg.range(int(e)).stop - seg.range(int(e)).start for e in vec]
    assert sum(counts) == 24 and set(seg.length[seg.range(int(vec[0]))].tolist()) == {8}


def test_transpose_waits_only_for_the_producer_groups_it_reads() -> None:
    """perm [1, 0, 2] of a 4x8 image: output rows 0..1 (4 pixels) read input column 0, every row."""
    program = compile_workload(net(8, 4, 3, [1, 0, 2]), Arch())
    first_vec = int(np.flatnonzero(program.kind == EntryKind.VEC)[0])
    preds = program.preds.idx[program.preds.ptr[first_vec]:program.preds.ptr[first_vec + 1]]
    # output pixels 0..3 are input pixels (0,0), (1,0), (2,0), (3,0): 0, 4, 8, 12 -> m-groups 0..3 of 4 rows
    assert len(preds) == 4


def _transpose_model(perm: list[int], shape: list[int]) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.random.default_rng(1).standard_normal((4, shape[1], 1, 1)).astype(np.float32),
                                "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="c"),
             helper.make_node("Transpose", ["c"], ["t"], name="t", perm=perm),
             helper.make_node("Relu", ["t"], ["y"], name="r")]
    g = helper.make_graph(nodes, "g", [x], [y], initializer=[w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def test_onnx_transpose_maps_to_the_workload_axes() -> None:
    """ONNX N x C x H x W perm [0, 2, 3, 1] (to N x H x W x C, as ONNX sees it) is the workload's
    (channels, height, width) -> the bytes onnxruntime's transpose gives, in NHWC order."""
    m = _transpose_model([0, 2, 3, 1], [1, 3, 5, 6])
    ort.InferenceSession(m.SerializeToString())
    w = model_to_workload(m, "t.onnx", "t")
    t = next(x for x in w["layers"] if x["op"] == "transpose")
    # ONNX output [1, H, W, C] seen as NCHW: its "C" = H, "H" = W, "W" = C: workload (W, C, H)
    assert t["perm"] == [1, 2, 0]
    program = compile_workload(w, Arch())
    res = simulate(program, Arch())
    assert res.functional == "pass", res.mismatches[:3]
    got = run_program_functionally(program, Arch())
    c = got["c"].reshape(5, 6, 4)                     # NHWC conv output (H, W, C)
    onnx_view = c.transpose(2, 0, 1)[None]            # as ONNX holds it: 1 x C x H x W
    out = onnx_view.transpose(0, 2, 3, 1)             # the ONNX Transpose: 1 x H x W x C
    # the workload stores ONNX's N x C' x H' x W' as H' x W' x C'
    np.testing.assert_array_equal(got["t"].reshape(6, 4, 5), out[0].transpose(1, 2, 0))


def test_summary_counts_vector_entries_apart_from_joins(tmp_path: Any, capsys: Any) -> None:
    """The one-line workload summary once counted VEC entries as joins."""
    import json

    from tlm.cli import main

    f = tmp_path / "w.json"
    f.write_text(json.dumps(net(4, 4, 3, [1, 0, 2])))
    assert main(["sim", "-w", str(f), "--no-progress"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith("(8 tiles, 0 joins, 4 vector entries)"), first


def test_a_huge_transpose_is_refused_before_its_gather_plan_is_built(tmp_path: Any, capsys: Any) -> None:
    """A 2048x2048x64 transpose needs ~29 GiB of gather plan: refused in bounded time and memory."""
    import json

    from tlm.cli import main

    f = tmp_path / "w.json"
    f.write_text(json.dumps({"format": "tlm-workload/2", "name": "big", "seed": 1,
                             "input": {"name": "x", "height": 2048, "width": 2048, "channels": 64},
                             "layers": [{"name": "t", "op": "transpose", "inputs": ["x"], "perm": [2, 0, 1]}]}))
    assert main(["sim", "-w", str(f), "--timing-only", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {f}: layers: needs about") and "transpose 't'" in err and err.count("\n") == 1


def up_net(h: int, w: int, c: int, scale: int) -> dict[str, Any]:
    """conv -> resize (nearest, integer scale) -> 3x3 conv: the resize reads a producer and feeds a consumer."""
    return {"format": "tlm-workload/2", "name": "up", "seed": 6,
            "input": {"name": "x", "height": h, "width": w, "channels": 2},
            "layers": [{"name": "c", "op": "conv2d", "inputs": ["x"], "out_channels": c, "kernel": 1, "relu": False},
                       {"name": "r", "op": "resize", "inputs": ["c"], "scale": scale},
                       {"name": "g", "op": "conv2d", "inputs": ["r"], "out_channels": 3, "kernel": 3,
                        "padding": 1}]}


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 9), st.integers(1, 4),
       st.sampled_from([{}, {"array": {"engines": 1, "rows": 3, "cols": 5}, "dma": {"bus_bytes": 4}}]))
def test_resize_equals_numpy_repeat(h: int, w: int, c: int, scale: int, arch_over: dict[str, Any]) -> None:
    arch = arch_from_dict(arch_over)
    program = compile_workload(up_net(h, w, c, scale), arch)
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]
    got = run_program_functionally(program, arch)
    want = got["c"].reshape(h, w, c).repeat(scale, axis=0).repeat(scale, axis=1).reshape(-1, c)
    np.testing.assert_array_equal(got["r"], want)


@pytest.mark.parametrize("ctm,nearest", [("half_pixel", "round_prefer_floor"), ("pytorch_half_pixel",
                                                                                    "round_prefer_ceil"),
                                         ("asymmetric", "floor")])
@pytest.mark.parametrize("scale", [2, 3])
def test_onnx_resize_imports_to_what_onnxruntime_computes(ctm: str, nearest: str, scale: int) -> None:
    """Integer pixels, so onnxruntime's float output is exactly the input pixels it picked."""
    x = np.random.default_rng(scale).integers(-100, 100, size=(1, 3, 4, 5)).astype(np.float32)
    s = numpy_helper.from_array(np.array([1, 1, scale, scale], dtype=np.float32), "s")
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], name="up", mode="nearest",
                            coordinate_transformation_mode=ctm, nearest_mode=nearest)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [s])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        ["y"], {"x": x})[0][0]
    layers = model_to_workload(model, "up.onnx", "up")["layers"]
    assert layers == [{"name": "up", "op": "resize", "scale": scale, "inputs": ["input"]}]
    from tlm.workload.vector_ops import VectorOp, apply

    v = VectorOp("resize", (3,), 4, 5, 4 * scale, 5 * scale, 3, stride=scale)
    ours = apply(v, [x[0].transpose(1, 2, 0).reshape(-1, 3).astype(np.int8)], 0, 20 * scale * scale)
    np.testing.assert_array_equal(ours.reshape(4 * scale, 5 * scale, 3).transpose(2, 0, 1), want.astype(np.int8))


@pytest.mark.parametrize("attrs,sizes,what", [
    ({"mode": "linear"}, [1, 3, 8, 10], "only nearest"),
    ({"coordinate_transformation_mode": "align_corners"}, [1, 3, 8, 10], "only nearest"),
    ({"coordinate_transformation_mode": "asymmetric", "nearest_mode": "round_prefer_ceil"}, [1, 3, 8, 10],
     "only nearest"),
    ({}, [1, 3, 8, 15], "the same integer factor"),
    ({}, [1, 3, 2, 5], "the same integer factor"),
])
def test_onnx_resize_that_is_not_an_integer_nearest_upsampling_is_refused(attrs: dict[str, Any],
                                                                          sizes: list[int], what: str) -> None:
    from tlm.errors import InputError

    node = helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="up", **attrs)
    sz = numpy_helper.from_array(np.array(sizes, dtype=np.int64), "sz")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [sz])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    with pytest.raises(InputError) as e:
        model_to_workload(model, "up.onnx", "up")
    assert "node 'up' (Resize)" in str(e.value) and what in str(e.value), str(e.value)
