"""TraceWriter / reader round trip, file replacement, NullWriter and TeeWriter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch
from tlm.trace import NullWriter, TeeWriter, TraceWriter, read_trace
from tlm.trace import writer as writer_mod
from tlm.trace.schema import MISSING

ARCH = Arch()
KW = dict(source="tlm", workload="w", arch=ARCH, clock_period_ps=1000)
OPS = ("dispatch", "tile", "load_a", "load_b", "compute", "store_c", "custom_op")


@st.composite
def record_sets(draw: st.DrawFn) -> list[tuple[str, int, int, int, dict[str, int]]]:
    keys = draw(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 10**6)),
                         unique=True, max_size=60))
    out = []
    for op, tile in keys:
        start = draw(st.integers(0, 2**40))
        end = start + draw(st.integers(0, 10**6))
        extra = draw(st.dictionaries(st.sampled_from(("engine", "grant", "bytes", "beats")),
                                     st.integers(0, 2**31), max_size=4))
        out.append((op, tile, start, end, extra))
    return out


def _write(path: Path, records, footer=True) -> None:
    with TraceWriter(path, **KW) as w:
        for op, tile, start, end, extra in records:
            w.record(op, tile, start, end, **extra)
        if footer:
            w.close(cycles=1234, tiles=len(records), functional="pass", sim_s=0.5)


def _read_back(path: Path) -> set[tuple[str, int, int, int, tuple[tuple[str, int], ...]]]:
    trace = read_trace(path)
    out = set()
    for op, arr in trace.ops.items():
        extras = [n for n in arr.dtype.names if n not in ("tile", "start", "end", "line")]
        for row in arr:
            ex = tuple(sorted((k, int(row[k])) for k in extras if row[k] != MISSING))
            out.add((op, int(row["tile"]), int(row["start"]), int(row["end"]), ex))
    return out


@settings(max_examples=40, deadline=None)
@given(records=record_sets())
def test_round_trip_gives_back_the_records(tmp_path_factory: pytest.TempPathFactory, records) -> None:
    """Whatever records are written come back, with their extra keys, and the footer."""
    path = tmp_path_factory.mktemp("rt") / "t.jsonl"
    _write(path, records)
    expected = {(op, t, s, e, tuple(sorted(x.items()))) for op, t, s, e, x in records}
    assert _read_back(path) == expected
    trace = read_trace(path)
    assert trace.complete and trace.cycles == 1234 and trace.warnings == []
    assert trace.footer == {"end": True, "cycles": 1234, "tiles": len(records),
                            "functional": "pass", "sim_s": 0.5}
    for arr in trace.ops.values():
        assert np.all(np.diff(arr["tile"]) > 0)  # sorted by tile, unique


def test_output_is_deterministic_and_follows_the_spec_shape(tmp_path: Path) -> None:
    """Same records twice give identical bytes; header then records then footer."""
    recs = [("load_a", 3, 10, 20, {"engine": 1, "grant": 12}), ("compute", 3, 21, 30, {"engine": 1})]
    _write(tmp_path / "a.jsonl", recs)
    _write(tmp_path / "b.jsonl", recs)
    a = (tmp_path / "a.jsonl").read_bytes()
    assert a == (tmp_path / "b.jsonl").read_bytes()
    lines = a.decode().splitlines()
    header = json.loads(lines[0])
    assert list(header)[:5] == ["format", "source", "workload", "clock_period_ps", "arch"]
    assert header["format"] == "tlm-trace/1" and header["arch"] == ARCH.to_dict()
    assert lines[1] == '{"op": "load_a", "tile": 3, "start": 10, "end": 20, "engine": 1, "grant": 12}'
    assert json.loads(lines[-1])["end"] is True


def test_numpy_integers_and_string_extras_are_encoded(tmp_path: Path) -> None:
    """numpy ints go through the fast path; a string extra is JSON-quoted."""
    path = tmp_path / "t.jsonl"
    with TraceWriter(path, **KW) as w:
        w.record("compute", np.int64(4), np.int64(5), np.int32(9), engine=np.int64(0))
        w.record("load_a", 4, 1, 2, note='say "hi"', engine=0)
        w.close(9, 1, "pass")
    lines = path.read_text().splitlines()
    assert json.loads(lines[1]) == {"op": "compute", "tile": 4, "start": 5, "end": 9, "engine": 0}
    assert json.loads(lines[2])["note"] == 'say "hi"'
    trace = read_trace(path)
    assert "note" not in trace.ops["load_a"].dtype.names  # non-integer extras are not columns


def test_bad_records_are_refused_by_the_writer(tmp_path: Path) -> None:
    """end < start and op names that are not identifiers are programming errors."""
    with TraceWriter(tmp_path / "t.jsonl", **KW) as w:
        with pytest.raises(ValueError, match="end 4 < start 5"):
            w.record("compute", 1, 5, 4)
        with pytest.raises(ValueError, match="identifier"):
            w.record('bad"op', 1, 5, 6)


def test_earlier_file_kept_until_the_first_record(tmp_path: Path) -> None:
    """A run that records nothing leaves an earlier trace in place, and no temp file."""
    path = tmp_path / "t.jsonl"
    path.write_text("old\n")
    w = TraceWriter(path, **KW)
    assert path.read_text() == "old\n"
    w.abort()
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]


def test_earlier_file_kept_until_the_writer_ends(tmp_path: Path) -> None:
    """The target keeps its old content while recording; an abort then publishes the prefix."""
    path = tmp_path / "t.jsonl"
    path.write_text("old\n")
    w = TraceWriter(path, **KW)
    w.record("tile", 0, 0, 5, engine=0)
    assert path.read_text() == "old\n"
    w.abort()
    trace = read_trace(path)
    assert not trace.complete and len(trace) == 1
    assert trace.warnings == ["no footer: the run was cut short"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]


def test_killed_run_leaves_the_old_file_and_whole_lines(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without close or abort (a killed process) the target is untouched; the temp file has whole blocks."""
    monkeypatch.setattr(writer_mod, "FLUSH_EVERY", 10)
    path = tmp_path / "t.jsonl"
    path.write_text("old\n")
    w = TraceWriter(path, **KW)
    for i in range(25):
        w.record("tile", i, i, i + 1, engine=0)
    assert path.read_text() == "old\n"
    tmp = w._out.temp_name
    assert tmp is not None
    trace = read_trace(tmp)  # 20 records flushed, as whole lines
    assert len(trace) == 20 and not trace.complete
    w.close(30, 25, "pass")
    assert len(read_trace(path)) == 25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]


