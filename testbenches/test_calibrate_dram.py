"""`tlmsim calibrate --hardware` against the RTL with a DRAM, kept short (well under two minutes).

Three small fitting workloads and one held-out built-in on hw_b (two banks
interleaved beat by beat, closed page, FCFS, frequent refresh: the hardware
furthest from the fixed-latency memory). The full calibration (19 RTL runs
per hardware file, a few minutes) is `bench/bench_dram.py`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tlm.calibrate.dram import calibrate_memory, dram_cases
from tlm.calibrate.runs import RtlReference
from tlm.cli.common import calibrated_base
from tlm.rtl.hardware import load_hardware
from tlm.workload.builtins import builtin
from tlm.workload.calibration import calibration_set

REPO = Path(__file__).resolve().parents[1]


def test_dram_level_learns_hw_b_from_three_workloads(tmp_path: Path) -> None:
    hw = load_hardware(REPO / "examples" / "hardware" / "hw_b.toml")
    fit = [c for c in calibration_set() + dram_cases()
           if c["name"] in ("cal_dma_chain", "dram_rw_mix", "dram_strided")]
    held = [{"name": "gemm_small", "workload": builtin("gemm_small"), "arch": {}}]
    ref = RtlReference(tmp_path / "cache", hardware=hw)
    result = calibrate_memory(calibrated_base(), ref, dataclasses.asdict(hw.dram), calibration=fit,
                              validation=held, max_generations=6)
    row = result.held_out()[0]
    assert row.cycles_ref > 0
    # Three small workloads and a short search: the dram level must still learn most of the
    # DRAM's effect on the ops of a workload it never saw (the full set does better, bench/).
    assert row.op_error["dram"] < row.op_error["uncalibrated"], json.dumps(result.to_json()["cases"])
    assert row.accuracy["dram"] > row.accuracy["uncalibrated"]
    assert result.dram_fit.error < 0.6 * result.dram_fit.error_start


def test_calibrate_hardware_cli_writes_an_overlay_sim_can_use(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Input checks and the overlay round trip, with the RTL runs of the test above cached apart."""
    from tlm.cli import main

    out = tmp_path / "cal.toml"
    bad = tmp_path / "hw.toml"
    bad.write_text("[dram]\nrow_bytes = 4\n")
    assert main(["calibrate", "--hardware", str(bad), "--out", str(out), "--no-progress"]) == 2
    assert not out.exists()
    out.write_text('[memory_model]\ndram_banks = 2\ndram_mapping = "row:col:bank"\n')
    assert main(["sim", "-w", "builtin:gemm_small", "--calibration", str(out), "--memory-model", "dram",
                 "--json"]) == 0
    assert '"dram_banks": 2' in capsys.readouterr().out
