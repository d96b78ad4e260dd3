"""The RTL vector unit alone (rtl/vector_unit.v) against `tlm.workload.vector_ops.apply`.

Random int8 entries of every op the RTL implements (add, relu, clip, requant,
maxpool, avgpool with padding and strides 1..3, globalavgpool, concat of 2..5
inputs, lut with random tables and a sigmoid table, mul elementwise and
broadcast with shifts 0..15), each a chunk of output pixels at a random
place in its layer. The
cocotb side (`vector_entries`) plays the scheduler and the DMA: it starts the
entry, grants its load, writes the buffer the graph compiler's load_a
segments would (tlm/workload/graph_compile.py), signals the load's end,
counts the cycles until the store request, grants it, reads the output buffer
and ends the store. Checks, per entry:

- the output bytes equal `vector_ops.apply` on the same inputs (a lut's table
  given as its second input: the bytes the unit loaded);
- the load is requested in the dispatch cycle, the store exactly
  `latency_cycles + ceil(work / lanes)` cycles after the load's end (the
  contract of docs/microarch.md, "Vector unit"), `done` in the store's end cycle;
- the requests carry the entry's load_a and store_c segment lists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, Timer

from tlm.rtl import runner
from tlm.rtl.image import _u32_slots_hex
from tlm.rtl.vector_image import descriptor_rom
from tlm.workload.vector_ops import LUT_BYTES, POOLS, VectorOp, apply, input_rows, lut_table, round_shift

BUS = 8
CONFIGS = [{"LANES": 4, "LATENCY": 3}, {"LANES": 16, "LATENCY": 1}, {"LANES": 5, "LATENCY": 7}]
CASES_PER_OP = 5
CASES = {"lut": 6, "mul": 12}
#: mul shifts by case index (broadcast on odd cases), then random ones: 0 and 7 in both modes.
MUL_SHIFTS = (0, 0, 7, 7, 15, 1, 8, 2)


async def _tick(dut) -> None:  # type: ignore[no-untyped-def]
    await FallingEdge(dut.clk)
    await Timer(1, "ns")  # combinational outputs of this cycle have settled


def _int(signal) -> int:  # type: ignore[no-untyped-def]
    """A signal's value, unknown bits as 0 (output-buffer bytes no entry wrote)."""
    text = str(signal.value)
    return int("".join(ch if ch in "01" else "0" for ch in text), 2)


def _idle(dut) -> None:  # type: ignore[no-untyped-def]
    for name in ("start", "grant", "op_done", "spad_we", "obuf_re"):
        getattr(dut, name).value = 0


@cocotb.test()
async def vector_entries(dut) -> None:  # type: ignore[no-untyped-def]
    """Run the entries of $VEC_CASES one after the other; write what happened to $VEC_RESULTS."""
    cases = json.loads(Path(os.environ["VEC_CASES"]).read_text())
    dut.rst.value = 1
    _idle(dut)
    dut.word.value = 0
    dut.spad_addr.value = 0
    dut.spad_be.value = 0
    dut.spad_wdata.value = 0
    dut.obuf_addr.value = 0
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    results = []
    for case in cases:
        await FallingEdge(dut.clk)
        dut.start.value = 1
        dut.word.value = int(case["word"])
        await Timer(1, "ns")
        load = (_int(dut.req), _int(dut.req_op), _int(dut.ev_req))
        await _tick(dut)
        dut.start.value = 0
        dut.grant.value = 1
        segs = (_int(dut.req_seg_start), _int(dut.req_seg_count))
        data = bytes.fromhex(case["buffer"])
        for a in range(0, len(data), BUS):
            await _tick(dut)
            dut.grant.value = 0
            chunk = data[a:a + BUS]
            dut.spad_we.value = 1
            dut.spad_addr.value = a
            dut.spad_be.value = (1 << len(chunk)) - 1
            dut.spad_wdata.value = int.from_bytes(chunk, "little")
        await _tick(dut)
        _idle(dut)
        dut.op_done.value = 1          # the load's done cycle c0
        await Timer(1, "ns")
        work = _int(dut.ev_work)
        waited = 0
        while True:
            await _tick(dut)
            dut.op_done.value = 0
            waited += 1
            if _int(dut.req) or waited > 100_000:
                break
        store = (_int(dut.req_op), _int(dut.ev_req), _int(dut.ev_work_end),
                 _int(dut.req_seg_start), _int(dut.req_seg_count))
        await _tick(dut)
        dut.grant.value = 1
        out = bytearray()
        n = case["out_bytes"]
        for a in range(0, n + BUS, BUS):
            await _tick(dut)
            dut.grant.value = 0
            if a > 0:
                out += _int(dut.obuf_rdata).to_bytes(BUS, "little")
            dut.obuf_re.value = int(a < n)
            dut.obuf_addr.value = a
        await _tick(dut)
        _idle(dut)
        dut.op_done.value = 1
        await Timer(1, "ns")
        done = _int(dut.done)
        await _tick(dut)
        dut.op_done.value = 0
        await Timer(1, "ns")
        results.append({"load": load, "load_segs": segs, "work_start": work, "cycles": waited,
                        "store": store, "done": done, "after": _int(dut.done),
                        "out": bytes(out[:n]).hex()})
    Path(os.environ["VEC_RESULTS"]).write_text(json.dumps(results))