def test_exception_inside_with_block_aborts(tmp_path: Path) -> None:
    """Leaving the with-block by an exception keeps the recorded prefix, no footer."""
    path = tmp_path / "t.jsonl"
    with pytest.raises(RuntimeError):
        with TraceWriter(path, **KW) as w:
            w.record("tile", 0, 0, 5, engine=0)
            raise RuntimeError("deadlock")
    assert not read_trace(path).complete


def test_unwritable_path_is_an_input_error(tmp_path: Path) -> None:
    """A trace path in a missing directory names the file."""
    from tlm.errors import InputError

    with pytest.raises(InputError) as e:
        TraceWriter(tmp_path / "no" / "t.jsonl", **KW)
    assert e.value.where == "file"


def test_null_and_tee_writers(tmp_path: Path) -> None:
    """TeeWriter sends every call to each sink; NullWriter accepts and drops them."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    null = NullWriter()
    with TeeWriter(TraceWriter(a, **KW), TraceWriter(b, **KW), null) as tee:
        tee.record("tile", 0, 0, 5, engine=0)
        tee.record("tile", 1, 2, 7, engine=1)
        tee.close(8, 2, "pass")
    assert a.read_bytes() == b.read_bytes()
    assert len(read_trace(a)) == 2 and null.closed


def test_open_sinks_picks_writers_by_suffix(tmp_path: Path) -> None:
    """.jsonl, .json and .vcd files are written from one sink; other suffixes are refused."""
    from tlm.errors import InputError
    from tlm.trace import open_sinks

    paths = [tmp_path / "t.jsonl", tmp_path / "t.json", tmp_path / "t.vcd"]
    with open_sinks(paths, source="tlm", workload="w", arch=ARCH) as sink:
        sink.record("tile", 0, 0, 5, engine=0)
        sink.close(6, 1, "pass")
    assert read_trace(paths[0]).cycles == 6
    assert json.loads(paths[1].read_text())["traceEvents"]
    assert "$enddefinitions" in paths[2].read_text()
    assert isinstance(open_sinks([], source="tlm", workload="w", arch=ARCH), NullWriter)
    with pytest.raises(InputError) as e:
        open_sinks([tmp_path / "a.jsonl", tmp_path / "t.txt"], source="tlm", workload="w", arch=ARCH)
    assert (e.value.file, e.value.where) == (str(tmp_path / "t.txt"), "file name")
    assert not (tmp_path / "a.jsonl").exists()


def test_open_sinks_failure_leaves_no_files(tmp_path: Path) -> None:
    """When one output cannot be created, the others are discarded without a trace."""
    from tlm.errors import InputError
    from tlm.trace import open_sinks

    with pytest.raises(InputError):
        open_sinks([tmp_path / "a.json", tmp_path / "b.vcd", tmp_path / "no" / "c.jsonl"],
                   source="tlm", workload="w", arch=ARCH)
    assert list(tmp_path.iterdir()) == []
