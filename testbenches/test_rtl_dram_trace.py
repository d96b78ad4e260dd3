"""`tlmsim rtl --hardware`: the trace records the DRAM's refresh windows and row outcomes."""

from __future__ import annotations

import json
from pathlib import Path

from tlm.cli import main
from tlm.trace.dram import OUTCOMES

REPO = Path(__file__).resolve().parents[1]
# hw_b.toml's values as the dram level's (a diagnostic, not a calibration).
CAL = """[memory]
model = "dram"
[memory_model]
dram_banks = 2
dram_row_bytes = 256
dram_mapping = "row:col:bank"
dram_page_policy = "closed"
dram_scheduler = "fcfs"
dram_queue = 4
dram_cl_cycles = 7
dram_cwl_cycles = 4
dram_rcd_cycles = 5
dram_rp_cycles = 6
dram_ras_cycles = 14
dram_wr_cycles = 6
dram_wtr_cycles = 3
dram_rtw_cycles = 4
dram_refi_cycles = 400
dram_rfc_cycles = 40
"""


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_rtl_trace_counts_the_same_requests_as_the_dram_level(tmp_path: Path) -> None:
    rtl, tlm, cal = tmp_path / "r.jsonl", tmp_path / "t.jsonl", tmp_path / "cal.toml"
    hw = REPO / "examples" / "hardware" / "hw_b.toml"
    assert main(["rtl", "-w", "builtin:gemm_small", "--hardware", str(hw), "--trace", str(rtl),
                 "--no-progress"]) == 0
    cal.write_text(CAL)
    assert main(["sim", "-w", "builtin:gemm_small", "--calibration", str(cal), "--trace", str(tlm),
                 "--no-progress"]) == 0
    r, t = _lines(rtl), _lines(tlm)
    dr, dt = r[-1]["dram"], t[-1]["dram"]
    # Same program, same DRAM: every request with a DRAM command has one outcome in each
    # (the last store's writes issue after the run's end in both), and the shares agree.
    assert dr["requests"] == dt["requests"] > 0
    assert abs(dr["row_hits"] - dt["row_hits"]) <= 0.05 * dr["requests"]
    assert sum(dr[k] for k in OUTCOMES) == dr["requests"]
    for k in OUTCOMES:
        assert sum(c[k] for c in dr["by_op"].values()) == dr[k]
    assert set(dr["by_op"]) <= {"load_a", "load_b", "load_c", "store_c"}
    # hw_b: two banks interleaved beat by beat, closed page: hits and misses both occur.
    assert dr["row_hits"] > 0 and dr["row_misses"] > 0
    refresh = [x for x in r[1:-1] if x.get("op") == "refresh"]
    assert len(refresh) == dr["refreshes"] >= r[-1]["cycles"] // 400 - 1
    assert all(x["end"] - x["start"] == 40 for x in refresh)          # t_rfc
    assert all(b["start"] - a["start"] >= 400 for a, b in zip(refresh, refresh[1:]))  # t_refi
