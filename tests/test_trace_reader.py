"""read_trace validation: tolerated damage, and each malformed case named by line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.trace import read_trace
from tlm.trace import reader as reader_mod

HEADER = {"format": "tlm-trace/1", "source": "rtl", "workload": "w", "clock_period_ps": 1000,
          "arch": Arch().to_dict()}
REC1 = '{"op": "tile", "tile": 0, "start": 0, "end": 10, "engine": 0}'
REC2 = '{"op": "compute", "tile": 0, "start": 2, "end": 8, "engine": 0}'
FOOTER = '{"end": true, "cycles": 12, "tiles": 1, "functional": "pass"}'


def _file(tmp_path: Path, *lines: str, header: dict | str | None = None, newline_at_end: bool = True) -> Path:
    head = json.dumps(HEADER if header is None else header) if not isinstance(header, str) else header
    text = "\n".join([head, *lines]) + ("\n" if newline_at_end else "")
    path = tmp_path / "t.jsonl"
    path.write_text(text)
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as e:
        read_trace(path)
    assert e.value.file == str(path)
    return e.value


def test_complete_trace(tmp_path: Path) -> None:
    """Header, records and footer read back; columns per op; no warnings."""
    t = read_trace(_file(tmp_path, REC1, REC2, FOOTER))
    assert t.complete and t.cycles == 12 and t.warnings == []
    assert t.op_names() == ["tile", "compute"]
    assert t.ops["compute"]["start"].tolist() == [2] and t.ops["compute"]["line"].tolist() == [3]
    assert t.arch == Arch() and t.workload == "w" and t.source == "rtl"


def test_missing_footer_is_accepted_as_cut_short(tmp_path: Path) -> None:
    """No footer: the records are kept, the trace is incomplete with a warning."""
    t = read_trace(_file(tmp_path, REC1, REC2))
    assert not t.complete and t.cycles is None and len(t) == 2
    assert t.warnings == ["no footer: the run was cut short"]


def test_truncated_last_line_is_dropped_with_a_warning(tmp_path: Path) -> None:
    """A last line cut mid-write (no newline, not JSON) is dropped."""
    t = read_trace(_file(tmp_path, REC1, REC2[:25], newline_at_end=False))
    assert len(t) == 1 and not t.complete
    assert t.warnings[0] == "line 3: truncated last line dropped"


def test_last_line_without_newline_but_whole_is_kept(tmp_path: Path) -> None:
    """A complete footer missing only its newline still counts."""
    t = read_trace(_file(tmp_path, REC1, FOOTER, newline_at_end=False))
    assert t.complete and t.warnings == []


@pytest.mark.parametrize(
    ("lines", "where", "what"),
    [
        ([REC1.replace('"end": 10', '"end": -1')], "line 2: field end", "must be an integer >= start"),
        ([REC1.replace('"start": 0', '"start": 1.5')], "line 2: field start", "must be an integer, got 1.5"),
        ([REC1.replace('"start": 0', '"start": true')], "line 2: field start", "must be an integer, got True"),
        ([REC1.replace('"start": 0, ', "")], "line 2: field start", "missing"),
        ([REC1.replace('"tile": 0', '"tile": -3')], "line 2: field tile", "must be an integer >= 0"),
        ([REC1.replace('"tile": 0', '"tile": "a"')], "line 2: field tile", "must be an integer, got 'a'"),
        ([REC1.replace('"op": "tile", ', "")], "line 2: field op", "missing"),
        ([REC1.replace('"op": "tile"', '"op": 7')], "line 2: field op", "must be a string, got 7"),
        ([REC1.replace('"op": "tile"', '"op": ""')], "line 2: field op", "must be a non-empty string"),
        ([REC1.replace('"end": 10', '"end": 99999999999999999999999')], "line 2: field end",
         "integer out of range"),
        ([REC1, REC2, REC2.replace('"start": 2', '"start": 3')], "line 4: field tile",
         "duplicate (compute, 0): already on line 3"),
        ([REC1, FOOTER, REC2], "line 4", "record after the footer on line 3"),
        ([REC1, '{"end": true, "tiles": 1, "functional": "pass"}'], "line 3: field cycles",
         "must be an integer >= 0, got None"),
    ],
)
def test_malformed_record_names_line_and_field(tmp_path: Path, lines: list[str], where: str, what: str) -> None:
    """Each malformed record is an InputError naming its line and field."""
    e = _error(_file(tmp_path, *lines))
    assert (e.where, e.what) == (where, what)


@pytest.mark.parametrize(
    ("lines", "where", "what_starts"),
    [
        ([REC1, "", REC2], "line 3", "empty line"),
        ([REC1, "{not json", REC2], "line 3", "not valid JSON"),
        ([REC1[:20], REC2], "line 2", "not valid JSON"),  # cut line that is not the last
        (["[1, 2]"], "line 2", "must be a JSON object"),
        ([f"{REC1} {REC2}"], "line 2", "not valid JSON"),
    ],
)
def test_malformed_line(tmp_path: Path, lines: list[str], where: str, what_starts: str) -> None:
    """Lines that are not one JSON object are errors (only a cut *last* line is tolerated)."""
    e = _error(_file(tmp_path, *lines))
    assert e.where == where and e.what.startswith(what_starts)


@pytest.mark.parametrize(
    ("header", "where", "what_starts"),
    [
        ({**HEADER, "format": "tlm-trace/2"}, "line 1: field format", "unknown format 'tlm-trace/2'"),
        ({k: v for k, v in HEADER.items() if k != "format"}, "line 1: field format", "unknown format None"),
        ({**HEADER, "workload": ""}, "line 1: field workload", "must be a non-empty string"),
        ({**HEADER, "clock_period_ps": 0}, "line 1: field clock_period_ps", "must be a positive integer"),
        ({**HEADER, "arch": []}, "line 1: field arch", "must be an object"),
        ({**HEADER, "arch": {"array": {"rowz": 4}}}, "line 1: field arch [array] rowz", "unknown key"),
        ({**HEADER, "arch": {"array": {"rows": 300}}}, "line 1: field arch [array] rows", "must be <= 256"),
        ("not json", "line 1", "not a JSON header"),
        ("[]", "line 1", "the header must be a JSON object"),
        ("", "line 1", "empty"),
    ],
)
def test_bad_header(tmp_path: Path, header: dict | str, where: str, what_starts: str) -> None:
    """Unknown format and malformed headers are errors on line 1."""
    e = _error(_file(tmp_path, REC1, header=header))
    assert e.where == where and e.what.startswith(what_starts)


def test_missing_file(tmp_path: Path) -> None:
    """An unreadable file is an InputError on the file itself."""
    e = _error(tmp_path / "nope.jsonl")
    assert e.where == "file"


def test_errors_and_footer_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading in many small blocks gives the same result and the right line numbers."""
    monkeypatch.setattr(reader_mod, "BLOCK_BYTES", 100)
    recs = [json.dumps({"op": "tile", "tile": i, "start": i, "end": i + 2, "engine": i % 2}) for i in range(50)]
    t = read_trace(_file(tmp_path, *recs, FOOTER))
    assert len(t) == 50 and t.complete
    assert t.ops["tile"]["line"].tolist() == list(range(2, 52))
    bad = list(recs)
    bad[40] = bad[40].replace('"end": 42', '"end": 1')
    e = _error(_file(tmp_path, *bad, FOOTER))
    assert e.where == "line 42: field end"
    dup = [*recs, recs[3]]
    e = _error(_file(tmp_path, *dup))
    assert (e.where, e.what) == ("line 52: field tile", "duplicate (tile, 3): already on line 5")
    e = _error(_file(tmp_path, *recs[:10], FOOTER, *recs[10:]))
    assert e.where == "line 13"


def test_records_iterates_in_time_order(tmp_path: Path) -> None:
    """Trace.records() yields all records by start time, known ops first on ties."""
    t = read_trace(_file(tmp_path, REC2, REC1, FOOTER))
    assert [(op, s) for op, _, s, _, _ in t.records()] == [("tile", 0), ("compute", 2)]
    assert next(t.records())[4] == {"engine": 0}


def test_golden_cut_trace() -> None:
    """The golden interrupted trace reads with both warnings and the whole lines kept."""
    golden = Path(__file__).resolve().parent.parent / "traces" / "golden"
    t = read_trace(golden / "two_tiles_rtl_cut.jsonl")
    assert not t.complete and len(t) == 11
    assert t.warnings == ["line 13: truncated last line dropped", "no footer: the run was cut short"]


def test_extra_key_named_line_does_not_clobber_line_numbers(tmp_path: Path) -> None:
    """The reader's own `line` column wins over a record's `line` key."""
    t = read_trace(_file(tmp_path, REC1.replace('"engine": 0', '"line": 99'), FOOTER))
    assert t.ops["tile"]["line"].tolist() == [2]
