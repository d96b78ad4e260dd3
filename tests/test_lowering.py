"""Unit tests of the layers-form lowering: sizes, receptive fields, chunks, joins, segments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tlm.arch import Arch, Array, Dma, Scratchpad
from tlm.workload import compile_workload, run_program_functionally
from tlm.workload.data import deformable_offsets
from tlm.workload.program import EntryKind, StoreMode, TileProgram
from tlm.workload.segments import segment_beats, unique_sorted
from tlm.workload.spec import conv_out_size

FMT = "tlm-workload/1"


def arch(rows: int = 4, cols: int = 4, kmax: int | None = None, bus: int = 8) -> Arch:
    spad = Scratchpad() if kmax is None else Scratchpad(bytes=4 * rows * cols + (rows + cols) * kmax)
    return Arch(array=Array(engines=1, rows=rows, cols=cols), scratchpad=spad, dma=Dma(bus_bytes=bus))


def conv(name: str, cin: int, cout: int, size: int, **kw: Any) -> dict[str, Any]:
    layer = {"name": name, "op": "conv2d", "in_channels": cin, "out_channels": cout,
             "height": size, "width": size, "kernel": 3}
    layer.update(kw)
    return layer


def workload(*layers: dict[str, Any], seed: int = 1) -> dict[str, Any]:
    return {"format": FMT, "name": "t", "seed": seed, "layers": list(layers)}


def preds(prog: TileProgram, e: int) -> list[int]:
    return prog.preds.of(e).tolist()


@pytest.mark.parametrize("size, kernel, stride, padding, dilation, out", [
    (8, 3, 1, 1, 1, 8), (8, 3, 1, 0, 1, 6), (8, 3, 2, 1, 1, 4), (7, 3, 2, 1, 1, 4),
    (8, 3, 1, 2, 2, 8), (8, 3, 1, 0, 2, 4), (12, 3, 1, 4, 4, 12), (5, 1, 3, 0, 1, 2), (224, 3, 2, 1, 1, 112),
])
def test_conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, out: int) -> None:
    """floor((H + 2p - d(k-1) - 1)/s) + 1, and the compiled layer uses it."""
    assert conv_out_size(size, kernel, stride, padding, dilation) == out
    prog = compile_workload(workload(conv("c", 1, 1, size, kernel=kernel, stride=stride, padding=padding,
                                          dilation=dilation)), Arch(), functional=False)
    assert (prog.info["layers"][0]["out_h"], prog.info["layers"][0]["M"]) == (out, out * out)


# layer 1 is 8x8 with 4 output channels on a 4x4 array: 16 m-groups, one n-group, no joins,
# so the representative of producer m-group p is entry p
@pytest.mark.parametrize("kw, mg, want", [
    ({"padding": 1}, 0, [0, 1, 2, 3]),                     # top-left: row -1 is padding
    ({"padding": 1}, 15, [12, 13, 14, 15]),                # bottom-right, padding below
    ({"padding": 1}, 5, [2, 3, 4, 5, 6, 7]),               # row 2, x 4..7: rows 1..3, x 3..7 (8 is off)
    ({"padding": 2, "dilation": 2}, 0, [0, 1, 4, 5]),      # rows -2, 0, 2; x -2..5
    ({"padding": 0, "dilation": 2}, 0, [0, 1, 4, 5, 8, 9]),  # out 4x4: rows 0, 2, 4; x 0..7
    ({"padding": 1, "stride": 2}, 3, [10, 11, 12, 13, 14, 15]),  # out row 3 reads rows 5..7
])
def test_receptive_field(kw: dict[str, Any], mg: int, want: list[int]) -> None:
    """A tile waits for exactly the producer m-groups its taps read (borders included)."""
    prog = compile_workload(workload(conv("a", 2, 4, 8, kernel=1), conv("b", 4, 4, 8, **kw)), arch(),
                            functional=False)
    first = prog.info["layers"][1]["first_entry"]
    assert preds(prog, first + mg) == want


def test_padding_taps_are_zero_segments_and_need_nothing() -> None:
    """Taps in the padding become zero segments; a group reading only padding waits for nothing."""
    # 1x1 input, 3x3 kernel, padding 1: only the centre tap reads the input
    prog = compile_workload(workload(conv("a", 2, 2, 1, kernel=1), conv("b", 2, 2, 1, padding=1)), arch())
    segs = prog.segments["load_a"]
    r = segs.range(1)
    assert segs.zero[r].tolist() == [True, False, True]
    assert segs.length[r].tolist() == [8, 2, 8]
    assert preds(prog, 1) == [0]
    np.testing.assert_array_equal(run_program_functionally(prog)["b"], prog.expected["b"])
    # 1x1 kernel with padding 1 on a 1x1 input: out 3x3, only pixel 4 reads the input
    prog = compile_workload(workload(conv("a", 2, 2, 1, kernel=1), conv("b", 2, 2, 1, kernel=1, padding=1)),
                            arch())
    assert [preds(prog, e) for e in (1, 2, 3)] == [[], [0], []]
    assert prog.bytes["load_a"].tolist() == [2, 0, 2, 0]


def test_gemm_flatten_depends_on_every_covered_group() -> None:
    """A gemm reading a flattened conv output waits for the m-groups of its K-chunk's bytes."""
    prog = compile_workload(workload(conv("a", 2, 2, 4, kernel=1),
                                     {"name": "fc", "op": "gemm", "M": 1, "N": 3, "K": 32}),
                            arch(rows=2, cols=2, kmax=64), functional=False)
    assert preds(prog, 8) == list(range(8))
    # with 8-byte chunks each chunk reads 4 pixels = 2 producer m-groups
    prog = compile_workload(workload(conv("a", 2, 2, 4, kernel=1),
                                     {"name": "fc", "op": "gemm", "M": 1, "N": 2, "K": 32}),
                            arch(rows=2, cols=2, kmax=8), functional=False)
    assert [preds(prog, 8 + c) for c in range(4)] == [[0, 1], [2, 3, 8], [4, 5, 9], [6, 7, 10]]


