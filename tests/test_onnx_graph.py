"""ONNX graphs (not chains) imported as tlm-workload/2, run functionally on the TLM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tlm.arch import Arch
from tlm.blocks import simulate
from tlm.cli import main
from tlm.errors import InputError
from tlm.importers.onnx import model_to_workload
from tlm.workload import compile_workload, run_program_functionally

ARCH = Arch()


def init(name: str, *shape: int, value: float | None = None) -> Any:
    rng = np.random.default_rng(len(name))
    a = np.full(shape, value, dtype=np.float32) if value is not None else \
        rng.standard_normal(shape).astype(np.float32)
    return numpy_helper.from_array(a, name)


def model(nodes: list[Any], inits: list[Any], x_shape: list[int], outs: list[str]) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
    ys = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    graph = helper.make_graph(nodes, "g", [x], ys, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def conv(name: str, x: str, w: str, k: int = 3, s: int = 1, g: int = 1) -> Any:
    p = k // 2
    return helper.make_node("Conv", [x, w], [name], name=name, kernel_shape=[k, k], strides=[s, s],
                            pads=[p, p, p, p], group=g)


def residual_dw() -> Any:
    """conv -> relu -> depthwise conv -> BN, + input, relu, maxpool, GAP, flatten, gemm."""
    nodes = [conv("c1", "x", "w1"), helper.make_node("Relu", ["c1"], ["r1"]),
             conv("dw", "r1", "w2", g=8),
             helper.make_node("BatchNormalization", ["dw", "s", "b", "m", "v"], ["bn"], name="bn"),
             helper.make_node("Add", ["bn", "x"], ["add"], name="add"),
             helper.make_node("Relu", ["add"], ["relu"], name="relu"),
             helper.make_node("MaxPool", ["relu"], ["mp"], name="mp", kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["mp"], ["gap"], name="gap"),
             helper.make_node("Flatten", ["gap"], ["fl"], name="fl"),
             helper.make_node("Gemm", ["fl", "wf"], ["fc"], name="fc", transB=1)]
    inits = [init("w1", 8, 8, 3, 3), init("w2", 8, 1, 3, 3), init("s", 8), init("b", 8), init("m", 8),
             init("v", 8, value=1.0), init("wf", 10, 8)]
    return model(nodes, inits, [1, 8, 8, 8], ["fc"])


def attention_like() -> Any:
    """Token projections, softmax over features, layernorm, a residual add (tokens x features)."""
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"], name="q"),
             helper.make_node("Softmax", ["q"], ["p"], name="softmax", axis=-1),
             helper.make_node("MatMul", ["p", "wo"], ["o"], name="o"),
             helper.make_node("Add", ["o", "x"], ["res"], name="res"),
             helper.make_node("LayerNormalization", ["res", "gamma"], ["ln"], name="ln", axis=-1)]
    return model(nodes, [init("wq", 16, 12), init("wo", 12, 16), init("gamma", 16, value=1.0)],
                 [10, 16], ["ln"])


def concat_branch() -> Any:
    nodes = [conv("a", "x", "wa", k=1), conv("b", "x", "wb", k=3),
             helper.make_node("Concat", ["a", "b"], ["cat"], name="cat", axis=1),
             helper.make_node("AveragePool", ["cat"], ["ap"], name="ap", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Clip", ["ap", "lo", "hi"], ["clip"], name="clip"),
             conv("c", "clip", "wc", k=1)]
    return model(nodes, [init("wa", 4, 3, 1, 1), init("wb", 6, 3, 3, 3), init("wc", 5, 10, 1, 1),
                         numpy_helper.from_array(np.array(0.0, dtype=np.float32), "lo"),
                         numpy_helper.from_array(np.array(6.0, dtype=np.float32), "hi")],
                 [1, 3, 6, 6], ["c"])


def qdq_conv() -> Any:
    """x -> QuantizeLinear -> DequantizeLinear -> Conv(DQ(w)) -> Q -> DQ, then a residual branch."""
    scale = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "sc")
    zp = numpy_helper.from_array(np.array(0, dtype=np.int8), "zp")
    wq = numpy_helper.from_array(np.random.default_rng(0).integers(-8, 8, (4, 4, 3, 3)).astype(np.int8), "wq")
    nodes = [helper.make_node("QuantizeLinear", ["x", "sc", "zp"], ["xq"], name="qx"),
             helper.make_node("DequantizeLinear", ["xq", "sc", "zp"], ["xd"], name="dqx"),
             helper.make_node("DequantizeLinear", ["wq", "sc", "zp"], ["wd"], name="dqw"),
             conv("conv", "xd", "wd"),
             helper.make_node("QuantizeLinear", ["conv", "sc", "zp"], ["yq"], name="qy"),
             helper.make_node("DequantizeLinear", ["yq", "sc", "zp"], ["y"], name="dqy"),
             helper.make_node("Add", ["y", "xd"], ["out"], name="out")]
    return model(nodes, [scale, zp, wq], [1, 4, 5, 5], ["out"])


def onnx_macs(m: Any) -> int:
    """MACs from ONNX's inferred shapes alone: Conv N*Cout*OH*OW*(Cin/g)*kh*kw, MatMul/Gemm M*N*K."""
    inferred = onnx.shape_inference.infer_shapes(m)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    shapes.update({t.name: list(t.dims) for t in m.graph.initializer})
    total = 0
    for node in m.graph.node:
        if node.op_type == "Conv":
            n, cout, oh, ow = shapes[node.output[0]]
            _, cin_g, kh, kw = shapes[node.input[1]]
            total += n * cout * oh * ow * cin_g * kh * kw
        elif node.op_type in ("Gemm", "MatMul"):
            mm, k = shapes[node.input[0]]
            total += mm * k * shapes[node.output[0]][1]
    return total


