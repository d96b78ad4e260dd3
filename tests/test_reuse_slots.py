"""Several B blocks resident (`[engine] reuse_slots`): layout, slot placement, skipped loads.

docs/microarch.md, "Several B blocks resident". TLM-vs-RTL exactness with
several slots is in testbenches/test_reuse.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tlm.api import simulate as api_simulate
from tlm.arch import arch_from_dict
from tlm.blocks import simulate
from tlm.errors import InputError
from tlm.trace.reader import read_trace
from tlm.trace.writer import TraceWriter
from tlm.workload import compile_workload
from tlm.workload.dag import admission_deadlock, is_topological
from tlm.workload.program import EntryKind, TileProgram
from tlm.workload.reuse import belady_slots

from test_reuse import _same_blocks_same_segments, layer_stacks


def _hw(rows: int, cols: int, engines: int, slots: int, kmax: int) -> dict[str, Any]:
    """An arch with `slots` B slots whose lane is exactly `kmax` (so tiles match across slot counts)."""
    spad = 4 * rows * cols + (rows + slots * cols) * kmax
    return {"array": {"engines": engines, "rows": rows, "cols": cols}, "scratchpad": {"bytes": spad},
            "engine": {"reuse": True, "reuse_slots": slots}}


HW = st.tuples(st.integers(2, 5), st.integers(2, 5), st.integers(1, 3), st.integers(2, 6),
               st.sampled_from([24, 64, 200]))


def _slot_segments(program: TileProgram, arch: Any) -> None:
    """Every load_b segment writes inside its tile's slot."""
    assert program.segments is not None and program.b_slot is not None
    seg = program.segments["load_b"]
    for x in np.flatnonzero(program.kind == EntryKind.TILE).tolist():
        lo = arch.spad_b_base + int(program.b_slot[x]) * arch.spad_slot_bytes
        sl = seg.range(x)
        assert (seg.local_addr[sl] >= lo).all()
        assert (seg.local_addr[sl] + seg.length[sl] <= lo + arch.spad_slot_bytes).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work=layer_stacks(), hw=HW)
# fc1's tiles become ready in fc0's order, not the slot plan's: 2 slots moved 271 bytes, 1 slot 269
@example(work={"format": "tlm-workload/1", "name": "reuse_prop", "seed": 0,
               "layers": [{"name": "fc0", "op": "gemm", "M": 5, "N": 1, "K": 1},
                          {"name": "fc1", "op": "gemm", "M": 5, "N": 11, "K": 1}]}, hw=(2, 2, 1, 2, 24))
def test_slots_are_exact_and_never_move_more_bytes(work: dict[str, Any], hw: tuple[int, ...]) -> None:
    """Any slot count: numpy-exact results equal to reuse off, and (one engine, the same
    kmax, tiles in program order) no more DMA bytes than one slot; bytes moved + saved = bytes
    without reuse."""
    rows, cols, engines, slots, kmax = hw
    arch = arch_from_dict(_hw(rows, cols, engines, slots, kmax))
    assert arch.kmax == kmax
    program = compile_workload(work, arch)
    assert program.b_slot is not None and int(program.b_slot.max()) < slots
    assert is_topological(program.preds)
    assert admission_deadlock(program, arch.scheduler.table_depth) is None
    # Belady may move a block to another slot later: same id and slot, same segments
    a_only = TileProgram.__new__(TileProgram)
    a_only.__dict__.update(program.__dict__)
    a_only.b_block = np.where(program.b_block >= 0, program.b_block * 64 + program.b_slot, -1)
    _same_blocks_same_segments(a_only)
    _slot_segments(program, arch)
    on = simulate(program, arch)
    assert on.functional == "pass", on.mismatches
    off_hw = _hw(rows, cols, engines, 1, kmax)
    off_hw["engine"]["reuse"] = False
    off_arch = arch_from_dict(off_hw)
    off_program = compile_workload(work, off_arch)
    off = simulate(off_program, off_arch)
    # both runs hold the numpy reference byte for byte, so they equal each other
    assert off.functional == "pass" and on.functional == "pass"
    assert on.dma_bytes + on.bytes_saved == off.dma_bytes and on.tiles == off.tiles
    if engines == 1 and all(x["k_chunks"] == 1 for x in program.info["layers"]):  # type: ignore[union-attr]
        # The slot plan assumes tiles run in program order; a layer whose input is still being
        # written, or a K split (a chunk waits for the one before), makes tiles ready in another
        # order. With fresh inputs and no K split every tile is ready when admitted, and S slots
        # never move more bytes than one.
        fresh = {**work, "layers": [{**layer, "fresh_input": True} for layer in work["layers"]]}
        one = arch_from_dict(_hw(rows, cols, 1, 1, kmax))
        assert simulate(compile_workload(fresh, arch), arch).dma_bytes <= \
            simulate(compile_workload(fresh, one), one).dma_bytes


