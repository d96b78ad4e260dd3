"""Filtering trace outputs by layer and cycle window (`--trace-layers`, `--trace-window`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.cli import main
from tlm.errors import InputError
from tlm.trace.filter import FilterSink, parse_layers, parse_window
from tlm.trace.reader import read_trace


class Recorder:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.records: list[tuple[str, int, int, int, dict[str, Any]]] = []
        self.occ: list[tuple[int, int]] = []
        self.closed = False

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        self.records.append((op, tile, start, end, extra))

    def occupancy(self, time: int, value: int) -> None:
        self.occ.append((time, value))

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.closed:
            self.abort()


def wanted(rec: tuple[str, int, int, int, dict[str, Any]], layers: frozenset[int] | None,
           window: tuple[int, int | None] | None) -> bool:
    _, _, start, end, extra = rec
    if layers is not None and extra.get("layer") not in layers:
        return False
    if window is not None:
        lo, hi = window
        if end < lo or (hi is not None and start > hi):
            return False
    return True


record_st = st.tuples(st.sampled_from(["tile", "compute", "load_a"]), st.integers(0, 50),
                      st.integers(0, 200), st.integers(0, 40),
                      st.one_of(st.none(), st.integers(0, 5)))


@settings(max_examples=200, deadline=None)
@given(raw=st.lists(record_st, max_size=40),
       layers=st.one_of(st.none(), st.frozensets(st.integers(0, 5))),
       window=st.one_of(st.none(), st.tuples(st.integers(0, 250),
                                             st.one_of(st.none(), st.integers(0, 250)))))
def test_filter_keeps_exactly_the_records_asked_for(raw: list[Any], layers: frozenset[int] | None,
                                                    window: tuple[int, int | None] | None) -> None:
    if window is not None and window[1] is not None and window[1] < window[0]:
        window = (window[1], window[0])
    recs = [(op, tile, s, s + d, {"engine": 0} if layer is None else {"engine": 0, "layer": layer})
            for op, tile, s, d, layer in raw]
    inner = Recorder()
    with FilterSink(inner, layers=layers, window=window) as f:  # type: ignore[arg-type]
        for op, tile, s, e, extra in recs:
            f.record(op, tile, s, e, **extra)
        f.close(1, 1, "pass")
    assert inner.records == [r for r in recs if wanted(r, layers, window)]
    assert f.kept + f.dropped == len(recs) and f.kept == len(inner.records)


def test_occupancy_in_a_window_starts_with_the_value_in_force() -> None:
    inner = Recorder()
    f = FilterSink(inner, window=(10, 20))  # type: ignore[arg-type]
    for t, v in ((0, 1), (5, 2), (12, 3), (20, 4), (21, 5)):
        f.occupancy(t, v)
    f.close(30, 1, "pass")
    assert inner.occ == [(10, 2), (12, 3), (20, 4)]
    inner = Recorder()
    f = FilterSink(inner, layers=frozenset({1}))  # type: ignore[arg-type]
    f.occupancy(3, 1)
    assert inner.occ == [(3, 1)]  # no window: occupancy is not filtered


def test_parse_forms() -> None:
    assert parse_layers("3,5-7") == {3, 5, 6, 7}
    assert parse_layers(" 0 , 2-2 ") == {0, 2}
    assert parse_window("1000:50000") == (1000, 50000)
    assert parse_window("1000:") == (1000, None)
    assert parse_window(":500") == (0, 500)


@pytest.mark.parametrize("text", ["", "a", "3-1", "-1", "1,,2", "1-", "٣", "1.5", "9" * 5000,
                                  "0-99999999"])
def test_bad_layers_are_input_errors(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_layers(text)
    assert e.value.line().startswith("error: --trace-layers: value: ")


@pytest.mark.parametrize("text", ["", "5", "a:b", "-1:5", "5:3", "1:2:3", "1e3:5"])
def test_bad_windows_are_input_errors(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_window(text)
    assert e.value.line().startswith("error: --trace-window: value: ")


def _records(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    return [json.loads(x) for x in lines[1:] if '"op"' in x]


def test_cli_filter_applies_to_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The filtered trace is exactly the full trace's matching records; Perfetto agrees."""
    full, part, perf, vcd = (tmp_path / n for n in ("full.jsonl", "part.jsonl", "p.json", "p.vcd"))
    assert main(["sim", "-w", "builtin:gemm_small", "-t", str(full), "--no-progress"]) == 0
    assert main(["sim", "-w", "builtin:gemm_small", "-t", str(part), "--perfetto", str(perf),
                 "--vcd", str(vcd), "--trace-layers", "1-2", "--trace-window", "1500:2500"]) == 0
    capsys.readouterr()
    want = [r for r in _records(full) if r["layer"] in (1, 2) and r["end"] >= 1500 and r["start"] <= 2500]
    got = _records(part)
    assert got == want and 0 < len(got) < len(_records(full))
    t = read_trace(part)
    assert t.header["filter"] == {"layers": [1, 2], "window": [1500, 2500]}
    assert t.footer is not None and t.footer["cycles"] == read_trace(full).cycles
    events = json.loads(perf.read_text())["traceEvents"]
    slices = {(e["name"], e["args"]["tile"]) for e in events if e["ph"] == "X" and e["cat"] != "dma"}
    assert slices == {(r["op"], r["tile"]) for r in got if r["op"] != "dispatch"}
    assert vcd.read_text().count("$enddefinitions") == 1


@pytest.mark.parametrize("argv,what", [
    (["--trace-layers", "0"], "give --trace, --perfetto or --vcd"),
    (["-t", "T", "--trace-layers", "7"], "layer 7 does not exist: the workload has 3 layers (0-2)"),
    (["-t", "T", "--trace-layers", "x"], "expected layer indices"),
    (["-t", "T", "--trace-window", "9:1"], "ends before it starts"),
])
def test_cli_bad_filters_exit_2_one_line(argv: list[str], what: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    argv = [str(trace) if a == "T" else a for a in argv]
    assert main(["sim", "-w", "builtin:gemm_small", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --trace-") and what in err[0]
    assert not trace.exists()


def test_cli_layer_filter_on_a_tiles_workload_is_refused(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    assert main(["sim", "-w", "builtin:random_dag", "-t", str(trace), "--trace-layers", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --trace-layers: value: the workload has no layers (tiles form)"]
    assert not trace.exists()


def test_cli_window_on_a_tiles_workload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cycle window needs no layers."""
    full, part = tmp_path / "f.jsonl", tmp_path / "p.jsonl"
    assert main(["sim", "-w", "builtin:random_dag", "-t", str(full)]) == 0
    assert main(["sim", "-w", "builtin:random_dag", "-t", str(part), "--trace-window", ":3000"]) == 0
    capsys.readouterr()
    assert _records(part) == [r for r in _records(full) if r["start"] <= 3000]
