"""The int8 store modes on the RTL: no ReLU (signed int8) and round half to even.

Graph workloads of MAC layers only (the RTL has no vector unit) whose layers
store with `relu: false` and/or `round: true`, so the next layer's A operand
is signed: the RTL passes the functional check against numpy and agrees with
the calibrated TLM to the cycle, single- and double-buffered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tlm.workload.program import StoreMode

from cycle_exact import assert_cycle_exact  # noqa: E402


def _workload(relu: bool, rnd: bool, shift: int = 5) -> dict[str, Any]:
    keys = {"relu": relu, "round": rnd, "shift": shift}
    return {"format": "tlm-workload/2", "name": "store_modes", "seed": 11,
            "input": {"name": "input", "height": 4, "width": 4, "channels": 8},
            "layers": [
                {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3,
                 "padding": 1, **keys},
                {"name": "c2", "op": "conv2d", "inputs": ["c1"], "out_channels": 6, "kernel": 1, **keys},
                {"name": "fc", "op": "gemm", "inputs": ["c2"], "N": 5},
            ]}


@pytest.mark.parametrize("relu,rnd", [(False, False), (True, True), (False, True)])
@pytest.mark.parametrize("overlay", [{}, {"engine": {"double_buffer": True}}])
def test_store_modes_match_numpy_and_the_tlm(tmp_path: Path, relu: bool, rnd: bool,
                                             overlay: dict[str, Any]) -> None:
    run = assert_cycle_exact(_workload(relu, rnd), overlay, tmp_path)
    assert StoreMode.of(relu, rnd) in set(run.program.store_mode.tolist())
    if not relu:
        assert (run.program.expected["c1"] < 0).any()
    assert np.asarray(run.program.expected["fc"]).dtype == np.int32


@pytest.mark.parametrize("shift", [0, 1, 13, 31])
def test_rounding_at_extreme_shifts(tmp_path: Path, shift: int) -> None:
    """Shift 0 saturates both ways, 1 rounds every odd accumulator (a tie), 31 leaves only 0 and +-1."""
    run = assert_cycle_exact(_workload(False, True, shift), {}, tmp_path)
    c1 = run.program.expected["c1"]
    if shift == 0:
        assert (c1 == 127).any() and (c1 == -128).any()
