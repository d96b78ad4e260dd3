"""accel_top end to end: outputs equal numpy, traces keep the timing contract,
and the TLM model (calibrated `[timing]`) predicts the same trace record for record.

The cocotb side is `tlm.rtl.accel_bench.run_program` (the testbench top does
the logging); these pytest functions drive it through `tlm.rtl.run.run_rtl`
on hypothesis-drawn tile DAGs and on small built-in networks, on several
arch configurations (array shape, engines, bus width, latency, table depth,
and a scratchpad small enough to force K-chunking with load_c).
"""

from __future__ import annotations

import dataclasses

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.cli.common import calibrated_base
from tlm.rtl.contract import contract_violations, read_records
from tlm.rtl.run import run_rtl
from tlm.workload import compile_workload

ARCHS = {
    "default": {},
    "3eng-3x5-bus4": {"array": {"engines": 3, "rows": 3, "cols": 5}, "dma": {"bus_bytes": 4, "max_burst_beats": 3},
                      "memory": {"latency_cycles": 7}, "scheduler": {"table_depth": 5},
                      "scratchpad": {"bytes": 4096}},
    "1eng-2x2-L1": {"array": {"engines": 1, "rows": 2, "cols": 2}, "dma": {"bus_bytes": 16, "max_burst_beats": 1},
                    "memory": {"latency_cycles": 1}, "scheduler": {"table_depth": 2}},
}


def _tlm_records(program, arch: Arch, tmp: Path) -> tuple[dict, int]:
    from tlm.blocks import simulate
    from tlm.trace.writer import TraceWriter

    path = tmp / "tlm.jsonl"
    with TraceWriter(path, source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        result = simulate(program, arch, trace=w)
        w.close(result.cycles, result.tiles, result.functional)
    records, footer = read_records(path)
    return {(r["op"], r["tile"]): r for r in records}, footer["cycles"]


def _check_run(program, arch: Arch, tmp: Path) -> None:
    # The TLM and the contract use the calibrated [timing] (the RTL's fitted
    # control costs) on the same hardware.
    arch = dataclasses.replace(arch, timing=calibrated_base().timing)
    result = run_rtl(program, arch, tmp / "rtl.jsonl", progress=False)
    assert result.functional == "pass", result.mismatches
    records, footer = read_records(tmp / "rtl.jsonl")
    assert footer is not None and footer["cycles"] == result.cycles
    assert contract_violations(records, program, arch) == []
    tlm, tlm_cycles = _tlm_records(program, arch, tmp)
    rtl = {(r["op"], r["tile"]): r for r in records}
    assert set(rtl) == set(tlm)
    for key, r in rtl.items():
        t = tlm[key]
        assert (r["start"], r["end"]) == (t["start"], t["end"]), f"{key}: rtl {r} tlm {t}"
    assert result.cycles == tlm_cycles


@st.composite
def tile_workloads(draw, rows: int, cols: int):
    count = draw(st.integers(1, 7))
    tiles = []
    for i in range(count):
        deps = sorted(draw(st.sets(st.integers(0, i - 1), max_size=min(i, 3)))) if i else []
        tiles.append({"id": i, "m": draw(st.integers(1, rows)), "n": draw(st.integers(1, cols)),
                      "k": draw(st.integers(1, 40)), "deps": deps})
    return {"format": "tlm-workload/1", "name": "drawn", "seed": draw(st.integers(0, 999)), "tiles": tiles}


@pytest.mark.parametrize("arch_name", list(ARCHS))
def test_random_tile_dags(arch_name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Drawn tile DAGs: numpy-exact outputs, contract-exact traces, TLM-exact records."""
    arch = arch_from_dict(ARCHS[arch_name])

    @settings(max_examples=5, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(wl=tile_workloads(arch.array.rows, arch.array.cols))
    def check(wl) -> None:
        _check_run(compile_workload(wl, arch), arch, tmp_path_factory.mktemp("acc"))

    check()


@pytest.mark.parametrize("workload,arch_name", [
    ("builtin:gemm_small", "default"),
    ("builtin:gemm_small", "3eng-3x5-bus4"),
    ("builtin:deformable_small", "default"),
])
def test_builtin_networks(workload: str, arch_name: str, tmp_path: Path) -> None:
    """Layer chains with joins, gathers, zero padding and int8 ReLU/shift stores."""
    arch = arch_from_dict(ARCHS[arch_name])
    _check_run(compile_workload(workload, arch), arch, tmp_path)


def test_k_chunks_accumulate_through_load_c(tmp_path: Path) -> None:
    """A 192-byte scratchpad (kmax 16) splits K=40 into chunks that reload partial sums."""
    arch = arch_from_dict({"scratchpad": {"bytes": 192}})
    program = compile_workload("builtin:gemm_small", arch)
    assert program.load_c.any()
    _check_run(program, arch, tmp_path)
