"""Chrome trace-event output: valid JSON, the expected tracks and slices."""

from __future__ import annotations

import json
from pathlib import Path

from tlm.arch import Arch
from tlm.trace import PerfettoWriter, jsonl_to_perfetto, write_trace

ARCH = Arch()  # 2 engines, 1000 ps clock
RECORDS = [
    ("dispatch", 0, 1, 3, {"engine": 0}),
    ("tile", 0, 3, 60, {"engine": 0}),
    ("load_a", 0, 4, 30, {"engine": 0, "grant": 5, "bytes": 64, "beats": 8}),
    ("compute", 0, 31, 52, {"engine": 0}),
    ("store_c", 0, 53, 59, {"engine": 0, "grant": 55, "bytes": 16, "beats": 2}),
    ("tile", 1, 4, 40, {"engine": 1}),
    ("load_a", 1, 5, 39, {"engine": 1, "grant": 30, "bytes": 64, "beats": 8}),
    ("tagged", 9, 7, 8, {}),
]


def _events(path: Path) -> list[dict]:
    doc = json.loads(path.read_text())
    assert doc["displayTimeUnit"] == "ns"
    return doc["traceEvents"]


def _threads(events: list[dict]) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}


def test_converted_trace_has_engine_and_dma_tracks(tmp_path: Path) -> None:
    """One track per engine, one for the DMA (grant..end), slices in microseconds."""
    src, out = tmp_path / "t.jsonl", tmp_path / "t.json"
    write_trace(src, RECORDS, source="rtl", workload="two", arch=ARCH,
                footer={"cycles": 61, "tiles": 2, "functional": "pass"})
    n = jsonl_to_perfetto(src, out)
    events = _events(out)
    assert n == len(events)
    tids = {name: tid for tid, name in _threads(events).items()}
    assert set(tids) == {"engine 0", "engine 1", "dma", "other"}
    proc = [e for e in events if e["ph"] == "M" and e["name"] == "process_name"]
    assert proc[0]["args"]["name"] == "two"
    assert [e["args"]["labels"] for e in events if e["name"] == "process_labels"] == ["rtl"]
    xs = [e for e in events if e["ph"] == "X"]
    by = {(e["tid"], e["name"], e["args"]["tile"]): e for e in xs}
    load = by[(tids["engine 0"], "load_a", 0)]
    assert (load["ts"], load["dur"]) == (0.004, 0.026) and load["args"]["bytes"] == 64
    dma = by[(tids["dma"], "load_a", 1)]
    assert (dma["ts"], dma["dur"]) == (0.03, 0.009)
    assert (tids["other"], "tagged", 9) in by
    assert len([e for e in xs if e["tid"] == tids["dma"]]) == 3
    ready = [e for e in events if e["ph"] in ("b", "e")]
    assert [(e["ph"], e["ts"], e["id"]) for e in ready] == [("b", 0.001, 0), ("e", 0.003, 0)]
    end = [e for e in events if e["ph"] == "i"]
    assert end[0]["name"] == "end" and end[0]["ts"] == 0.061 and end[0]["args"]["tiles"] == 2


def test_streaming_equals_conversion_and_is_deterministic(tmp_path: Path) -> None:
    """Streaming the records in time order gives the same file as converting the JSONL."""
    src = tmp_path / "t.jsonl"
    write_trace(src, RECORDS, source="rtl", workload="two", arch=ARCH,
                footer={"cycles": 61, "tiles": 2, "functional": "pass"})
    jsonl_to_perfetto(src, tmp_path / "a.json")
    jsonl_to_perfetto(src, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    ordered = sorted(RECORDS, key=lambda r: (r[2], ("dispatch", "tile", "load_a", "compute", "store_c",
                                                     "tagged").index(r[0]), r[1]))
    with PerfettoWriter(tmp_path / "c.json", source="rtl", workload="two", arch=ARCH,
                        clock_period_ps=1000) as w:
        for op, tile, s, e, extra in ordered:
            w.record(op, tile, s, e, **extra)
        w.close(61, 2, "pass")
    assert (tmp_path / "c.json").read_bytes() == (tmp_path / "a.json").read_bytes()


def test_aborted_run_is_still_valid_json(tmp_path: Path) -> None:
    """A run cut short ends the file properly, marked at the last end seen."""
    out = tmp_path / "t.json"
    with PerfettoWriter(out, source="tlm", workload="w", arch=ARCH, clock_period_ps=2000) as w:
        w.record("tile", 0, 10, 20, engine=1)
    events = _events(out)
    mark = [e for e in events if e["ph"] == "i"][0]
    assert mark["name"] == "run cut short" and mark["ts"] == 0.04
    assert [e["ts"] for e in events if e["ph"] == "X"] == [0.02]


def test_occupancy_is_a_counter_track(tmp_path: Path) -> None:
    """occupancy(time, value) becomes "C" counter events; JSONL sinks ignore it."""
    from tlm.trace import TeeWriter, TraceWriter, read_trace

    out, jl = tmp_path / "t.json", tmp_path / "t.jsonl"
    kw = dict(source="tlm", workload="w", arch=ARCH, clock_period_ps=1000)
    with TeeWriter(PerfettoWriter(out, **kw), TraceWriter(jl, **kw)) as w:
        w.occupancy(0, 3)
        w.record("tile", 0, 1, 4, engine=0)
        w.occupancy(4, 2)
        w.close(5, 1, "pass")
    counters = [(e["ts"], e["args"]["entries"]) for e in _events(out) if e["ph"] == "C"]
    assert counters == [(0.0, 3), (0.004, 2)]
    assert len(read_trace(jl)) == 1