def test_k_chunking() -> None:
    """K=36 with kmax=10: 4 chunks of 9, chained, partial sums through memory."""
    prog = compile_workload(workload(conv("a", 4, 3, 5, padding=1)), arch(kmax=10))
    lay = prog.info["layers"][0]
    assert (lay["k_chunks"], lay["chunk"]) == (4, 9)
    assert prog.k[:4].tolist() == [9, 9, 9, 9]
    assert prog.load_c[:4].tolist() == [False, True, True, True]
    assert prog.store_mode[:4].tolist() == [StoreMode.INT32] * 4
    assert [preds(prog, e) for e in range(4)] == [[], [0], [1], [2]]
    # chunk 1 starts in the middle of tap 2 (channels 1..3): pieces cut taps
    segs = prog.segments["load_a"]
    r = segs.range(1)
    assert int(segs.local_addr[r][0]) == 0 and int(segs.length[r].sum()) == 9 * int(prog.m[1])
    np.testing.assert_array_equal(run_program_functionally(prog)["a"], prog.expected["a"])


def test_uneven_chunks() -> None:
    """K=25, kmax=10: ceil(25/3)=9 -> chunks 9, 9, 7."""
    prog = compile_workload(workload({"name": "g", "op": "gemm", "M": 3, "N": 2, "K": 25}), arch(kmax=10))
    assert prog.k.tolist() == [9, 9, 7]
    np.testing.assert_array_equal(run_program_functionally(prog)["g"], prog.expected["g"])


def test_joins() -> None:
    """Joins close m-groups of multi-n-group layers except the last layer."""
    prog = compile_workload(workload(conv("a", 2, 8, 4, padding=1), conv("b", 8, 8, 4, padding=1)), arch(),
                            functional=False)
    kinds = prog.kind.tolist()
    # layer a: 4 m-groups x (2 tiles + join); layer b: 4 x 2 tiles, no joins (last layer)
    assert kinds[:12] == [EntryKind.TILE, EntryKind.TILE, EntryKind.JOIN] * 4
    assert kinds[12:] == [EntryKind.TILE] * 8
    assert preds(prog, 2) == [0, 1] and preds(prog, 5) == [3, 4]
    assert prog.tile_id[2] == -1 and prog.tile_id[3] == 2
    # every tile of b waits on joins only
    assert all(prog.kind[p] == EntryKind.JOIN for e in range(12, 20) for p in preds(prog, e))
    assert prog.info["joins"] == 4 and prog.beats["load_a"][2] == 0


def test_single_n_group_has_no_join() -> None:
    """With one n-group the consumer waits for the final K-chunk tile directly."""
    prog = compile_workload(workload(conv("a", 4, 4, 4, padding=1), conv("b", 4, 4, 4, padding=1)),
                            arch(kmax=10), functional=False)
    assert prog.info["joins"] == 0
    first_b = prog.info["layers"][1]["first_entry"]
    # chunk 0 of m-group 0 holds taps (0, *) only: all in the padding row
    assert preds(prog, first_b) == []
    # chunk 1 holds taps (0,2) part, (1,0), (1,1): row 0 -> m-group 0's final chunk, entry 3
    assert preds(prog, first_b + 1) == [3, first_b]


def test_deformable_offsets() -> None:
    """Offsets lie in [-o, o], depend only on (seed, layer), and move the receptive field."""
    offs = deformable_offsets(3, 1, 500, 2)
    assert offs.min() >= -2 and offs.max() <= 2 and len({tuple(o) for o in offs}) == 25
    np.testing.assert_array_equal(offs, deformable_offsets(3, 1, 500, 2))
    assert not np.array_equal(offs, deformable_offsets(4, 1, 500, 2))
    base = [conv("a", 2, 4, 8, kernel=1), conv("b", 4, 4, 8, padding=1)]
    deform = [base[0], {**base[1], "deformable": {"max_offset": 2}}]
    plain = compile_workload(workload(*base), arch())
    moved = compile_workload(workload(*deform), arch())
    again = compile_workload(workload(*deform), arch())
    np.testing.assert_array_equal(moved.preds.idx, again.preds.idx)
    assert not np.array_equal(plain.preds.idx, moved.preds.idx)
    np.testing.assert_array_equal(run_program_functionally(moved)["b"], moved.expected["b"])