GRAPHS = {"residual_dw": residual_dw, "attention_like": attention_like, "concat_branch": concat_branch,
          "qdq_conv": qdq_conv}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graph_runs_functionally_with_onnx_mac_count(name: str) -> None:
    m = GRAPHS[name]()
    ort.InferenceSession(m.SerializeToString())  # a valid model for onnxruntime too
    w = model_to_workload(m, f"{name}.onnx", name)
    assert w["format"] == "tlm-workload/2"
    program = compile_workload(w, ARCH)
    res = simulate(program, ARCH)
    assert res.functional == "pass", res.mismatches[:3]
    got = run_program_functionally(program, ARCH)
    for t, want in program.expected.items():
        np.testing.assert_array_equal(got[t], want, err_msg=t)
    assert res.macs == onnx_macs(m)


def test_layer_names_are_onnx_node_names_and_relu_after_conv_is_fused() -> None:
    w = model_to_workload(residual_dw(), "r.onnx", "r")
    assert [x["name"] for x in w["layers"]] == ["c1", "dw", "add", "relu", "mp", "gap", "fl", "fc"]
    assert w["layers"][2]["inputs"] == ["dw", "input"]  # BN folded into dw, x is the input


def test_sim_json_has_per_layer_rows_for_a_graph(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "r.onnx"
    onnx.save(residual_dw(), str(path))
    assert main(["sim", "-w", str(path), "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in out["layers"]}
    assert rows["add"]["op"] == "add" and rows["add"]["macs"] == 0 and rows["add"]["end"] > rows["add"]["start"]
    assert rows["dw"]["macs"] == 8 * 8 * 8 * 9  # depthwise 3x3: 9 per channel per output pixel
    assert out["macs"] == onnx_macs(residual_dw())


def test_import_writes_a_graph_workload(tmp_path: Path) -> None:
    path = tmp_path / "c.onnx"
    onnx.save(concat_branch(), str(path))
    assert main(["import", str(path), "-o", str(tmp_path / "c.json")]) == 0
    w = json.loads((tmp_path / "c.json").read_text())
    assert w["format"] == "tlm-workload/2" and [x["op"] for x in w["layers"]] == \
        ["conv2d", "conv2d", "concat", "avgpool", "clip", "conv2d"]


def test_attention_product_of_two_activations_is_refused() -> None:
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"], name="q"),
             helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[1, 0]),
             helper.make_node("MatMul", ["q", "xt"], ["s"], name="scores")]
    with pytest.raises(InputError) as e:
        model_to_workload(model(nodes, [init("wq", 16, 16)], [10, 16], ["s"]), "a.onnx")
    assert "Transpose" in e.value.what or "two activations" in e.value.what


def _weights_in_memory(program: Any, name: str) -> list[np.ndarray]:
    """The memory-image blobs of layer `name`'s weight size, as N x K int8 candidates."""
    info = {x["name"]: x for x in program.info["layers"]}[name]
    blobs = [b for a, b in program.memory_image if len(b) == info["N"] * info["K"]]
    return [np.frombuffer(b, dtype=np.int8).reshape(info["N"], info["K"]) for b in blobs]


def test_weights_come_from_the_initializers_quantised_to_int8() -> None:
    m = residual_dw()
    w = model_to_workload(m, "r.onnx", "r")
    program = compile_workload(w, ARCH)
    assert simulate(program, ARCH).functional == "pass"
    consts = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    # conv c1: symmetric per tensor, max|w| -> 127, round half even, (ky, kx, c) order
    w1 = consts["w1"]
    q1 = np.clip(np.round(w1 * 127 / np.abs(w1).max()), -127, 127).astype(np.int8)
    assert any(np.array_equal(b, q1.transpose(0, 2, 3, 1).reshape(8, -1)) for b in _weights_in_memory(program, "c1"))
    # depthwise dw with the batch norm folded in before quantising
    w2 = consts["w2"] * (consts["s"] / np.sqrt(consts["v"] + 1e-5)).reshape(-1, 1, 1, 1)
    q2 = np.clip(np.round(w2 * 127 / np.abs(w2).max()), -127, 127).astype(np.int8)
    assert any(np.array_equal(b, q2.reshape(8, 9)) for b in _weights_in_memory(program, "dw"))
    # the reference uses the same weights: the expected fc output is the pooled vector times them
    fc = consts["wf"]
    qf = np.clip(np.round(fc * 127 / np.abs(fc).max()), -127, 127).astype(np.int8)
    want = program.expected["gap"].astype(np.int64).reshape(1, -1) @ qf.astype(np.int64).T
    np.testing.assert_array_equal(program.expected["fc"], want.astype(np.int32))


def test_qdq_int8_weights_are_taken_as_they_are() -> None:
    m = qdq_conv()
    w = model_to_workload(m, "q.onnx", "q")
    program = compile_workload(w, ARCH)
    wq = numpy_helper.to_array(next(t for t in m.graph.initializer if t.name == "wq"))
    assert any(np.array_equal(b, wq.transpose(0, 2, 3, 1).reshape(4, -1)) for b in _weights_in_memory(program, "conv"))


def test_import_writes_the_weights_next_to_the_json_and_sim_reads_them(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "r.onnx"
    onnx.save(residual_dw(), str(path))
    out = tmp_path / "r.json"
    assert main(["import", str(path), "-o", str(out)]) == 0
    w = json.loads(out.read_text())
    assert w["weights"] == "r.weights.npz" and (tmp_path / "r.weights.npz").exists()
    direct = compile_workload(model_to_workload(residual_dw(), str(path), "r"), ARCH)
    via_file = compile_workload(str(out), ARCH)
    for name, want in direct.expected.items():
        np.testing.assert_array_equal(via_file.expected[name], want)
    assert main(["sim", "-w", str(out), "--no-progress"]) == 0
    # a weights array of the wrong shape is one line, exit 2
    np.savez(tmp_path / "r.weights.npz", c1=np.zeros((8, 5), dtype=np.int8))
    capsys.readouterr()
    assert main(["sim", "-w", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {out}: weights: array 'c1' must be int8 of shape (8, 72) (N x K, K in (ky, kx, c) " \
                  "order), got int8 (8, 5)\n"
    (tmp_path / "r.weights.npz").write_bytes(b"not a zip")
    assert main(["sim", "-w", str(out), "--no-progress"]) == 2
    assert "cannot read 'r.weights.npz' as .npz" in capsys.readouterr().err


def _opset(m: Any, version: int) -> Any:
    del m.opset_import[:]
    m.opset_import.append(helper.make_opsetid("", version))
    return m


def squeeze_excite(gate_first: bool = True) -> Any:
    """conv, SiLU (Sigmoid + Mul), HardSwish, ReduceMean gate, 1x1 conv, HardSigmoid (alpha 1/6), Mul."""
    nodes = [conv("c1", "x", "w1"), helper.make_node("Sigmoid", ["c1"], ["sg"], name="sig"),
             helper.make_node("Mul", ["c1", "sg"], ["silu"], name="silu"),
             helper.make_node("HardSwish", ["silu"], ["hs"], name="hs"),
             helper.make_node("ReduceMean", ["hs", "axes"], ["pool"], name="pool", keepdims=1),
             conv("fc", "pool", "w2", k=1),
             helper.make_node("HardSigmoid", ["fc"], ["gate"], name="gate", alpha=1 / 6),
             helper.make_node("Mul", ["gate", "hs"] if gate_first else ["hs", "gate"], ["se"], name="se"),
             helper.make_node("Gelu", ["se"], ["gelu"], name="gelu"),
             helper.make_node("Tanh", ["gelu"], ["th"], name="tanh")]
    inits = [init("w1", 8, 4, 3, 3), init("w2", 8, 8, 1, 1),
             numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes")]
    return _opset(model(nodes, inits, [1, 4, 6, 6], ["th"]), 20)


@pytest.mark.parametrize("gate_first", [True, False])
def test_activations_gates_and_spatial_means_import_and_run(gate_first: bool) -> None:
    m = squeeze_excite(gate_first)
    ort.InferenceSession(m.SerializeToString())  # a model onnxruntime runs
    w = model_to_workload(m, "se.onnx", "se")
    layers = {x["name"]: x for x in w["layers"]}
    assert layers["sig"] == {"name": "sig", "op": "lut", "inputs": ["c1"], "fn": "sigmoid"}
    assert layers["silu"] == {"name": "silu", "op": "mul", "inputs": ["c1", "sig"]}
    assert layers["hs"]["fn"] == "hardswish" and layers["gelu"]["fn"] == "gelu" and layers["tanh"]["fn"] == "tanh"
    assert layers["pool"]["op"] == "globalavgpool"
    assert len(layers["gate"]["table"]) == 256 and "fn" not in layers["gate"]  # alpha 1/6: its own table
    assert layers["se"]["inputs"] == ["hs", "gate"]  # the one-pixel gate second
    program = compile_workload(w, ARCH)
    assert any(v.broadcast for v in program.vector_ops.values())
    res = simulate(program, ARCH)
    assert res.functional == "pass", res.mismatches[:3]


@pytest.mark.parametrize("node,shape,what", [
    (helper.make_node("ReduceMean", ["x"], ["y"], name="rm", axes=[1]), [1, 4, 6, 6],
     "only the spatial axes (2, 3)"),
    (helper.make_node("Mul", ["x", "t"], ["y"], name="mul"), [1, 4, 6, 6], "only equal shapes or an N x C x 1 x 1"),
    (helper.make_node("Div", ["x", "t"], ["y"], name="div"), [1, 4, 6, 6], "Div of two activations"),
])
def test_unsupported_forms_of_the_new_ops_are_refused_naming_the_node(node: Any, shape: list[int],
                                                                     what: str) -> None:
    # t: 1 x 1 x 6 x 6, which broadcasts over x's channels (ONNX allows it; the workload does not)
    m = model([conv("t", "x", "wt", k=1), node], [init("wt", 1, 4, 1, 1)], shape, ["y"])
    if node.op_type == "ReduceMean":
        m = _opset(model([node], [], shape, ["y"]), 13)
    with pytest.raises(InputError) as e:
        model_to_workload(m, "m.onnx", "m")
    assert what in str(e.value) and f"({node.op_type})" in str(e.value), str(e.value)


def _erf_gelu(variant: str) -> Any:
    """gemm, then GELU written out with Erf (three ways an exporter writes it, and one that is not GELU)."""
    scale = {"div": ("Div", 2 ** 0.5), "mul": ("Mul", 2 ** -0.5), "half_first": ("Div", 2 ** 0.5),
             "not_gelu": ("Div", 2.0)}[variant]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["u"], name="up"),
             helper.make_node(scale[0], ["u", "k"], ["d"], name="scale"),
             helper.make_node("Erf", ["d"], ["e"], name="gelu"),
             helper.make_node("Add", ["e", "one"], ["a"], name="plus1")]
    if variant == "half_first":
        nodes += [helper.make_node("Mul", ["u", "half"], ["uh"], name="uh"),
                  helper.make_node("Mul", ["uh", "a"], ["y"], name="times")]
    else:
        nodes += [helper.make_node("Mul", ["u", "a"], ["m"], name="times"),
                  helper.make_node("Mul", ["half", "m"], ["y"], name="half")]
    nodes.append(helper.make_node("MatMul", ["y", "w2"], ["out"], name="down"))
    inits = [init("w", 16, 32), init("w2", 32, 8), init("k", value=scale[1]), init("one", value=1.0),
             init("half", value=0.5)]
    return model(nodes, inits, [10, 16], ["out"])


@pytest.mark.parametrize("variant", ["div", "mul", "half_first"])
def test_a_gelu_written_with_erf_is_one_lut(variant: str) -> None:
    w = model_to_workload(_erf_gelu(variant), "g.onnx", "g")
    assert [(x["name"], x["op"], x["inputs"]) for x in w["layers"]] == \
        [("up", "gemm", ["input"]), ("gelu", "lut", ["up"]), ("down", "gemm", ["gelu"])]
    assert w["layers"][1]["fn"] == "gelu"
    res = simulate(compile_workload(w, ARCH), ARCH)
    assert res.functional == "pass"


def test_an_erf_that_is_not_a_gelu_stays_an_erf_and_a_product() -> None:
    w = model_to_workload(_erf_gelu("not_gelu"), "g.onnx", "g")
    assert [(x["op"], x.get("fn")) for x in w["layers"]] == [("gemm", None), ("lut", "erf"), ("mul", None),
                                                            ("gemm", None)]
