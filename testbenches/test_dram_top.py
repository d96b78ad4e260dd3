"""accel_top with the DRAM memory system, end to end.

Built-in workloads run on accel_top built from the example hardware files
(`examples/hardware/hw_a.toml`, `hw_b.toml`, which differ in every key): the
outputs in memory equal numpy, the run ends, and every DRAM command the DMA's
real traffic caused keeps the timing constraints (`dram_check`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dram_check import command_violations, read_log
from tlm.arch import arch_from_dict
from tlm.rtl import image as img
from tlm.rtl import runner
from tlm.rtl.hardware import dram_cycle_bound, load_hardware, verilog_parameters
from tlm.rtl.run import RTL_SOURCES, build_parameters, check_outputs, cycle_bound
from tlm.workload import compile_workload

HW_DIR = runner.REPO_ROOT / "examples" / "hardware"
BUS4 = {"array": {"engines": 3, "rows": 3, "cols": 5}, "dma": {"bus_bytes": 4, "max_burst_beats": 3}}


def _tb_params(params: dict[str, int]) -> dict[str, int]:
    """The DRAM parameters under the names dram_check knows (dram_ctrl's)."""
    return {k.removeprefix("DRAM_"): v for k, v in params.items()}


@pytest.mark.parametrize("hw,workload,arch_over", [
    ("hw_a", "builtin:gemm_small", {}),
    ("hw_b", "builtin:gemm_small", BUS4),
    ("hw_b", "builtin:deformable_small", {}),
])
def test_top_with_dram(hw: str, workload: str, arch_over: dict, tmp_path: Path) -> None:
    """Outputs equal numpy; no DRAM command breaks a timing constraint."""
    arch = arch_from_dict(arch_over)
    hardware = load_hardware(HW_DIR / f"{hw}.toml")
    program = compile_workload(workload, arch, functional=True)
    params = build_parameters(program, arch, hardware)
    assert params["MEM_KIND"] == 1
    image = img.encode_program(program, arch, tmp_path / "image")
    handle = runner.build("tb_accel", [runner.TESTBENCH_DIR / "hdl" / "tb_accel.v",
                                       *(runner.RTL_DIR / s for s in RTL_SOURCES)], params)
    bound = cycle_bound(program, arch) + dram_cycle_bound(program, hardware)
    plus = image.plusargs() + [f"+n_entries={image.entries}", f"+trace_log={tmp_path / 'events.log'}",
                               f"+dump_mem={tmp_path / 'mem_out.hex'}", f"+dram_log={tmp_path / 'dram.log'}"]
    runner.run_test(handle, "accel_bench", runner.REPO_ROOT / "tlm" / "rtl", plusargs=plus, timeout_s=600,
                    extra_env={"ACCEL_MAX_CYCLES": str(bound), "ACCEL_STATUS": str(tmp_path / "status.json")},
                    log_file=tmp_path / "sim.log")
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "done", status
    functional, mismatches = check_outputs(program, img.read_memory_hex(tmp_path / "mem_out.hex",
                                                                        arch.dma.bus_bytes))
    assert functional == "pass", mismatches
    log = read_log(tmp_path / "dram.log")
    p = {**_tb_params(verilog_parameters(hardware, arch)), "BUS_BYTES": arch.dma.bus_bytes}
    assert log.commands, "no DRAM command logged"
    assert command_violations(log, p) == []
    kinds = {k for _, k in log.events}
    assert 1 in kinds, "no row miss seen"
    if hardware.dram.page_policy == "open":
        assert 0 in kinds, f"no row hit with an open page: {sorted(kinds)}"
