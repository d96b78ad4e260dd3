"""Operand reuse (`[engine] reuse = true`): the calibrated TLM against the RTL.

With reuse on, `engine.v` skips the load of an operand block it still holds
(`engine_db.v`: the block its operand buffer holds) and `tile_scheduler.v`
prefers the idle engine holding the head tile's B block (single buffering);
the TLM's engines and `TileScheduler` apply the same rules
(docs/microarch.md, "Operand reuse"). On the fixed-latency memory every
record must agree to the cycle (100.00% end to end, no per-op error, the
`reused` field of every tile record equal), on the small built-ins and on a
derandomized hypothesis sample of gemm stacks and convolutions whose K spans
several chunks (so load_c follows a skipped load_b) over a few hardware
variants; both models also pass the functional check against numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tlm.arch import arch_from_dict
from tlm.errors import InputError

from cycle_exact import assert_cycle_exact  # noqa: E402

REUSE = {"engine": {"reuse": True}}
HARDWARE: list[dict[str, Any]] = [
    REUSE,
    {**REUSE, "array": {"engines": 3, "rows": 4, "cols": 8}, "dma": {"bus_bytes": 64},
     "memory": {"latency_cycles": 2}, "scratchpad": {"bytes": 4096}, "scheduler": {"table_depth": 6}},
    {**REUSE, "array": {"engines": 1, "rows": 2, "cols": 3}, "dma": {"bus_bytes": 16, "max_burst_beats": 4},
     "memory": {"latency_cycles": 5}, "scratchpad": {"bytes": 1024}},
]


def _exact(workload: Any, overlay: dict[str, Any], tmp: Path) -> int:
    """Run both models; assert they agree to the cycle. Returns the tiles that skipped a load."""
    run = assert_cycle_exact(workload, overlay, tmp)
    a, b = run.tlm.ops["tile"], run.rtl.ops["tile"]
    assert np.array_equal(a["tile"], b["tile"]) and np.array_equal(a["reused"], b["reused"])
    return int(np.count_nonzero(a["reused"]))


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small"])
@pytest.mark.parametrize("variant", [0, 1])
def test_builtins_are_cycle_exact(name, variant, tmp_path):
    assert _exact(f"builtin:{name}", HARDWARE[variant], tmp_path) > 0


def test_random_dag_is_cycle_exact(tmp_path):
    # the tiles form never shares an operand block: nothing is skipped
    assert _exact("builtin:random_dag", REUSE, tmp_path) == 0


DOUBLE = [{**hw, "engine": {"reuse": True, "double_buffer": True}} for hw in HARDWARE] + [
    {"engine": {"reuse": True, "double_buffer": True, "overlap_drain": True}},
    {"engine": {"reuse": True, "double_buffer": True}, "array": {"dataflow": "ws"}}]


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small"])
@pytest.mark.parametrize("variant", range(len(DOUBLE)))
def test_reuse_with_double_buffering_is_cycle_exact(name: str, variant: int, tmp_path: Path) -> None:
    """`engine_db.v` keeps the blocks per operand buffer and drops a resident block's load
    from the tile's sequence, as the TLM's double-buffered engine does."""
    assert _exact(f"builtin:{name}", DOUBLE[variant], tmp_path) > 0


@settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=st.deferred(lambda: cases()), variant=st.integers(0, len(DOUBLE) - 1))
def test_random_workloads_with_double_buffering_are_cycle_exact(case, variant, tmp_path_factory):
    work, _ = case
    _exact(work, DOUBLE[variant], tmp_path_factory.mktemp("reuse_db"))


def test_reuse_slots_with_double_buffer_is_refused(tmp_path):
    with pytest.raises(InputError, match="double_buffer"):
        arch_from_dict({"engine": {"reuse": True, "reuse_slots": 2, "double_buffer": True}})


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    hw = draw(st.sampled_from(HARDWARE))
    if draw(st.booleans()):
        m, k, layers = draw(st.integers(1, 14)), draw(st.integers(1, 700)), []
        for i in range(draw(st.integers(1, 3))):
            n = draw(st.integers(1, 14))
            layers.append({"name": f"fc{i}", "op": "gemm", "M": m, "N": n, "K": k})
            k = n
    else:
        cin, size = draw(st.integers(1, 40)), draw(st.integers(3, 6))
        layers = []
        for i in range(draw(st.integers(1, 2))):
            cout = draw(st.integers(1, 12))
            layers.append({"name": f"conv{i}", "op": "conv2d", "in_channels": cin, "out_channels": cout,
                           "height": size, "width": size, "kernel": 3, "stride": 1, "padding": 1,
                           "dilation": 1})
            cin = cout
    work = {"format": "tlm-workload/1", "name": "reuse_case", "seed": draw(st.integers(0, 99)),
            "layers": layers}
    return work, hw


@settings(max_examples=10, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_random_workloads_are_cycle_exact(case, tmp_path_factory):
    work, hw = case
    _exact(work, hw, tmp_path_factory.mktemp("reuse"))


@pytest.mark.parametrize("name", ["builtin:gemm_small", "builtin:dilated_vgg_small", "builtin:random_dag"])
def test_reuse_with_the_weight_stationary_array_is_exact(name: str, tmp_path: Path) -> None:
    """Reuse skips loads in the engine's FSM, whatever the array: WS tiles reuse as OS tiles do."""
    skipped = _exact(name, {**REUSE, "array": {"dataflow": "ws"}}, tmp_path)
    assert skipped > 0 or name == "builtin:random_dag"  # the tiles form never reuses


