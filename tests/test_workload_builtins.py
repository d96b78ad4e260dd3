"""Built-in workloads compile, check functionally, and have the promised sizes."""

from __future__ import annotations

import numpy as np
import pytest

from tlm.arch import Arch
from tlm.workload import BUILTINS, admission_deadlock, compile_workload, load_workload, run_program_functionally

SMALL = ["gemm_small", "dilated_vgg_small", "deformable_small", "random_dag"]


@pytest.mark.parametrize("name", SMALL)
def test_small_builtins_run_functionally(name: str) -> None:
    """Each small built-in's segments reproduce its numpy reference."""
    prog = compile_workload(f"builtin:{name}", Arch())
    assert prog.name == name and prog.tiles <= 300
    got = run_program_functionally(prog)
    for out, want in prog.expected.items():
        np.testing.assert_array_equal(got[out], want, err_msg=out)
    assert admission_deadlock(prog, Arch().scheduler.table_depth) is None


def test_random_dag_is_irregular() -> None:
    """random_dag has ~60 tiles, some listed before a tile they wait for (admitted after it)."""
    wl = load_workload("builtin:random_dag")
    pos = {t["id"]: i for i, t in enumerate(wl["tiles"])}
    forward = [(i, pos[d]) for i, t in enumerate(wl["tiles"]) for d in t["deps"] if pos[d] > i]
    assert forward and all(p - i <= 3 for i, p in forward)
    prog = compile_workload(wl, Arch())
    assert prog.tiles == 60
    assert all(int(p) < e for e in range(prog.entries) for p in prog.preds.of(e))


def test_dilated_vgg_small_shape() -> None:
    """Three 3x3 convs with dilation 1, 2, 4 and padding = dilation."""
    wl = load_workload("builtin:dilated_vgg_small")
    assert [(l["dilation"], l["padding"]) for l in wl["layers"]] == [(1, 1), (2, 2), (4, 4)]
    assert compile_workload(wl, Arch(), functional=False).tiles == 288


def test_vgg16_timing_only() -> None:
    """vgg16 compiles timing-only: ~850k tiles, segment lists dropped."""
    prog = compile_workload("builtin:vgg16", Arch(), functional=False)
    assert 800_000 < prog.tiles < 900_000
    assert prog.segments is None and prog.memory_image == []
    assert [l["name"] for l in prog.info["layers"]][-3:] == ["fc6", "fc7", "fc8"]
    assert prog.info["macs"] > 10**10


def test_builtins_listed() -> None:
    """Every name the brief promises is reachable."""
    assert set(BUILTINS) == set(SMALL) | {"vgg16", "dilated_vgg", "resnet18", "resnet50", "mobilenet_v2",
                                            "efficientnet_b0", "bert_base"}
    assert load_workload("builtin:gemm_small") is not load_workload("builtin:gemm_small")
