"""A sweep on a real Dask scheduler with two workers on 127.0.0.1: one worker is
killed midway, and so is the sweep itself; re-runs finish every point exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pandas as pd  # noqa: E402  (the [dse] extra; `make setup` installs it)
import distributed  # noqa: E402,F401  (the [dse] extra)

from tlm.api import simulate  # noqa: E402
from tlm.cli import main  # noqa: E402

BIN = Path(sys.executable).parent
SPEC = """
workloads = ["builtin:dilated_vgg_small"]
functional = true
objectives = ["cycles", "area"]
[axes]
"array.engines" = [1, 2]
"array.rows" = [4, 8]
"array.cols" = [4, 8]
"dma.bus_bytes" = [8, 16]
"""


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(cond, what: str, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler and two single-process workers; yields (address, workers)."""
    sfile = tmp_path / "scheduler.json"
    procs = [_spawn([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(sfile)], tmp_path / "scheduler.log")]
    try:
        _wait_for(lambda: sfile.exists() and sfile.stat().st_size > 0, "the scheduler")
        addr = json.loads(sfile.read_text())["address"]
        workers = [_spawn([str(BIN / "dask"), "worker", addr, "--nthreads", "1", "--no-nanny",
                           "--no-dashboard", "--host", "127.0.0.1"], tmp_path / f"worker{i}.log")
                   for i in range(2)]
        procs += workers
        from distributed import Client

        with Client(addr, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
        yield addr, workers
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _sweep(spec: Path, out: Path, addr: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "tlmsim"), "sweep", str(spec), "--out", str(out), "--scheduler",
                             addr, "--json", "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,  # SIGINT reaches it even from a background shell
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _chunks(out: Path) -> int:
    return len(list((out / "chunks").glob("r-*.parquet"))) if (out / "chunks").is_dir() else 0


def test_lost_worker_and_killed_sweep_then_rerun_runs_each_point_once(
        tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]], capsys: pytest.CaptureFixture[str]) -> None:
    addr, workers = cluster
    spec = tmp_path / "sweep.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    # 1. a worker dies once results start coming in: Dask re-runs its tasks elsewhere.
    sweep = _sweep(spec, out, addr)
    _wait_for(lambda: _chunks(out) >= 1 or sweep.poll() is not None, "a first result")
    assert sweep.poll() is None, "the sweep ended before the worker could be killed"
    os.killpg(workers[0].pid, signal.SIGKILL)
    stdout, stderr = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, stderr.decode()
    first = json.loads(stdout)
    assert first["points"] == 16 and first["failed"] == 0 and first["ran"] + first["skipped"] == 16
    # 2. the sweep process itself is killed (SIGKILL) during a fresh sweep into another folder.
    out2 = tmp_path / "out2"
    sweep = _sweep(spec, out2, addr)
    _wait_for(lambda: _chunks(out2) >= 1 or sweep.poll() is not None, "a first result")
    sweep.kill()
    sweep.wait()
    stored = _chunks(out2)
    assert main(["sweep", str(spec), "--out", str(out2), "--scheduler", addr, "--json", "--no-progress"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["points"] == 16 and again["ran"] + again["skipped"] == 16
    assert again["skipped"] >= stored >= 1
    # 3. Ctrl-C (SIGINT): exit 130, what finished is consolidated, the re-run completes the rest.
    out3 = tmp_path / "out3"
    sweep = _sweep(spec, out3, addr)
    _wait_for(lambda: _chunks(out3) >= 1 or sweep.poll() is not None, "a first result")
    sweep.send_signal(signal.SIGINT)
    _, stderr = sweep.communicate(timeout=120)
    if sweep.returncode == 130:
        assert "interrupted" in stderr.decode()
        stored = pd.read_parquet(out3 / "results.parquet")
        assert len(stored) >= 1 and not list((out3 / "chunks").glob("*"))
    else:  # the interrupt came after the last result: the sweep had finished
        assert sweep.returncode == 0
    assert main(["sweep", str(spec), "--out", str(out3), "--scheduler", addr, "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["points"] == 16
    # 4. re-running any of them runs nothing; every (point, workload) is stored exactly once.
    for folder in (out, out2, out3):
        assert main(["sweep", str(spec), "--out", str(folder), "--json", "--no-progress"]) == 0
        assert json.loads(capsys.readouterr().out) == {"points": 16, "ran": 0, "skipped": 16, "failed": 0}
        df = pd.read_parquet(folder / "results.parquet")
        assert len(df) == 16 and df["key"].is_unique and (df["status"] == "ok").all()
        assert len(df.drop_duplicates(["array.engines", "array.rows", "array.cols", "dma.bus_bytes"])) == 16
        assert not list((folder / "chunks").glob("*"))
    assert sorted(pd.read_parquet(out / "results.parquet")["cycles"]) == \
        sorted(pd.read_parquet(out2 / "results.parquet")["cycles"])
    # 5. sampled points re-simulated with `tlmsim sim` give identical cycles.
    df = pd.read_parquet(out / "results.parquet")
    for _, row in df.sample(3, random_state=1).iterrows():
        arch = tmp_path / "point.toml"
        arch.write_text(f"[array]\nengines = {row['array.engines']}\nrows = {row['array.rows']}\n"
                        f"cols = {row['array.cols']}\n[dma]\nbus_bytes = {row['dma.bus_bytes']}\n")
        assert main(["sim", "-w", "builtin:dilated_vgg_small", "--arch", str(arch), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["cycles"] == row["cycles"]
        assert simulate("builtin:dilated_vgg_small", arch, timing_only=True).cycles == row["cycles"]