def _check_residency(program: TileProgram, trace_path: Path) -> int:
    """Replay each engine's tiles in start order with its own A block and per-slot B blocks:
    a tile's `reused` must be exactly the loads whose block is resident. Returns tiles skipping both."""
    t = read_trace(trace_path)
    tiles = t.ops["tile"]
    entry_of = {int(tid): x for x, tid in enumerate(program.tile_id.tolist()) if tid >= 0}
    held: dict[int, tuple[int, dict[int, int]]] = {}
    both = 0
    assert program.a_block is not None and program.b_block is not None and program.b_slot is not None
    for i in np.lexsort((tiles["tile"], tiles["start"])).tolist():
        x, e = entry_of[int(tiles["tile"][i])], int(tiles["engine"][i])
        a, b, s = int(program.a_block[x]), int(program.b_block[x]), int(program.b_slot[x])
        ha, hb = held.get(e, (-1, {}))
        want = (1 if a >= 0 and a == ha else 0) | (2 if b >= 0 and hb.get(s, -1) == b else 0)
        assert int(tiles["reused"][i]) == want, (x, e)
        both += want == 3
        hb[s] = b
        held[e] = (a, hb)
    loads = {op: len(t.ops.get(op, [])) for op in ("load_a", "load_b")}
    assert loads["load_a"] == len(tiles) - int(np.count_nonzero(tiles["reused"] & 1))
    assert loads["load_b"] == len(tiles) - int(np.count_nonzero(tiles["reused"] & 2))
    return both


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work=layer_stacks(), hw=HW)
def test_a_skipped_load_is_always_resident(work: dict[str, Any], hw: tuple[int, ...], tmp_path_factory: Any) -> None:
    rows, cols, engines, slots, kmax = hw
    arch = arch_from_dict(_hw(rows, cols, engines, slots, kmax))
    program = compile_workload(work, arch)
    path = tmp_path_factory.mktemp("slots") / "t.jsonl"
    with TraceWriter(path, source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        r = simulate(program, arch, trace=w)
        w.close(r.cycles, r.tiles, r.functional)
    _check_residency(program, path)


def test_both_loads_skipped_timing(tmp_path: Path) -> None:
    """One engine, four slots, four n-groups: after the first m-group a tile holds both blocks;
    with no load its compute starts engine_start + engine_phase after the dispatch."""
    work = {"format": "tlm-workload/1", "name": "both", "seed": 3,
            "layers": [{"name": "g", "op": "gemm", "M": 16, "N": 16, "K": 40}]}
    hw = _hw(4, 4, 1, 4, 40)
    hw["timing"] = {"engine_start_cycles": 2, "engine_phase_cycles": 3}
    arch = arch_from_dict(hw)
    program = compile_workload(work, arch)
    path = tmp_path / "t.jsonl"
    with TraceWriter(path, source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        r = simulate(program, arch, trace=w)
        w.close(r.cycles, r.tiles, r.functional)
    assert r.functional == "pass" and _check_residency(program, path) == 9
    t = read_trace(path)
    tiles, comp = t.ops["tile"], t.ops["compute"]
    start = dict(zip(comp["tile"].tolist(), comp["start"].tolist()))
    for tid, t0, reused in zip(tiles["tile"].tolist(), tiles["start"].tolist(), tiles["reused"].tolist()):
        if reused == 3:
            assert start[tid] == t0 + 2 + 3


def test_weight_major_sweeps_cover_slots_n_groups():
    """A gemm of 8 n-groups on 4 slots: each A block loaded twice, each B block once."""
    work = {"format": "tlm-workload/1", "name": "w", "seed": 1,
            "layers": [{"name": "g", "op": "gemm", "M": 40, "N": 32, "K": 16}]}
    arch = arch_from_dict(_hw(4, 4, 1, 4, 16))
    program = compile_workload(work, arch)
    assert program.info["layers"][0]["reuse_order"] == "weight"  # type: ignore[index]
    tiles = program.kind == EntryKind.TILE
    assert program.b_slot is not None and np.array_equal(program.b_slot[tiles][:8], [0, 1, 2, 3] * 2)
    r = simulate(program, arch)
    assert r.dma_bytes - int(program.bytes["store_c"].sum()) == 2 * 40 * 16 + 32 * 16


def test_one_slot_is_bit_identical():
    """`reuse_slots = 1` written out changes nothing: no slot array, the same hash and run."""
    for work in ("builtin:dilated_vgg_small", "builtin:gemm_small"):
        a = compile_workload(work, arch_from_dict({"engine": {"reuse": True}}))
        b = compile_workload(work, arch_from_dict({"engine": {"reuse": True, "reuse_slots": 1}}))
        assert b.b_slot is None and a.content_hash() == b.content_hash()
    slots = compile_workload("builtin:gemm_small", arch_from_dict({"engine": {"reuse": True, "reuse_slots": 2}}))
    assert slots.content_hash() != a.content_hash()


def _brute_force_loads(seq: list[int], slots: int) -> int:
    """Fewest loads of `seq` with `slots` slots, any placement (exhaustive, tiny inputs)."""
    best = len(seq)
    states = {frozenset(): 0}
    for b in seq:
        nxt: dict[frozenset[int], int] = {}
        for held, cost in states.items():
            options = [(held, cost)] if b in held else \
                [(held | {b}, cost + 1)] if len(held) < slots else \
                [((held - {v}) | {b}, cost + 1) for v in held]
            for h, c in options:
                if nxt.get(h, best + 1) > c:
                    nxt[h] = c
        states = nxt
    return min(states.values())


@settings(max_examples=60, deadline=None)
@given(seq=st.lists(st.integers(0, 5), min_size=1, max_size=12), slots=st.integers(1, 3))
def test_belady_placement_is_optimal_and_consistent(seq: list[int], slots: int) -> None:
    where, miss = belady_slots(np.array(seq, dtype=np.int64), slots)
    assert int(miss.sum()) == _brute_force_loads(seq, slots)
    held: dict[int, int] = {}
    for b, s, m in zip(seq, where.tolist(), miss.tolist()):  # a hit finds the block in its slot
        assert 0 <= s < slots and m == (held.get(s) != b)
        held[s] = b


@pytest.mark.parametrize("engine, what", [
    ({"reuse_slots": 2}, "need \\[engine\\] reuse = true"),
    ({"reuse": True, "reuse_slots": 2, "double_buffer": True}, "double_buffer"),
    ({"reuse": True, "reuse_slots": 65}, "must be <= 64"),
    ({"reuse": True, "reuse_slots": 0}, "positive integer"),
])
def test_bad_slot_configs_are_refused(engine: dict[str, Any], what: str) -> None:
    with pytest.raises(InputError, match=what):
        arch_from_dict({"engine": engine})


def test_cli_refuses_slots_without_reuse(tmp_path: Path, capsys: Any) -> None:
    from tlm.cli import main

    toml = tmp_path / "arch.toml"
    toml.write_text("[engine]\nreuse_slots = 4\n")
    assert main(["sim", "-w", "builtin:gemm_small", "-a", str(toml)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {toml}: [engine] reuse_slots: 4 slots need [engine] reuse = true"]


def test_layout_and_kmax():
    arch = arch_from_dict({"array": {"rows": 32, "cols": 32}, "scratchpad": {"bytes": 741376},
                           "engine": {"reuse": True, "reuse_slots": 4}})
    assert arch.kmax == 4608 and arch.spad_b_base == 32 * 4608
    assert arch.spad_c_base == (32 + 4 * 32) * 4608 and arch.spad_c_base + 4 * 32 * 32 == 741376
    assert arch.rtl_parameters()["REUSE_SLOTS"] == 4
    with pytest.raises(InputError, match="cannot hold"):
        arch_from_dict({"scratchpad": {"bytes": 90}, "engine": {"reuse": True, "reuse_slots": 8}})


def test_vgg16_under_0_40_gb_on_one_32x32_engine():
    """The target: VGG-16 timing-only, one 32x32 engine, default memory, <= 0.40 GB over the DMA."""
    one = {"array": {"engines": 1, "rows": 32, "cols": 32}, "scratchpad": {"bytes": 741376},
           "engine": {"reuse": True, "reuse_slots": 4}}
    r = api_simulate("builtin:vgg16", one, timing_only=True, layers=False)
    assert r.dma_bytes <= 400_000_000
    assert r.dma_bytes == 282_029_868 and r.summary["bytes_saved"] == 792_011_404




def test_segment_interpreter_reads_the_slot_lanes():
    """`run_program_functionally` (the segment-list reference) reads B from the tile's slot."""
    from tlm.workload.reference import run_program_functionally

    arch = arch_from_dict(_hw(4, 4, 1, 4, 40))
    program = compile_workload("builtin:gemm_small", arch)
    assert program.b_slot is not None and int(program.b_slot.max()) > 0
    for arch_arg in (arch, None):
        got = run_program_functionally(program, arch_arg)
        for o in program.outputs:
            assert np.array_equal(got[o.name], program.expected[o.name]), o.name
