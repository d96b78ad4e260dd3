"""ONNX models as workloads: `--workload model.onnx` and `tlmsim import`.

Models are built here with onnx.helper. MACs are checked against a count from
the ONNX shapes alone; geometry against onnxruntime's output shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tlm.arch import Arch  # noqa: E402
from tlm.cli import main  # noqa: E402
from tlm.errors import InputError  # noqa: E402
from tlm.importers.onnx import model_to_workload  # noqa: E402
from tlm.workload import compile_workload, load_workload, run_program_functionally  # noqa: E402

OPSET = 17


def init(name: str, *shape: int) -> Any:
    rng = np.random.default_rng(len(name))
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def model(nodes: list[Any], inits: list[Any], x_shape: list[Any], opset: int = OPSET,
          out: str | None = None) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
    y = helper.make_tensor_value_info(out or nodes[-1].output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
    # IR 10: what the pinned onnxruntime reads
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def small_cnn() -> Any:
    """Conv+BN+Relu, depthwise Conv+Relu, pointwise Conv, 1x1 global conv -> Flatten -> Gemm -> Relu -> MatMul."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c1", "s", "b", "m", "v"], ["bn1"], name="bn1"),
        helper.make_node("Relu", ["bn1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "bias2"], ["c2"], name="dw", group=8, kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["c3"], name="pw", dilations=[2, 2], kernel_shape=[3, 3]),
        helper.make_node("Conv", ["c3", "w4"], ["c4"], name="squeeze", kernel_shape=[3, 3]),
        helper.make_node("Flatten", ["c4"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["g"], name="fc1", transB=1),
        helper.make_node("Relu", ["g"], ["rg"]),
        helper.make_node("MatMul", ["rg", "wm"], ["y"], name="fc2"),
    ]
    inits = [init("w1", 8, 3, 3, 3), init("s", 8), init("b", 8), init("m", 8),
             numpy_helper.from_array(np.ones(8, dtype=np.float32), "v"),
             init("w2", 8, 1, 3, 3), init("bias2", 8), init("w3", 12, 8, 3, 3), init("w4", 16, 12, 3, 3),
             init("wf", 10, 16), init("bf", 10), init("wm", 10, 6)]
    return model(nodes, inits, [1, 3, 14, 14])


def onnx_macs(m: Any) -> int:
    """MACs from ONNX's own inferred shapes: Conv N*Cout*OH*OW*(Cin/g)*kh*kw, MatMul/Gemm M*N*K."""
    inferred = onnx.shape_inference.infer_shapes(m)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    weights = {t.name: list(t.dims) for t in m.graph.initializer}
    total = 0
    for node in m.graph.node:
        if node.op_type == "Conv":
            n, cout, oh, ow = shapes[node.output[0]]
            _, cin_g, kh, kw = weights[node.input[1]]
            total += n * cout * oh * ow * cin_g * kh * kw
        elif node.op_type in ("Gemm", "MatMul"):
            mm, k = shapes[node.input[0]]
            total += mm * k * shapes[node.output[0]][1]
    return total


def save(tmp_path: Path, m: Any, name: str = "net.onnx") -> str:
    path = tmp_path / name
    onnx.save(m, str(path))
    return str(path)


def test_small_cnn_maps_layer_by_layer(tmp_path: Path) -> None:
    obj = load_workload(save(tmp_path, small_cnn()))
    layers = obj["layers"]
    assert [x["name"] for x in layers] == ["conv1", "dw", "pw", "squeeze", "fc1", "fc2"]
    assert layers[0] == {"name": "conv1", "op": "conv2d", "in_channels": 3, "out_channels": 8, "height": 14,
                         "width": 14, "kernel": 3, "stride": 2, "padding": 1, "dilation": 1}
    assert layers[1]["groups"] == 8 and layers[1]["in_channels"] == 8
    assert layers[2]["dilation"] == 2
    assert layers[4] == {"name": "fc1", "op": "gemm", "M": 1, "N": 10, "K": 16}
    assert layers[5] == {"name": "fc2", "op": "gemm", "M": 1, "N": 6, "K": 10}
    assert not any("fresh_input" in x for x in layers)


def test_macs_equal_count_from_onnx_shapes(tmp_path: Path) -> None:
    m = small_cnn()
    prog = compile_workload(save(tmp_path, m), Arch(), functional=False)
    assert prog.info["macs"] == onnx_macs(m)


def test_output_geometry_matches_onnxruntime(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    m = small_cnn()
    path = save(tmp_path, m)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.zeros((1, 3, 14, 14), dtype=np.float32)
    # every intermediate layer output, through a copy of the model that exposes them
    prog = compile_workload(path, Arch(), functional=False)
    (y,) = sess.run(None, {"x": x})
    last = prog.info["layers"][-1]
    assert (last["M"], last["N"]) == y.shape
    conv = {n.output[0]: n.name for n in m.graph.node if n.op_type == "Conv"}
    probe = onnx.load(path)
    probe.graph.output.extend(helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in conv)
    outs = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    by_name = {info["name"]: info for info in prog.info["layers"]}
    for tensor, value in zip(conv, outs[1:]):
        _, c, h, w = value.shape
        info = by_name[conv[tensor]]
        assert (info["out_h"], info["out_w"], info["N"]) == (h, w, c)


def test_imported_model_runs_functionally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path, small_cnn())
    prog = compile_workload(path, Arch())
    got = run_program_functionally(prog)
    for name, want in prog.expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert main(["sim", "--workload", path, "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["functional"] == "pass"


def test_import_command_writes_equivalent_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path, small_cnn())
    out = tmp_path / "net.json"
    assert main(["import", path, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "6 layers" in err and "drawn from the workload seed" in err
    assert json.loads(out.read_text()) == load_workload(path)
    a = compile_workload(str(out), Arch(), functional=False)
    b = compile_workload(path, Arch(), functional=False)
    assert a.info["macs"] == b.info["macs"] and a.entries == b.entries
    # without -o the JSON goes to stdout; a CSV imports too
    csv = tmp_path / "t.csv"
    csv.write_text("Layer,M,N,K\nfc,2,3,4\n")
    assert main(["import", str(csv)]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["K"] == 4


def test_two_imports_are_byte_identical(tmp_path: Path) -> None:
    path = save(tmp_path, small_cnn())
    for name in ("a.json", "b.json"):
        assert main(["import", path, "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def conv_node(inp: str, out: str, **kw: Any) -> Any:
    return helper.make_node("Conv", [inp, "w"], [out], name=out, **kw)


W = init("w", 4, 3, 3, 3)


@pytest.mark.parametrize("build, where, what", [
    (lambda: model([conv_node("x", "c"), helper.make_node("LRN", ["c"], ["y"], name="lrn", size=3)],
                   [W], [1, 3, 8, 8]),
     "node 'lrn' (LRN)", "op LRN has no mapping (supported: Conv, QLinearConv, Gemm, MatMul, Add, Relu"),
    (lambda: model([conv_node("x", "c"), helper.make_node("DepthToSpace", ["c"], ["y"], name="d2s", blocksize=2)],
                   [W], [1, 3, 8, 8]), "node 'd2s' (DepthToSpace)", "op DepthToSpace has no mapping"),
    (lambda: model([conv_node("x", "y")], [W], ["N", 3, 8, 8]), "input 'x'", "dynamic batch dimension 'N'"),
    (lambda: model([conv_node("x", "y")], [W], [2, 3, 8, 8]), "input 'x'", "batch 2"),
    (lambda: model([conv_node("x", "y")], [W], [1, 3, 8, 8], opset=5), "opset_import", "opset 5 is outside"),
    (lambda: model([conv_node("x", "y", pads=[0, 0, 1, 1])], [W], [1, 3, 8, 8]), "node 'y' (Conv)",
     "pads [0, 0, 1, 1] differ per axis"),
    (lambda: model([conv_node("x", "y", strides=[1, 2])], [W], [1, 3, 8, 8]), "node 'y' (Conv)", "strides"),
    (lambda: model([conv_node("x", "y", auto_pad="SAME_UPPER", strides=[2, 2])], [W], [1, 3, 8, 8]),
     "node 'y' (Conv)", "auto_pad SAME_UPPER pads [1, 1] in total"),
    (lambda: model([conv_node("x", "y", auto_pad="SAME_LOWER", strides=[3, 3])], [init("w", 4, 3, 5, 5)],
                   [1, 3, 9, 10]), "node 'y' (Conv)", "pads [1, 2, 1, 2] differ per axis"),
    (lambda: model([conv_node("x", "y", auto_pad="MIDDLE")], [W], [1, 3, 8, 8]), "node 'y' (Conv)",
     "auto_pad 'MIDDLE' is not supported"),
    (lambda: model([conv_node("x", "c"), helper.make_node("Flatten", ["c"], ["f"], name="flat"),
                    helper.make_node("MatMul", ["f", "m"], ["y"], name="mm")],
                   [W, init("m", 4 * 36, 5)], [1, 3, 8, 8]),
     "node 'flat' (Flatten)", "differs from the workload's (H, W, C) layout"),
    (lambda: model([helper.make_node("MatMul", ["x", "x"], ["y"], name="xx")], [], [4, 4]),
     "node 'xx' (MatMul)", "a product of two activations"),
    (lambda: model([helper.make_node("Relu", ["x"], ["y"], name="r")], [], [4, 4]), "node 'r' (Relu)",
     "no layer to fuse into"),
    (lambda: model([helper.make_node("Gemm", ["x", "m"], ["y"], name="g", transA=1)], [init("m", 4, 4)], [4, 4]),
     "node 'g' (Gemm)", "transA = 1"),
    (lambda: model([helper.make_node("MatMul", ["x", "m"], ["y"], name="g")], [init("m", 5, 4)], [4, 4]),
     "shape inference", ""),
])
def test_unsupported_models_are_one_clear_error(build: Any, where: str, what: str) -> None:
    with pytest.raises(InputError) as e:
        model_to_workload(build(), "m.onnx")
    assert e.value.where == where and what in e.value.what, (e.value.where, e.value.what)


def test_external_data_is_refused(tmp_path: Path) -> None:
    m = model([conv_node("x", "y")], [init("w", 4, 3, 3, 3)], [1, 3, 8, 8])
    path = tmp_path / "ext.onnx"
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.bin", size_threshold=0)
    with pytest.raises(InputError) as e:
        load_workload(str(path))
    assert e.value.where == "initializer 'w'" and "external data ('ext.bin')" in e.value.what


def test_cli_garbage_and_unsupported_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01not a protobuf at all\xff" * 3)
    assert main(["sim", "--workload", str(bad), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: ") and err.count("\n") == 1
    m = model([conv_node("x", "c"), helper.make_node("LRN", ["c"], ["y"], name="lrn", size=3)], [W], [1, 3, 8, 8])
    path = save(tmp_path, m, "lrn.onnx")
    assert main(["import", path, "-o", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: node 'lrn' (LRN): op LRN has no mapping") and err.count("\n") == 1
    assert not (tmp_path / "o.json").exists()


def test_reshape_between_gemms_and_to_flat_vector(tmp_path: Path) -> None:
    shape = numpy_helper.from_array(np.array([1, 12], dtype=np.int64), "shape")
    nodes = [helper.make_node("MatMul", ["x", "a"], ["h"], name="a"),
             helper.make_node("Reshape", ["h", "shape"], ["r"], name="rs"),
             helper.make_node("Identity", ["r"], ["i"]),
             helper.make_node("Gemm", ["i", "b"], ["y"], name="b")]
    obj = model_to_workload(model(nodes, [init("a", 5, 4), shape, init("b", 12, 2)], [3, 5]), "m.onnx")
    assert [(x["M"], x["N"], x["K"]) for x in obj["layers"]] == [(3, 4, 5), (1, 2, 12)]
    compile_workload(obj, Arch())  # the flatten chains (same product)


def test_without_the_onnx_package_the_hint_names_the_extra(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(tmp_path, small_cnn())
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(InputError) as e:
        load_workload(path)
    assert "pip install 'tlmsim[onnx]'" in e.value.what


def test_sim_start_up_does_not_import_onnx() -> None:
    """`tlmsim sim` pays nothing for the importer unless given a .onnx file."""
    import subprocess
    import sys

    code = ("import sys; from tlm.cli import build_parser; build_parser(); "
            "from tlm.workload import load_workload; load_workload('builtin:gemm_small'); "
            "print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, 400))
def test_corrupted_model_bytes_give_input_error_or_a_workload(tmp_path: Path, edits: list[tuple[int, int]],
                                                              cut: int) -> None:
    """Flipped bytes and truncations: a workload, or one InputError; never another exception."""
    raw = bytearray(small_cnn().SerializeToString())
    for pos, value in edits:
        raw[pos % len(raw)] = value
    path = tmp_path / "fuzz.onnx"
    path.write_bytes(bytes(raw[:len(raw) - cut]))
    try:
        obj = load_workload(str(path))
    except InputError:
        return
    try:
        compile_workload(obj, Arch(), functional=False)
    except InputError:
        pass


def test_invalid_utf8_names_and_op_types(tmp_path: Path) -> None:
    """Protobuf hands invalid UTF-8 strings over as bytes: names are cleaned, op types reported."""
    raw = small_cnn().SerializeToString()
    path = tmp_path / "n.onnx"
    path.write_bytes(raw.replace(b"squeeze", b"sque\xffze"))
    assert [x["name"] for x in load_workload(str(path))["layers"]][3] == "sque\ufffdze"
    path.write_bytes(raw.replace(b"MatMul", b"Mat\xfful"))
    with pytest.raises(InputError) as e:
        load_workload(str(path))
    assert e.value.where == "node 'fc2' (Mat\ufffdul)" and "has no mapping" in e.value.what


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_same_padding_that_splits_evenly(auto_pad: str) -> None:
    """A 3x3 stride-1 SAME conv is padding 1 (and keeps the size, as ONNX infers)."""
    m = model([conv_node("x", "y", auto_pad=auto_pad)], [W], [1, 3, 8, 8])
    (layer,) = model_to_workload(m, "m.onnx")["layers"]
    assert layer["padding"] == 1
    prog = compile_workload(model_to_workload(m, "m.onnx"), Arch(), functional=False)
    assert (prog.info["layers"][0]["out_h"], prog.info["layers"][0]["out_w"]) == (8, 8)
    assert prog.info["macs"] == onnx_macs(m)


def test_node_without_output_is_refused() -> None:
    m = model([conv_node("x", "y")], [W], [1, 3, 8, 8])
    m.graph.node.append(helper.make_node("Relu", ["y"], [], name="dangling"))
    with pytest.raises(InputError) as e:
        model_to_workload(m, "m.onnx")
    assert (e.value.where, e.value.what) == ("node 'dangling' (Relu)", "has no output")
