"""The TLM accelerator on random programs: ordering, capacity, data, timing rules."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.blocks.timing import op_times
from tlm.workload import compile_workload
from tlm.workload.program import EntryKind


class Recorder:
    """A trace sink that keeps records and occupancy samples in memory."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.occ: list[tuple[int, int]] = []

    def record(self, op, tile, start, end, **extra):
        self.records.append({"op": op, "tile": tile, "start": start, "end": end, **extra})

    def occupancy(self, time, value):
        self.occ.append((time, value))

    def by_op(self, op):
        return {r["tile"]: r for r in self.records if r["op"] == op}


@st.composite
def arch_and_tiles(draw):
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 4))
    timing = {k: draw(st.integers(0, 3)) for k in (
        "dma_grant_cycles", "dma_setup_cycles", "engine_phase_cycles", "engine_done_cycles",
        "sched_dispatch_cycles", "sched_notice_cycles", "sched_succ_cycles", "sched_pred_cycles")}
    arch = arch_from_dict({
        "array": {"engines": draw(st.integers(1, 3)), "rows": rows, "cols": cols},
        "scheduler": {"table_depth": draw(st.integers(1, 6))},
        "dma": {"bus_bytes": draw(st.sampled_from([1, 2, 4, 8]))},
        "memory": {"latency_cycles": draw(st.integers(1, 12))},
        "timing": timing,
    })
    n = draw(st.integers(1, 14))
    tiles = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        tiles.append({"id": i * 3 + 1, "m": draw(st.integers(1, rows)), "n": draw(st.integers(1, cols)),
                      "k": draw(st.integers(1, 24)), "deps": [d * 3 + 1 for d in deps]})
    seed = draw(st.integers(0, 1000))
    return arch, {"format": "tlm-workload/1", "name": "rand", "seed": seed, "tiles": tiles}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch_and_tiles())
def test_random_dags_respect_order_capacity_and_engines(case):
    """Every tile runs once, after its predecessors, within the table, one per engine at a time."""
    arch, wl = case
    program = compile_workload(wl, arch)
    rec = Recorder()
    result = simulate(program, arch, trace=rec)
    assert result.functional == "pass", result.mismatches
    tiles = rec.by_op("tile")
    assert sorted(tiles) == sorted(t["id"] for t in wl["tiles"])
    assert sum(1 for r in rec.records if r["op"] == "tile") == len(wl["tiles"])
    for t in wl["tiles"]:
        for d in t["deps"]:
            assert tiles[t["id"]]["start"] >= tiles[d]["end"]
    assert max(v for _, v in rec.occ) <= arch.scheduler.table_depth
    per_engine = defaultdict(list)
    for r in tiles.values():
        per_engine[r["engine"]].append((r["start"], r["end"]))
    for spans in per_engine.values():
        spans.sort()
        for (s0, e0), (s1, _) in zip(spans, spans[1:]):
            assert s1 >= e0
    # The DMA moves exactly the bytes the tiles need, and ops never overlap on it.
    assert result.dma_bytes == sum(int(v.sum()) for v in program.bytes.values())
    dma = sorted((r["grant"], r["end"]) for r in rec.records if "grant" in r)
    for (g0, e0), (g1, _) in zip(dma, dma[1:]):
        assert g1 >= e0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch_and_tiles())
def test_dma_and_compute_follow_the_timing_contract(case):
    """Each op's grant->done equals the contract's service time; compute is R + C + k - 2."""
    arch, wl = case
    program = compile_workload(wl, arch)
    times = op_times(arch, program)
    rec = Recorder()
    simulate(program, arch, trace=rec)
    entry_of = {int(t): i for i, t in enumerate(program.tile_id)}
    for r in rec.records:
        x = entry_of[r["tile"]]
        if "grant" in r:
            assert r["end"] - r["grant"] == times.service[r["op"]][x]
            assert r["beats"] == program.beats[r["op"]][x]
        if r["op"] == "compute":
            assert r["end"] - r["start"] == arch.array.rows + arch.array.cols + program.k[x] - 2


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(0, 99),
       st.sampled_from([1, 2]), st.booleans())
def test_layer_stacks_compute_the_numpy_result(cin, mult, dil, seed, stride, deform):
    """Conv -> conv -> gemm stacks: outputs in memory equal the numpy reference."""
    layers = [
        {"name": "c1", "op": "conv2d", "in_channels": cin, "out_channels": 4 * mult,
         "height": 7, "width": 6, "kernel": 3, "padding": dil, "dilation": dil, "stride": stride},
    ]
    h = (7 + 2 * dil - 2 * dil - 1) // stride + 1
    w = (6 + 2 * dil - 2 * dil - 1) // stride + 1
    layers.append({"name": "c2", "op": "conv2d", "in_channels": 4 * mult, "out_channels": 5,
                   "height": h, "width": w, "kernel": 3, "padding": 1,
                   **({"deformable": {"max_offset": 1}} if deform else {})})
    layers.append({"name": "fc", "op": "gemm", "M": h * w, "K": 5, "N": 3})
    wl = {"format": "tlm-workload/1", "name": "stack", "seed": seed, "layers": layers}
    arch = arch_from_dict({"scratchpad": {"bytes": 4 * 16 + 8 * 20}})  # forces K-chunks
    program = compile_workload(wl, arch)
    assert program.load_c.any() or program.k.max() <= arch.kmax
    result = simulate(program, arch)
    assert result.functional == "pass", result.mismatches


