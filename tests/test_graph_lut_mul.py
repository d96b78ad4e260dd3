"""The `lut` and `mul` graph ops (element-wise activations, gates) against numpy written out here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.cli import main
from tlm.workload import compile_workload, data, run_program_functionally
from tlm.workload.program import EntryKind
from tlm.workload.vector_ops import LUT_FUNCTIONS, VectorOp, apply, lut_table

SEED = 11


def _graph(h: int, w: int, c: int, layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": "tlm-workload/2", "name": "g", "seed": SEED,
            "input": {"name": "x", "height": h, "width": w, "channels": c}, "layers": layers}


def _mul(a: np.ndarray, b: np.ndarray, shift: int) -> np.ndarray:
    """a * b / 2^shift rounded half to even, saturated: exact in float64 for int8 products."""
    return np.clip(np.round(a.astype(np.float64) * b.astype(np.float64) / 2.0 ** shift), -128, 127).astype(np.int8)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 9), st.integers(0, 15), st.booleans(), st.randoms(use_true_random=False))
def test_mul_rounds_half_to_even_and_saturates(pixels: int, c: int, shift: int, broadcast: bool, rnd: Any) -> None:
    rng = np.random.default_rng(rnd.randint(0, 2**32))
    a = rng.integers(-128, 128, size=(pixels, c), dtype=np.int8)
    b = rng.integers(-128, 128, size=(1 if broadcast else pixels, c), dtype=np.int8)
    v = VectorOp("mul", (c, c), pixels, 1, pixels, 1, c, shift=shift, broadcast=broadcast)
    np.testing.assert_array_equal(apply(v, [a, b], 0, pixels), _mul(a, np.broadcast_to(b, a.shape), shift))


def test_lut_reads_the_loaded_table_and_the_named_tables_are_what_they_say() -> None:
    x = np.arange(-128, 128, dtype=np.int8).reshape(-1, 4)
    table = np.random.default_rng(1).integers(-128, 128, 256, dtype=np.int8)
    v = VectorOp("lut", (4,), 64, 1, 64, 1, 4, table=tuple(range(-128, 128)))
    np.testing.assert_array_equal(apply(v, [x, table.reshape(1, -1)], 0, 64).ravel(), table)
    np.testing.assert_array_equal(apply(v, [x], 0, 64).ravel(), np.arange(-128, 128))  # its own table
    sig = np.array(lut_table("sigmoid", 4, 7))
    assert (sig[128], sig[0], sig[255]) == (64, 0, 127) and (np.diff(sig) >= 0).all()
    relu_like = np.array(lut_table("hardswish", 3, 3))
    assert relu_like[128 + 48] == 48 and relu_like[128 - 48] == 0  # x >= 3: x; x <= -3: 0
    tanh = np.array(lut_table("tanh", 4, 7))
    k = np.arange(1, 128)
    assert (tanh[128 + k] == np.minimum(127, -tanh[128 - k])).all()  # odd, but for the int8 range
    assert set(LUT_FUNCTIONS) == {"sigmoid", "tanh", "hardsigmoid", "hardswish", "silu", "gelu", "erf"}


def _se_block(h: int, w: int, c: int, table: list[int], shift: int) -> dict[str, Any]:
    """x -> lut -> mul(x, lut) (element-wise) -> a one-pixel max gate -> mul by the gate (broadcast)."""
    return _graph(h, w, c, [
        {"name": "t", "op": "lut", "inputs": ["x"], "table": table},
        {"name": "m", "op": "mul", "inputs": ["x", "t"], "shift": shift},
        {"name": "g", "op": "maxpool", "inputs": ["m"], "kernel": max(h, w), "stride": max(h, w),
         "padding": 0} if h == w else {"name": "g", "op": "globalavgpool", "inputs": ["m"]},
        {"name": "se", "op": "mul", "inputs": ["m", "g"], "shift": shift}])


ARCHS = [{}, {"array": {"engines": 1, "rows": 3, "cols": 5}, "dma": {"bus_bytes": 4}},
         {"array": {"rows": 8, "cols": 8}, "vector": {"lanes": 3}}, {"engine": {"double_buffer": True}}]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 12), st.integers(0, 9), st.sampled_from(ARCHS),
       st.randoms(use_true_random=False))
def test_lut_and_mul_equal_numpy_on_every_arch(h: int, w: int, c: int, shift: int, over: dict[str, Any],
                                               rnd: Any) -> None:
    """The TLM's results (and the flat-memory replay of the segment lists) equal numpy on the seeded input."""
    table = np.random.default_rng(rnd.randint(0, 2**32)).integers(-128, 128, 256).tolist()
    arch = arch_from_dict(over)
    program = compile_workload(_se_block(h, w, c, table, shift), arch)
    x = data.layer_input(SEED, h * w, c)
    t = np.array(table, dtype=np.int8)[x.astype(np.int16) + 128]
    m = _mul(x, t, shift)
    g = m.max(axis=0, keepdims=True) if h == w else \
        np.clip(m.astype(np.int64).sum(axis=0, keepdims=True) // (h * w), -128, 127).astype(np.int8)
    want = {"t": t, "m": m, "g": g, "se": _mul(m, np.broadcast_to(g, m.shape), shift)}
    for name, value in want.items():
        np.testing.assert_array_equal(program.expected[name], value, err_msg=name)
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]
    replay = run_program_functionally(program, arch)
    np.testing.assert_array_equal(replay["se"], want["se"])


