"""`tlmsim sweep` on the default local cluster: failures recorded, outputs, optuna."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pandas as pd  # noqa: E402  (the [dse] extra; `make setup` installs it)
import optuna  # noqa: E402,F401  (the [dse] extra)

from tlm.cli import main  # noqa: E402
from tlm.dse.pareto import nondominated  # noqa: E402

GRID = """
workloads = ["builtin:gemm_small", "net.json"]
objectives = ["cycles", "energy"]
constraints = ["area <= 0.7"]
[base.scratchpad]
bytes = 2048
[axes]
"array.engines" = [1, 3]
"array.rows" = [4, 32]
"""


def test_grid_sweep_records_failures_and_writes_the_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net.json").write_text(json.dumps({"format": "tlm-workload/1", "name": "n", "seed": 3, "layers": [
        {"name": "a", "op": "gemm", "M": 8, "N": 12, "K": 16}, {"name": "b", "op": "gemm", "M": 8, "N": 4, "K": 12}]}))
    spec = tmp_path / "s.toml"
    # each value is valid alone over the 2 KiB scratchpad base, but rows 32 x cols 16 is not:
    # a 32x16 tile needs 32 + 16 + 4*32*16 > 2048 bytes, so those points fail and are recorded.
    spec.write_text(GRID.replace('"array.rows" = [4, 32]', '"array.rows" = [4, 32]\n"array.cols" = [4, 16]'))
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--json", "--no-progress"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["points"] == 16 and stats["ran"] == 16 and stats["skipped"] == 0
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 16 and df["key"].is_unique
    assert set(df["workload"]) == {"builtin:gemm_small", "net.json"}
    for col in ("array.engines", "array.rows", "array.cols", "cycles", "macs", "area", "energy",
                "dram_bytes", "mac_utilisation", "status", "sim_s"):
        assert col in df.columns
    bad = df[df["status"] != "ok"]
    assert stats["failed"] == len(bad) == 4  # rows 32 x cols 16 cannot fit 2 KiB: both engines, both workloads
    assert bad["status"].str.contains(r"\[scratchpad\] bytes").all()
    assert ((bad["array.rows"] == 32) & (bad["array.cols"] == 16)).all()
    front = pd.read_csv(out / "pareto.csv")
    ok = df[(df["status"] == "ok") & (df["area"] <= 0.7)]
    for wl, g in ok.groupby("workload"):
        mask = nondominated(g[["cycles", "energy"]].to_numpy(float))
        assert sorted(front[front["workload"] == wl]["key"]) == sorted(g[mask]["key"])
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "estimates" in html and "Per-layer breakdown" in html
    layers = pd.read_parquet(out / "layers.parquet")
    assert set(layers["key"]) == set(df[df["status"] == "ok"]["key"])
    # the same command again runs nothing (recorded failures included) and starts no cluster
    assert main(["sweep", str(spec), "--out", str(out), "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out) == {"points": 16, "ran": 0, "skipped": 16, "failed": 0}


def test_optuna_sweep_runs_the_sampled_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text('workloads = ["builtin:gemm_small"]\nstrategy = "optuna"\nsamples = 8\nbatch = 4\n'
                    'objectives = ["cycles", "area"]\nconstraints = ["area <= 0.7"]\n[axes]\n'
                    '"array.engines" = [1, 2, 4]\n"array.rows" = [4, 8]\n"dma.bus_bytes" = [8, 16, 32]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--json", "--no-progress"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["points"] == 8 and stats["ran"] + stats["skipped"] == 8 and stats["failed"] == 0
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == stats["ran"] and df["key"].is_unique and (df["status"] == "ok").all()
    # seeded: the same spec into a fresh folder samples the same points
    assert main(["sweep", str(spec), "--out", str(tmp_path / "again"), "--workers", "1", "--json",
                 "--no-progress"]) == 0
    capsys.readouterr()
    again = pd.read_parquet(tmp_path / "again" / "results.parquet")
    assert sorted(again["key"]) == sorted(df["key"])
