"""`tlmsim rtl` as a process: per-user cache, own run folders, the simulator ends with it.

Each test runs the CLI in a subprocess with its own `TLMSIM_CACHE` and
current folder, and finds its `vvp` by the cache path on its command line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WORKLOAD = "builtin:dilated_vgg_small"  # about 15 s of simulation with --waves

def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "TLMSIM_CACHE": str(cache)}


def _vvps(cache: Path) -> list[int]:
    """Pids of simulators started for this cache."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            args = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"vvp") for a in args[:8]) and str(cache).encode() in b" ".join(args):
            found.append(int(d.name))
    return found


def _start(tmp_path: Path, name: str, *extra: str) -> subprocess.Popen[bytes]:
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "tlm.cli", "rtl", "-w", WORKLOAD, "--trace", f"{name}.jsonl",
         "--no-progress", *extra],
        cwd=cwd, env=_env(tmp_path / "cache"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_vvp(cache: Path, proc: subprocess.Popen[bytes]) -> list[int]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pids = _vvps(cache)
        if pids:
            return pids
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError("the simulator never started")


def _gone(pids: list[int], within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() and "Z" not in _state(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"


def test_sigterm_ends_the_simulator_and_removes_the_run_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    old = tmp_path / "cwd" / "t.jsonl"
    old.parent.mkdir()
    old.write_text("old")
    proc = _start(tmp_path, "t")
    pids = _wait_for_vvp(cache, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert b"Traceback" not in err
    assert _gone(pids), "vvp outlived tlmsim rtl"
    assert list((cache / "runs").iterdir()) == []
    assert old.read_text() == "old"  # the trace is written after the simulation only
    assert sorted(p.name for p in old.parent.iterdir()) == ["t.jsonl"]


def test_sigkill_ends_the_simulator_and_the_next_run_sweeps(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = _start(tmp_path, "t")
    pids = _wait_for_vvp(cache, proc)
    proc.kill()
    proc.wait(timeout=30)
    assert _gone(pids), "vvp outlived a SIGKILLed tlmsim rtl"
    assert len(list((cache / "runs").iterdir())) == 1  # left behind by the killed run
    from tlm.rtl.runner import private_folder

    fresh = private_folder(cache / "runs", "rtl-")
    assert [p.name for p in (cache / "runs").iterdir()] == [fresh.name]


def test_concurrent_runs_with_waves_do_not_collide(tmp_path: Path) -> None:
    """Two runs at once, from a folder outside the repository: two traces, two waveforms."""
    a = _start(tmp_path, "a", "--waves")
    b = _start(tmp_path, "b", "--waves")
    for p in (a, b):
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    cwd = tmp_path / "cwd"
    assert sorted(p.name for p in cwd.iterdir()) == ["a.fst", "a.jsonl", "b.fst", "b.jsonl"]
    assert (cwd / "a.fst").stat().st_size > 0 and (cwd / "b.fst").stat().st_size > 0
    builds = [p for p in (tmp_path / "cache" / "build").iterdir() if p.is_dir()]
    assert len(builds) == 1 and not any(p.name.startswith(".build-") for p in builds)
    assert list((tmp_path / "cache" / "runs").iterdir()) == []