def test_every_lut_entry_loads_the_table_and_a_gate_loads_one_pixel() -> None:
    arch = Arch()
    rows = arch.tile_rows
    program = compile_workload(_se_block(6, 6, 8, list(range(-128, 128)), 7), arch)
    assert program.segments is not None
    layer = {r["name"]: i for i, r in enumerate(program.info["layers"])}  # type: ignore[union-attr]
    seg = program.segments["load_a"]
    for e in np.flatnonzero((program.kind == EntryKind.VEC) & (program.layer == layer["t"])).tolist():
        lengths, local = seg.length[seg.range(e)].tolist(), seg.local_addr[seg.range(e)].tolist()
        assert lengths == [int(program.m[e]) * 8, 256] and local == [0, int(program.m[e]) * 8]
        assert int(program.bytes["load_a"][e]) == int(program.m[e]) * 8 + 256
    for e in np.flatnonzero((program.kind == EntryKind.VEC) & (program.layer == layer["se"])).tolist():
        assert seg.length[seg.range(e)].tolist() == [int(program.m[e]) * 8, 8]
    # the gate's entry waits for the gate, every entry of `se` for the m-groups it reads
    gate = int(np.flatnonzero(program.layer == layer["g"])[0])
    first_se = int(np.flatnonzero(program.layer == layer["se"])[0])
    assert gate in program.preds.of(first_se).tolist()
    assert -(-36 // rows) == int((program.layer == layer["se"]).sum())


def test_a_mul_costs_two_elements_per_output_like_add() -> None:
    from tlm.blocks.vector import vector_cycles

    arch = arch_from_dict({"vector": {"lanes": 4, "latency_cycles": 2}})
    program = compile_workload(_se_block(4, 4, 8, list(range(-128, 128)), 7), arch)
    cycles = vector_cycles(arch, program)
    layer = {r["name"]: i for i, r in enumerate(program.info["layers"])}  # type: ignore[union-attr]
    for name, per in (("t", 1), ("m", 2), ("se", 2)):
        e = int(np.flatnonzero(program.layer == layer[name])[0])
        assert cycles[e] == 2 + -(-int(program.m[e]) * 8 * per // 4), name


def _write(tmp_path: Path, obj: dict[str, Any]) -> Path:
    f = tmp_path / "w.json"
    f.write_text(json.dumps(obj))
    return f


@pytest.mark.parametrize("layer,where,what", [
    ({"op": "lut", "inputs": ["x"]}, "layers[0]", "exactly one of table"),
    ({"op": "lut", "inputs": ["x"], "fn": "sigmoid", "table": [0] * 256}, "layers[0]", "exactly one of table"),
    ({"op": "lut", "inputs": ["x"], "fn": "relu"}, "layers[0].fn", "must be one of sigmoid"),
    ({"op": "lut", "inputs": ["x"], "fn": "tanh", "in_shift": 16}, "layers[0].in_shift", "must be in 0..15"),
    ({"op": "lut", "inputs": ["x"], "fn": "gelu", "out_shift": -1}, "layers[0].out_shift", "must be in 0..15"),
    ({"op": "lut", "inputs": ["x"], "table": [0] * 255}, "layers[0].table", "list of 256 integers"),
    ({"op": "lut", "inputs": ["x"], "table": "abc"}, "layers[0].table", "list of 256 integers"),
    ({"op": "lut", "inputs": ["x"], "table": [0] * 255 + [128]}, "layers[0].table[255]", "in -128..127"),
    ({"op": "lut", "inputs": ["x"], "table": [True] + [0] * 255}, "layers[0].table[0]", "in -128..127"),
    ({"op": "lut", "inputs": ["x"], "table": [0] * 256, "in_shift": 2}, "layers[0].table", "go with fn"),
    ({"op": "lut", "inputs": ["x", "x"], "fn": "tanh"}, "layers[0].inputs", "takes 1 inputs"),
    ({"op": "mul", "inputs": ["x"]}, "layers[0].inputs", "takes 2 inputs"),
    ({"op": "mul", "inputs": ["x", "x"], "shift": 16}, "layers[0].shift", "must be in 0..15"),
    ({"op": "mul", "inputs": ["x", "p"]}, "layers[1].inputs", "expected 6x6x8 or 1x1x8"),
])
def test_bad_lut_and_mul_layers_exit_2_with_one_line(tmp_path: Path, capsys: Any, layer: dict[str, Any],
                                                     where: str, what: str) -> None:
    layers = [{"name": "y", **layer}]
    if "p" in layer["inputs"]:  # a 3x3 tensor: neither x's shape nor one pixel
        layers.insert(0, {"name": "p", "op": "maxpool", "inputs": ["x"], "kernel": 2})
    f = _write(tmp_path, _graph(6, 6, 8, layers))
    assert main(["sim", "-w", str(f), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {f}: {where}: ") and what in err, err


def test_efficientnet_b0_small_runs_functionally() -> None:
    from tlm.workload import zoo

    arch = Arch()
    program = compile_workload(zoo.efficientnet_b0(32, 8), arch)
    ops = {v.op for v in program.vector_ops.values()}
    assert {"lut", "mul", "globalavgpool", "add"} <= ops
    assert any(v.broadcast for v in program.vector_ops.values() if v.op == "mul")
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]
