"""Weight stationary (`[array] dataflow = "ws"`): the calibrated TLM against the RTL.

The RTL builds `mac_array_ws` engines (rtl/mac_array_ws.v, DATAFLOW = 1,
TILE_ROWS A rows per tile; single- and double-buffered); the TLM times a tile as ceil(k/R) folds of
2R + C + m - 2 cycles and drains tile_rows rows (docs/microarch.md,
"Weight-stationary dataflow"). On the fixed-latency memory, with the shipped
calibration, every record must agree to the cycle (100.00% end to end, no
per-op error) on the built-in small workloads and on a derandomized sample
of random tile DAGs, gemm stacks and convs over a few hardware variants.
Both models also pass the functional check against numpy, and a
single-buffered RTL trace keeps the timing contract (`tlm.rtl.contract`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.rtl.contract import contract_violations, read_records

from cycle_exact import assert_cycle_exact  # noqa: E402

WS = {"array": {"dataflow": "ws"}}
HARDWARE: list[dict[str, Any]] = [
    WS,
    {"array": {"engines": 3, "rows": 4, "cols": 8, "dataflow": "ws"}, "dma": {"bus_bytes": 64},
     "memory": {"latency_cycles": 2}, "scratchpad": {"bytes": 4096}, "scheduler": {"table_depth": 6}},
    {"array": {"engines": 1, "rows": 2, "cols": 3, "dataflow": "ws"},
     "dma": {"bus_bytes": 16, "max_burst_beats": 4}, "memory": {"latency_cycles": 5},
     "scratchpad": {"bytes": 1500}},
    {"array": {"dataflow": "ws"}, "engine": {"double_buffer": True}},
    {"array": {"engines": 2, "rows": 3, "cols": 4, "dataflow": "ws"}, "engine": {"double_buffer": True},
     "dma": {"bus_bytes": 32}, "memory": {"latency_cycles": 3}, "scratchpad": {"bytes": 3000}},
]


def _exact(workload: Any, overlay: dict[str, Any], tmp: Path) -> None:
    run = assert_cycle_exact(workload, overlay, tmp)
    if not run.arch.engine.double_buffer:  # the checker knows the single-buffered engine's phases
        records, _ = read_records(tmp / "rtl.jsonl")
        assert contract_violations(records, run.program, run.arch) == []


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small", "random_dag"])
def test_builtins_are_cycle_exact(name, tmp_path):
    _exact(f"builtin:{name}", WS, tmp_path)


@pytest.mark.parametrize("variant", [1, 2, 3, 4])
def test_builtin_gemm_is_cycle_exact_on_other_hardware(variant, tmp_path):
    _exact("builtin:gemm_small", HARDWARE[variant], tmp_path)


@pytest.mark.parametrize("name", ["dilated_vgg_small", "random_dag"])
def test_double_buffered_builtins_are_cycle_exact(name, tmp_path):
    _exact(f"builtin:{name}", HARDWARE[3], tmp_path)


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    hw = draw(st.sampled_from(HARDWARE))
    arch: Arch = arch_from_dict(hw)
    cols = arch.array.cols
    kind = draw(st.sampled_from(["dag", "gemm", "conv"]))
    if kind == "dag":
        tiles = []
        for i in range(draw(st.integers(2, 12))):
            window = list(range(max(0, i - 6), i))
            deps = draw(st.lists(st.sampled_from(window), max_size=3, unique=True)) if window else []
            tiles.append({"id": 3 * i + 1, "m": draw(st.integers(1, arch.tile_rows)),
                          "n": draw(st.integers(1, cols)), "k": draw(st.integers(1, min(48, arch.kmax))),
                          "deps": sorted(3 * d + 1 for d in deps)})
        work: dict[str, Any] = {"format": "tlm-workload/1", "name": "ws_dag",
                                "seed": draw(st.integers(0, 99)), "tiles": tiles}
    elif kind == "gemm":
        m, k, layers = draw(st.integers(1, 40)), draw(st.integers(1, 300)), []
        for i in range(draw(st.integers(1, 3))):
            n = draw(st.integers(1, 12))
            layers.append({"name": f"fc{i}", "op": "gemm", "M": m, "N": n, "K": k})
            k = n
        work = {"format": "tlm-workload/1", "name": "ws_gemm", "seed": draw(st.integers(0, 99)),
                "layers": layers}
    else:
        size = draw(st.integers(3, 7))
        work = {"format": "tlm-workload/1", "name": "ws_conv", "seed": draw(st.integers(0, 99)), "layers": [
            {"name": "c1", "op": "conv2d", "in_channels": draw(st.integers(1, 5)),
             "out_channels": draw(st.integers(1, 9)), "height": size, "width": size, "kernel": 3,
             "stride": draw(st.integers(1, 2)), "padding": 1, "dilation": 1, "shift": 4}]}
    return work, hw


@settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_random_workloads_are_cycle_exact(case, tmp_path_factory):
    work, hw = case
    _exact(work, hw, tmp_path_factory.mktemp("ws"))
