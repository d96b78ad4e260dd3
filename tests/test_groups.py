"""Grouped (depthwise) convolution and `fresh_input` layers.

The numpy reference is checked against a direct loop-nest convolution; the
segment lists against the reference; dependencies against a brute-force
receptive-field oracle; MACs against the grouped formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, Array, Dma, Scratchpad
from tlm.errors import InputError
from tlm.workload import compile_workload, run_program_functionally
from tlm.workload import data as wdata
from tlm.workload.program import OPS, EntryKind, TileProgram
from tlm.workload.reference import relu_shift_int8


def small_arch(rows: int, cols: int, kmax: int, bus: int) -> Arch:
    return Arch(array=Array(engines=1, rows=rows, cols=cols),
                scratchpad=Scratchpad(bytes=4 * rows * cols + (rows + cols) * kmax), dma=Dma(bus_bytes=bus))


def wl(*layers: dict[str, Any], seed: int = 5) -> dict[str, Any]:
    return {"format": "tlm-workload/1", "name": "g", "seed": seed, "layers": list(layers)}


def conv(cin: int, cout: int, h: int, w: int, kernel: int, groups: int, **kw: Any) -> dict[str, Any]:
    return {"op": "conv2d", "in_channels": cin, "out_channels": cout, "height": h, "width": w,
            "kernel": kernel, "groups": groups, **kw}


def out_size(layer: dict[str, Any], size: int) -> int:
    d, k, p, s = layer.get("dilation", 1), layer["kernel"], layer.get("padding", 0), layer.get("stride", 1)
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def naive_grouped_conv(x: np.ndarray, w_t: np.ndarray, layer: dict[str, Any]) -> np.ndarray:
    """Direct loops over output pixel, output channel and tap (int64, wrapped to int32)."""
    h, w, cin, cout, g = layer["height"], layer["width"], layer["in_channels"], layer["out_channels"], \
        layer["groups"]
    k, s, p, d = layer["kernel"], layer.get("stride", 1), layer.get("padding", 0), layer.get("dilation", 1)
    gi, go = cin // g, cout // g
    img = x.reshape(h, w, cin).astype(np.int64)
    wt = w_t.astype(np.int64).reshape(cout, k, k, gi)  # K ordered (ky, kx, c)
    oh, ow = out_size(layer, h), out_size(layer, w)
    out = np.zeros((oh * ow, cout), dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            for co in range(cout):
                grp = co // go
                acc = 0
                for ky in range(k):
                    for kx in range(k):
                        iy, ix = oy * s - p + ky * d, ox * s - p + kx * d
                        if 0 <= iy < h and 0 <= ix < w:
                            acc += int(img[iy, ix, grp * gi:(grp + 1) * gi] @ wt[co, ky, kx])
                out[oy * ow + ox, co] = acc
    return out.astype(np.int32)


def test_reference_equals_naive_grouped_conv() -> None:
    """Depthwise then grouped: the reference equals a direct convolution per group."""
    l0 = conv(6, 6, 5, 4, 3, 6, padding=1, shift=4)
    l1 = conv(6, 4, 5, 4, 2, 2, stride=2, dilation=1)
    prog = compile_workload(wl(l0, l1), Arch())
    x = wdata.layer_input(5, 5 * 4, 6)
    y0 = relu_shift_int8(naive_grouped_conv(x, wdata.layer_weights_t(5, 0, 6, 9), l0), 4)
    np.testing.assert_array_equal(prog.expected["layer0"], y0)
    y1 = naive_grouped_conv(y0, wdata.layer_weights_t(5, 1, 4, 2 * 2 * 3), l1)
    np.testing.assert_array_equal(prog.expected["layer1"], y1)


def test_macs_count_one_group_of_input_channels() -> None:
    """MACs = out pixels * kh * kw * (cin / groups) * cout, and depthwise K = kh * kw."""
    prog = compile_workload(wl(conv(32, 32, 8, 8, 3, 32, padding=1), conv(32, 64, 8, 8, 1, 4)), Arch(),
                            functional=False)
    assert prog.info["macs"] == 64 * 9 * 1 * 32 + 64 * 1 * 8 * 64
    layers = prog.info["layers"]
    assert (layers[0]["K"], layers[0]["groups"], layers[1]["K"]) == (9, 32, 8)
    assert "groups" not in compile_workload(wl(conv(4, 4, 3, 3, 1, 1)), Arch(), functional=False).info["layers"][0]


@pytest.mark.parametrize("layer, where, what", [
    (conv(6, 4, 3, 3, 1, 4), "layers[0].groups", "4 does not divide in_channels = 6"),
    (conv(4, 6, 3, 3, 1, 4), "layers[0].groups", "4 does not divide out_channels = 6"),
    (conv(4, 4, 3, 3, 1, 0), "layers[0].groups", "must be in 1.."),
    ({"op": "gemm", "M": 2, "N": 2, "K": 2, "groups": 2}, "layers[0].groups", "unknown key for op gemm"),
    ({"op": "gemm", "M": 2, "N": 2, "K": 2, "fresh_input": 1}, "layers[0].fresh_input", "must be true or false"),
])
def test_bad_groups_name_the_field(layer: dict[str, Any], where: str, what: str) -> None:
    with pytest.raises(InputError) as e:
        compile_workload(wl(layer), Arch())
    assert e.value.where == where and what in e.value.what


def test_unchained_layer_needs_fresh_input() -> None:
    """Without `fresh_input` a mismatched layer is refused; with it, it reads its own input."""
    a = {"op": "gemm", "M": 3, "N": 5, "K": 7}
    b = {"op": "gemm", "M": 4, "N": 2, "K": 9}
    with pytest.raises(InputError, match="previous layer's output"):
        compile_workload(wl(a, b), Arch())
    prog = compile_workload(wl(a, {**b, "fresh_input": True}), Arch())
    x1 = wdata.layer_input(5, 4, 9, 1)
    want = (x1.astype(np.int64) @ wdata.layer_weights_t(5, 1, 2, 9).T.astype(np.int64)).astype(np.int32)
    np.testing.assert_array_equal(prog.expected["layer1"], want)
    np.testing.assert_array_equal(run_program_functionally(prog)["layer1"], want)
    # nothing of layer 1 waits for layer 0
    first1 = prog.info["layers"][1]["first_entry"]
    assert all(int(p) >= first1 for e in range(first1, prog.entries) for p in prog.preds.of(e))


@st.composite
def grouped_stacks(draw: st.DrawFn) -> dict[str, Any]:
    """1-3 conv layers with groups (depthwise among them), some fresh inputs, maybe a flatten gemm."""
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c = draw(st.integers(1, 3)) * draw(st.sampled_from([1, 2, 3]))
    layers: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 3))):
        fresh = i > 0 and draw(st.booleans())
        if fresh:
            h, w, c = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 6))
        divisors = [g for g in range(1, c + 1) if c % g == 0]
        g = draw(st.sampled_from(divisors))
        cout = g * draw(st.integers(1, 3))
        kernel, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        padding = draw(st.integers(0, 2))
        if min(h, w) + 2 * padding < dilation * (kernel - 1) + 1:
            kernel = 1
        layer = conv(c, cout, h, w, kernel, g, padding=padding, dilation=dilation,
                     stride=draw(st.integers(1, 2)), shift=draw(st.integers(0, 8)), name=f"l{i}")
        if fresh:
            layer["fresh_input"] = True
        if draw(st.booleans()):
            layer["deformable"] = {"max_offset": draw(st.integers(0, 1))}
        layers.append(layer)
        h, w, c = out_size(layer, h), out_size(layer, w), cout
    if draw(st.booleans()):
        layers.append({"name": "fc", "op": "gemm", "M": 1, "N": draw(st.integers(1, 5)), "K": h * w * c})
    return {"format": "tlm-workload/1", "name": "rand", "seed": draw(st.integers(0, 2**32)), "layers": layers}


@st.composite
def arches(draw: st.DrawFn) -> Arch:
    return small_arch(draw(st.integers(1, 4)), draw(st.integers(1, 4)),
                      draw(st.sampled_from([2, 5, 8, 64])), draw(st.sampled_from([1, 4, 16])))


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle_preds(w: dict[str, Any], prog: TileProgram, arch: Arch) -> list[set[int]]:
    """Per tile: the previous K-chunk, and the final entries of the previous layer's m-groups
    that produced an input byte of the tile's group and K-chunk (none for a fresh input)."""
    rows = arch.array.rows
    info = prog.info["layers"]
    result: list[set[int]] = [set() for _ in range(prog.entries)]
    for li, (layer, lay) in enumerate(zip(w["layers"], info)):
        per = lay["n_groups"] * lay["k_chunks"] + (1 if lay["joins"] else 0)
        groups = layer.get("groups", 1)
        ngg = lay["n_groups"] // groups
        if lay["joins"]:
            for mg in range(lay["m_groups"]):
                base = lay["first_entry"] + mg * per
                result[base + per - 1] = {base + ng * lay["k_chunks"] + lay["k_chunks"] - 1
                                          for ng in range(lay["n_groups"])}
        offs = None
        if "deformable" in layer:
            offs = wdata.deformable_offsets(w["seed"], li, lay["m_groups"], layer["deformable"]["max_offset"])
        prev = info[li - 1] if li and not layer.get("fresh_input") else None
        for mg in range(lay["m_groups"]):
            for c in range(lay["k_chunks"]):
                k0, k1 = c * lay["chunk"], min(lay["K"], (c + 1) * lay["chunk"])
                needed: set[int] = set()  # the same for every group: channels never matter
                for r in range(mg * rows, min(lay["M"], (mg + 1) * rows)):
                    for kk in range(k0, k1):
                        if prev is None:
                            continue
                        if layer["op"] == "gemm":
                            pix = (r * lay["K"] + kk) // prev["N"]
                        else:
                            tap = kk // (layer["in_channels"] // groups)
                            oy, ox = divmod(r, lay["out_w"])
                            dy, dx = (int(offs[mg, 0]), int(offs[mg, 1])) if offs is not None else (0, 0)
                            iy = oy * layer.get("stride", 1) - layer.get("padding", 0) \
                                + tap // layer["kernel"] * layer.get("dilation", 1) + dy
                            ix = ox * layer.get("stride", 1) - layer.get("padding", 0) \
                                + tap % layer["kernel"] * layer.get("dilation", 1) + dx
                            if not (0 <= iy < layer["height"] and 0 <= ix < layer["width"]):
                                continue
                            pix = iy * layer["width"] + ix
                        pper = prev["n_groups"] * prev["k_chunks"] + (1 if prev["joins"] else 0)
                        needed.add(prev["first_entry"] + (pix // rows) * pper + pper - 1)
                for ng in range(groups * ngg):
                    e = lay["first_entry"] + mg * per + ng * lay["k_chunks"] + c
                    result[e] = needed | ({e - 1} if c else set())
    return result


@SETTINGS
@given(grouped_stacks(), arches())
def test_grouped_segments_execute_to_reference(w: dict[str, Any], arch: Arch) -> None:
    """Segment lists on a byte memory give the reference; MACs and n of every tile follow the groups."""
    prog = compile_workload(w, arch)
    got = run_program_functionally(prog)
    for name, want in prog.expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    macs = 0
    for layer in w["layers"]:
        if layer["op"] == "gemm":
            macs += layer["M"] * layer["N"] * layer["K"]
        else:
            pixels = out_size(layer, layer["height"]) * out_size(layer, layer["width"])
            macs += pixels * layer["kernel"] ** 2 * layer["in_channels"] // layer["groups"] * layer["out_channels"]
    assert prog.info["macs"] == macs
    tiles = prog.kind == EntryKind.TILE
    assert int(prog.n[tiles].max()) <= arch.array.cols


@SETTINGS
@given(grouped_stacks(), arches())
def test_grouped_dependencies_and_beats(w: dict[str, Any], arch: Arch) -> None:
    """Preds equal the receptive-field oracle; timing-only beats equal the functional ones."""
    prog = compile_workload(w, arch)
    want = oracle_preds(w, prog, arch)
    for e in range(prog.entries):
        assert set(prog.preds.of(e).tolist()) == want[e], e
    fast = compile_workload(w, arch, functional=False)
    for op in OPS:
        assert prog.beats[op].tolist() == fast.beats[op].tolist()
        assert prog.bytes[op].tolist() == fast.bytes[op].tolist()


def test_depthwise_runs_on_rtl(tmp_path: Path) -> None:
    """A small depthwise + grouped pair computes numpy's results on the RTL too."""
    pytest.importorskip("cocotb")
    from tlm.cli.common import calibrated_base
    from tlm.rtl.run import run_rtl

    arch = calibrated_base()
    prog = compile_workload(wl(conv(4, 4, 3, 3, 3, 4, padding=1, shift=3), conv(4, 4, 3, 3, 1, 2)), arch)
    result = run_rtl(prog, arch, tmp_path / "g.jsonl", progress=False)
    assert result.functional == "pass", result.mismatches


def test_predictor_features_count_one_segment_per_tap_of_a_group() -> None:
    """A depthwise A row gathers kernel^2 separate channel slices, not kernel contiguous runs."""
    from tlm.predict.features import layer_features

    arch = Arch()
    feats = layer_features(wl(conv(16, 16, 8, 8, 3, 16, padding=1)), arch)[0]
    rows_used = 64 / feats["m_groups"]
    assert feats["a_beats"] / rows_used >= 9
    # the actual program agrees: without padding every A row of a tile is 9 segments
    prog = compile_workload(wl(conv(16, 16, 8, 8, 3, 16)), arch)
    assert prog.segments is not None
    seg = prog.segments["load_a"]
    assert int(seg.ptr[1] - seg.ptr[0]) == arch.array.rows * 9


def test_budget_bounds_grouped_segments_closely() -> None:
    """The memory estimate's segment count bounds the real one without counting every
    group's pieces once per n-group of every other group (which refused real depthwise layers)."""
    from tlm.workload.budget import layer_pieces, layer_segments
    from tlm.workload.layout import plan_layers
    from tlm.workload.spec import parse_workload

    arch = Arch()
    w = wl(conv(64, 64, 12, 12, 3, 64))
    prog = compile_workload(w, arch)
    assert prog.segments is not None
    real = sum(int(s.ptr[-1]) for s in prog.segments.values())
    spec = parse_workload(w, "w", arch)
    assert spec.layers is not None
    plan = plan_layers(spec.layers, arch).plans[0]
    estimate = layer_segments(plan, layer_pieces(plan))
    assert real <= estimate <= 2 * real
