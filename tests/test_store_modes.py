"""The int8 store modes: floor shift or round half to even, with or without ReLU.

`store_int8` is checked against exact rational arithmetic; graph workloads with
the `relu` / `round` keys run on both TLM engines and match the numpy
reference; defaults leave programs unchanged; the RTL entry word carries the
mode in bits 2-4.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.blocks.mac_array import relu_shift_int8
from tlm.cli import main
from tlm.rtl.image import entry_slots
from tlm.workload import compile_workload
from tlm.workload.program import StoreMode, store_int8
from tlm.workload.reference import run_program_functionally

ARCH = Arch()
INT32 = st.integers(-(1 << 31), (1 << 31) - 1)


def _exact(acc: int, mode: StoreMode, shift: int) -> int:
    q = Fraction(acc, 1 << shift)
    v = round(q) if mode in (StoreMode.RELU_ROUND_INT8, StoreMode.ROUND_INT8) else q.__floor__()
    lo = 0 if mode in (StoreMode.RELU_SHIFT_INT8, StoreMode.RELU_ROUND_INT8) else -128
    return max(lo, min(127, v))


@given(st.lists(INT32, min_size=1, max_size=20), st.integers(0, 31),
       st.sampled_from([m for m in StoreMode if m != StoreMode.INT32]))
def test_store_int8_is_exact(accs: list[int], shift: int, mode: StoreMode) -> None:
    acc = np.array(accs, dtype=np.int32)
    got = store_int8(acc, mode, shift)
    assert got.dtype == np.int8
    assert got.tolist() == [_exact(a, mode, shift) for a in accs]


def test_rounding_is_half_to_even() -> None:
    acc = np.array([1, 2, 3, 5, 6, 7, -1, -2, -3, -5, -6, -7], dtype=np.int32)
    # acc / 4: 0.25 0.5 0.75 1.25 1.5 1.75 and their negatives
    assert store_int8(acc, StoreMode.ROUND_INT8, 2).tolist() == [0, 0, 1, 1, 2, 2, 0, 0, -1, -1, -2, -2]
    assert store_int8(acc, StoreMode.SHIFT_INT8, 2).tolist() == [0, 0, 0, 1, 1, 1, -1, -1, -1, -2, -2, -2]
    assert store_int8(acc, StoreMode.RELU_ROUND_INT8, 2).tolist() == [0, 0, 1, 1, 2, 2] + [0] * 6


@given(st.lists(INT32, min_size=1, max_size=20), st.integers(0, 31))
def test_relu_shift_mode_equals_the_engines_fast_path(accs: list[int], shift: int) -> None:
    acc = np.array(accs, dtype=np.int32)
    assert store_int8(acc, StoreMode.RELU_SHIFT_INT8, shift).view(np.uint8).tolist() == \
        relu_shift_int8(acc, shift).tolist()


def _graph(relu: Any = None, rnd: Any = None, shift: int = 6) -> dict[str, Any]:
    keys: dict[str, Any] = {"shift": shift}
    if relu is not None:
        keys["relu"] = relu
    if rnd is not None:
        keys["round"] = rnd
    return {"format": "tlm-workload/2", "name": "g", "seed": 3,
            "input": {"name": "input", "height": 5, "width": 5, "channels": 8},
            "layers": [
                {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3,
                 "padding": 1, **keys},
                {"name": "c2", "op": "conv2d", "inputs": ["c1"], "out_channels": 8, "kernel": 3,
                 "padding": 1, **keys},
                {"name": "add", "op": "add", "inputs": ["c2", "input"]},
                {"name": "fc", "op": "gemm", "inputs": ["add"], "N": 6, **keys},
                {"name": "out", "op": "gemm", "inputs": ["fc"], "N": 4},
            ]}


MODES = [(False, False, StoreMode.SHIFT_INT8), (True, True, StoreMode.RELU_ROUND_INT8),
         (False, True, StoreMode.ROUND_INT8)]


@pytest.mark.parametrize("relu,rnd,mode", MODES)
@pytest.mark.parametrize("overlay", [{}, {"engine": {"double_buffer": True}}, {"array": {"dataflow": "ws"}}])
def test_graph_store_modes_run_functionally(relu: bool, rnd: bool, mode: StoreMode,
                                            overlay: dict[str, Any]) -> None:
    arch = arch_from_dict(overlay)
    program = compile_workload(_graph(relu, rnd), arch)
    assert mode in set(program.store_mode.tolist())
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]
    got = run_program_functionally(program, arch)
    for name, want in program.expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    if not relu:  # signed int8 reaches the next layer and the vector unit
        assert (program.expected["c1"] < 0).any() and (program.expected["fc"] < 0).any()


def test_relu_false_and_round_change_the_result() -> None:
    base = compile_workload(_graph(), ARCH).expected
    signed = compile_workload(_graph(relu=False), ARCH).expected
    rounded = compile_workload(_graph(rnd=True), ARCH).expected
    assert (base["c1"] >= 0).all() and not np.array_equal(base["c1"], signed["c1"])
    assert not np.array_equal(base["c1"], rounded["c1"])


def test_defaults_keep_the_program_identical() -> None:
    a = compile_workload(_graph(), ARCH)
    b = compile_workload(_graph(relu=True, rnd=False), ARCH)
    assert set(a.store_mode.tolist()) == {StoreMode.INT32, StoreMode.RELU_SHIFT_INT8}
    assert a.content_hash() == b.content_hash()
    assert compile_workload(_graph(relu=False), ARCH).content_hash() != a.content_hash()


@pytest.mark.parametrize("relu,rnd,mode", MODES + [(True, False, StoreMode.RELU_SHIFT_INT8)])
def test_entry_word_store_bits(relu: bool, rnd: bool, mode: StoreMode) -> None:
    program = compile_workload(_graph(relu, rnd), ARCH)
    assert program.segments is not None
    slots = entry_slots(program, {op: 0 for op in program.segments})
    int8 = program.store_mode != StoreMode.INT32
    bits = (slots[:, 0] >> 2) & 7
    assert set(bits[int8].tolist()) == {1 | ((not relu) << 1) | (rnd << 2)}
    assert set(bits[~int8].tolist()) == {0}


@pytest.mark.parametrize("key,value", [("relu", 1), ("round", "yes"), ("relu", None)])
def test_bad_store_keys_exit_2(tmp_path: Path, capsys: Any, key: str, value: Any) -> None:
    w = _graph()
    w["layers"][1][key] = value
    f = tmp_path / "w.json"
    f.write_text(json.dumps(w))
    assert main(["sim", "-w", str(f), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {f}: layers[1].{key}: must be true or false, got ")
