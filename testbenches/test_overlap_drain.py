"""Drain overlap (`[engine] overlap_drain = true`, with double buffering): TLM against RTL.

The RTL builds `engine_db` with OVERLAP_DRAIN = 1 and `mac_array` with
output registers (OVERLAP = 1); the TLM's `DoubleBufferedEngine` frees the
array at the drain start (docs/microarch.md, "Double buffering", drain
overlap). On the fixed-latency memory every record must agree to the cycle,
on the small built-ins and on a derandomized hypothesis sample of layer
stacks over a few hardware variants (compute-bound ones included, where the
overlap changes the cycles); both models also pass the functional check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tlm.arch import arch_from_dict
from tlm.blocks import simulate
from tlm.cli.common import calibrated_base
from tlm.workload import compile_workload

from cycle_exact import assert_cycle_exact  # noqa: E402

OV = {"engine": {"double_buffer": True, "overlap_drain": True}}
HARDWARE: list[dict[str, Any]] = [
    OV,
    # a fast memory: compute-bound, the drain is on the critical path
    {**OV, "array": {"engines": 1, "rows": 4, "cols": 4}, "dma": {"bus_bytes": 64},
     "memory": {"latency_cycles": 1}},
    {**OV, "array": {"engines": 3, "rows": 4, "cols": 8}, "dma": {"bus_bytes": 64},
     "memory": {"latency_cycles": 2}, "scratchpad": {"bytes": 4096}, "scheduler": {"table_depth": 6}},
    {**OV, "array": {"engines": 2, "rows": 1, "cols": 3}, "dma": {"bus_bytes": 16, "max_burst_beats": 4},
     "memory": {"latency_cycles": 5}},
]


def _exact(workload: Any, overlay: dict[str, Any], tmp: Path) -> int:
    """Both models agree to the cycle; returns the cycles the overlap saves in the TLM."""
    run = assert_cycle_exact(workload, overlay, tmp)
    plain = arch_from_dict({**overlay, "engine": {"double_buffer": True}}, "<v>", base=calibrated_base())
    return simulate(compile_workload(workload, plain), plain, functional=False).cycles - run.result.cycles


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small"])
@pytest.mark.parametrize("variant", [0, 1])
def test_builtins_are_cycle_exact(name, variant, tmp_path):
    saved = _exact(f"builtin:{name}", HARDWARE[variant], tmp_path)
    assert saved >= 0
    if variant == 1:  # compute-bound: the overlap must show
        assert saved > 0


def test_random_dag_is_cycle_exact(tmp_path):
    _exact("builtin:random_dag", OV, tmp_path)


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    hw = draw(st.sampled_from(HARDWARE))
    m, k, layers = draw(st.integers(1, 12)), draw(st.integers(1, 300)), []
    for i in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 12))
        layers.append({"name": f"fc{i}", "op": "gemm", "M": m, "N": n, "K": k})
        k = n
    work = {"format": "tlm-workload/1", "name": "ov_gemm", "seed": draw(st.integers(0, 99)),
            "layers": layers}
    return work, hw


@settings(max_examples=10, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_random_workloads_are_cycle_exact(case, tmp_path_factory):
    work, hw = case
    _exact(work, hw, tmp_path_factory.mktemp("ov"))
