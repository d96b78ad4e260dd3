"""The tiles form: one entry per tile in file order, user ids, explicit deps."""

from __future__ import annotations

import numpy as np

from tlm.arch import Arch
from tlm.workload import compile_workload, run_program_functionally
from tlm.workload.program import StoreMode


def test_tiles_form_program() -> None:
    """Entries in topological order (file order where free), user ids, deps as entry indices."""
    wl = {"format": "tlm-workload/1", "name": "irregular_dag", "seed": 7, "tiles": [
        {"id": 0, "m": 4, "n": 4, "k": 16, "deps": []},
        {"id": 9, "m": 4, "n": 3, "k": 8, "deps": [0, 5]},
        {"id": 5, "m": 2, "n": 4, "k": 32, "deps": [0]}]}
    arch = Arch()
    prog = compile_workload(wl, arch)
    assert prog.tile_id.tolist() == [0, 5, 9]   # 9 waits for 5, listed after it
    assert prog.layer.tolist() == [-1, -1, -1]
    assert [prog.preds.of(e).tolist() for e in range(3)] == [[], [0], [0, 1]]
    assert [prog.succs.of(e).tolist() for e in range(3)] == [[1, 2], [2], []]
    assert (prog.store_mode == StoreMode.INT32).all() and not prog.load_c.any()
    assert [o.name for o in prog.outputs] == ["tile0", "tile9", "tile5"]  # file order
    assert prog.expected["tile5"].shape == (2, 4)
    # A rows go to A lanes, B columns (stored transposed) to B lanes
    a, b = prog.segments["load_a"], prog.segments["load_b"]
    assert a.local_addr[a.range(1)].tolist() == [0, arch.kmax]
    assert b.local_addr[b.range(1)].tolist() == [arch.spad_b_base + j * arch.kmax for j in range(4)]
    assert prog.bytes["load_b"].tolist() == [64, 128, 24] and prog.bytes["store_c"].tolist() == [64, 32, 48]
    got = run_program_functionally(prog)
    for name, want in prog.expected.items():
        np.testing.assert_array_equal(got[name], want)
    assert prog.info["depth"] == 3


def test_tiles_data_depends_on_seed_only() -> None:
    """Same seed, same data; another seed, other data."""
    wl = {"format": "tlm-workload/1", "seed": 1, "tiles": [{"id": 1, "m": 2, "n": 2, "k": 4, "deps": []}]}
    a = compile_workload(wl, Arch())
    b = compile_workload(wl, Arch())
    c = compile_workload({**wl, "seed": 2}, Arch())
    assert a.memory_image == b.memory_image != c.memory_image
