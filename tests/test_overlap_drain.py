"""Drain overlap (`[engine] overlap_drain`): the next compute starts while the array drains.

docs/microarch.md, "Double buffering", drain overlap. TLM-vs-RTL exactness
is in testbenches/test_overlap_drain.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import arch_from_dict
from tlm.blocks import simulate
from tlm.errors import InputError
from tlm.trace.reader import read_trace
from tlm.trace.writer import TraceWriter
from tlm.workload import compile_workload

FAST = {"array": {"engines": 1}, "dma": {"bus_bytes": 64}, "memory": {"latency_cycles": 1}}


def _arch(overlap: bool, **extra: Any) -> Any:
    return arch_from_dict({**FAST, **extra, "engine": {"double_buffer": True, "overlap_drain": overlap}})


def test_needs_double_buffering():
    with pytest.raises(InputError, match="needs \\[engine\\] double_buffer = true"):
        arch_from_dict({"engine": {"overlap_drain": True}})


def test_needs_the_output_stationary_array():
    with pytest.raises(InputError, match="needs \\[array\\] dataflow = \"os\""):
        arch_from_dict({"array": {"dataflow": "ws"}, "engine": {"double_buffer": True, "overlap_drain": True}})


def test_next_compute_starts_at_the_drain_start(tmp_path):
    """Consecutive tiles: compute(next) = max(last load done + phase, drain start(prev)), and
    compute-bound tiles do start at the drain start (before the drain end)."""
    arch = _arch(True)
    program = compile_workload("builtin:dilated_vgg_small", arch)
    with TraceWriter(tmp_path / "t.jsonl", source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        r = simulate(program, arch, trace=w)
        w.close(r.cycles, r.tiles, r.functional)
    assert r.functional == "pass"
    t = read_trace(tmp_path / "t.jsonl")
    comp = t.ops["compute"]
    order = np.argsort(comp["start"], kind="stable")
    tiles, c0 = comp["tile"][order], comp["start"][order]
    st_ = t.ops["store_c"]
    s0 = dict(zip(st_["tile"].tolist(), st_["start"].tolist()))
    last_load: dict[int, int] = {}
    for op in ("load_a", "load_b", "load_c"):
        for x, end in zip(t.ops[op]["tile"].tolist(), t.ops[op]["end"].tolist()) if op in t.ops else ():
            last_load[x] = max(last_load.get(x, 0), end)
    phase = arch.timing.engine_phase_cycles
    at_drain = 0
    for prev, x, c in zip(tiles[:-1].tolist(), tiles[1:].tolist(), c0[1:].tolist()):
        assert c == max(last_load[x] + phase, s0[prev])
        at_drain += c == s0[prev]
    assert at_drain > len(tiles) // 2


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(1, 20), n=st.integers(1, 20), k=st.integers(1, 200), seed=st.integers(0, 20),
       rows=st.integers(1, 5))
def test_overlap_is_exact_and_never_slower(m, n, k, seed, rows):
    work = {"format": "tlm-workload/1", "name": "g", "seed": seed,
            "layers": [{"name": "g", "op": "gemm", "M": m, "N": n, "K": k},
                       {"name": "h", "op": "gemm", "M": m, "N": n, "K": n}]}
    arr = {"array": {"engines": 1, "rows": rows, "cols": 4}}
    on = simulate(compile_workload(work, _arch(True, **arr)), _arch(True, **arr))
    off = simulate(compile_workload(work, _arch(False, **arr)), _arch(False, **arr))
    assert on.functional == off.functional == "pass"
    assert on.cycles <= off.cycles and on.dma_bytes == off.dma_bytes
