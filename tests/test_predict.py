"""The learned performance model: held-out accuracy, the JSON format, queries, prescreening."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pandas as pd  # noqa: E402  (the [dse] extra; `make setup` installs it)
import sklearn  # noqa: E402,F401  (the [dse] extra)

from tlm.api import resolve_arch, workload_digest, workload_object  # noqa: E402
from tlm.cli import main  # noqa: E402
from tlm.dse.points import run_key  # noqa: E402
from tlm.dse.spec import parse_spec, point_arch  # noqa: E402
from tlm.dse.store import Store  # noqa: E402
from tlm.dse.worker import run_task  # noqa: E402
from tlm.predict.features import FEATURES  # noqa: E402
from tlm.predict.fit import fit_model, load_training  # noqa: E402
from tlm.predict.model import load_model, predict_network  # noqa: E402
from tlm.predict.screen import screen  # noqa: E402
from tlm.predict.synth import synth_workload  # noqa: E402

AXES = {"array.engines": [1, 2, 3, 4], "array.rows": [4, 6, 8, 12, 16], "array.cols": [4, 6, 8, 12, 16],
        "dma.bus_bytes": [4, 8, 16, 32], "memory.latency_cycles": [5, 10, 20, 40]}
TRAIN = ["builtin:gemm_small", *[f"synth:{s}" for s in (0, 2, 3, 5, 6, 9)]]
HELD_OUT_WORKLOAD = "builtin:dilated_vgg_small"


def _obj(name: str) -> dict[str, Any]:
    return synth_workload(int(name[6:])) if name.startswith("synth:") else workload_object(name)


def _points(seed: int, n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [{k: v[int(rng.integers(len(v)))] for k, v in AXES.items()} for _ in range(n)]


def _collect(folder: Path, workloads: list[str], points: list[dict[str, Any]]) -> Store:
    spec = parse_spec({"workloads": ["builtin:gemm_small"]}, "<s>")
    store = Store(folder)
    rows, layers = [], []
    for p in points:
        arch = point_arch(spec.base, p)
        for w in workloads:
            obj = _obj(w)
            r = run_task({"key": run_key(arch, workload_digest(obj), "test", False), "point": p,
                          "workload": w, "obj": obj, "arch": arch.to_dict(), "functional": False})
            rows.append(r["row"])
            layers += r["layers"]
    store.append(rows, layers)
    store.consolidate(["workload"])
    return store


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("predict")
    train_pts = _points(1, 16)
    seen = {tuple(p.values()) for p in train_pts}
    test_pts = [p for p in _points(2, 12) if tuple(p.values()) not in seen][:6]
    _collect(root / "train", TRAIN, train_pts)
    _collect(root / "test", [*TRAIN, HELD_OUT_WORKLOAD], test_pts)
    model = root / "model.json"
    obj, reg = fit_model(load_training([str(root / "train")]))
    model.write_text(json.dumps(obj))
    return {"root": root, "model": model, "test": Store(root / "test").results(), "reg": reg}


def _score(model_path: Path, df: Any) -> tuple[float, float]:
    from scipy.stats import kendalltau

    model = load_model(model_path)
    pred, act = [], []
    for r in df.to_dict("records"):
        arch = resolve_arch({s: {k: int(r[f"{s}.{k}"]) for k in ks}
                             for s, ks in (("array", ("engines", "rows", "cols")), ("dma", ("bus_bytes",)),
                                           ("memory", ("latency_cycles",)))})
        pred.append(predict_network(model, _obj(r["workload"]), arch)["cycles"])
        act.append(r["cycles"])
    p, a = np.array(pred, float), np.array(act, float)
    return float(np.mean(np.abs(p - a) / a)), float(kendalltau(a, p).statistic)


def test_fit_cli_writes_the_model(data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    assert main(["predict", "fit", str(data["root"] / "train"), "--out", str(out), "--no-cv", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trained_on"]["runs"] == 16 * len(TRAIN) and report["cv"] == {}
    obj = json.loads(out.read_text())
    assert obj["format"] == "tlmsim-perf-model/1" and obj["features"] == list(FEATURES)
    assert obj["trees"] == json.loads(data["model"].read_text())["trees"]  # deterministic


def test_held_out_arch_points_are_predicted_within_5_percent(data: dict[str, Any]) -> None:
    df = data["test"]
    mape, tau = _score(data["model"], df[df["workload"] != HELD_OUT_WORKLOAD])
    assert mape <= 0.05, mape
    assert tau >= 0.9, tau


def test_a_held_out_workload_is_predicted_within_5_percent(data: dict[str, Any]) -> None:
    df = data["test"]
    mape, tau = _score(data["model"], df[df["workload"] == HELD_OUT_WORKLOAD])
    assert mape <= 0.05, mape
    assert tau >= 0.6, tau  # six points only: one swapped pair costs 0.13


def test_json_trees_reproduce_scikit_learn(data: dict[str, Any]) -> None:
    df = load_training([str(data["root"] / "train")])
    x = df[list(FEATURES)].to_numpy(float)
    assert np.allclose(load_model(data["model"]).log_ratio(x), data["reg"].predict(x), rtol=0, atol=1e-9)


def test_predict_run_cli(data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arch = tmp_path / "a.toml"
    arch.write_text("[array]\nrows = 8\n")
    assert main(["predict", "run", "--model", str(data["model"]), "--workload", HELD_OUT_WORKLOAD,
                 "--arch", str(arch), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"cycles", "query_ms", "layers"} and out["query_ms"] > 0
    assert [lay["name"] for lay in out["layers"]] == ["conv1", "conv2", "conv3"]
    assert out["layers"][-1]["end"] == out["cycles"]
    assert main(["predict", "run", "--model", str(data["model"]), "--workload", "builtin:random_dag"]) == 2
    assert "needs a layers-form workload" in capsys.readouterr().err


@pytest.mark.parametrize("mutate,message", [
    (lambda o: o.update(format="pickle"), "format: not a tlmsim-perf-model/1 model"),
    (lambda o: o.update(features=["nope"]), "features: must list known features"),
    (lambda o: o.update(trees=[]), "trees: must be a non-empty list"),
    (lambda o: o["trees"][0].update(left=[0] + o["trees"][0]["left"][1:]), "trees[0]: node or feature index"),
    (lambda o: o["trees"][0].update(feature=[999] * len(o["trees"][0]["feature"])), "trees[0]: node or feature"),
    (lambda o: o["trees"][0].update(value=[1.0]), "trees[0]: bad tree"),
    (lambda o: o.update(init="x"), "init: init and scale must be numbers"),
])
def test_hostile_model_files_are_exit_2(data: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        mutate: Any, message: str) -> None:
    obj = json.loads(data["model"].read_text())
    mutate(obj)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(obj))
    assert main(["predict", "run", "--model", str(bad), "--workload", "builtin:gemm_small"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    bad.write_text("{not json")
    assert main(["predict", "run", "--model", str(bad), "--workload", "builtin:gemm_small"]) == 2
    assert "not a JSON model" in capsys.readouterr().err


def test_fit_refuses_a_folder_without_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "fit", str(tmp_path), "--out", str(tmp_path / "m.json")]) == 2
    assert "no per-layer results" in capsys.readouterr().err


def test_prescreen_keeps_the_best_predicted_points(data: dict[str, Any]) -> None:
    spec = parse_spec({"workloads": ["builtin:gemm_small"], "objectives": ["cycles"],
                       "axes": {"array.engines": [1, 2, 4], "array.rows": [4, 8], "dma.bus_bytes": [8, 32]}}, "<s>")
    from tlm.dse.points import grid

    pts = grid(spec)
    model = load_model(data["model"])
    (chosen,) = screen(model, spec, pts, [workload_object("builtin:gemm_small")], 3)
    assert len(chosen) == 3 and all(p in pts for p in chosen)
    pred = {tuple(p.values()): predict_network(model, workload_object("builtin:gemm_small"),
                                               point_arch(spec.base, p))["cycles"] for p in pts}
    worst_kept = max(pred[tuple(p.values())] for p in chosen)
    assert sum(v < worst_kept for v in pred.values()) <= 2
    assert {"array.engines": 4, "array.rows": 8, "dma.bus_bytes": 32} in chosen  # the biggest is fastest
