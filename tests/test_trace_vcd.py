"""VCD output: it parses, and the waveforms follow the records."""

from __future__ import annotations

from pathlib import Path

from vcd.reader import TokenKind, tokenize

from tlm.arch import Arch
from tlm.trace import TeeWriter, VcdWriter

ARCH = Arch()
RECORDS = [
    ("dispatch", 0, 0, 2, {"engine": 0}),
    ("dispatch", 1, 1, 4, {"engine": 1}),
    ("tile", 0, 2, 30, {"engine": 0}),
    ("load_a", 0, 3, 10, {"engine": 0, "grant": 4}),
    ("compute", 0, 10, 20, {"engine": 0}),  # starts when load_a ends: no idle glitch
    ("store_c", 0, 21, 29, {"engine": 0, "grant": 25}),
    ("tile", 1, 4, 20, {"engine": 1}),
    ("load_a", 1, 5, 18, {"engine": 1, "grant": 10}),
    ("load_b", 1, 18, 18, {"engine": 1, "grant": 18}),  # zero length: invisible
]


def _write(path: Path, records, occupancy=((0, 2), (15, 1))) -> None:
    with VcdWriter(path, source="tlm", workload="w", arch=ARCH, clock_period_ps=1000) as w:
        for op, tile, s, e, extra in records:
            w.record(op, tile, s, e, **extra)
        for t, v in occupancy:
            w.occupancy(t, v)
        w.close(31, 2, "pass")


def _waves(path: Path) -> dict[str, list[tuple[int, object]]]:
    """Signal name -> [(time ps, value)] from the VCD, via pyvcd's tokenizer."""
    names: dict[str, str] = {}
    scope: list[str] = []
    waves: dict[str, list[tuple[int, object]]] = {}
    now = 0
    with open(path, "rb") as f:
        for tok in tokenize(f):
            if tok.kind is TokenKind.SCOPE:
                scope.append(tok.scope.ident)
            elif tok.kind is TokenKind.UPSCOPE:
                scope.pop()
            elif tok.kind is TokenKind.VAR:
                names[tok.var.id_code] = ".".join([*scope, tok.var.reference])
            elif tok.kind is TokenKind.CHANGE_TIME:
                now = tok.time_change
            elif tok.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR, TokenKind.CHANGE_STRING):
                waves.setdefault(names[tok.data.id_code], []).append((now, tok.data.value))
    return waves


def test_waveforms_follow_the_records(tmp_path: Path) -> None:
    """busy, phase, dma and scheduler signals change where the records say."""
    path = tmp_path / "t.vcd"
    _write(path, RECORDS)
    w = _waves(path)
    assert w["engine0.busy"] == [(0, "0"), (2000, "1"), (30000, "0")]
    assert w["engine0.phase"] == [(0, "idle"), (3000, "load_a"), (10000, "compute"), (20000, "idle"),
                                  (21000, "store_c"), (29000, "idle")]
    assert w["engine1.busy"] == [(0, "0"), (4000, "1"), (20000, "0")]
    assert w["engine1.phase"] == [(0, "idle"), (5000, "load_a"), (18000, "idle")]
    assert w["dma.busy"] == [(0, "0"), (4000, "1"), (18000, "0"), (25000, "1"), (29000, "0")]
    # load_a of tile 1 is granted at 10 while tile 0's op is done at 10: op name switches.
    assert w["dma.op"][:4] == [(0, "idle"), (4000, "load_a"), (18000, "idle"), (25000, "store_c")]
    assert w["scheduler.ready"] == [(0, 1), (1000, 2), (2000, 1), (4000, 0)]
    assert w["scheduler.occupancy"] == [(0, 2), (15000, 1)]
    assert path.read_text().splitlines()[0].startswith("$comment tlm trace of w (tlm)")


def test_record_order_does_not_matter(tmp_path: Path) -> None:
    """Records in any order give a byte-identical VCD (changes are sorted at close)."""
    _write(tmp_path / "a.vcd", RECORDS)
    _write(tmp_path / "b.vcd", list(reversed(RECORDS)), occupancy=((15, 1), (0, 2)))
    assert (tmp_path / "a.vcd").read_bytes() == (tmp_path / "b.vcd").read_bytes()


def test_abort_writes_what_was_recorded(tmp_path: Path) -> None:
    """A run cut short still gives a VCD, up to the last recorded time."""
    path = tmp_path / "t.vcd"
    with TeeWriter(VcdWriter(path, source="tlm", workload="w", arch=ARCH, clock_period_ps=1000)) as tee:
        tee.record("tile", 0, 2, 9, engine=1)
    w = _waves(path)
    assert w["engine1.busy"] == [(0, "0"), (2000, "1"), (9000, "0")]
    assert "run cut short" in path.read_text().splitlines()[0]


def test_abort_after_a_record_cut_between_its_appends(tmp_path: Path) -> None:
    """SIGTERM can land between a record's three appends: abort still writes the VCD."""
    path = tmp_path / "cut.vcd"
    w = VcdWriter(path, source="tlm", workload="w", arch=ARCH, clock_period_ps=1000)
    w.record("tile", 0, 0, 10, engine=0)
    w._times.append(12)  # the start of a change whose key and value never came
    w.abort()
    text = path.read_text()
    assert "run cut short" in text.splitlines()[0]
