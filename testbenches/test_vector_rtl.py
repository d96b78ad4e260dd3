"""Graph workloads with vector layers: the calibrated TLM against the RTL, exactly.

`tlmsim sim --trace` and `tlmsim rtl` run the same workload and arch (the
CLI end to end, so the RTL checks of `tlm.rtl.vector_image` run too). On the
fixed-latency memory both must pass the functional check against numpy
(every layer's output, vector layers included) and write the same trace:
byte-identical record lines once sorted, the same header but for `source`,
the same footer but for the wall times. Workloads: a residual block (conv,
conv, add, relu), a CNN of every integer vector op (maxpool, avgpool with
padding and stride 2, concat, clip, requant, add, globalavgpool, then a
gemm), and the CNN graphs of tests/test_onnx_graph.py imported from ONNX; on
2 engines and 1, and on the engine options (double buffering, drain overlap,
the weight-stationary array, operand reuse) and another hardware variant;
and a derandomized hypothesis sample of small CNNs with random vector-op
parameters (clip bounds, requant multiplier and shift, pool kernel, stride
and padding, add or concat joins). With operand reuse the graphs' MAC layers
skip loads of resident blocks (1 and 4 B slots, 1 and 2 engines, double
buffering, a depthwise ONNX graph, attention's per-head matmuls): the same exactness, with skipped loads in the trace.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tlm.cli import main
from tlm.importers.onnx import model_to_workload
from tlm.trace.reader import comparable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_onnx_graph as onnx_graphs  # noqa: E402
import vector_samples  # noqa: E402

RESIDUAL = {
    "format": "tlm-workload/2", "name": "residual", "seed": 3,
    "input": {"name": "input", "height": 6, "width": 6, "channels": 8},
    "layers": [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3, "padding": 1,
         "relu": False},
        {"name": "c2", "op": "conv2d", "inputs": ["c1"], "out_channels": 8, "kernel": 3, "padding": 1},
        {"name": "add", "op": "add", "inputs": ["c2", "input"]},
        {"name": "r", "op": "relu", "inputs": ["add"]},
    ]}

POOLS = vector_samples.POOLS

TRANSPOSES = {
    "format": "tlm-workload/2", "name": "transposes", "seed": 11,
    "input": {"name": "input", "height": 5, "width": 6, "channels": 3},
    "layers": [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 7, "kernel": 3, "padding": 1,
         "relu": False},
        {"name": "t1", "op": "transpose", "inputs": ["c1"], "perm": [2, 0, 1]},
        {"name": "t2", "op": "transpose", "inputs": ["t1"], "perm": [0, 2, 1]},
        {"name": "t3", "op": "transpose", "inputs": ["c1"], "perm": [1, 0, 2]},
        {"name": "g", "op": "gemm", "inputs": ["t2"], "N": 4},
        {"name": "c2", "op": "conv2d", "inputs": ["t3"], "out_channels": 4, "kernel": 1},
    ]}

# Attention without softmax (the RTL has none): projections, Q.K^T and P.V per head, a residual add.
ATTENTION = {
    "format": "tlm-workload/2", "name": "attention", "seed": 3,
    "input": {"name": "input", "height": 12, "width": 1, "channels": 16},
    "layers": [
        {"name": "q", "op": "gemm", "inputs": ["input"], "N": 16, "relu": False},
        {"name": "k", "op": "gemm", "inputs": ["input"], "N": 16, "relu": False},
        {"name": "v", "op": "gemm", "inputs": ["input"], "N": 16, "relu": False},
        {"name": "s", "op": "matmul", "inputs": ["q", "k"], "heads": 2, "transpose_b": True, "shift": 5},
        {"name": "o", "op": "matmul", "inputs": ["s", "v"], "heads": 2, "shift": 4},
        {"name": "r", "op": "add", "inputs": ["o", "input"]},
    ]}

# Activations and gates: SiLU as a sigmoid lut and a mul, a squeeze-excite gate (one pixel per
# channel, broadcast), an explicit table, a nearest 2x upsampling.
GATES = {
    "format": "tlm-workload/2", "name": "gates", "seed": 4,
    "input": {"name": "input", "height": 5, "width": 5, "channels": 6},
    "layers": [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3, "padding": 1,
         "relu": False},
        {"name": "sig", "op": "lut", "inputs": ["c1"], "fn": "sigmoid"},
        {"name": "silu", "op": "mul", "inputs": ["c1", "sig"]},
        {"name": "pool", "op": "globalavgpool", "inputs": ["silu"]},
        {"name": "fc", "op": "conv2d", "inputs": ["pool"], "out_channels": 8, "kernel": 1, "relu": False},
        {"name": "gate", "op": "lut", "inputs": ["fc"], "table": [(i * 37) % 256 - 128 for i in range(256)]},
        {"name": "se", "op": "mul", "inputs": ["silu", "gate"], "shift": 6},
        {"name": "up", "op": "resize", "inputs": ["se"], "scale": 2},
        {"name": "out", "op": "conv2d", "inputs": ["up"], "out_channels": 4, "kernel": 3, "padding": 1},
    ]}

ONE_ENGINE = "[array]\nengines = 1\n"
ARCHS = {
    "2eng": "",
    "1eng": ONE_ENGINE,
    "db": "[engine]\ndouble_buffer = true\n",
    "drain": "[engine]\ndouble_buffer = true\noverlap_drain = true\n",
    "ws": "[array]\ndataflow = \"ws\"\n",
    "reuse": "[engine]\nreuse = true\n",
    "reuse_slots": "[engine]\nreuse = true\nreuse_slots = 4\n",
    "reuse_1eng": ONE_ENGINE + "[engine]\nreuse = true\n",
    "reuse_db": "[engine]\nreuse = true\ndouble_buffer = true\n",
    "hw": "[array]\nengines = 3\nrows = 2\ncols = 3\n[dma]\nbus_bytes = 16\nmax_burst_beats = 4\n"
          "[memory]\nlatency_cycles = 5\n[scheduler]\ntable_depth = 5\n[vector]\nlanes = 3\nlatency_cycles = 1\n",
}


def _onnx(name: str) -> dict[str, Any]:
    m = getattr(onnx_graphs, name)()
    return model_to_workload(m, f"{name}.onnx", name)


def _same_trace(workload: dict[str, Any], arch_text: str, tmp: Path) -> dict[str, Any]:
    w, a = tmp / "w.json", tmp / "arch.toml"
    w.write_text(json.dumps(workload))
    a.write_text(arch_text)
    assert main(["sim", "-w", str(w), "-a", str(a), "--trace", str(tmp / "tlm.jsonl"), "--no-progress"]) == 0
    assert main(["rtl", "-w", str(w), "-a", str(a), "-t", str(tmp / "rtl.jsonl"), "--no-progress"]) == 0
    tlm, rtl = comparable(tmp / "tlm.jsonl"), comparable(tmp / "rtl.jsonl")
    assert rtl[2]["functional"] == "pass" and tlm[2]["functional"] == "pass"
    assert tlm[0] == rtl[0]
    assert tlm[2] == rtl[2]
    missing = sorted(set(tlm[1]) - set(rtl[1]))[:3]
    extra = sorted(set(rtl[1]) - set(tlm[1]))[:3]
    assert tlm[1] == rtl[1], f"TLM only: {missing}; RTL only: {extra}"
    ops = {json.loads(line)["op"] for line in rtl[1]}
    assert "vector" in ops
    return rtl[2]


def _reused(trace: Path) -> int:
    """Tile records of `trace` that skipped a load."""
    return sum(1 for line in comparable(trace)[1] if json.loads(line).get("reused"))


@pytest.mark.parametrize("arch", ["2eng", "1eng"])
@pytest.mark.parametrize("name", ["residual", "pools", "transposes"])
def test_graph_workloads_are_cycle_exact(name: str, arch: str, tmp_path: Path) -> None:
    _same_trace({"residual": RESIDUAL, "pools": POOLS, "transposes": TRANSPOSES}[name], ARCHS[arch], tmp_path)


@pytest.mark.parametrize("arch", ["db", "drain", "ws", "reuse", "hw"])
def test_engine_options_and_hardware_with_the_vector_unit(arch: str, tmp_path: Path) -> None:
    _same_trace(POOLS, ARCHS[arch], tmp_path)


@pytest.mark.parametrize("arch", ["2eng", "1eng"])
@pytest.mark.parametrize("name", ["residual_dw", "concat_branch", "qdq_conv"])
def test_onnx_cnns_are_cycle_exact(name: str, arch: str, tmp_path: Path) -> None:
    _same_trace(_onnx(name), ARCHS[arch], tmp_path)


@pytest.mark.parametrize("arch", ["2eng", "1eng", "hw"])
def test_activation_tables_and_gates_are_cycle_exact(arch: str, tmp_path: Path) -> None:
    _same_trace(GATES, ARCHS[arch], tmp_path)


def test_onnx_squeeze_excite_and_efficientnet_are_cycle_exact(tmp_path: Path) -> None:
    from tlm.workload import zoo

    for name, workload in (("se", _onnx("squeeze_excite")), ("effnet", zoo.efficientnet_b0(16, 16))):
        (tmp_path / name).mkdir()
        _same_trace(workload, ARCHS["2eng"], tmp_path / name)


@st.composite
def random_cnns(draw: Any) -> dict[str, Any]:
    """A conv, then two branches of random integer vector ops joined by add or concat, then a pool."""
    h, w, c = draw(st.integers(3, 7)), draw(st.integers(3, 7)), draw(st.integers(1, 6))
    layers: list[dict[str, Any]] = [
        {"name": "c0", "op": "conv2d", "inputs": ["input"], "out_channels": c, "kernel": 3, "padding": 1,
         "relu": draw(st.booleans())}]

    def elementwise(name: str, x: str) -> str:
        op = draw(st.sampled_from(["relu", "clip", "requant", "lut", "mul"]))
        layer: dict[str, Any] = {"name": name, "op": op, "inputs": [x]}
        if op == "lut":
            layer["table"] = draw(st.lists(st.integers(-128, 127), min_size=256, max_size=256))
        elif op == "mul":
            layer.update({"inputs": [x, "c0"], "shift": draw(st.integers(0, 15))})
        elif op == "clip":
            lo = draw(st.integers(-128, 127))
            layer.update({"min": lo, "max": draw(st.integers(lo, 127))})
        elif op == "requant":
            layer.update({"multiplier": draw(st.integers(-(1 << 15), 1 << 15)), "shift": draw(st.integers(0, 31))})
        layers.append(layer)
        return name

    a, b = elementwise("a", "c0"), elementwise("b", "c0")
    join = draw(st.sampled_from(["add", "concat"]))
    layers.append({"name": "j", "op": join, "inputs": [a, b] if join == "add" else [a, b, a][:draw(st.integers(2, 3))]})
    pool = draw(st.sampled_from(["maxpool", "avgpool", "globalavgpool"]))
    if pool == "globalavgpool":
        layers.append({"name": "p", "op": pool, "inputs": ["j"]})
    else:
        k = draw(st.integers(1, min(3, h, w)))
        layers.append({"name": "p", "op": pool, "inputs": ["j"], "kernel": k, "stride": draw(st.integers(1, 2)),
                       "padding": draw(st.integers(0, k - 1))})
    return {"format": "tlm-workload/2", "name": "random_cnn", "seed": draw(st.integers(0, 999)),
            "input": {"name": "input", "height": h, "width": w, "channels": c}, "layers": layers}


@settings(max_examples=6, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(workload=random_cnns(), arch=st.sampled_from(["2eng", "1eng", "hw"]))
def test_random_cnns_are_cycle_exact(workload: dict[str, Any], arch: str, tmp_path_factory: Any) -> None:
    _same_trace(workload, ARCHS[arch], tmp_path_factory.mktemp("vec"))


@pytest.mark.parametrize(("name", "arch"), [("residual", "reuse"), ("residual", "reuse_slots"),
                                            ("residual", "reuse_1eng"), ("residual", "reuse_db"),
                                            ("transposes", "reuse_slots"), ("residual_dw", "reuse"),
                                            ("attention", "reuse"), ("attention", "reuse_db"),
                                            ("attention", "reuse_slots")])
def test_graph_layers_reuse_operands_cycle_exact(name: str, arch: str, tmp_path: Path) -> None:
    """Graph MAC layers get block ids and the reuse order: loads are skipped, on both models alike."""
    work = _onnx(name) if name == "residual_dw" else \
        {"residual": RESIDUAL, "transposes": TRANSPOSES, "attention": ATTENTION}[name]
    _same_trace(work, ARCHS[arch], tmp_path)
    assert _reused(tmp_path / "rtl.jsonl") > 0