def test_same_run_twice_gives_byte_identical_traces(tmp_path):
    """Determinism: the same workload and arch give byte-identical trace files."""
    from tlm.cli import main

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for p in (a, b):
        assert main(["sim", "-w", "builtin:deformable_small", "--trace", str(p), "--json"]) == 0
    strip = lambda p: [ln for ln in p.read_text().splitlines() if '"end": true' not in ln]  # noqa: E731
    assert strip(a) == strip(b)
    assert len(strip(a)) > 100


def test_forward_dependencies_run_with_a_table_of_two():
    """Tiles listed before the tile they wait for: the compiler admits that one first."""
    wl = {"format": "tlm-workload/1", "name": "fwd", "seed": 1, "tiles": [
        {"id": 0, "m": 2, "n": 2, "k": 4, "deps": [2]},
        {"id": 1, "m": 2, "n": 2, "k": 4, "deps": [2]},
        {"id": 2, "m": 2, "n": 2, "k": 4, "deps": []},
    ]}
    for depth in (1, 2, 3):
        arch = arch_from_dict({"scheduler": {"table_depth": depth}})
        assert simulate(compile_workload(wl, arch), arch).functional == "pass"


def test_more_engines_finish_no_later_and_timing_only_matches():
    """Timing-only gives the same cycles as functional; two engines beat one."""
    one = arch_from_dict({"array": {"engines": 1}})
    two = Arch()
    p1 = compile_workload("builtin:gemm_small", one)
    r1 = simulate(p1, one)
    r2 = simulate(compile_workload("builtin:gemm_small", two), two)
    rt = simulate(compile_workload("builtin:gemm_small", two, functional=False), two,
                  functional=False)
    assert r2.cycles < r1.cycles
    assert rt.cycles == r2.cycles and rt.functional == "skipped"


def test_slower_memory_costs_exactly_latency_per_read_op_on_one_engine():
    """On one engine (no overlap) each read op pays the extra latency once."""
    base = arch_from_dict({"array": {"engines": 1}})
    slow = dataclasses.replace(base, memory=dataclasses.replace(base.memory, latency_cycles=30))
    p = compile_workload("builtin:random_dag", base)
    reads = int(2 * p.tiles + p.load_c.sum())
    r0, r1 = simulate(p, base), simulate(compile_workload("builtin:random_dag", slow), slow)
    assert r1.cycles - r0.cycles == reads * 10


def test_joins_are_not_traced_and_layers_complete():
    rec = Recorder()
    p = compile_workload("builtin:dilated_vgg_small", Arch())
    assert np.count_nonzero(p.kind == EntryKind.JOIN) > 0
    r = simulate(p, Arch(), trace=rec)
    assert r.functional == "pass"
    assert len(rec.by_op("tile")) == p.tiles
    assert all(r["tile"] >= 0 for r in rec.records)


@pytest.mark.parametrize("workload", ["builtin:deformable_small", "builtin:random_dag"])
def test_dmi_and_per_segment_transactions_agree(workload):
    """The DMI fast path and one b_transport per segment give the same data and cycles."""
    arch = Arch()
    fast = simulate(compile_workload(workload, arch), arch)
    slow = simulate(compile_workload(workload, arch), arch, dmi=False)
    assert fast.functional == slow.functional == "pass"
    assert fast.cycles == slow.cycles


def test_dmi_revoked_mid_run_falls_back_to_transactions():
    """The memory revokes DMI half-way: the DMA's port drops its grant, the
    rest of the data moves by transactions, and the outputs still match numpy."""
    from tlm.blocks.accelerator import Accelerator
    from tlm.blocks.memory import check_outputs
    from tlm.kernel import Simulator

    arch = Arch()
    program = compile_workload("builtin:gemm_small", arch)
    full = simulate(program, arch)
    sim = Simulator()
    top = Accelerator(sim, "npu", arch, program, functional=True)
    sim.run(until=full.cycles // 2 * arch.clock.period_ps)
    assert top.dma.port is not None and top.dma.port.dmi is not None
    top.external.invalidate_dmi()
    assert top.dma.port.dmi is None
    sim.run()
    assert top.scheduler.end_cycle == full.cycles
    assert top.memory is not None and check_outputs(top.memory, program) == []


def test_byte_ranges_concatenates_ranges():
    from tlm.blocks.dma import byte_ranges

    got = byte_ranges(np.array([10, 3, 40]), np.array([2, 3, 1]))
    assert got.tolist() == [10, 11, 3, 4, 5, 40]


@pytest.mark.parametrize("uncalibrated", [False, True])
def test_tracing_does_not_change_the_run(uncalibrated):
    """With or without a trace sink the results are identical (no-trace fast paths)."""
    from tlm.cli.common import resolve_arch

    arch = resolve_arch(None, calibrated=not uncalibrated)
    p = compile_workload("builtin:deformable_small", arch)
    rec = Recorder()
    traced = simulate(p, arch, trace=rec)
    plain = simulate(compile_workload("builtin:deformable_small", arch), arch)
    fields = ("cycles", "functional", "engine_busy", "engine_tiles", "dma_busy", "dma_bytes",
              "dma_ops", "critical_path", "max_occupancy")
    assert [getattr(traced, f) for f in fields] == [getattr(plain, f) for f in fields]
    assert len(rec.by_op("tile")) == p.tiles
