"""`tlmsim compare` exit codes and output, on the golden traces and broken inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlm.cli import main

GOLDEN = Path(__file__).resolve().parent.parent / "traces" / "golden"
TLM = str(GOLDEN / "two_tiles_tlm.jsonl")
RTL = str(GOLDEN / "two_tiles_rtl.jsonl")


def test_human_summary_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """The golden pair is 99% accurate; the table names the ops."""
    assert main(["compare", TLM, RTL]) == 0
    out = capsys.readouterr().out
    assert "accuracy: 99.000%" in out and "load_b" in out and "worst mismatches" in out


def test_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints exactly one JSON object with the spec keys."""
    assert main(["compare", TLM, RTL, "--json"]) == 0
    out = capsys.readouterr().out
    j = json.loads(out)
    assert out.count("\n") == 1
    assert (j["accuracy"], j["cycles_tlm"], j["cycles_rtl"], j["matched"], j["unmatched"]) == (
        0.99, 198, 200, 12, 0)
    assert j["per_op"]["load_a"] == {"mape": 0.05, "p95": 0.05, "max": 0.05, "n": 2,
                                     "worst_tiles": [0, 1], "unmatched_tlm": 0, "unmatched_rtl": 0}
    assert len(j["drift"]) == 10 and j["worst"][0]["op"] == "load_a"


def test_min_accuracy_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Accuracy under --min-accuracy is a failed check (exit 1), output still printed."""
    assert main(["compare", TLM, RTL, "--json", "--min-accuracy", "0.995"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accuracy"] == 0.99
    assert "below --min-accuracy" in captured.err
    assert main(["compare", TLM, RTL, "--min-accuracy", "0.99"]) == 0


@pytest.mark.parametrize("value", ["1.5", "-0.1", "abc", "nan"])
def test_bad_min_accuracy_exit_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A threshold outside 0..1 is bad input: exit 2, one error line."""
    assert main(["compare", TLM, RTL, "--min-accuracy", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --min-accuracy: value: must be a number in 0..1") and err.count("\n") == 1


def test_bad_trace_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed trace: exit 2 and one line naming file, line and field."""
    bad = tmp_path / "bad.jsonl"
    lines = Path(RTL).read_text().splitlines()
    lines[3] = lines[3].replace('"end": ', '"end": -')
    bad.write_text("\n".join(lines) + "\n")
    assert main(["compare", TLM, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {bad}: line 4: field end: must be an integer >= start\n"


def test_cut_short_and_missing_trace_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trace without footer, or no file at all, is bad input for compare."""
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(Path(RTL).read_text().splitlines()[:-1]) + "\n")
    assert main(["compare", TLM, str(cut)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {cut}: footer: missing: the run was cut short")
    assert main(["compare", TLM, str(tmp_path / "none.jsonl")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'none.jsonl'}: file: ")


def test_different_workload_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Traces of different workloads: exit 2 naming the header field."""
    other = tmp_path / "other.jsonl"
    other.write_text(Path(RTL).read_text().replace('"golden_two_tiles"', '"other"', 1))
    assert main(["compare", TLM, str(other)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {other}: line 1: field workload: 'other' differs")
