"""`[engine] double_buffer`: the arch key, and the TLM's double-buffered engine.

Properties on random programs and timing (docs/microarch.md, "Double
buffering"): outputs equal numpy; an engine holds at most two tiles; its
DMA ops never overlap (one request port) and run in the stated order; its
tiles compute and drain one at a time, in dispatch order; a drain waits for
the previous store; and loads do overlap compute. The TLM-vs-RTL half is
testbenches/test_double_buffer.py.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict, arch_to_toml, load_arch
from tlm.blocks import simulate
from tlm.errors import InputError
from tlm.workload import compile_workload

LOADS = ("load_a", "load_b", "load_c")


class Recorder:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        self.records.append({"op": op, "tile": tile, "start": start, "end": end, **extra})

    def occupancy(self, time: int, value: int) -> None:
        pass


def test_the_key_halves_the_scratchpad_per_tile():
    one = arch_from_dict({"scratchpad": {"bytes": 4096}})
    two = arch_from_dict({"scratchpad": {"bytes": 4096}, "engine": {"double_buffer": True}})
    assert not Arch().engine.double_buffer
    assert two.kmax == (2048 - 64) // 8 and one.kmax == (4096 - 64) // 8
    assert two.spad_buffer_bytes == 8 * two.kmax + 64 <= 2048
    assert two.rtl_parameters()["DOUBLE_BUFFER"] == 1 and one.rtl_parameters()["DOUBLE_BUFFER"] == 0


def test_the_key_round_trips_through_toml(tmp_path):
    arch = arch_from_dict({"engine": {"double_buffer": True}})
    path = tmp_path / "a.toml"
    path.write_text(arch_to_toml(arch))
    assert load_arch(path) == arch
    assert "double_buffer = true" in arch_to_toml(arch, ("engine",))


@pytest.mark.parametrize("overlay,what", [
    ({"engine": {"double_buffer": 1}}, "must be true or false, got 1"),
    ({"engine": {"double_buffer": "yes"}}, "must be true or false"),
    ({"engine": {"double_buffering": True}}, "unknown key"),
    ({"engine": {"double_buffer": True}, "scratchpad": {"bytes": 100}}, "cannot hold two 4x4 tiles"),
])
def test_bad_values_are_input_errors(overlay, what):
    with pytest.raises(InputError) as e:
        arch_from_dict(overlay, "a.toml")
    assert what in str(e.value)


@st.composite
def cases(draw: Any) -> tuple[Arch, dict[str, Any]]:
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    timing = {k: draw(st.integers(0, 2)) for k in (
        "dma_grant_cycles", "dma_setup_cycles", "engine_start_cycles", "engine_phase_cycles",
        "engine_done_cycles", "sched_dispatch_cycles", "sched_notice_cycles", "sched_succ_cycles")}
    arch = arch_from_dict({
        "array": {"engines": draw(st.integers(1, 3)), "rows": rows, "cols": cols},
        "scheduler": {"table_depth": draw(st.integers(1, 6))},
        "dma": {"bus_bytes": draw(st.sampled_from([1, 4, 16, 64]))},
        "memory": {"latency_cycles": draw(st.integers(1, 12))},
        "engine": {"double_buffer": True},
        "timing": timing,
    })
    tiles = []
    for i in range(draw(st.integers(1, 16))):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        tiles.append({"id": i * 5 + 2, "m": draw(st.integers(1, rows)), "n": draw(st.integers(1, cols)),
                      "k": draw(st.integers(1, 40)), "deps": [d * 5 + 2 for d in deps]})
    return arch, {"format": "tlm-workload/1", "name": "db", "seed": draw(st.integers(0, 99)),
                  "tiles": tiles}


def check_contract(records: list[dict[str, Any]], arch: Arch) -> None:
    """The double-buffered engine's ordering rules on one run's records."""
    t = arch.timing
    per_engine: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        per_engine[r["engine"]].append(r)
    for recs in per_engine.values():
        tiles = sorted((r for r in recs if r["op"] == "tile"), key=lambda r: r["start"])
        order = [r["tile"] for r in tiles]
        # At most two tiles held at any cycle, finishing in dispatch order.
        assert [r["tile"] for r in sorted(tiles, key=lambda r: r["end"])] == order
        for a, b in zip(tiles, tiles[2:]):
            assert b["start"] >= a["end"]
        # One request port: DMA ops of an engine never overlap (request to done;
        # a store's record starts at its drain, so take its grant side).
        ops = sorted((r for r in recs if r["op"] in LOADS + ("store_c",)),
                     key=lambda r: r["grant"])
        for a, b in zip(ops, ops[1:]):
            assert b["grant"] > a["end"] or (t.dma_grant_cycles == 0 and b["grant"] >= a["end"])
        # The array: compute, then drain, one tile at a time in dispatch order.
        comp = {r["tile"]: r for r in recs if r["op"] == "compute"}
        store = {r["tile"]: r for r in recs if r["op"] == "store_c"}
        last = {r["tile"]: max(x["end"] for x in recs if x["op"] in LOADS and x["tile"] == r["tile"])
                for r in tiles}
        for x in order:
            assert comp[x]["start"] >= last[x] + t.engine_phase_cycles
            assert store[x]["start"] >= comp[x]["end"] + t.engine_phase_cycles
        for a, b in zip(order, order[1:]):
            drain_end = store[a]["start"] + arch.array.rows + t.drain_extra_cycles
            assert comp[b]["start"] >= drain_end
            assert store[b]["start"] >= store[a]["end"] + t.engine_phase_cycles  # output buffer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_random_programs_equal_numpy_and_keep_the_contract(case):
    arch, workload = case
    program = compile_workload(workload, arch)
    rec = Recorder()
    result = simulate(program, arch, trace=rec)
    assert result.functional == "pass", result.mismatches
    check_contract(rec.records, arch)
    # Timing does not depend on the data.
    assert simulate(compile_workload(workload, arch, functional=False), arch,
                    functional=False).cycles == result.cycles


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small", "random_dag"])
def test_builtins_equal_numpy_with_double_buffering(name):
    arch = arch_from_dict({"engine": {"double_buffer": True}})
    assert simulate(compile_workload(f"builtin:{name}", arch), arch).functional == "pass"


def test_loads_overlap_compute_and_the_run_gets_faster():
    """With a fast memory, the next tile's loads run while the array computes."""
    hw = {"array": {"engines": 1, "rows": 4, "cols": 4}, "dma": {"bus_bytes": 64},
          "memory": {"latency_cycles": 2}, "scratchpad": {"bytes": 8192}}
    single = arch_from_dict(hw)
    double = arch_from_dict({**hw, "engine": {"double_buffer": True}})
    work = "builtin:gemm_small"
    rec = Recorder()
    fast = simulate(compile_workload(work, double), double, trace=rec)
    slow = simulate(compile_workload(work, single), single)
    assert fast.functional == slow.functional == "pass"
    assert fast.cycles < slow.cycles
    comp = [(r["start"], r["end"]) for r in rec.records if r["op"] == "compute"]
    loads = [(r["start"], r["end"]) for r in rec.records if r["op"] in LOADS]
    assert any(cs < le and ls < ce for cs, ce in comp for ls, le in loads)
    check_contract(rec.records, double)