# ---------------------------------------------------------------- pytest side --
def _op(rng: np.random.Generator, op: str, k: int = 0) -> VectorOp:
    """Case `k` of `op`: random shapes and parameters."""
    h, w = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    c = int(rng.integers(1, 10))
    if op in POOLS:
        k = int(rng.integers(1, 4))
        h, w = max(h, k), max(w, k)
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, k))
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        return VectorOp(op, (c,), h, w, oh, ow, c, kernel=k, stride=s, padding=p)
    if op == "globalavgpool":
        return VectorOp(op, (c,), h, w, 1, 1, c)
    if op == "concat":
        chans = tuple(int(x) for x in rng.integers(1, 6, int(rng.integers(2, 6))))
        return VectorOp(op, chans, h, w, h, w, sum(chans))
    if op == "add":
        return VectorOp(op, (c, c), h, w, h, w, c)
    if op == "lut":
        table = lut_table("sigmoid", 4, 7) if k % 2 else tuple(int(x) for x in rng.integers(-128, 128, LUT_BYTES))
        return VectorOp(op, (c,), h, w, h, w, c, table=table)
    if op == "mul":
        shift = MUL_SHIFTS[k] if k < len(MUL_SHIFTS) else int(rng.integers(0, 16))
        return VectorOp(op, (c, c), h, w, h, w, c, shift=shift, broadcast=bool(k % 2))
    if op == "clip":
        lo, hi = sorted(int(x) for x in rng.integers(-128, 128, 2))
        return VectorOp(op, (c,), h, w, h, w, c, lo=lo, hi=hi)
    if op == "requant":
        return VectorOp(op, (c,), h, w, h, w, c, multiplier=int(rng.integers(-(1 << 15), (1 << 15) + 1)),
                        shift=int(rng.integers(0, 32)))
    return VectorOp(op, (c,), h, w, h, w, c)


def _case(rng: np.random.Generator, index: int, v: VectorOp, rows: int) -> dict[str, Any]:
    """One entry: a chunk of up to `rows` output pixels, its buffer and the expected bytes."""
    pixels = v.out_h * v.out_w
    m = 1 if v.op == "globalavgpool" else int(rng.integers(1, min(rows, pixels) + 1))
    p0 = int(rng.integers(0, pixels - m + 1))
    tensors = [rng.integers(-128, 128, (v.height * v.width, ch)).astype(np.int8) for ch in v.in_channels]
    r0, r1 = input_rows(v, p0, p0 + m)
    if v.op == "mul":
        tensors = [_mul_values(rng, (v.height * v.width, v.out_channels)),
                   _mul_values(rng, (1 if v.broadcast else v.height * v.width, v.out_channels))]
    chunks = [t[r0:r1].copy() for t in tensors]
    if v.op == "mul" and v.broadcast:  # b is one pixel: loaded whole after a, at m*C
        chunks[1] = tensors[1]
    if v.op == "lut":  # the table's first and last bytes; the table follows the input at m*C
        chunks[0].reshape(-1)[[0, -1]] = (-128, 127)
        chunks.append(np.array(v.table, dtype=np.int8))
    want = apply(v, chunks, p0, p0 + m, r0)
    word = (1 << 5) | (m << 32) | (v.out_channels << 48) | (p0 << 64) | (index << 9 * 32)
    word |= (100 + index) << 7 * 32 | (1 << 8 * 32) | (200 + index) << 13 * 32 | (1 << 14 * 32)
    return {"word": str(word), "buffer": b"".join(c.tobytes() for c in chunks).hex(),
            "out_bytes": int(want.size), "want": want.view(np.uint8).tobytes().hex(),
            "work": v.work(m), "op": v.op,
            "coverage": _mul_coverage(v, chunks[0], chunks[1]) if v.op == "mul" else {}}


