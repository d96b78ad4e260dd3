"""Properties of the layers-form lowering on random layer stacks and arches.

The segment-executing path must equal the numpy reference; dependencies must
equal a brute-force receptive-field oracle; beats/bytes must equal a direct
per-segment count; compiling is deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, Array, Dma, Scratchpad
from tlm.workload import compile_workload, run_program_functionally
from tlm.workload.data import deformable_offsets
from tlm.workload.program import OPS, EntryKind, TileProgram


def small_arch(rows: int, cols: int, kmax: int, bus: int) -> Arch:
    return Arch(array=Array(engines=1, rows=rows, cols=cols),
                scratchpad=Scratchpad(bytes=4 * rows * cols + (rows + cols) * kmax), dma=Dma(bus_bytes=bus))


@st.composite
def arches(draw: st.DrawFn) -> Arch:
    return small_arch(draw(st.integers(1, 5)), draw(st.integers(1, 5)),
                      draw(st.sampled_from([3, 7, 10, 16, 64])), draw(st.sampled_from([1, 2, 4, 8, 16])))


@st.composite
def conv_layer(draw: st.DrawFn, name: str, h: int, w: int, cin: int) -> dict[str, Any]:
    kernel = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    extent = dilation * (kernel - 1) + 1
    padding = draw(st.integers(0, extent))
    if min(h, w) + 2 * padding < extent:
        kernel, dilation, extent = 1, 1, 1
    layer = {"name": name, "op": "conv2d", "in_channels": cin, "out_channels": draw(st.integers(1, 9)),
             "height": h, "width": w, "kernel": kernel, "stride": stride, "padding": padding,
             "dilation": dilation, "shift": draw(st.integers(0, 9))}
    if draw(st.booleans()):
        layer["deformable"] = {"max_offset": draw(st.integers(0, 2))}
    return layer


def _out(layer: dict[str, Any]) -> tuple[int, int]:
    ext = layer["dilation"] * (layer["kernel"] - 1) + 1
    return tuple((s + 2 * layer["padding"] - ext) // layer["stride"] + 1 for s in (layer["height"], layer["width"]))


@st.composite
def stacks(draw: st.DrawFn) -> dict[str, Any]:
    """1-3 chained layers: conv and gemm, with flattens and gemm -> conv."""
    count = draw(st.integers(1, 3))
    layers: list[dict[str, Any]] = []
    if draw(st.booleans()):
        h, w, c = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 5))
        layers.append(draw(conv_layer("l0", h, w, c)))
        (h, w), c = _out(layers[-1]), layers[-1]["out_channels"]
    else:
        m, k = draw(st.integers(1, 12)), draw(st.integers(1, 30))
        layers.append({"name": "l0", "op": "gemm", "M": m, "N": draw(st.integers(1, 9)), "K": k})
        h, w, c = m, 1, layers[-1]["N"]
    for i in range(1, count):
        if draw(st.booleans()):
            layers.append(draw(conv_layer(f"l{i}", h, w, c)))
            (h, w), c = _out(layers[-1]), layers[-1]["out_channels"]
        else:
            flat = draw(st.booleans())
            m, k = (1, h * w * c) if flat else (h * w, c)
            layers.append({"name": f"l{i}", "op": "gemm", "M": m, "N": draw(st.integers(1, 9)), "K": k})
            h, w, c = m, 1, layers[-1]["N"]
    return {"format": "tlm-workload/1", "name": "rand", "seed": draw(st.integers(0, 2**32)), "layers": layers}


def oracle_preds(wl: dict[str, Any], prog: TileProgram, arch: Arch) -> list[set[int]]:
    """Brute-force predecessor sets: loop over every row and every K index of each tile."""
    rows, cols = arch.array.rows, arch.array.cols
    info = prog.info["layers"]
    result: list[set[int]] = [set() for _ in range(prog.entries)]
    for li, (layer, lay) in enumerate(zip(wl["layers"], info)):
        per = lay["n_groups"] * lay["k_chunks"] + (1 if lay["joins"] else 0)
        if lay["joins"]:
            for mg in range(lay["m_groups"]):
                base = lay["first_entry"] + mg * per
                result[base + per - 1] = {base + ng * lay["k_chunks"] + lay["k_chunks"] - 1
                                          for ng in range(lay["n_groups"])}
        offs = None
        if layer["op"] == "conv2d" and "deformable" in layer:
            offs = deformable_offsets(wl["seed"], li, lay["m_groups"], layer["deformable"]["max_offset"])
        prev = info[li - 1] if li else None
        for mg in range(lay["m_groups"]):
            for c in range(lay["k_chunks"]):
                needed: set[int] = set()
                k0, k1 = c * lay["chunk"], min(lay["K"], (c + 1) * lay["chunk"])
                for r in range(mg * rows, min(lay["M"], (mg + 1) * rows)):
                    for kk in range(k0, k1):
                        if prev is None:
                            continue
                        if layer["op"] == "gemm":
                            pix = (r * lay["K"] + kk) // prev["N"]
                        else:
                            tap = kk // layer["in_channels"]
                            oy, ox = divmod(r, lay["out_w"])
                            dy, dx = (int(offs[mg, 0]), int(offs[mg, 1])) if offs is not None else (0, 0)
                            iy = oy * layer["stride"] - layer["padding"] + tap // layer["kernel"] * layer["dilation"] + dy
                            ix = ox * layer["stride"] - layer["padding"] + tap % layer["kernel"] * layer["dilation"] + dx
                            if not (0 <= iy < layer["height"] and 0 <= ix < layer["width"]):
                                continue
                            pix = iy * layer["width"] + ix
                        pper = prev["n_groups"] * prev["k_chunks"] + (1 if prev["joins"] else 0)
                        needed.add(prev["first_entry"] + (pix // rows) * pper + pper - 1)
                for ng in range(lay["n_groups"]):
                    e = lay["first_entry"] + mg * per + ng * lay["k_chunks"] + c
                    result[e] = needed | ({e - 1} if c else set())
    assert cols  # (cols only shapes n-groups, already in info)
    return result


def direct_counts(prog: TileProgram, bus: int) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    beats = {op: [0] * prog.entries for op in OPS}
    moved = {op: [0] * prog.entries for op in OPS}
    assert prog.segments is not None
    for op in OPS:
        s = prog.segments[op]
        for e in range(prog.entries):
            for j in range(int(s.ptr[e]), int(s.ptr[e + 1])):
                a, ln = int(s.mem_addr[j]), int(s.length[j])
                if s.zero[j]:
                    beats[op][e] += -(-ln // bus)
                else:
                    beats[op][e] += (a + ln - 1) // bus - a // bus + 1
                    moved[op][e] += ln
    return beats, moved


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(stacks(), arches())
def test_segments_execute_to_reference(wl: dict[str, Any], arch: Arch) -> None:
    """Running the segment lists on a byte memory gives the numpy reference, every layer."""
    prog = compile_workload(wl, arch)
    got = run_program_functionally(prog)
    assert set(got) == set(prog.expected) == {layer["name"] for layer in wl["layers"]}
    for name, want in prog.expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)


@SETTINGS
@given(stacks(), arches())
def test_dependencies_match_oracle(wl: dict[str, Any], arch: Arch) -> None:
    """Preds are earlier entries and equal the brute-force receptive-field sets."""
    prog = compile_workload(wl, arch, functional=False)
    want = oracle_preds(wl, prog, arch)
    for e in range(prog.entries):
        preds = prog.preds.of(e).tolist()
        assert preds == sorted(set(preds)), e
        assert all(p < e for p in preds), e
        assert set(preds) == want[e], (e, preds, want[e])
    # succs is the transpose of preds
    pairs = {(int(p), e) for e in range(prog.entries) for p in prog.preds.of(e)}
    assert pairs == {(e, int(s)) for e in range(prog.entries) for s in prog.succs.of(e)}


@SETTINGS
@given(stacks(), arches())
def test_beats_and_bytes_match_segments(wl: dict[str, Any], arch: Arch) -> None:
    """beats/bytes equal a direct count over the segments; timing-only mode gives the same."""
    prog = compile_workload(wl, arch)
    beats, moved = direct_counts(prog, arch.dma.bus_bytes)
    fast = compile_workload(wl, arch, functional=False)
    assert fast.segments is None and not fast.memory_image
    for op in OPS:
        assert prog.beats[op].tolist() == beats[op] == fast.beats[op].tolist(), op
        assert prog.bytes[op].tolist() == moved[op] == fast.bytes[op].tolist(), op
    joins = prog.kind == EntryKind.JOIN
    assert all(int(prog.beats[op][joins].sum()) == 0 for op in OPS)


@SETTINGS
@given(stacks(), arches())
def test_load_a_segments_are_merged_and_in_lanes(wl: dict[str, Any], arch: Arch) -> None:
    """Each A lane gets exactly k bytes from offset 0; no two neighbours could merge."""
    prog = compile_workload(wl, arch)
    assert prog.segments is not None
    s, kmax = prog.segments["load_a"], arch.kmax
    for e in np.flatnonzero(prog.kind == EntryKind.TILE):
        filled: dict[int, int] = {}
        prev = None
        for j in range(int(s.ptr[e]), int(s.ptr[e + 1])):
            lane, off = divmod(int(s.local_addr[j]), kmax)
            assert filled.get(lane, 0) == off and off + int(s.length[j]) <= kmax
            filled[lane] = off + int(s.length[j])
            cur = (lane, int(s.mem_addr[j]), int(s.length[j]), bool(s.zero[j]))
            if prev is not None and prev[0] == lane:
                mergeable = prev[3] == cur[3] and (cur[3] or prev[1] + prev[2] == cur[1])
                assert not mergeable
            prev = cur
        assert filled == {i: int(prog.k[e]) for i in range(int(prog.m[e]))}


@settings(max_examples=15, deadline=None)
@given(stacks(), arches())
def test_compile_is_deterministic(wl: dict[str, Any], arch: Arch) -> None:
    """Compiling twice gives identical arrays, segments and memory image."""
    a, b = compile_workload(wl, arch), compile_workload(wl, arch)
    for f in ("kind", "tile_id", "layer", "m", "n", "k", "load_c", "store_mode", "shift"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert np.array_equal(a.preds.idx, b.preds.idx) and np.array_equal(a.preds.ptr, b.preds.ptr)
    assert a.segments is not None and b.segments is not None
    for op in OPS:
        for f in ("ptr", "mem_addr", "length", "local_addr", "zero"):
            assert np.array_equal(getattr(a.segments[op], f), getattr(b.segments[op], f))
    assert a.memory_image == b.memory_image and a.info == b.info
