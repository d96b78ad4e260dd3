"""DMA + external memory: bytes moved and the timing formula of docs/microarch.md.

The cocotb side (`dma_ops`) drives one op at a time into `tb_dma` and records
the grant and done cycles the testbench captured; the pytest side generates
random memory contents and segment lists with hypothesis, runs them, and
checks against a sequential byte-level model:

- loads gather `len` bytes from memory (zeros for zero segments) into the
  scratchpad at `local`; stores scatter the output buffer into memory;
- done - grant == setup + L + beats + read_done for loads and
  setup + beats + write_done for stores (all fixed cycles are 1 in the RTL).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, First, RisingEdge, Timer

CLOCK_NS = 10


async def _cycles(dut, n: int) -> None:
    for _ in range(n):
        await FallingEdge(dut.clk)


@cocotb.test()
async def dma_ops(dut) -> None:
    """Run the ops of $DMA_CASES one after the other; write grant/done cycles."""
    cases = json.loads(Path(os.environ["DMA_CASES"]).read_text())
    dut.rst.value = 1
    dut.op_valid.value = 0
    dut.op_store.value = 0
    dut.op_seg_start.value = 0
    dut.op_seg_count.value = 0
    dut.dump.value = 0
    await _cycles(dut, 3)
    dut.rst.value = 0
    results = []
    for op in cases["ops"]:
        await _cycles(dut, op["gap"])
        dut.op_valid.value = 1
        dut.op_store.value = int(op["store"])
        dut.op_seg_start.value = op["seg_start"]
        dut.op_seg_count.value = op["seg_count"]
        await FallingEdge(dut.clk)
        dut.op_valid.value = 0
        limit = Timer(CLOCK_NS * (op["beats"] + 4 * cases["latency"] + 100), "ns")
        fired = await First(RisingEdge(dut.op_done), limit)
        assert fired is not limit, f"op {len(results)} never finished"
        # op_done rose at the start of its cycle; done_cycle is written at its end.
        await _cycles(dut, 2)
        results.append({"grant": int(dut.grant_cycle.value), "done": int(dut.done_cycle.value)})
        assert int(dut.mem_err.value) == 0, "memory flagged an out-of-range access"
    await FallingEdge(dut.clk)
    dut.dump.value = 1
    await FallingEdge(dut.clk)
    dut.dump.value = 0
    await _cycles(dut, 2)
    Path(os.environ["DMA_RESULTS"]).write_text(json.dumps(results))


# ---------------------------------------------------------------- pytest side

import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tlm.rtl import runner  # noqa: E402
from tlm.rtl.image import memory_hex, read_memory_hex, segments_hex  # noqa: E402

MEM_BYTES = 4096
SPAD_BYTES = 1024
OBUF_BYTES = 256
SEG_DEPTH = 256
CONFIGS = [
    {"BUS_BYTES": 8, "MAX_BURST_BEATS": 4, "MEM_LATENCY": 5},
    {"BUS_BYTES": 4, "MAX_BURST_BEATS": 1, "MEM_LATENCY": 1},
]


@st.composite
def _segment(draw, store: bool) -> tuple[int, int, int, bool]:
    length = draw(st.integers(1, 40))
    zero = (not store) and draw(st.booleans())
    addr = 0 if zero else draw(st.integers(0, MEM_BYTES - length))
    local_room = (OBUF_BYTES if store else SPAD_BYTES) - length
    return addr, length, draw(st.integers(0, local_room)), zero


@st.composite
def _ops(draw) -> list[tuple[bool, int, list[tuple[int, int, int, bool]]]]:
    ops = []
    for _ in range(draw(st.integers(1, 6))):
        store = draw(st.booleans())
        segs = draw(st.lists(_segment(store), min_size=1, max_size=8))
        ops.append((store, draw(st.integers(1, 3)), segs))
    return ops


def _beats(addr: int, length: int, zero: bool, bus: int) -> int:
    if zero:
        return -(-length // bus)
    return (addr + length - 1) // bus - addr // bus + 1


def _run_case(config: dict[str, int], seed: int, ops, tmp: Path) -> None:
    bus, lat = config["BUS_BYTES"], config["MEM_LATENCY"]
    rng = np.random.default_rng(seed)
    mem = rng.integers(0, 256, MEM_BYTES, dtype=np.uint8)
    spad = rng.integers(0, 256, SPAD_BYTES, dtype=np.uint8)
    obuf = rng.integers(0, 256, OBUF_BYTES, dtype=np.uint8)
    (tmp / "mem.hex").write_text(memory_hex(mem, bus, MEM_BYTES // bus))
    (tmp / "spad.hex").write_text("".join(f"{b:02x}\n" for b in spad))
    (tmp / "obuf.hex").write_text("".join(f"{b:02x}\n" for b in obuf))

    flat: list[tuple[int, int, int, bool]] = []
    cases = []
    expect_mem, expect_spad = mem.copy(), spad.copy()
    for store, gap, segs in ops:
        beats = sum(_beats(a, n, z, bus) for a, n, _, z in segs)
        cases.append({"store": store, "gap": gap, "seg_start": len(flat),
                      "seg_count": len(segs), "beats": beats})
        flat.extend(segs)
        for a, n, local, z in segs:  # the reference: sequential byte moves
            if store:
                expect_mem[a:a + n] = obuf[local:local + n]
            else:
                expect_spad[local:local + n] = 0 if z else expect_mem[a:a + n]
    arr = np.array(flat, dtype=np.int64).reshape(-1, 4)
    (tmp / "segs.hex").write_text(segments_hex(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3].astype(bool),
                                               SEG_DEPTH))
    (tmp / "cases.json").write_text(json.dumps({"ops": cases, "latency": lat}))

    handle = runner.build("tb_dma", [runner.TESTBENCH_DIR / "hdl" / "tb_dma.v",
                                     runner.RTL_DIR / "memory.v", runner.RTL_DIR / "dma.v"],
                          {**config, "MEM_BYTES": MEM_BYTES, "SEG_DEPTH": SEG_DEPTH,
                           "SPAD_BYTES": SPAD_BYTES, "OBUF_BYTES": OBUF_BYTES})
    plus = [f"+{name}={tmp / (name + '.hex')}" for name in ("mem", "spad", "obuf", "segs")]
    plus += [f"+dump_mem={tmp / 'mem_out.hex'}", f"+dump_spad={tmp / 'spad_out.hex'}"]
    runner.run_test(handle, "test_dma", Path(__file__).parent, plusargs=plus, timeout_s=120,
                    extra_env={"DMA_CASES": str(tmp / "cases.json"),
                               "DMA_RESULTS": str(tmp / "results.json")},
                    log_file=tmp / "sim.log")

    results = json.loads((tmp / "results.json").read_text())
    for i, (case, got) in enumerate(zip(cases, results, strict=True)):
        want = 1 + case["beats"] + 1 + (0 if case["store"] else lat)
        assert got["done"] - got["grant"] == want, f"op {i} ({case}): took {got}, want {want}"
    got_mem = read_memory_hex(tmp / "mem_out.hex", bus)
    np.testing.assert_array_equal(got_mem, expect_mem, err_msg="memory after the stores")
    got_spad = read_memory_hex(tmp / "spad_out.hex", 1)
    np.testing.assert_array_equal(got_spad, expect_spad, err_msg="scratchpad after the loads")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"B{c['BUS_BYTES']}-L{c['MEM_LATENCY']}")
def test_dma_random_segment_lists(config: dict[str, int], tmp_path_factory) -> None:
    """Random gather/scatter ops move exactly the model's bytes in the formula's cycles."""

    @settings(max_examples=4, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(seed=st.integers(0, 2**16), ops=_ops())
    def check(seed: int, ops) -> None:
        _run_case(config, seed, ops, tmp_path_factory.mktemp("dma"))

    check()
