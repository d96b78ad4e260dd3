"""Operand reuse (`[engine] reuse`): block ids, the reuse tile order, skipped loads, summaries.

docs/microarch.md, "Operand reuse". The TLM-vs-RTL cycle exactness with
reuse on is in testbenches/test_reuse.py.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.api import simulate as api_simulate
from tlm.arch import arch_from_dict
from tlm.blocks import simulate
from tlm.blocks.engine import Engine
from tlm.blocks.profile import TileTimes
from tlm.errors import InputError
from tlm.rtl.image import _block_field
from tlm.trace.reader import read_trace
from tlm.trace.writer import TraceWriter
from tlm.workload import compile_workload
from tlm.workload.dag import admission_deadlock, is_topological
from tlm.workload.program import EntryKind, TileProgram

REUSE = {"engine": {"reuse": True}}


def _same_blocks_same_segments(program: TileProgram) -> None:
    """Two tiles with one block id (and, for B, one slot) load the very same segments
    (same bytes, same lanes)."""
    assert program.segments is not None
    slot = program.b_slot if program.b_slot is not None else np.zeros(program.entries, dtype=np.int64)
    for op, ids in (("load_a", program.a_block), ("load_b", program.b_block)):
        assert ids is not None
        seg = program.segments[op]
        first: dict[tuple[int, int], int] = {}
        for x, block in enumerate(ids.tolist()):
            if block < 0:
                continue
            y = first.setdefault((block, int(slot[x]) if op == "load_b" else 0), x)
            if y == x:
                continue
            a, b = seg.range(x), seg.range(y)
            for name in ("mem_addr", "length", "local_addr", "zero"):
                assert np.array_equal(getattr(seg, name)[a], getattr(seg, name)[b]), (op, x, y)


@st.composite
def layer_stacks(draw: Any) -> dict[str, Any]:
    layers: list[dict[str, Any]] = []
    if draw(st.booleans()):
        m, k = draw(st.integers(1, 20)), draw(st.integers(1, 400))
        for i in range(draw(st.integers(1, 3))):
            n = draw(st.integers(1, 20))
            layers.append({"name": f"fc{i}", "op": "gemm", "M": m, "N": n, "K": k})
            k = n
    else:
        cin, size = draw(st.integers(1, 24)), draw(st.integers(3, 7))
        for i in range(draw(st.integers(1, 3))):
            groups = draw(st.sampled_from([1, 1, 2])) if cin % 2 == 0 else 1
            cout = draw(st.integers(1, 8)) * groups
            layers.append({"name": f"conv{i}", "op": "conv2d", "in_channels": cin, "out_channels": cout,
                           "height": size, "width": size, "kernel": 3, "stride": 1, "padding": 1,
                           "dilation": 1, **({"groups": groups} if groups > 1 else {})})
            cin = cout
    return {"format": "tlm-workload/1", "name": "reuse_prop", "seed": draw(st.integers(0, 50)),
            "layers": layers}


HW = st.fixed_dictionaries({
    "array": st.fixed_dictionaries({"engines": st.integers(1, 3), "rows": st.integers(2, 5),
                                    "cols": st.integers(2, 5)}),
    "scratchpad": st.sampled_from([{"bytes": 1024}, {"bytes": 4096}]),
    "engine": st.fixed_dictionaries({"reuse": st.just(True), "double_buffer": st.booleans()}),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work=layer_stacks(), hw=HW)
def test_reuse_is_functionally_correct_and_conserves_bytes(work, hw):
    """Reuse on: numpy-exact results; bytes moved + bytes saved = bytes with reuse off."""
    arch = arch_from_dict(hw)
    program = compile_workload(work, arch)
    assert is_topological(program.preds)
    assert admission_deadlock(program, arch.scheduler.table_depth) is None
    _same_blocks_same_segments(program)
    on = simulate(program, arch)
    assert on.functional == "pass", on.mismatches
    off_arch = arch_from_dict({**hw, "engine": {**hw["engine"], "reuse": False}})
    off = simulate(compile_workload(work, off_arch), off_arch)
    assert on.dma_bytes + on.bytes_saved == off.dma_bytes
    assert on.tiles == off.tiles and on.macs == off.macs


def test_reuse_off_changes_nothing():
    """Reuse off: no block ids, the hash and the order of before, no new summary key."""
    arch = arch_from_dict({})
    program = compile_workload("builtin:dilated_vgg_small", arch)
    assert program.a_block is None and program.b_block is None
    assert np.array_equal(program.tile_id[program.kind == EntryKind.TILE], np.arange(program.tiles))
    on = compile_workload("builtin:dilated_vgg_small", arch_from_dict(REUSE))
    assert on.content_hash() != program.content_hash()
    on.a_block = on.b_block = None
    assert on.content_hash() != program.content_hash()  # same entries in another order
    r = api_simulate("builtin:gemm_small", {}, timing_only=True)
    assert "bytes_saved" not in r.summary


def test_tiles_form_never_reuses():
    program = compile_workload("builtin:random_dag", arch_from_dict(REUSE))
    assert program.a_block is not None and program.b_block is not None
    assert (program.a_block == -1).all() and (program.b_block == -1).all()
    assert simulate(program, arch_from_dict(REUSE)).bytes_saved == 0


def test_weight_major_order_shares_b_blocks():
    """A conv layer with many m-groups is swept weight-major: consecutive tiles share B."""
    arch = arch_from_dict(REUSE)
    program = compile_workload("builtin:dilated_vgg_small", arch)
    layers = program.info["layers"]
    assert [x["reuse_order"] for x in layers] == ["weight", "weight", "weight"]
    tiles = np.flatnonzero(program.kind == EntryKind.TILE)
    b = program.b_block[tiles]
    changes = int(np.count_nonzero(b[1:] != b[:-1])) + 1
    assert changes == len(np.unique(b))  # every B block in one run of tiles
    assert np.array_equal(program.tile_id[tiles], np.arange(tiles.shape[0]))


def test_input_major_order_for_a_single_row_gemm():
    """M = 1 (a fully connected layer): B cannot be shared, A can: input-major."""
    work = {"format": "tlm-workload/1", "name": "fc", "seed": 1,
            "layers": [{"name": "fc", "op": "gemm", "M": 1, "N": 16, "K": 40}]}
    arch = arch_from_dict({**REUSE, "array": {"engines": 1}})
    program = compile_workload(work, arch)
    assert program.info["layers"][0]["reuse_order"] == "input"
    r = simulate(program, arch)
    # 4 n-groups share each A block: 3 of 4 A loads skipped (one engine: the
    # dispatch preference is by B block only)
    assert r.bytes_saved == 3 * 40 and r.functional == "pass"


def test_both_blocks_resident_still_loads_a():
    """No two compiled tiles share both blocks; should they, only load_a is skipped."""
    work = {"format": "tlm-workload/1", "name": "g", "seed": 1,
            "layers": [{"name": "g", "op": "gemm", "M": 4, "N": 4, "K": 8}]}
    arch = arch_from_dict(REUSE)
    program = compile_workload(work, arch)
    eng = SimpleNamespace(program=program, resident=[[-1, -1], [-1, -1]], bytes_saved=0,
                          tile_times=TileTimes(program.entries))
    assert Engine.take_blocks(eng, 0, 0) == 0  # type: ignore[arg-type]
    assert Engine.take_blocks(eng, 0, 0) == 1  # type: ignore[arg-type]
    assert eng.bytes_saved == program.bytes["load_a"][0]


def test_scheduler_prefers_the_engine_holding_b():
    """Two engines, one B block per sweep: every tile after the first on an engine skips load_b."""
    arch = arch_from_dict({"engine": {"reuse": True}, "array": {"engines": 2}})
    work = {"format": "tlm-workload/1", "name": "g", "seed": 1,
            "layers": [{"name": "g", "op": "gemm", "M": 64, "N": 8, "K": 8}]}
    program = compile_workload(work, arch)
    assert program.info["layers"][0]["reuse_order"] == "weight"
    r = simulate(program, arch)
    # 16 m-groups x 2 n-groups; B loaded at most once per engine and n-group
    assert r.bytes_saved >= (32 - 2 * 2) * 4 * 8


def test_trace_and_summary_report_reuse(tmp_path, capsys):
    arch = arch_from_dict(REUSE)
    program = compile_workload("builtin:gemm_small", arch)
    with TraceWriter(tmp_path / "t.jsonl", source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        r = simulate(program, arch, trace=w)
        w.close(r.cycles, r.tiles, r.functional)
    t = read_trace(tmp_path / "t.jsonl")
    reused = t.ops["tile"]["reused"]
    assert int(np.count_nonzero(reused & 2)) == len(t.ops["tile"]) - len(t.ops["load_b"])
    assert int(np.count_nonzero(reused & 1)) == len(t.ops["tile"]) - len(t.ops["load_a"])
    s = r.summary(arch)
    assert s["bytes_saved"] == r.bytes_saved > 0
    assert sum(x["dma_bytes"] for x in s["layers"]) == r.dma_bytes
    from tlm.cli import main

    toml = tmp_path / "arch.toml"
    toml.write_text("[engine]\nreuse = true\n")
    assert main(["sim", "-w", "builtin:gemm_small", "-a", str(toml), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bytes_saved"] > 0 and out["dram_bytes"] == out["dma_bytes"]
    assert main(["sim", "-w", "builtin:gemm_small", "-a", str(toml)]) == 0
    assert f"reuse saved {out['bytes_saved']:,} bytes" in capsys.readouterr().out


def test_vgg16_traffic_on_one_32x32_engine():
    """VGG-16 timing-only on one 32x32 engine, default memory: reuse cuts DMA traffic by 39%."""
    one = {"array": {"engines": 1, "rows": 32, "cols": 32}}
    off = api_simulate("builtin:vgg16", one, timing_only=True, layers=False)
    on = api_simulate("builtin:vgg16", {**one, **REUSE}, timing_only=True, layers=False)
    assert off.dma_bytes == 1_159_188_152
    assert on.dma_bytes + on.bytes_saved == off.dma_bytes
    assert on.dma_bytes < 0.61 * off.dma_bytes and on.cycles < off.cycles


def test_rtl_block_field_is_16_bits():
    assert _block_field(np.array([-1, 7, 7, 3, -1])).tolist() == [0, 2, 2, 1, 0]
    assert _block_field(np.array([5, 9])).tolist() == [1, 2]
    with pytest.raises(InputError, match="operand blocks"):
        _block_field(np.arange(70000))
