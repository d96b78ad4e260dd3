"""The cocotb side of an `accel_top` run (used by `tlm.rtl.run.run_rtl`).

The testbench top (`testbenches/hdl/tb_accel.v`) generates the clock, logs
the trace strobes and dumps memory by itself; this coroutine only resets,
pulses `start` and waits for `finished`, bounded by `$ACCEL_MAX_CYCLES`
clock cycles. It writes what happened to `$ACCEL_STATUS` (JSON: `status` one
of `done`, `deadlock`, `timeout`; `cycles`; `sim_s`, the wall time of the
simulation proper) and never fails the cocotb test itself, so that the
caller can tell a deadlock from a broken simulator.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge, First, RisingEdge, Timer

CLOCK_NS = 10  # the period tb_accel.v generates


@cocotb.test()
async def run_program(dut) -> None:  # type: ignore[no-untyped-def]
    """Reset, start, and wait for the end of the program (or a bound)."""
    max_cycles = int(os.environ["ACCEL_MAX_CYCLES"])
    status_path = Path(os.environ["ACCEL_STATUS"])
    dut.rst.value = 1
    dut.start.value = 0
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    await FallingEdge(dut.clk)
    t0 = time.perf_counter()
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    limit = Timer(CLOCK_NS * max_cycles, "ns")
    fired = await First(RisingEdge(dut.finished), limit)
    sim_s = time.perf_counter() - t0
    if fired is limit:
        status = "timeout"
    else:
        await FallingEdge(dut.clk)
        status = "deadlock" if int(dut.deadlocked.value) else "done"
    status_path.write_text(json.dumps({"status": status, "cycles": int(dut.cycle.value),
                                       "sim_s": sim_s, "max_cycles": max_cycles}))
