"""Ours vs onnxruntime: int8 quantized convolutions, activations and products give the same bytes.

Each test builds a small int8 model with onnx.helper (QDQ: DequantizeLinear
around the int8 input and weights, Conv, QuantizeLinear of the output; or
QLinearConv), all scales powers of two and zero points 0. The importer turns
it into a graph workload whose MAC layers store with `round: true` and the
shift of the scales; the workload's input (drawn from its seed) is fed to
onnxruntime (CPUExecutionProvider). The TLM must then hold onnxruntime's
int8 tensors element for element: they replace the numpy reference as the
functional check's expected values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tlm.arch import Arch, arch_from_dict  # noqa: E402
from tlm.blocks import simulate  # noqa: E402
from tlm.importers.onnx import model_to_workload  # noqa: E402
from tlm.workload import compile_workload, data  # noqa: E402

ARCH = Arch()
SEED = 7


def _scale(name: str, exp: int) -> Any:
    return numpy_helper.from_array(np.array(2.0 ** exp, dtype=np.float32), name)


def _zp(name: str) -> Any:
    return numpy_helper.from_array(np.array(0, dtype=np.int8), name)


def _weights(name: str, cout: int, cin: int, k: int, seed: int) -> Any:
    w = np.random.default_rng(seed).integers(-128, 128, size=(cout, cin, k, k), dtype=np.int8)
    return numpy_helper.from_array(w, name)


def _model(nodes: list[Any], inits: list[Any], c: int, h: int, w: int, outputs: list[str],
           opset: int = 13) -> Any:
    graph = helper.make_graph(
        nodes, "q", [helper.make_tensor_value_info("x", TensorProto.INT8, [1, c, h, w])],
        [], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    typed = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    model.graph.output.extend(typed[o] for o in outputs)
    return model


def _qdq_conv(i: int, x: str, cin: int, cout: int, k: int, stride: int, pad: int, group: int,
              exps: tuple[int, int, int], relu: bool = False) -> tuple[list[Any], list[Any], str]:
    """DequantizeLinear(x), DequantizeLinear(w), Conv[, Relu], QuantizeLinear: the int8 output name."""
    sx, sw, sy = exps
    p = f"c{i}"
    nodes = [helper.make_node("DequantizeLinear", [x, f"{p}.sx", f"{p}.zx"], [f"{p}.xf"], name=f"{p}.dqx"),
             helper.make_node("DequantizeLinear", [f"{p}.w", f"{p}.sw", f"{p}.zw"], [f"{p}.wf"], name=f"{p}.dqw"),
             helper.make_node("Conv", [f"{p}.xf", f"{p}.wf"], [f"{p}.y"], name=p, kernel_shape=[k, k],
                              strides=[stride, stride], pads=[pad] * 4, group=group)]
    y = f"{p}.y"
    if relu:
        nodes.append(helper.make_node("Relu", [y], [f"{p}.r"], name=f"{p}.relu"))
        y = f"{p}.r"
    nodes.append(helper.make_node("QuantizeLinear", [y, f"{p}.sy", f"{p}.zy"], [f"{p}.q"], name=f"{p}.q"))
    inits = [_scale(f"{p}.sx", sx), _zp(f"{p}.zx"), _weights(f"{p}.w", cout, cin // group, k, 100 + i),
             _scale(f"{p}.sw", sw), _zp(f"{p}.zw"), _scale(f"{p}.sy", sy), _zp(f"{p}.zy")]
    return nodes, inits, f"{p}.q"


def _run_ort(model: Any, x: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(outputs, sess.run(outputs, {"x": x})))


def _check(model: Any, c: int, h: int, w: int, compare: dict[str, str], arch: Arch = ARCH) -> None:
    """Import, draw the input from the seed, run both; compare: workload layer -> ONNX int8 tensor."""
    workload = model_to_workload(model, "q.onnx", "q")
    workload["seed"] = SEED
    x = data.layer_input(SEED, h * w, c).reshape(h, w, c).transpose(2, 0, 1)[None].copy()
    got = _run_ort(model, x, list(compare.values()))
    program = compile_workload(workload, arch)
    for layer, tensor in compare.items():
        y = got[tensor]
        assert y.dtype == np.int8
        ours = y[0].transpose(1, 2, 0).reshape(-1, y.shape[1])   # NCHW -> pixels x channels
        np.testing.assert_array_equal(program.expected[layer], ours, err_msg=layer)
        program.expected[layer] = ours
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]


@pytest.mark.parametrize("relu", [False, True])
def test_qdq_conv_equals_onnxruntime(relu: bool) -> None:
    c, h, w = 8, 6, 6
    n1, i1, y1 = _qdq_conv(1, "x", c, 8, 3, 1, 1, 1, (-4, -6, 0), relu=relu)  # shift 10
    n2, i2, y2 = _qdq_conv(2, y1, 8, 4, 1, 1, 0, 1, (0, -7, 0))                # shift 7
    model = _model(n1 + n2, i1 + i2, c, h, w, [y1, y2])
    workload = model_to_workload(model, "q.onnx", "q")
    c1 = next(x for x in workload["layers"] if x["name"] == "c1")
    assert c1["shift"] == 10 and c1["round"] is True and c1.get("relu", True) is relu
    _check(model, c, h, w, {"c1": y1})


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(c=st.sampled_from([3, 8, 16]), cout=st.sampled_from([4, 8, 12]), hw=st.integers(3, 9),
       k=st.sampled_from([1, 3, 5]), stride=st.integers(1, 2), pad=st.integers(0, 2),
       shift=st.integers(4, 13), depthwise=st.booleans())
def test_qdq_conv_shapes_equal_onnxruntime(c: int, cout: int, hw: int, k: int, stride: int, pad: int,
                                           shift: int, depthwise: bool) -> None:
    if k > hw + 2 * pad:
        k = 1
    group, cout = (c, c) if depthwise else (1, cout)
    n1, i1, y1 = _qdq_conv(1, "x", c, cout, k, stride, pad, group, (-3, -shift + 3, 0))
    n2, i2, _ = _qdq_conv(2, y1, cout, 4, 1, 1, 0, 1, (0, -7, 0))
    _check(_model(n1 + n2, i1 + i2, c, hw, hw, [y1]), c, hw, hw, {"c1": y1})


def test_qlinearconv_equals_onnxruntime() -> None:
    c, h, w = 8, 5, 7
    nodes, inits = [], []
    x = "x"
    for i, (cout, k, sy) in enumerate([(8, 3, 2), (6, 3, 1)], start=1):
        p = f"q{i}"
        nodes.append(helper.make_node("QLinearConv", [x, f"{p}.sx", f"{p}.zx", f"{p}.w", f"{p}.sw", f"{p}.zw",
                                                      f"{p}.sy", f"{p}.zy"], [f"{p}.y"], name=p,
                                      kernel_shape=[k, k], pads=[1] * 4))
        inits += [_scale(f"{p}.sx", -3), _zp(f"{p}.zx"), _weights(f"{p}.w", cout, c if i == 1 else 8, k, i),
                  _scale(f"{p}.sw", -6), _zp(f"{p}.zw"), _scale(f"{p}.sy", sy), _zp(f"{p}.zy")]
        x = f"{p}.y"
    model = _model(nodes, inits, c, h, w, ["q1.y", "q2.y"])
    layers = model_to_workload(model, "q.onnx", "q")["layers"]
    assert [(x["shift"], x["round"]) for x in layers] == [(11, True), (10, True)]
    _check(model, c, h, w, {"q1": "q1.y"})


@pytest.mark.parametrize("overlay", [{}, {"engine": {"double_buffer": True}}, {"array": {"dataflow": "ws"}}])
def test_residual_block_equals_onnxruntime(overlay: dict[str, Any]) -> None:
    """conv (+ReLU), conv, Add of the block input: every tensor int8 with one scale, so Add saturates."""
    c, h, w = 8, 6, 6
    n1, i1, y1 = _qdq_conv(1, "x", c, c, 3, 1, 1, 1, (-3, -7, -3), relu=True)
    n2, i2, y2 = _qdq_conv(2, y1, c, c, 3, 1, 1, 1, (-3, -7, -3))
    add = [helper.make_node("DequantizeLinear", [y2, "s", "z"], ["a"], name="dqa"),
           helper.make_node("DequantizeLinear", ["x", "s", "z"], ["b"], name="dqb"),
           helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
           helper.make_node("QuantizeLinear", ["sum", "s", "z"], ["out"], name="qout")]
    model = _model(n1 + n2 + add, i1 + i2 + [_scale("s", -3), _zp("z")], c, h, w, [y1, y2, "out"])
    _check(model, c, h, w, {"c1": y1, "c2": y2, "add": "out"}, arch_from_dict(overlay))


def test_qdq_matmul_equals_onnxruntime() -> None:
    """Gemm layers: an M x K int8 input through DequantizeLinear, MatMul by int8 weights, QuantizeLinear."""
    m, k = 6, 24
    nodes, inits, x = [], [], "x"
    for i, (n, sy) in enumerate([(16, -1), (5, 0)], start=1):
        p = f"g{i}"
        nodes += [helper.make_node("DequantizeLinear", [x, f"{p}.sx", f"{p}.zx"], [f"{p}.xf"], name=f"{p}.dqx"),
                  helper.make_node("DequantizeLinear", [f"{p}.w", f"{p}.sw", f"{p}.zw"], [f"{p}.wf"],
                                   name=f"{p}.dqw"),
                  helper.make_node("MatMul", [f"{p}.xf", f"{p}.wf"], [f"{p}.y"], name=p),
                  helper.make_node("QuantizeLinear", [f"{p}.y", f"{p}.sy", f"{p}.zy"], [f"{p}.q"], name=f"{p}.q")]
        w = np.random.default_rng(i).integers(-128, 128, size=(k if i == 1 else 16, n), dtype=np.int8)
        inits += [_scale(f"{p}.sx", -2), _zp(f"{p}.zx"), numpy_helper.from_array(w, f"{p}.w"),
                  _scale(f"{p}.sw", -7), _zp(f"{p}.zw"), _scale(f"{p}.sy", sy), _zp(f"{p}.zy")]
        x = f"{p}.q"
    graph = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", TensorProto.INT8, [m, k])], [],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    typed = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    model.graph.output.extend([typed["g1.q"]])
    workload = model_to_workload(model, "q.onnx", "q")
    assert [(x["op"], x["shift"], x["round"], x["relu"]) for x in workload["layers"]] == \
        [("gemm", 8, True, False), ("gemm", 9, True, False)]
    workload["seed"] = SEED
    xin = data.layer_input(SEED, m, k)
    want = _run_ort(model, xin, ["g1.q"])["g1.q"]
    program = compile_workload(workload, ARCH)
    np.testing.assert_array_equal(program.expected["g1"], want)
    program.expected["g1"] = want
    res = simulate(program, ARCH)
    assert res.functional == "pass", res.mismatches[:3]


@pytest.mark.parametrize("what", ["bias", "zero_point", "scale"])
def test_no_rounding_store_when_onnxruntime_cannot_be_matched(what: str) -> None:
    """A bias (layers have none), a non-zero zero point or a scale ratio that is no power of two."""
    n1, i1, y1 = _qdq_conv(1, "x", 8, 8, 3, 1, 1, 1, (-4, -6, 0))
    if what == "bias":
        i1.append(numpy_helper.from_array(np.ones(8, dtype=np.float32), "c1.b"))
        n1[2].input.append("c1.b")
    elif what == "zero_point":
        i1[1] = numpy_helper.from_array(np.array(3, dtype=np.int8), "c1.zx")
    else:
        i1[-2] = numpy_helper.from_array(np.array(0.3, dtype=np.float32), "c1.sy")
    n2, i2, _ = _qdq_conv(2, y1, 8, 4, 1, 1, 0, 1, (0, -7, 0))
    layers = model_to_workload(_model(n1 + n2, i1 + i2, 8, 6, 6, [y1]), "q.onnx", "q")["layers"]
    assert "round" not in layers[0] and "shift" not in layers[0]
    assert layers[1]["round"] is True and layers[1]["shift"] == 7


def _qdq_unary(p: str, x: str, op: str, sx: float, sy: float, **attrs: Any) -> tuple[list[Any], list[Any], str]:
    """DequantizeLinear(x), `op`, QuantizeLinear: the int8 output name."""
    nodes = [helper.make_node("DequantizeLinear", [x, f"{p}.sx", f"{p}.z"], [f"{p}.xf"], name=f"{p}.dq"),
             helper.make_node(op, [f"{p}.xf"], [f"{p}.yf"], name=p, **attrs),
             helper.make_node("QuantizeLinear", [f"{p}.yf", f"{p}.sy", f"{p}.z"], [f"{p}.q"], name=f"{p}.q")]
    inits = [numpy_helper.from_array(np.array(sx, dtype=np.float32), f"{p}.sx"),
             numpy_helper.from_array(np.array(sy, dtype=np.float32), f"{p}.sy"), _zp(f"{p}.z")]
    return nodes, inits, f"{p}.q"


ACTIVATIONS = [("Sigmoid", {}), ("Tanh", {}), ("HardSigmoid", {}), ("HardSigmoid", {"alpha": 1 / 6}),
               ("HardSwish", {}), ("Erf", {}), ("Gelu", {}), ("Gelu", {"approximate": "tanh"}),
               ("LeakyRelu", {}), ("LeakyRelu", {"alpha": 0.2}), ("Elu", {}), ("Selu", {}), ("Softplus", {}),
               ("Softsign", {}), ("Mish", {})]


@pytest.mark.parametrize("op,attrs", ACTIVATIONS, ids=[f"{o}{'-' + str(a) if a else ''}" for o, a in ACTIVATIONS])
@pytest.mark.parametrize("sx,sy", [(2.0 ** -4, 2.0 ** -7), (0.05, 0.01), (0.1, 0.03), (0.02, 0.008)])
def test_activation_table_equals_onnxruntime_on_every_int8(op: str, attrs: dict[str, Any], sx: float,
                                                            sy: float) -> None:
    """The imported lut's 256 entries are onnxruntime's outputs for the 256 int8 inputs (any scales)."""
    nodes, inits, y = _qdq_unary("act", "x", op, sx, sy, **attrs)
    model = _model(nodes, inits, 256, 1, 1, [y], opset=20)
    every = np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1, 1)
    want = _run_ort(model, every, [y])[y].reshape(-1)
    (layer,) = model_to_workload(model, "q.onnx", "q")["layers"]
    assert layer["op"] == "lut"
    np.testing.assert_array_equal(np.array(layer["table"], dtype=np.int8), want)


def test_squeeze_excite_block_equals_onnxruntime() -> None:
    """conv, HardSwish, global pool, two 1x1 convs, HardSigmoid gate, Mul by the gate (broadcast),
    and an element-wise Mul of two activations: every tensor int8 with power-of-two scales. The
    pool is a max over the image (an average floors where onnxruntime rounds)."""
    c, h, w = 8, 6, 6
    n1, i1, y1 = _qdq_conv(1, "x", c, 16, 3, 1, 1, 1, (-3, -7, -3))
    n2, i2, y2 = _qdq_unary("hs", y1, "HardSwish", 2.0 ** -3, 2.0 ** -3)
    pool = [helper.make_node("DequantizeLinear", [y2, "s3", "z"], ["pf"], name="dqp"),
            helper.make_node("MaxPool", ["pf"], ["gp"], name="pool", kernel_shape=[h, w], strides=[h, w]),
            helper.make_node("QuantizeLinear", ["gp", "s3", "z"], ["gq"], name="qp")]
    n3, i3, y3 = _qdq_conv(3, "gq", 16, 4, 1, 1, 0, 1, (-3, -7, -3), relu=True)
    n4, i4, y4 = _qdq_conv(4, y3, 4, 16, 1, 1, 0, 1, (-3, -7, -3))
    n5, i5, y5 = _qdq_unary("gate", y4, "HardSigmoid", 2.0 ** -3, 2.0 ** -7, alpha=1 / 6)
    mul = [helper.make_node("DequantizeLinear", [y5, "s7", "z"], ["gf"], name="dqg"),
           helper.make_node("DequantizeLinear", [y2, "s3", "z"], ["af"], name="dqa"),
           helper.make_node("Mul", ["gf", "af"], ["m"], name="se"),   # gate first: the import swaps
           helper.make_node("QuantizeLinear", ["m", "s3", "z"], ["mq"], name="qm"),
           helper.make_node("DequantizeLinear", ["mq", "s3", "z"], ["mf"], name="dqm"),
           helper.make_node("Mul", ["mf", "af"], ["sq"], name="square"),
           helper.make_node("QuantizeLinear", ["sq", "s1", "z"], ["sqq"], name="qsq")]
    consts = [numpy_helper.from_array(np.array(2.0 ** -3, dtype=np.float32), "s3"),
              numpy_helper.from_array(np.array(2.0 ** -7, dtype=np.float32), "s7"),
              numpy_helper.from_array(np.array(2.0 ** -1, dtype=np.float32), "s1"), _zp("z")]
    model = _model(n1 + n2 + pool + n3 + n4 + n5 + mul, i1 + i2 + i3 + i4 + i5 + consts, c, h, w,
                   [y2, y5, "mq", "sqq"], opset=14)
    layers = {x["name"]: x for x in model_to_workload(model, "q.onnx", "q")["layers"]}
    assert layers["se"]["inputs"] == ["hs", "gate"] and layers["se"]["shift"] == 7
    assert layers["square"]["shift"] == 5
    _check(model, c, h, w, {"hs": y2, "gate": y5, "se": "mq", "square": "sqq"})
