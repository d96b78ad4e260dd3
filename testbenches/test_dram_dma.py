"""The DMA in front of the DRAM memory system: back-pressure keeps bytes right.

Same ops and byte-level reference as test_dma.py (its cocotb test `dma_ops`
drives `tb_dram_dma`), but the memory is `rtl/dram/dram_ctrl.v` with a tiny
queue, so read requests and write beats wait for `ready` and read data comes
late: every op must still finish and move exactly the model's bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from test_dma import MEM_BYTES, OBUF_BYTES, SEG_DEPTH, SPAD_BYTES, _beats, _ops
from tlm.rtl import runner
from tlm.rtl.image import memory_hex, read_memory_hex, segments_hex

CONFIGS = [
    {"BUS_BYTES": 8, "MAX_BURST_BEATS": 4, "MEM_LATENCY": 5, "BANKS": 2, "ROW_BYTES": 64,
     "QUEUE_DEPTH": 2, "FRFCFS": 1, "PAGE_OPEN": 1, "MAPPING": 0, "T_REFI": 0},
    {"BUS_BYTES": 4, "MAX_BURST_BEATS": 3, "MEM_LATENCY": 1, "BANKS": 4, "ROW_BYTES": 32,
     "QUEUE_DEPTH": 3, "FRFCFS": 0, "PAGE_OPEN": 0, "MAPPING": 1, "T_REFI": 90},
]


def _run_case(config: dict[str, int], seed: int, ops, tmp: Path) -> None:
    bus = config["BUS_BYTES"]
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
        cases.append({"store": store, "gap": gap, "seg_start": len(flat), "seg_count": len(segs),
                      "beats": 40 * beats})  # generous wait bound per op: DRAM latencies
        flat.extend(segs)
        for a, n, local, z in segs:
            if store:
                expect_mem[a:a + n] = obuf[local:local + n]
            else:
                expect_spad[local:local + n] = 0 if z else expect_mem[a:a + n]
    arr = np.array(flat, dtype=np.int64).reshape(-1, 4)
    (tmp / "segs.hex").write_text(segments_hex(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3].astype(bool),
                                               SEG_DEPTH))
    (tmp / "cases.json").write_text(json.dumps({"ops": cases, "latency": 100}))
    handle = runner.build("tb_dram_dma", [runner.TESTBENCH_DIR / "hdl" / "tb_dram_dma.v",
                                          runner.RTL_DIR / "dram" / "dram_ctrl.v", runner.RTL_DIR / "dma.v"],
                          {**config, "MEM_BYTES": MEM_BYTES, "SEG_DEPTH": SEG_DEPTH,
                           "SPAD_BYTES": SPAD_BYTES, "OBUF_BYTES": OBUF_BYTES})
    plus = [f"+{name}={tmp / (name + '.hex')}" for name in ("mem", "spad", "obuf", "segs")]
    plus += [f"+dump_mem={tmp / 'mem_out.hex'}", f"+dump_spad={tmp / 'spad_out.hex'}"]
    runner.run_test(handle, "test_dma", Path(__file__).parent, plusargs=plus, timeout_s=300,
                    extra_env={"DMA_CASES": str(tmp / "cases.json"),
                               "DMA_RESULTS": str(tmp / "results.json")},
                    log_file=tmp / "sim.log")
    results = json.loads((tmp / "results.json").read_text())
    assert len(results) == len(cases)
    for i, (case, got) in enumerate(zip(cases, results, strict=True)):
        floor = 1 + case["beats"] // 40 + 1  # never faster than one beat per cycle
        assert got["done"] - got["grant"] >= floor, f"op {i}: {got}"
    np.testing.assert_array_equal(read_memory_hex(tmp / "mem_out.hex", bus), expect_mem,
                                  err_msg="memory after the stores")
    np.testing.assert_array_equal(read_memory_hex(tmp / "spad_out.hex", 1), expect_spad,
                                  err_msg="scratchpad after the loads")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"B{c['BUS_BYTES']}-Q{c['QUEUE_DEPTH']}")
def test_dma_over_dram(config: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random gather/scatter ops through a back-pressuring DRAM move the model's bytes."""

    @settings(max_examples=2, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.reuse, Phase.generate),
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(seed=st.integers(0, 2**16), ops=_ops())
    def check(seed: int, ops) -> None:
        _run_case(config, seed, ops, tmp_path_factory.mktemp("dramdma"))

    check()