# Several B slots (`[engine] reuse_slots`, docs/microarch.md "Several B blocks
# resident"): the slot index in the entry word, the B lanes read at the slot's
# offset, one B id per slot, tiles that skip both loads (load_c first, or no
# load at all).
SLOTS: list[dict[str, Any]] = [
    {"engine": {"reuse": True, "reuse_slots": 2}},
    {"engine": {"reuse": True, "reuse_slots": 4}, "array": {"engines": 1}, "scratchpad": {"bytes": 4096}},
    {"engine": {"reuse": True, "reuse_slots": 4}, "array": {"engines": 3, "rows": 4, "cols": 8},
     "dma": {"bus_bytes": 64}, "memory": {"latency_cycles": 2}, "scratchpad": {"bytes": 8192},
     "scheduler": {"table_depth": 6}},
    {"engine": {"reuse": True, "reuse_slots": 2}, "array": {"engines": 1, "rows": 2, "cols": 3},
     "dma": {"bus_bytes": 16, "max_burst_beats": 4}, "memory": {"latency_cycles": 5},
     "scratchpad": {"bytes": 1024}},
]


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small"])
@pytest.mark.parametrize("variant", [0, 1])
def test_slots_builtins_are_cycle_exact(name: str, variant: int, tmp_path: Path) -> None:
    assert _exact(f"builtin:{name}", SLOTS[variant], tmp_path) > 0


@pytest.mark.parametrize("slots", [2, 4])
def test_slots_random_dag_is_cycle_exact(slots: int, tmp_path: Path) -> None:
    assert _exact("builtin:random_dag", {"engine": {"reuse": True, "reuse_slots": slots}}, tmp_path) == 0


def test_slots_skip_both_loads_in_rtl(tmp_path: Path) -> None:
    """One engine, 4 slots, a layer of 4 n-groups: after the first m-group every
    tile holds both blocks (the first of each m-group loads A only)."""
    work = {"format": "tlm-workload/1", "name": "both", "seed": 3,
            "layers": [{"name": "g", "op": "gemm", "M": 16, "N": 16, "K": 40}]}
    run = assert_cycle_exact(work, SLOTS[1], tmp_path)
    reused = run.tlm.ops["tile"]["reused"]
    assert np.count_nonzero(reused == 3) == 9 and np.count_nonzero(reused == 2) == 3


@st.composite
def slot_cases(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    work, _ = draw(cases())
    return work, draw(st.sampled_from(SLOTS))


@settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=slot_cases())
def test_slots_random_workloads_are_cycle_exact(case: tuple[dict[str, Any], dict[str, Any]],
                                                 tmp_path_factory: Any) -> None:
    work, hw = case
    _exact(work, hw, tmp_path_factory.mktemp("slots"))


@pytest.mark.parametrize("name", ["builtin:gemm_small", "builtin:dilated_vgg_small"])
def test_slots_with_the_weight_stationary_array_are_exact(name: str, tmp_path: Path) -> None:
    assert _exact(name, {"engine": {"reuse": True, "reuse_slots": 2}, "array": {"dataflow": "ws"}},
                  tmp_path) > 0
