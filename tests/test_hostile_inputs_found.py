"""Inputs a fuzzing pass found crashing, hanging or silently accepted: each now one line, exit 2."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from tlm.cli import main
from tlm.predict.model import load_model

ROOT = Path(__file__).resolve().parent.parent


def _run(capsys: Any, args: list[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def _one_line(err: str, start: str, what: str) -> None:
    assert err.count("\n") == 1 and err.startswith(start) and what in err, err


def _write(tmp_path: Path, name: str, obj: Any) -> Path:
    f = tmp_path / name
    f.write_text(json.dumps(obj))
    return f


def test_a_graph_of_only_reshapes_is_refused(tmp_path: Path, capsys: Any) -> None:
    f = _write(tmp_path, "w.json", {"format": "tlm-workload/2", "input": {"height": 6, "width": 6, "channels": 8},
                                    "layers": [{"name": "r", "op": "flatten", "inputs": ["input"]}]})
    code, err = _run(capsys, ["sim", "-w", str(f), "--no-progress"])
    assert code == 2
    _one_line(err, f"error: {f}: layers: ", "nothing to run")


def _onnx(tmp_path: Path, nodes: list[Any], inits: list[Any], name: str = "m.onnx") -> str:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    path = tmp_path / name
    path.write_bytes(m.SerializeToString())
    return str(path)


def _conv(out: str = "c") -> tuple[Any, Any]:
    w = numpy_helper.from_array(np.ones((4, 4, 3, 3), dtype=np.float32), "w")
    return helper.make_node("Conv", ["x", "w"], [out], name="conv", kernel_shape=[3, 3], pads=[1] * 4), w


def _scalar(name: str, v: float) -> Any:
    return numpy_helper.from_array(np.array(v, dtype=np.float32), name)


def test_clip_bounds_nan_is_refused_and_infinite_ones_clamp(tmp_path: Path, capsys: Any) -> None:
    conv, w = _conv()
    add = helper.make_node("Add", ["c", "x"], ["a"], name="add")
    nan = _onnx(tmp_path, [conv, add, helper.make_node("Clip", ["a", "lo", ""], ["y"], name="clip")],
                [w, _scalar("lo", float("nan"))], "nan.onnx")
    code, err = _run(capsys, ["import", nan, "-o", str(tmp_path / "o.json")])
    assert code == 2
    _one_line(err, f"error: {nan}: node 'clip' (Clip): ", "NaN")
    inf = _onnx(tmp_path, [conv, add, helper.make_node("Clip", ["a", "lo", "hi"], ["y"], name="clip")],
                [w, _scalar("lo", float("-inf")), _scalar("hi", float("inf"))], "inf.onnx")
    assert main(["import", inf, "-o", str(tmp_path / "o.json")]) == 0
    clip = [x for x in json.loads((tmp_path / "o.json").read_text())["layers"] if x["op"] == "clip"]
    assert (clip[0]["min"], clip[0]["max"]) == (-128, 127)


def test_malformed_weight_data_is_refused_naming_the_tensor(tmp_path: Path, capsys: Any) -> None:
    conv, w = _conv()
    w.ClearField("raw_data")
    w.raw_data = b"\x00" * 7  # not a whole number of float32
    path = _onnx(tmp_path, [conv, helper.make_node("Add", ["c", "x"], ["y"], name="add")], [w])  # a graph
    code, err = _run(capsys, ["import", path, "-o", str(tmp_path / "o.json")])
    assert code == 2
    _one_line(err, f"error: {path}: tensor 'w': ", "malformed data")


@pytest.mark.parametrize("node,what", [
    (helper.make_node("MaxPool", ["c"], ["y"], name="p", kernel_shape=[2, 2], dilations=[2, 2]), "dilations"),
    (helper.make_node("AveragePool", ["c"], ["y"], name="p", kernel_shape=[3, 3], pads=[1] * 4),
     "count_include_pad = 0"),
    (helper.make_node("Softmax", ["c"], ["y"], name="p", axis=3), "only the channel axis (1)"),
])
def test_onnx_forms_that_would_change_the_result_are_refused(tmp_path: Path, capsys: Any, node: Any,
                                                             what: str) -> None:
    conv, w = _conv()
    path = _onnx(tmp_path, [conv, helper.make_node("Relu", ["x"], ["r"], name="r"), node], [w])
    code, err = _run(capsys, ["import", path, "-o", str(tmp_path / "o.json")])
    assert code == 2
    _one_line(err, f"error: {path}: node 'p' ({node.op_type}): ", what)


def test_a_tensor_written_twice_is_refused(tmp_path: Path, capsys: Any) -> None:
    conv, w = _conv("y")
    path = _onnx(tmp_path, [conv, helper.make_node("Relu", ["x"], ["y"], name="again")], [w])
    code, err = _run(capsys, ["import", path, "-o", str(tmp_path / "o.json")])
    assert code == 2
    _one_line(err, f"error: {path}: node 'again' (Relu): ", "writes tensor 'y', which the graph already defines")


@pytest.mark.parametrize("footer_dram,where", [
    ({"requests": 1, "row_hits": "x"}, "dram.row_hits"),
    ({"requests": 1, "by_op": "x"}, "dram.by_op"),
    ({"requests": 1, "by_op": {"load_a": {"row_misses": -1}}}, "dram.by_op.load_a.row_misses"),
    ([1, 2], "dram"),
])
def test_a_malformed_dram_footer_is_refused(tmp_path: Path, capsys: Any, footer_dram: Any, where: str) -> None:
    tlm, rtl = tmp_path / "tlm.jsonl", tmp_path / "rtl.jsonl"
    assert main(["sim", "-w", "builtin:gemm_small", "--trace", str(tlm), "--no-progress"]) == 0
    assert main(["sim", "-w", "builtin:gemm_small", "--trace", str(rtl), "--no-progress"]) == 0
    capsys.readouterr()
    lines = rtl.read_text().splitlines()
    footer = json.loads(lines[-1])
    footer["dram"] = footer_dram
    rtl.write_text("\n".join([*lines[:-1], json.dumps(footer)]) + "\n")
    code, err = _run(capsys, ["compare", str(tlm), str(rtl)])
    assert code == 2
    _one_line(err, f"error: {rtl}: line {len(lines)}: field {where}: ", "must be")


@pytest.mark.parametrize("edit,where", [
    (lambda m: m.update(init=1e308), "init"),
    (lambda m: m["trees"][0].update(value=1.5), "trees[0]"),
    (lambda m: m["trees"][0]["feature"].__setitem__(0, 2**63), "trees[0]"),
    (lambda m: m["trees"][0]["value"].__setitem__(0, 1e300), "trees[0].value"),
])
def test_a_hostile_predictor_model_is_refused(tmp_path: Path, edit: Any, where: str) -> None:
    from tlm.errors import InputError

    model = {"format": "tlmsim-perf-model/1", "features": ["estimate"], "init": 0.0, "scale": 1.0,
             "trees": [{"feature": [0, -1, -1], "threshold": [10.0, 0.0, 0.0], "left": [1, -1, -1],
                        "right": [2, -1, -1], "value": [0.0, 0.1, -0.1]}]}
    f = _write(tmp_path, "ok.json", model)
    assert load_model(f).features == ("estimate",)  # untouched, it loads
    edit(model)
    f = _write(tmp_path, "bad.json", model)
    with pytest.raises(InputError) as e:
        load_model(f)
    assert e.value.where == where, e.value


def test_scratchpads_count_in_the_memory_estimate(tmp_path: Path, capsys: Any) -> None:
    a = tmp_path / "a.toml"
    a.write_text("[array]\nrows = 256\ncols = 256\nengines = 64\n[scratchpad]\nbytes = 67108864\n")
    code, err = _run(capsys, ["sim", "-w", "builtin:gemm_small", "-a", str(a), "--no-progress"])
    assert code == 2 and "the engines' scratchpads" in err and err.count("\n") == 1, err
    assert main(["sim", "-w", "builtin:gemm_small", "-a", str(a), "--no-progress", "--timing-only"]) == 0


def test_a_vector_layer_with_a_huge_dependency_count_is_refused_before_it_is_built(tmp_path: Path,
                                                                                   capsys: Any) -> None:
    """A 7x7 input padded by 256: 3x3 pools over a 517-wide image read whole rows per entry."""
    layers = [{"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 6, "kernel": 3, "padding": 256,
               "relu": False}]
    for i in range(4):
        layers.append({"name": f"p{i}", "op": "maxpool", "inputs": ["c1"], "kernel": 3, "stride": 1, "padding": 1})
    f = _write(tmp_path, "w.json", {"format": "tlm-workload/2", "input": {"height": 7, "width": 7, "channels": 5},
                                    "layers": layers})
    t0 = time.process_time()
    code, err = _run(capsys, ["sim", "-w", str(f), "--no-progress"])
    assert code == 2 and "more than the limit of 2 GiB" in err and "dependencies of layer 'p" in err, err
    assert time.process_time() - t0 < 10  # refused from the estimate, not after building (was 40 s)


def test_too_many_layers_are_refused(tmp_path: Path, capsys: Any) -> None:
    f = tmp_path / "t.csv"
    f.write_text("Layer, M, N, K,\n" + "g, 1, 1, 1,\n" * 10_001)
    code, err = _run(capsys, ["sim", "-w", str(f), "--timing-only", "--no-progress"])
    assert code == 2
    _one_line(err, f"error: {f}: layers: ", "10,001 layers, more than the limit of 10,000")


def test_rtl_refuses_a_run_estimated_over_its_cycle_limit(tmp_path: Path, capsys: Any) -> None:
    hw = tmp_path / "hw.toml"
    hw.write_text("[dram]\nt_rfc = 10000\nt_refi = 10001\nt_rcd = 10000\nt_ras = 10000\nt_rp = 10000\n")
    code, err = _run(capsys, ["rtl", "-w", "builtin:gemm_small", "--hardware", str(hw), "-t",
                              str(tmp_path / "t.jsonl")])
    assert code == 2
    _one_line(err, f"error: {hw}: cycles: the TLM estimates ", "more than the RTL limit of 10,000,000")
    code, err = _run(capsys, ["rtl", "-w", "builtin:gemm_small", "--max-cycles", "1000", "-t",
                              str(tmp_path / "t.jsonl")])
    assert code == 2 and "more than the RTL limit of 1,000 (--max-cycles raises it)" in err, err
    assert not (tmp_path / "t.jsonl").exists()


def test_a_sweep_of_graph_workloads_simulates_every_point(tmp_path: Path, capsys: Any) -> None:
    import pandas as pd

    w = _write(tmp_path, "g.json", {"format": "tlm-workload/2", "input": {"height": 4, "width": 4, "channels": 8},
                                    "layers": [{"name": "c", "op": "conv2d", "inputs": ["input"],
                                                "out_channels": 8, "kernel": 1},
                                               {"name": "a", "op": "add", "inputs": ["c", "input"]}]})
    spec = tmp_path / "s.toml"
    spec.write_text(f'workloads = ["{w}"]\nstrategy = "grid"\nobjectives = ["cycles", "area"]\n'
                    '[axes]\n"array.engines" = [1, 2]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    rows = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert rows["status"].tolist() == ["ok", "ok"]


def test_the_json_examples_in_the_workload_docs_run(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "workload.md").read_text()
    blocks = [b for b in re.findall(r"```json\n(.*?)```", text, re.S) if '"format"' in b]
    assert blocks
    for i, block in enumerate(blocks):
        f = tmp_path / f"ex{i}.json"
        f.write_text(block)
        assert main(["sim", "-w", str(f), "--no-progress"]) == 0, block[:200]
