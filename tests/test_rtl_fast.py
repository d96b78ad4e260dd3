"""The fast RTL subset: image encoding, and accel_top end to end on tiny programs.

These tests need Icarus Verilog and fail (never skip) without it: the RTL is
half of what the project checks. The full regression is `make rtl`
(`testbenches/`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.cli import main
from tlm.errors import DeadlockError
from tlm.cli.common import calibrated_base
from tlm.rtl.contract import contract_violations, read_records
from tlm.rtl.image import (
    ENTRY_BITS,
    encode_program,
    memory_hex,
    pow2_at_least,
    read_memory_hex,
    segments_hex,
)
from tlm.rtl.run import run_rtl
from tlm.workload import compile_workload
from tlm.workload.dag import permute_entries
from tlm.workload.program import OPS, TileProgram

TINY = {"format": "tlm-workload/1", "name": "tiny", "seed": 7, "tiles": [
    {"id": 0, "m": 4, "n": 4, "k": 16, "deps": []},
    {"id": 1, "m": 4, "n": 3, "k": 8, "deps": [0]},
    {"id": 2, "m": 2, "n": 4, "k": 32, "deps": [0, 1]},
    {"id": 3, "m": 3, "n": 2, "k": 5, "deps": []},
]}


# ------------------------------------------------------------ images (no simulator)

@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=0, max_size=300), bus=st.sampled_from([1, 2, 4, 8, 16]))
def test_memory_image_round_trips(data: bytes, bus: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A byte array written as bus words reads back unchanged (little-endian words)."""
    words = max(1, -(-len(data) // bus))
    path = tmp_path_factory.mktemp("img") / "m.hex"
    path.write_text(memory_hex(np.frombuffer(data, dtype=np.uint8), bus, words))
    back = read_memory_hex(path, bus)
    assert back.shape[0] == words * bus
    assert bytes(back[: len(data)]) == data
    assert not back[len(data):].any()


def test_memory_words_put_byte_zero_in_the_low_bits() -> None:
    """Byte 0 of a beat is the last pair of hex digits, as $readmemh expects."""
    assert memory_hex(np.array([1, 2, 3, 4], dtype=np.uint8), 4, 1) == "04030201\n"


def test_segment_words_pack_the_descriptor_fields() -> None:
    """Segment word: address [31:0], length [63:32], local [95:64], zero [96]."""
    text = segments_hex(np.array([0x1234]), np.array([7]), np.array([0x40]), np.array([True]), 2)
    first, second = text.splitlines()
    word = int(first, 16)
    assert (word & 0xFFFFFFFF, (word >> 32) & 0xFFFFFFFF, (word >> 64) & 0xFFFFFFFF, word >> 96) == (0x1234, 7, 0x40, 1)
    assert int(second, 16) == 0


def test_encoded_entry_words_hold_the_program(tmp_path: Path) -> None:
    """Entry ROM words carry kind, shape, CSR pointers and segment ranges in their slots."""
    arch = Arch()
    program = compile_workload(TINY, arch)
    image = encode_program(program, arch, tmp_path)
    lines = image.files["entries"].read_text().splitlines()
    assert len(lines) == image.parameters["N_DEPTH"] == pow2_at_least(program.entries)
    assert all(len(line) == ENTRY_BITS // 4 for line in lines)
    for x in range(program.entries):
        word = int(lines[x], 16)
        slot = [(word >> (32 * s)) & 0xFFFFFFFF for s in range(16)]
        assert slot[1] == int(program.m[x]) | (int(program.n[x]) << 16)
        assert slot[2] == int(program.k[x])
        assert (slot[3], slot[4]) == (int(program.preds.ptr[x]), len(program.preds.of(x)))
        assert (slot[5], slot[6]) == (int(program.succs.ptr[x]), len(program.succs.of(x)))
        base = 0
        for o, op in enumerate(OPS):
            seg = program.segments[op]
            assert slot[7 + 2 * o] == base + int(seg.ptr[x])
            assert slot[8 + 2 * o] == int(seg.ptr[x + 1] - seg.ptr[x])
            base += int(seg.mem_addr.shape[0])


# ------------------------------------------------------------------ RTL runs

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    # The RTL's fixed control costs are what calibration fitted (shipped overlay).
    arch = calibrated_base()
    program = compile_workload(TINY, arch)
    trace = tmp_path_factory.mktemp("rtl") / "tiny.jsonl"
    result = run_rtl(program, arch, trace, progress=False)
    return arch, program, result


def test_tiny_program_outputs_equal_numpy(tiny_run) -> None:
    """Four tiles (two engines, a shared DMA) compute exactly numpy's int32 results."""
    _, program, result = tiny_run
    assert result.functional == "pass", result.mismatches
    assert result.tiles == 4
    assert result.cycles > 0


def test_tiny_trace_keeps_the_timing_contract(tiny_run) -> None:
    """Every tile's phases follow docs/microarch.md cycle for cycle; footer matches."""
    arch, program, result = tiny_run
    records, footer = read_records(result.trace_path)
    assert footer is not None and footer["cycles"] == result.cycles and footer["functional"] == "pass"
    assert contract_violations(records, program, arch) == []
    ops = {(r["op"], r["tile"]) for r in records}
    for tid in range(4):
        for op in ("dispatch", "tile", "load_a", "load_b", "compute", "store_c"):
            assert (op, tid) in ops
    assert result.cycles == max(r["end"] for r in records if r["op"] == "tile") + 2  # notice + completion


def test_first_tile_timeline_by_hand(tiny_run) -> None:
    """Tile 0 alone on engine 0: admitted at 0, ready at 1, starts at 2, and so on."""
    arch, program, result = tiny_run
    records, _ = read_records(result.trace_path)
    rec = {r["op"]: r for r in records if r["tile"] == 0}
    lat = arch.memory.latency_cycles
    assert (rec["dispatch"]["start"], rec["dispatch"]["end"]) == (1, 2)
    assert (rec["load_a"]["start"], rec["load_a"]["grant"]) == (3, 4)
    assert rec["load_a"]["end"] == 4 + 1 + lat + 8 + 1       # 4 rows x 16 bytes = 8 beats
    assert rec["compute"]["end"] - rec["compute"]["start"] == 4 + 4 + 16 - 2


def test_contract_checker_reports_a_shifted_record(tiny_run) -> None:
    """The checker is not vacuous: one cycle off in one record is reported."""
    arch, program, result = tiny_run
    records, _ = read_records(result.trace_path)
    for r in records:
        if r["op"] == "compute" and r["tile"] == 2:
            r["end"] += 1
    assert any("tile 2" in v for v in contract_violations(records, program, arch))


def test_wrong_reference_is_a_functional_failure(tmp_path: Path) -> None:
    """A corrupted numpy reference makes the run report `fail` naming the region."""
    arch = Arch()
    program = compile_workload(TINY, arch)
    program.expected["tile1"] = program.expected["tile1"] + 1
    result = run_rtl(program, arch, tmp_path / "t.jsonl", progress=False)
    assert result.functional == "fail"
    assert any(m.startswith("tile1:") for m in result.mismatches)


def test_forward_dependency_runs_with_a_one_entry_table(tmp_path: Path) -> None:
    """Tile 0 waits for tile 1, listed after it: the compiler admits tile 1 first."""
    arch = arch_from_dict({"scheduler": {"table_depth": 1}})
    wl = {"format": "tlm-workload/1", "name": "fwd", "seed": 1, "tiles": [
        {"id": 0, "m": 2, "n": 2, "k": 4, "deps": [1]},
        {"id": 1, "m": 2, "n": 2, "k": 4, "deps": []}]}
    program = compile_workload(wl, arch)
    result = run_rtl(program, arch, tmp_path / "t.jsonl", progress=False)
    assert result.functional == "pass"


def _in_file_order(wl: dict, arch: Arch) -> TileProgram:
    """The program admitted in file order (what the compiler no longer emits)."""
    program = compile_workload(wl, arch)
    ids = [t["id"] for t in wl["tiles"]]
    where = {int(t): e for e, t in enumerate(program.tile_id)}
    return permute_entries(program, np.array([where[i] for i in ids]))


def test_deadlock_with_nothing_recorded_names_no_trace(tmp_path: Path) -> None:
    """Stuck before any record: no trace file, an earlier one kept, and the message says so."""
    arch = arch_from_dict({"scheduler": {"table_depth": 1}})
    wl = {"format": "tlm-workload/1", "name": "stuck", "seed": 1, "tiles": [
        {"id": 0, "m": 2, "n": 2, "k": 4, "deps": [1]},
        {"id": 1, "m": 2, "n": 2, "k": 4, "deps": []}]}
    trace = tmp_path / "t.jsonl"
    trace.write_text("earlier\n")
    with pytest.raises(DeadlockError, match="deadlock") as info:
        run_rtl(_in_file_order(wl, arch), arch, trace, progress=False)
    assert "nothing was recorded, so no trace was written" in str(info.value)
    assert trace.read_text() == "earlier\n"
    fresh = tmp_path / "fresh.jsonl"
    with pytest.raises(DeadlockError, match="no trace was written"):
        run_rtl(_in_file_order(wl, arch), arch, fresh, progress=False)
    assert not fresh.exists()


def test_deadlock_after_some_records_names_the_cut_trace(tmp_path: Path) -> None:
    """Stuck after a tile ran: the records are in the trace, without a footer."""
    arch = arch_from_dict({"scheduler": {"table_depth": 2}})
    wl = {"format": "tlm-workload/1", "name": "stuck", "seed": 1, "tiles": [
        {"id": 0, "m": 2, "n": 2, "k": 4, "deps": []},
        {"id": 1, "m": 2, "n": 2, "k": 4, "deps": [3]},
        {"id": 2, "m": 2, "n": 2, "k": 4, "deps": [3]},
        {"id": 3, "m": 2, "n": 2, "k": 4, "deps": []}]}
    trace = tmp_path / "t.jsonl"
    with pytest.raises(DeadlockError) as info:
        run_rtl(_in_file_order(wl, arch), arch, trace, progress=False)
    records, footer = read_records(trace)
    assert footer is None and any(r["op"] == "tile" and r["tile"] == 0 for r in records)
    assert f"its {len(records)} records are in {trace} (no footer: cut short)" in str(info.value)


def test_cli_rtl_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`tlmsim rtl --json` prints one JSON object with the spec's keys and exits 0."""
    wl = tmp_path / "tiny.json"
    wl.write_text(json.dumps(TINY))
    code = main(["rtl", "--workload", str(wl), "--trace", str(tmp_path / "t.jsonl"), "--json",
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out)
    assert summary["source"] == "rtl" and summary["functional"] == "pass" and summary["tiles"] == 4
    for key in ("workload", "cycles", "wall_s", "sim_s", "cycles_per_s"):
        assert key in summary


def test_cli_rtl_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing workload file is one `error:` line and exit status 2."""
    code = main(["rtl", "--workload", str(tmp_path / "none.json"), "--trace", str(tmp_path / "t.jsonl")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
