"""The numpy reference against a naive convolution, and the segment executor's sensitivity."""

from __future__ import annotations

import numpy as np
import pytest

from tlm.arch import Arch
from tlm.workload import compile_workload, run_program_functionally
from tlm.workload.data import deformable_offsets, layer_input, layer_weights_t
from tlm.workload.reference import relu_shift_int8


def naive_conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int, dil: int,
               offsets: np.ndarray | None, rows: int) -> np.ndarray:
    """Direct loops: x [H, W, C] int8, w [N, ky, kx, C] -> int32 [out_h*out_w, N]."""
    h, wd, c = x.shape
    n, kh = w.shape[0], w.shape[1]
    oh = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    out = np.zeros((oh * ow, n), dtype=np.int64)
    for p in range(oh * ow):
        oy, ox = divmod(p, ow)
        dy, dx = offsets[p // rows] if offsets is not None else (0, 0)
        for ky in range(kh):
            for kx in range(kh):
                iy, ix = oy * stride - pad + ky * dil + dy, ox * stride - pad + kx * dil + dx
                if 0 <= iy < h and 0 <= ix < wd:
                    out[p] += w[:, ky, kx, :].astype(np.int64) @ x[iy, ix].astype(np.int64)
    return out.astype(np.int32)


@pytest.mark.parametrize("stride, pad, dil, deform", [(1, 1, 1, None), (2, 1, 1, None), (1, 2, 2, None),
                                                      (1, 0, 3, None), (1, 1, 1, 2), (2, 2, 2, 1)])
def test_reference_matches_naive_conv(stride: int, pad: int, dil: int, deform: int | None) -> None:
    """Two stacked convs computed by the reference equal direct loops (ReLU/shift between)."""
    layer = {"op": "conv2d", "in_channels": 3, "out_channels": 5, "height": 9, "width": 9, "kernel": 3,
             "stride": stride, "padding": pad, "dilation": dil}
    if deform is not None:
        layer["deformable"] = {"max_offset": deform}
    oh = (9 + 2 * pad - 2 * dil - 1) // stride + 1
    wl = {"format": "tlm-workload/1", "seed": 11, "layers": [
        {"name": "a", **layer, "shift": 5},
        {"name": "b", "op": "conv2d", "in_channels": 5, "out_channels": 2, "height": oh, "width": oh,
         "kernel": 3, "padding": 1}]}
    arch = Arch()
    prog = compile_workload(wl, arch)
    rows = arch.array.rows
    x = layer_input(11, 81, 3).reshape(9, 9, 3)
    w = layer_weights_t(11, 0, 5, 27).reshape(5, 3, 3, 3)
    offs = deformable_offsets(11, 0, -(-oh * oh // rows), deform) if deform is not None else None
    a = relu_shift_int8(naive_conv(x, w, stride, pad, dil, offs, rows), 5)
    np.testing.assert_array_equal(prog.expected["a"], a)
    w2 = layer_weights_t(11, 1, 2, 45).reshape(2, 3, 3, 5)
    b = naive_conv(a.reshape(oh, oh, 5), w2, 1, 1, 1, None, rows)
    np.testing.assert_array_equal(prog.expected["b"], b)
    np.testing.assert_array_equal(run_program_functionally(prog)["b"], b)


def test_shift_and_clip() -> None:
    """ReLU, arithmetic shift and saturation to 0..127."""
    acc = np.array([-5, 0, 127, 128, 255, 256, 100_000, -(2**31)], dtype=np.int32)
    assert relu_shift_int8(acc, 1).tolist() == [0, 0, 63, 64, 127, 127, 127, 0]
    assert relu_shift_int8(acc, 0).tolist() == [0, 0, 127, 127, 127, 127, 127, 0]


@pytest.mark.parametrize("op, field", [("load_a", "mem_addr"), ("load_b", "mem_addr"),
                                       ("load_a", "length"), ("store_c", "local_addr")])
def test_executor_detects_a_wrong_segment(op: str, field: str) -> None:
    """Corrupting one segment makes the segment executor disagree with the reference."""
    wl = {"format": "tlm-workload/1", "seed": 4, "layers": [
        {"name": "a", "op": "conv2d", "in_channels": 3, "out_channels": 4, "height": 5, "width": 5,
         "kernel": 3, "padding": 1}]}
    prog = compile_workload(wl, Arch())
    seg = prog.segments[op]
    j = int(seg.ptr[3]) + 1 if op == "load_a" else int(seg.ptr[3])
    if field == "length":
        seg.length[j] -= 1
    else:
        getattr(seg, field)[j] += 1
    got = run_program_functionally(prog)
    assert not np.array_equal(got["a"], prog.expected["a"])


def test_timing_only_program_cannot_execute() -> None:
    """run_program_functionally refuses a program without segments."""
    prog = compile_workload("builtin:gemm_small", Arch(), functional=False)
    with pytest.raises(ValueError):
        run_program_functionally(prog)
