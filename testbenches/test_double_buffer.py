"""Double buffering (`[engine] double_buffer = true`): the calibrated TLM against the RTL.

The RTL builds `engine_db` (rtl/engine_db.v) and the two-tiles-per-engine
scheduler with DOUBLE_BUFFER = 1; the TLM runs `DoubleBufferedEngine`. On
the fixed-latency memory both implement the same cycle contract
(docs/microarch.md, "Double buffering"), so with the shipped calibration
every record must agree to the cycle: 100.00% end to end and no per-op
error, on built-in workloads and on a derandomized hypothesis sample of
random tile DAGs and gemm stacks over a few hardware variants. Both models
also pass the functional check against numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict

from cycle_exact import assert_cycle_exact  # noqa: E402

DB = {"engine": {"double_buffer": True}}
HARDWARE: list[dict[str, Any]] = [
    DB,
    {**DB, "array": {"engines": 3, "rows": 4, "cols": 8}, "dma": {"bus_bytes": 64},
     "memory": {"latency_cycles": 2}, "scratchpad": {"bytes": 4096}, "scheduler": {"table_depth": 6}},
    {**DB, "array": {"engines": 1, "rows": 2, "cols": 3}, "dma": {"bus_bytes": 16, "max_burst_beats": 4},
     "memory": {"latency_cycles": 5}},
]


def _exact(workload: Any, overlay: dict[str, Any], tmp: Path) -> None:
    assert_cycle_exact(workload, overlay, tmp)


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small"])
@pytest.mark.parametrize("variant", [0, 1])
def test_builtins_are_cycle_exact(name, variant, tmp_path):
    _exact(f"builtin:{name}", HARDWARE[variant], tmp_path)


def test_random_dag_is_cycle_exact(tmp_path):
    _exact("builtin:random_dag", DB, tmp_path)


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    hw = draw(st.sampled_from(HARDWARE))
    arch: Arch = arch_from_dict(hw)
    rows, cols = arch.array.rows, arch.array.cols
    if draw(st.booleans()):
        count = draw(st.integers(2, 16))
        tiles = []
        for i in range(count):
            window = list(range(max(0, i - 6), i))
            deps = draw(st.lists(st.sampled_from(window), max_size=3, unique=True)) if window else []
            tiles.append({"id": 3 * i + 1, "m": draw(st.integers(1, rows)), "n": draw(st.integers(1, cols)),
                          "k": draw(st.integers(1, min(96, arch.kmax))), "deps": sorted(3 * d + 1 for d in deps)})
        work: dict[str, Any] = {"format": "tlm-workload/1", "name": "db_dag",
                                "seed": draw(st.integers(0, 99)), "tiles": tiles}
    else:
        m, k, layers = draw(st.integers(1, 12)), draw(st.integers(1, 300)), []
        for i in range(draw(st.integers(1, 3))):
            n = draw(st.integers(1, 12))
            layers.append({"name": f"fc{i}", "op": "gemm", "M": m, "N": n, "K": k})
            k = n
        work = {"format": "tlm-workload/1", "name": "db_gemm", "seed": draw(st.integers(0, 99)),
                "layers": layers}
    return work, hw


@settings(max_examples=10, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_random_workloads_are_cycle_exact(case, tmp_path_factory):
    work, hw = case
    _exact(work, hw, tmp_path_factory.mktemp("db"))
