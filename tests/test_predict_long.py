"""The performance model's targets at full size (`make dse-long`, ~5 min): a real
training sweep on the local Dask cluster, `predict fit` with cross-validation, then
held-out arch points and a held-out workload: MAPE <= 5 %, Kendall tau >= 0.9; and
`sweep --prescreen MODEL --top K` simulating only K points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.long  # `make dse-long`; `make test` deselects it
import pandas as pd  # noqa: E402  (the [dse] extra; `make setup` installs it)

from tlm.cli import main  # noqa: E402

HELD_OUT = "builtin:dilated_vgg_small"
AXES = ('[axes]\n"array.engines" = [1, 2, 3, 4]\n"array.rows" = [4, 6, 8, 12, 16]\n'
        '"array.cols" = [4, 6, 8, 12, 16]\n"dma.bus_bytes" = [4, 8, 16, 32]\n'
        '"memory.latency_cycles" = [5, 10, 20, 40]\n')


def test_model_targets_on_held_out_points_and_workload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scipy.stats import kendalltau

    from tlm.api import workload_object
    from tlm.dse.spec import load_spec, point_arch
    from tlm.dse.store import Store
    from tlm.predict.model import load_model, predict_network
    from tlm.predict.synth import synth_workload

    names = []
    for s in range(10):
        (tmp_path / f"synth{s}.json").write_text(json.dumps(synth_workload(s)))
        names.append(f"synth{s}.json")
    train = ["builtin:gemm_small", "builtin:deformable_small", *names]
    (tmp_path / "train.toml").write_text(f"workloads = {json.dumps(train)}\nstrategy = \"random\"\n"
                                         f"samples = 30\nseed = 1\n{AXES}")
    (tmp_path / "test.toml").write_text(f"workloads = {json.dumps([*train, HELD_OUT])}\n"
                                        f"strategy = \"random\"\nsamples = 12\nseed = 7\n{AXES}")
    for name in ("train", "test"):
        assert main(["sweep", str(tmp_path / f"{name}.toml"), "--out", str(tmp_path / name), "--json",
                     "--no-progress"]) == 0
    model_path = tmp_path / "model.json"
    assert main(["predict", "fit", str(tmp_path / "train"), "--out", str(model_path), "--json"]) == 0
    cv = json.loads(capsys.readouterr().out.splitlines()[-1])["cv"]
    assert cv["held_out_arch_points"]["network_mape"] <= 0.05
    model = load_model(model_path)
    trained = set(Store(tmp_path / "train").results()["key"])
    spec = load_spec(tmp_path / "test.toml")
    got: dict[bool, list[tuple[str, float, float]]] = {True: [], False: []}
    for r in Store(tmp_path / "test").results().to_dict("records"):
        if r["key"] in trained:
            continue
        src = r["workload"] if r["workload"].startswith("builtin:") else str(tmp_path / r["workload"])
        p = predict_network(model, workload_object(src), point_arch(spec.base, {k: int(r[k]) for k in spec.axes}))
        got[r["workload"] == HELD_OUT].append((r["workload"], float(r["cycles"]), float(p["cycles"])))
    for held_out_workload, rows in got.items():
        a, p = np.array([x[1] for x in rows]), np.array([x[2] for x in rows])
        assert np.mean(np.abs(p - a) / a) <= 0.05, (held_out_workload, np.mean(np.abs(p - a) / a))
        taus = [kendalltau([x[1] for x in rows if x[0] == w], [x[2] for x in rows if x[0] == w]).statistic
                for w in {x[0] for x in rows}]
        assert np.nanmean(taus) >= 0.9, (held_out_workload, taus)
    # prescreening: only the top 3 points are simulated
    pre = tmp_path / "pre.toml"
    pre.write_text(f'workloads = ["{HELD_OUT}"]\nobjectives = ["cycles"]\n[axes]\n"array.engines" = [1, 2, 4]\n'
                   '"array.rows" = [4, 8]\n"dma.bus_bytes" = [8, 16, 32]\n')
    assert main(["sweep", str(pre), "--out", str(tmp_path / "pre"), "--prescreen", str(model_path), "--top", "3",
                 "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"points": 3, "ran": 3, "skipped": 0, "failed": 0}