def test_same_inputs_give_identical_traces(tmp_path):
    from tlm.trace.writer import TraceWriter

    arch = arch_from_dict({"engine": {"double_buffer": True}, "dma": {"bus_bytes": 32}})
    program = compile_workload("builtin:random_dag", arch)
    texts = []
    for i in range(2):
        path = tmp_path / f"t{i}.jsonl"
        with TraceWriter(path, source="tlm", workload=program.name, arch=arch,
                         clock_period_ps=arch.clock.period_ps) as w:
            r = simulate(program, arch, trace=w)
            w.close(r.cycles, r.tiles, r.functional)
        texts.append(path.read_bytes())
    assert texts[0] == texts[1]


#: Cycles the RTL (`engine_db`, DOUBLE_BUFFER = 1) takes on the default arch with
#: double buffering, measured with `tlmsim rtl` (bench/RESULTS.md): the calibrated
#: TLM must give the same without an RTL run (testbenches/ re-measures them).
RTL_CYCLES = {"gemm_small": 2792, "random_dag": 8927, "dilated_vgg_small": 34487,
              "deformable_small": 25295}


@pytest.mark.parametrize("name", sorted(RTL_CYCLES))
def test_calibrated_cycles_equal_the_rtl_measurements(name):
    from tlm.cli.common import calibrated_base

    arch = arch_from_dict({"engine": {"double_buffer": True}}, base=calibrated_base())
    program = compile_workload(f"builtin:{name}", arch, functional=False)
    assert simulate(program, arch, functional=False).cycles == RTL_CYCLES[name]
