"""`tlmsim sim` end to end: summaries, traces, exit statuses on bad input."""

from __future__ import annotations

import json

import pytest

from tlm.cli import main
from tlm.trace.reader import read_trace


def test_sim_json_summary_and_valid_trace(tmp_path, capsys):
    """--json prints the spec's keys; the trace reads back with a footer that agrees."""
    trace = tmp_path / "t.jsonl"
    assert main(["sim", "-w", "builtin:gemm_small", "--trace", str(trace), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    for key in ("workload", "source", "cycles", "tiles", "functional", "wall_s", "sim_s", "cycles_per_s"):
        assert key in s
    assert s["functional"] == "pass" and s["source"] == "tlm"
    t = read_trace(trace)
    assert t.footer is not None and t.footer["cycles"] == s["cycles"]
    assert len(t.ops["tile"]) == s["tiles"]


def test_sim_human_summary(capsys):
    assert main(["sim", "-w", "builtin:random_dag"]) == 0
    out = capsys.readouterr().out
    for word in ("cycles", "critical path", "engines", "MAC util", "DMA", "functional    pass", "speed"):
        assert word in out


def test_timing_only_skips_functional(capsys):
    assert main(["sim", "-w", "builtin:gemm_small", "--timing-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["functional"] == "skipped"


@pytest.mark.parametrize("content,where", [
    ("{not json", "JSON"),
    ('{"format": "tlm-workload/9", "name": "x", "tiles": []}', "format"),
    ('{"format": "tlm-workload/1", "name": "x", "seed": 1, "tiles": [{"id": 0, "m": 9, "n": 1, "k": 1, "deps": []}]}', "tiles[0].m"),
])
def test_bad_workload_exit_2_one_line(tmp_path, capsys, content, where):
    f = tmp_path / "w.json"
    f.write_text(content)
    assert main(["sim", "-w", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {f}") and where in err[0]


@pytest.mark.parametrize("content,where", [
    ("[array]\nrows = 0\n", "[array] rows"),
    ("[array]\nrowz = 4\n", "[array] rowz"),
    ("[dma]\nbus_bytes = 6\n", "[dma] bus_bytes"),
    ("[scratchpad]\nbytes = 10\n", "[scratchpad] bytes"),
    ("[bogus]\n", "[bogus]"),
    ("[array\n", "TOML"),
])
def test_bad_arch_exit_2_one_line(tmp_path, capsys, content, where):
    f = tmp_path / "a.toml"
    f.write_text(content)
    assert main(["sim", "-w", "builtin:gemm_small", "--arch", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and where in err[0] and str(f) in err[0]


def test_bad_output_folder_and_flags_exit_2(tmp_path, capsys):
    assert main(["sim", "-w", "builtin:gemm_small", "--trace", str(tmp_path / "no" / "t.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["sim", "--bogus"])
    assert e.value.code == 2


def test_existing_trace_not_lost_on_bad_input(tmp_path, capsys):
    """A run that fails on input leaves an earlier trace at that path intact."""
    trace = tmp_path / "t.jsonl"
    trace.write_text("precious\n")
    bad = tmp_path / "w.json"
    bad.write_text("{")
    assert main(["sim", "-w", str(bad), "--trace", str(trace)]) == 2
    assert trace.read_text() == "precious\n"


def test_deadlock_exit_1(tmp_path, capsys, monkeypatch):
    """A run that cannot finish (DeadlockError) exits 1 with the diagnosis on stderr."""
    import tlm.blocks
    from tlm.errors import DeadlockError

    def stuck(*args, **kwargs):
        raise DeadlockError("deadlock at cycle 32: 2 of 2 entries unfinished")

    monkeypatch.setattr(tlm.blocks, "simulate", stuck)
    assert main(["sim", "-w", "builtin:gemm_small", "--no-progress"]) == 1
    assert "deadlock" in capsys.readouterr().err