def _mul_values(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """int8 values, most of them +-2^k: products of powers of two land on exact halves."""
    powers = np.array([s * (1 << e) for s in (1, -1) for e in range(8)])
    powers = powers[(powers >= -128) & (powers <= 127)]
    x = np.where(rng.random(shape) < 0.4, rng.integers(-128, 128, shape), rng.choice(powers, shape))
    return x.astype(np.int8)


def _mul_coverage(v: VectorOp, a: np.ndarray, b: np.ndarray) -> dict[str, int]:
    """How often a mul case's products round an exact half (to an even / odd floor) or saturate."""
    prod = a.astype(np.int64) * b.astype(np.int64)
    q = prod >> v.shift
    exact_half = (prod - (q << v.shift) == (1 << v.shift) // 2) if v.shift else np.zeros(prod.shape, bool)
    r = round_shift(prod, v.shift)
    return {"half_even": int((exact_half & (q % 2 == 0)).sum()), "half_odd": int((exact_half & (q % 2 == 1)).sum()),
            "saturated": int(((r > 127) | (r < -128)).sum())}


OPS = ("add", "relu", "clip", "requant", "maxpool", "avgpool", "globalavgpool", "concat", "lut", "mul")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"lanes{c['LANES']}-lat{c['LATENCY']}")
def test_every_op_matches_the_reference_in_the_contract_cycles(config: dict[str, int], tmp_path: Path) -> None:
    rng = np.random.default_rng(config["LANES"] * 100 + config["LATENCY"])
    ops = [_op(rng, op, k) for op in OPS for k in range(CASES.get(op, CASES_PER_OP))]
    cases = [_case(rng, i, v, rows=6) for i, v in enumerate(ops)]
    seen = {"half_even": 0, "half_odd": 0, "saturated": 0}
    for v, case in zip(ops, cases, strict=True):
        if v.op == "mul":
            for key, n in case["coverage"].items():
                seen[key] += n
    assert all(seen.values()), f"mul cases miss a rounding or saturation case: {seen}"
    depth = 1 << (len(ops) - 1).bit_length()
    (tmp_path / "vecops.hex").write_text(_u32_slots_hex(descriptor_rom(ops, depth)))
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    handle = runner.build("tb_vector_unit", [runner.TESTBENCH_DIR / "hdl" / "tb_vector_unit.v",
                                             runner.RTL_DIR / "vector_unit.v"],
                          {**config, "BUS_BYTES": BUS, "VOP_DEPTH": depth})
    runner.run_test(handle, "test_vector_unit", Path(__file__).parent, timeout_s=300,
                    plusargs=[f"+vecops={tmp_path / 'vecops.hex'}"],
                    extra_env={"VEC_CASES": str(tmp_path / "cases.json"),
                               "VEC_RESULTS": str(tmp_path / "results.json")},
                    log_file=tmp_path / "sim.log")
    results = json.loads((tmp_path / "results.json").read_text())
    for i, (case, got) in enumerate(zip(cases, results, strict=True)):
        what = f"entry {i} ({case['op']}, {ops[i]})"
        assert got["out"] == case["want"], f"{what}: output {got['out']} != {case['want']}"
        assert got["load"] == [1, 0, 1], f"{what}: load not requested at dispatch: {got['load']}"
        assert got["load_segs"] == [100 + i, 1], what
        assert got["work_start"] == 1, what
        want_cycles = config["LATENCY"] + -(-case["work"] // config["LANES"])
        assert got["cycles"] == want_cycles, f"{what}: store after {got['cycles']} cycles, want {want_cycles}"
        assert got["store"] == [3, 1, 1, 200 + i, 1], f"{what}: store request {got['store']}"
        assert got["done"] == 1 and got["after"] == 0, what
