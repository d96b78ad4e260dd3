"""The model zoo: the ONNX graphs of examples/models import to the built-in workloads."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tlm.arch import Arch
from tlm.blocks import simulate
from tlm.importers.onnx import model_to_workload
from tlm.workload import compile_workload
from tlm.workload import zoo
from tlm.workload.spec import parse_workload

ROOT = Path(__file__).resolve().parent.parent


def _make_models() -> Any:
    spec = importlib.util.spec_from_file_location("make_models", ROOT / "examples/models/make_models.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MM = _make_models()
SMALL = {"resnet18": (lambda: MM.resnet(18, 32, 8), lambda: zoo.resnet(18, 32, 8)),
         "resnet50": (lambda: MM.resnet(50, 32, 16), lambda: zoo.resnet(50, 32, 16)),
         "mobilenet_v2": (lambda: MM.mobilenet_v2(32, 8), lambda: zoo.mobilenet_v2(32, 8)),
         "efficientnet_b0": (lambda: MM.efficientnet_b0(32, 8), lambda: zoo.efficientnet_b0(32, 8)),
         "bert": (lambda: MM.bert(2, 6, 16, 2, 24, "bert_tiny"), lambda: zoo.bert(2, 6, 16, 2, 24, "bert_tiny"))}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_onnx_graph_imports_to_the_builtin(name: str) -> None:
    onnx_model, builtin = (f() for f in SMALL[name])
    got = model_to_workload(onnx_model, f"{name}.onnx", name)
    want = builtin
    assert got["input"] == want["input"]
    assert got["layers"] == want["layers"]


def test_full_size_resnet18_imports_to_the_builtin() -> None:
    got = model_to_workload(MM.resnet(18), "resnet18.onnx", "resnet18")
    assert got["layers"] == zoo.resnet18()["layers"]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_zoo_networks_run_functionally(name: str) -> None:
    arch = Arch()
    program = compile_workload(SMALL[name][1](), arch)
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]


def test_full_size_mac_counts() -> None:
    """MACs of the full-size built-ins equal the networks' published counts (conv + fc)."""
    arch = Arch()
    macs = {}
    for n, f in (("resnet18", zoo.resnet18), ("mobilenet_v2", zoo.mobilenet_v2_full),
                 ("efficientnet_b0", zoo.efficientnet_b0_full)):
        graph = parse_workload(f(), n, arch).graph
        assert graph is not None
        macs[n] = sum(x.layer.M * x.layer.N * x.layer.K for x in graph.nodes if x.layer is not None)
    assert macs["resnet18"] == 1_814_073_344       # torchvision: 1.814 GMACs
    assert 299_000_000 < macs["mobilenet_v2"] < 302_000_000  # 300 M
    assert 380_000_000 < macs["efficientnet_b0"] < 400_000_000  # 0.39 G


def test_small_bert_runs_functionally_and_counts_attention_macs() -> None:
    arch = Arch()
    w = zoo.bert(layers=2, seq=6, hidden=16, heads=2, ffn=24, name="bert_tiny")
    program = compile_workload(w, arch)
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]
    per_layer = 4 * 6 * 16 * 16 + 2 * 2 * 6 * 6 * 8 + 2 * 6 * 16 * 24  # projections, QK^T + PV, FFN
    assert res.macs == 2 * per_layer


def test_full_size_bert_base_mac_count() -> None:
    graph = parse_workload(zoo.bert_base(), "bert_base", Arch()).graph
    assert graph is not None
    macs = sum(x.layer.M * x.layer.N * x.layer.K for x in graph.nodes if x.layer is not None)
    assert macs == 12 * (4 * 128 * 768 * 768 + 2 * 12 * 128 * 128 * 64 + 2 * 128 * 768 * 3072)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_onnx_models_are_valid_for_onnxruntime(name: str) -> None:
    import onnxruntime as ort

    ort.InferenceSession(SMALL[name][0]().SerializeToString())
