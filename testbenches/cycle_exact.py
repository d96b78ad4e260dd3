"""Both models on one workload and arch, asserted to agree to the cycle (the fixed-latency memory).

Shared by the TLM-vs-RTL regressions of the engine options (double
buffering, drain overlap, operand reuse, the weight-stationary array).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.blocks.accelerator import SimResult
from tlm.cli.common import calibrated_base
from tlm.compare import compare_traces
from tlm.rtl.run import run_rtl
from tlm.trace.reader import Trace, read_trace
from tlm.trace.writer import TraceWriter
from tlm.workload import compile_workload
from tlm.workload.program import TileProgram


@dataclass
class ExactRun:
    arch: Arch
    program: TileProgram
    result: SimResult     # the calibrated TLM's
    tlm: Trace
    rtl: Trace


def assert_cycle_exact(workload: Any, overlay: dict[str, Any], tmp: Path) -> ExactRun:
    """RTL and calibrated TLM pass the functional check and agree on every record to the cycle."""
    arch = arch_from_dict(overlay, "<variant>", base=calibrated_base())
    program = compile_workload(workload, arch)
    rtl = run_rtl(program, arch, tmp / "rtl.jsonl", progress=False)
    assert rtl.functional == "pass", rtl.mismatches
    with TraceWriter(tmp / "tlm.jsonl", source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        result = simulate(program, arch, trace=w)
        w.close(result.cycles, result.tiles, result.functional)
    assert result.functional == "pass"
    tlm_trace, rtl_trace = read_trace(tmp / "tlm.jsonl"), read_trace(tmp / "rtl.jsonl")
    cmp = compare_traces(tlm_trace, rtl_trace)
    assert cmp.unmatched == 0
    assert cmp.cycles_tlm == cmp.cycles_rtl and cmp.accuracy == 1.0
    for op, s in cmp.per_op.items():
        assert s.max is None or s.max == 0, (op, s)
    return ExactRun(arch, program, result, tlm_trace, rtl_trace)
