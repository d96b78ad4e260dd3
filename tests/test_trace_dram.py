"""DRAM row outcomes and refresh windows in traces (tlm/trace/dram.py) and in `compare`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch
from tlm.blocks.dram_model import op_requests
from tlm.cli import main
from tlm.trace.dram import OUTCOMES, dram_footer, hit_rate
from tlm.workload import compile_workload
from tlm.workload.builtins import builtin

CAL = """[memory]
model = "dram"
[memory_model]
dram_banks = 2
dram_row_bytes = 256
dram_mapping = "row:col:bank"
dram_page_policy = "closed"
dram_queue = 4
dram_refi_cycles = 400
dram_rfc_cycles = 40
"""


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in path.read_text().splitlines()]


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 2)), max_size=40),
       st.lists(st.integers(0, 500), max_size=10))
@settings(max_examples=100, deadline=None)
def test_every_request_counts_once_for_the_op_granted_last(events: list[tuple[int, int]],
                                                           grant_cycles: list[int]) -> None:
    grants = [(g, ("load_a", "load_b", "store_c")[i % 3]) for i, g in enumerate(sorted(grant_cycles))]
    f = dram_footer([c * 4 + k for c, k in events], grants, 3)
    assert f["requests"] == len(events) == sum(f[k] for k in OUTCOMES)
    for k in OUTCOMES:
        assert sum(c[k] for c in f["by_op"].values()) == f[k]
    before_first = sum(1 for c, _ in events if not grants or c < grants[0][0])
    assert sum(f["by_op"].get("none", {}).values()) == before_first
    assert f["refreshes"] == 3


def test_attribution_by_grant_order() -> None:
    events = [(5, 0), (10, 1), (11, 2), (30, 0)]
    f = dram_footer([c * 4 + k for c, k in events], [(4, "load_a"), (10, "store_c"), (20, "load_b")], 0)
    assert f["by_op"] == {"load_a": {"row_hits": 1, "row_misses": 0, "row_conflicts": 0},
                          "store_c": {"row_hits": 0, "row_misses": 1, "row_conflicts": 1},
                          "load_b": {"row_hits": 1, "row_misses": 0, "row_conflicts": 0}}
    assert hit_rate(f) == 0.5 and hit_rate({}) is None


def test_dram_level_trace_has_refresh_windows_and_row_outcomes(tmp_path: Path) -> None:
    cal = tmp_path / "cal.toml"
    cal.write_text(CAL)
    trace = tmp_path / "t.jsonl"
    assert main(["sim", "-w", "builtin:gemm_small", "--calibration", str(cal), "--trace", str(trace),
                 "--no-progress"]) == 0
    lines = _lines(trace)
    footer = lines[-1]
    dram = footer["dram"]
    # One outcome per request that uses a DRAM command (zero fill uses none).
    arch = Arch()
    program = compile_workload(builtin("gemm_small"), arch, functional=True)
    assert program.segments is not None
    wanted = sum(1 for op in ("load_a", "load_b", "load_c", "store_c") for x in range(program.entries)
                 for r in op_requests(program.segments[op], x, arch.dma.bus_bytes, arch.dma.max_burst_beats,
                                      write=op == "store_c") if not r[2])
    assert dram["requests"] == wanted
    refresh = [r for r in lines[1:-1] if r.get("op") == "refresh"]
    assert len(refresh) == dram["refreshes"] > 0
    assert [r["tile"] for r in refresh] == list(range(len(refresh)))
    assert all(r["end"] - r["start"] == 40 for r in refresh)
    assert all(b["start"] - a["start"] >= 400 for a, b in zip(refresh, refresh[1:]))
    assert all(r["start"] <= footer["cycles"] for r in refresh)


def test_fixed_level_trace_has_no_dram(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    assert main(["sim", "-w", "builtin:gemm_small", "--trace", str(trace), "--no-progress"]) == 0
    lines = _lines(trace)
    assert "dram" not in lines[-1]
    assert not [r for r in lines[1:-1] if r.get("op") == "refresh"]


def test_compare_shows_row_outcomes_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cal = tmp_path / "cal.toml"
    cal.write_text(CAL)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main(["sim", "-w", "builtin:gemm_small", "--calibration", str(cal), "--trace", str(a),
                 "--no-progress"]) == 0
    assert main(["sim", "-w", "builtin:gemm_small", "--trace", str(b), "--no-progress"]) == 0
    # Stand in for an RTL trace: the source is the only difference compare insists on.
    lines = b.read_text().splitlines()
    head = json.loads(lines[0])
    head["source"] = "rtl"
    head["arch"] = json.loads(a.read_text().splitlines()[0])["arch"]
    b.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["op"]: r for r in out["dram"]}
    assert rows["all"]["rtl"] is None and sum(rows["all"]["tlm"].values()) > 0
    assert main(["compare", str(a), str(b)]) == 0
    assert "DRAM row outcomes" in capsys.readouterr().out


def test_rtl_cache_key_covers_the_dram_controller(tmp_path: Path) -> None:
    """A change in rtl/dram/ (a subfolder) must not reuse RTL runs cached before it."""
    from tlm.calibrate.runs import rtl_sources_digest

    (tmp_path / "rtl" / "dram").mkdir(parents=True)
    (tmp_path / "rtl" / "top.v").write_text("module top; endmodule\n")
    ctrl = tmp_path / "rtl" / "dram" / "ctrl.v"
    ctrl.write_text("module ctrl; endmodule\n")
    before = rtl_sources_digest(tmp_path)
    ctrl.write_text("module ctrl; wire x; endmodule\n")
    assert rtl_sources_digest(tmp_path) != before


def test_closed_page_request_before_the_precharge_is_a_conflict() -> None:
    """As the RTL counts it: another row still open (its precharge not yet issued) is a conflict."""
    import dataclasses

    from tlm.arch import MemoryModel
    from tlm.blocks.dram_model import DramModel

    mm = dataclasses.replace(MemoryModel(), dram_banks=1, dram_row_bytes=64, dram_page_policy="closed",
                             dram_scheduler="fcfs", dram_refi_cycles=0)
    model = DramModel(dataclasses.replace(Arch(), memory_model=mm))
    model.read_op(0, [(0, 1, False), (8, 1, False)])        # rows 0 and 1 of the one bank
    assert [ev & 3 for ev in model.events] == [1, 2]   # cycle * 4 + outcome
    model.read_op(500, [(16, 1, False)])                    # long after: row 1 was closed
    assert model.events[-1] & 3 == 1