def test_load_a_segments_merge_contiguous_taps() -> None:
    """Interior 3x3 dilation-1 rows need one segment per kernel row (3 taps contiguous)."""
    prog = compile_workload(workload(conv("a", 2, 4, 8, kernel=1), conv("b", 4, 4, 8, padding=1)), arch())
    segs = prog.segments["load_a"]
    e = prog.info["layers"][1]["first_entry"] + 9   # m-group 9: row 4, x 4..7 (x=7 touches padding)
    r = segs.range(e)
    # rows 0..2 (x 4..6): 3 segments of 12 bytes; row 3 (x 7): per kernel row 8 bytes + 4 zero bytes
    assert segs.length[r].tolist()[:9] == [12] * 9
    assert segs.length[r].tolist()[9:] == [8, 4, 8, 4, 8, 4]
    assert segs.zero[r].tolist()[9:] == [False, True] * 3
    assert segs.local_addr[r].tolist()[:3] == [0, 12, 24]
    # weights transposed: B column j is one contiguous segment of K bytes
    b = prog.segments["load_b"]
    rb = b.range(e)
    assert b.length[rb].tolist() == [36] * 4
    assert np.diff(b.mem_addr[rb]).tolist() == [36] * 3


def test_store_segments() -> None:
    """int8 rows of n bytes for inner layers, int32 rows of 4n bytes for the last."""
    prog = compile_workload(workload(conv("a", 2, 6, 4, padding=1), conv("b", 6, 3, 4, padding=1)), arch())
    s = prog.segments["store_c"]
    r = s.range(1)  # layer a, m-group 0, n-group 1: 2 channels
    assert s.length[r].tolist() == [2] * 4 and s.local_addr[r].tolist() == [0, 4, 8, 12]
    assert np.diff(s.mem_addr[r]).tolist() == [6] * 3
    last = prog.entries - 1
    r = s.range(last)
    assert s.length[r].tolist() == [12] * 4 and s.local_addr[r].tolist() == [0, 16, 32, 48]
    assert prog.outputs[1].dtype == "int32" and prog.outputs[0].dtype == "int8"


def test_beats_formula() -> None:
    """Beats count bus words touched; zero segments ceil(len/B)."""
    mem = np.array([5, 8, 0, 0, 15])
    length = np.array([8, 8, 9, 8, 2])
    zero = np.array([False, False, True, True, False])
    assert segment_beats(mem, length, zero, 8).tolist() == [2, 1, 2, 1, 2]


def test_memory_layout_is_aligned() -> None:
    """Regions are 64-byte aligned and inside memory_size; the image holds input + weights."""
    prog = compile_workload(workload(conv("a", 3, 5, 7, padding=1), {"name": "g", "op": "gemm",
                                                                      "M": 49, "N": 3, "K": 5}), arch())
    addrs = [a for a, _ in prog.memory_image] + [o.addr for o in prog.outputs]
    assert all(a % 64 == 0 for a in addrs)
    assert len(prog.memory_image) == 3 and prog.memory_size % 64 == 0
    assert max(a + len(b) for a, b in prog.memory_image) <= prog.memory_size


@given(hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(-(2**62), 2**62)))
def test_unique_sorted_is_numpys_unique(x: np.ndarray) -> None:
    np.testing.assert_array_equal(unique_sorted(x), np.unique(x))


@pytest.mark.parametrize("overlay", [{}, {"array": {"rows": 3, "cols": 5}}, {"array": {"dataflow": "ws"}}])
def test_grouped_convolutions_lowered_in_one_pass_equal_numpy(overlay: dict[str, Any]) -> None:
    """Depthwise and grouped convolutions without a K split (lowered for all groups in one pass,
    strided, padded, dilated) move exactly the bytes numpy's result needs, on any array shape."""
    from tlm.arch import arch_from_dict
    from tlm.blocks import simulate

    arch = arch_from_dict(overlay)
    w = {"format": "tlm-workload/1", "name": "g", "seed": 3, "layers": [
        {"name": "pw", "op": "conv2d", "in_channels": 4, "out_channels": 12, "height": 7, "width": 5, "kernel": 1},
        {"name": "dw", "op": "conv2d", "in_channels": 12, "out_channels": 12, "height": 7, "width": 5, "kernel": 3,
         "padding": 1, "stride": 2, "groups": 12},
        {"name": "gc", "op": "conv2d", "in_channels": 12, "out_channels": 6, "height": 4, "width": 3, "kernel": 3,
         "padding": 2, "dilation": 2, "groups": 3}]}
    program = compile_workload(w, arch)
    res = simulate(program, arch)
    assert res.functional == "pass", res.mismatches[:3]
