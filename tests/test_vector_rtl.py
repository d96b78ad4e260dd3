"""The RTL vector unit's side of the simulator-free code: refusal, bounds, image, parameters.

The RTL runs themselves are in testbenches/test_vector_unit.py (the unit
alone) and testbenches/test_vector_rtl.py (TLM vs RTL on graph workloads).
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.cli import main
from tlm.cli.common import calibrated_base
from tlm.errors import InputError
from tlm.rtl.image import encode_program, image_parameters
from tlm.rtl.introspect import RtlParameterMismatch, check_arch
from tlm.rtl.vector_image import MAX_INPUTS, RTL_VECTOR_OPS, check_vector_rtl
from tlm.trace.writer import TraceWriter
from tlm.workload import compile_workload
from tlm.workload.program import EntryKind
from tlm.workload.vector_ops import OP_CODES

import vector_samples  # noqa: E402  (tests/ is on sys.path under pytest)


def graph(layers: list[dict[str, Any]], h: int = 6, w: int = 6, c: int = 8) -> dict[str, Any]:
    return {"format": "tlm-workload/2", "name": "g", "seed": 5,
            "input": {"name": "input", "height": h, "width": w, "channels": c}, "layers": layers}


INTEGER_OPS = graph([
    {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 8, "kernel": 3, "padding": 1},
    {"name": "add", "op": "add", "inputs": ["c1", "input"]},
    {"name": "r", "op": "relu", "inputs": ["add"]},
    {"name": "mp", "op": "maxpool", "inputs": ["r"], "kernel": 3, "stride": 2, "padding": 1},
    {"name": "ap", "op": "avgpool", "inputs": ["mp"], "kernel": 2, "stride": 1},
    {"name": "cat", "op": "concat", "inputs": ["ap", "ap"]},
    {"name": "cl", "op": "clip", "inputs": ["cat"], "min": -10, "max": 20},
    {"name": "rq", "op": "requant", "inputs": ["cl"], "multiplier": 3, "shift": 1},
    {"name": "gap", "op": "globalavgpool", "inputs": ["rq"]},
    {"name": "tr", "op": "transpose", "inputs": ["rq"], "perm": [2, 1, 0]},
    {"name": "lut", "op": "lut", "inputs": ["rq"], "fn": "sigmoid"},
    {"name": "mul", "op": "mul", "inputs": ["rq", "gap"], "shift": 3},
    {"name": "up", "op": "resize", "inputs": ["rq"], "scale": 2},
])

# The CNN of testbenches/test_vector_rtl.py; its cycle counts there are the RTL's.
POOLS = vector_samples.POOLS


def _rtl_cli(tmp_path: Path, workload: dict[str, Any], capsys: Any, arch: str | None = None) -> tuple[int, str]:
    f = tmp_path / "w.json"
    f.write_text(json.dumps(workload))
    args = ["rtl", "-w", str(f), "-t", str(tmp_path / "t.jsonl"), "--no-progress"]
    if arch is not None:
        a = tmp_path / "arch.toml"
        a.write_text(arch)
        args += ["-a", str(a)]
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("op", ["softmax", "layernorm"])
def test_rtl_refuses_only_float_ops_naming_the_layer(op: str, tmp_path: Path, capsys: Any) -> None:
    layers = copy.deepcopy(INTEGER_OPS["layers"])
    layers.insert(3, {"name": "f", "op": op, "inputs": ["r"]})
    layers[4]["inputs"] = ["f"]
    code, err = _rtl_cli(tmp_path, graph(layers), capsys)
    f = tmp_path / "w.json"
    assert code == 2
    assert err == f"error: {f}: layer 'f': vector op {op} cannot run on the RTL (its vector unit has no " \
                  f"{op}: float64 arithmetic); use tlmsim sim\n"
    assert not (tmp_path / "t.jsonl").exists()


def test_every_integer_op_is_accepted() -> None:
    program = compile_workload(INTEGER_OPS, Arch())
    assert {v.op for v in program.vector_ops.values()} == set(RTL_VECTOR_OPS)
    check_vector_rtl(program, Arch(), "w.json")  # no error
    assert set(RTL_VECTOR_OPS) | {"softmax", "layernorm"} == set(OP_CODES)


def test_concat_of_too_many_inputs_is_refused_in_one_line(tmp_path: Path, capsys: Any) -> None:
    n = MAX_INPUTS + 1
    layers = [{"name": "cat", "op": "concat", "inputs": ["input"] * n}]
    code, err = _rtl_cli(tmp_path, graph(layers, 2, 2, 1), capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"layer 'cat': concat of {n} inputs: the RTL vector unit takes at most {MAX_INPUTS}" in err


def test_too_many_lanes_for_the_rtl_is_refused(tmp_path: Path, capsys: Any) -> None:
    code, err = _rtl_cli(tmp_path, INTEGER_OPS, capsys, arch="[vector]\nlanes = 2000\n")
    assert code == 2 and err.count("\n") == 1 and "[vector] lanes: 2000 is more than the RTL" in err


def test_a_buffer_beyond_the_rtl_bound_is_refused() -> None:
    # a globalavgpool loads its whole input: 1024 x 1024 x 2 bytes > 1 MiB
    w = graph([{"name": "gap", "op": "globalavgpool", "inputs": ["input"]}], 1024, 1024, 2)
    arch = arch_from_dict({"memory": {"bytes": 1 << 23}})
    program = compile_workload(w, arch, functional=False)
    with pytest.raises(InputError, match="moves 2097152 bytes \\(load_a\\), more than the RTL vector unit's"):
        check_vector_rtl(program, arch, "w.json")


def _slots(path: Path, words: int) -> np.ndarray:
    """uint32 slots [lines, words] of a hex image (slot 0 least significant)."""
    rows = []
    for line in path.read_text().split():
        rows.append([int(line[len(line) - 8 * (i + 1): len(line) - 8 * i], 16) for i in range(words)])
    return np.array(rows, dtype=np.int64)


def test_image_encodes_vec_entries_and_descriptors(tmp_path: Path) -> None:
    arch = Arch()
    program = compile_workload(INTEGER_OPS, arch)
    params = image_parameters(program, arch)
    assert params["HAS_VECTOR"] == 1 and params["VOP_DEPTH"] == 16
    vec = np.flatnonzero(program.kind == EntryKind.VEC)
    assert params["VEC_BUF_BYTES"] >= int(program.bytes["load_a"][vec].max())
    assert params["VEC_OUT_BYTES"] >= int(program.bytes["store_c"][vec].max())
    image = encode_program(program, arch, tmp_path)
    assert "+vecops=" in " ".join(image.plusargs())
    entries = _slots(image.files["entries"], 16)[: program.entries]
    desc = _slots(image.files["vecops"], 16)
    order = sorted(program.vector_ops)
    assert np.array_equal((entries[:, 0] >> 5) & 1, (program.kind == EntryKind.VEC).astype(np.int64))
    for li in order:
        mine = vec[program.layer[vec] == li]
        assert np.array_equal(entries[mine, 2], (mine - mine[0]) * arch.tile_rows)
        assert set(entries[mine, 9].tolist()) == {order.index(li)}
        v, d = program.vector_ops[li], desc[order.index(li)]
        if v.op in ("transpose", "resize"):  # the gathered buffer is copied: an identity clip of the output
            v = replace(v, op="clip", in_channels=(v.out_channels,), height=v.out_h, width=v.out_w, lo=-128,
                        hi=127, stride=1)
        assert (d[0] & 0xFF, (d[0] >> 8) & 0xFF, (d[0] >> 16) & 0xFF, (d[0] >> 24) & 0xFF) == \
            (v.code, v.kernel, v.stride, v.padding)
        assert (d[1] & 0xFFFF, d[1] >> 16, d[2] & 0xFFFF, d[2] >> 16) == (v.height, v.width, v.out_h, v.out_w)
        assert (d[3] & 0xFFFF, (d[3] >> 16) & 0xFF, d[3] >> 24) == (v.out_channels, len(v.in_channels), v.shift)
        assert (np.int8(d[4] & 0xFF), np.int8((d[4] >> 8) & 0xFF)) == (v.lo, v.hi)
        assert np.int32(np.uint32(d[5])) == v.multiplier
        chans = [(int(d[8 + j // 2]) >> (16 * (j % 2))) & 0xFFFF for j in range(len(v.in_channels))]
        assert chans == list(v.in_channels)


def test_programs_without_vec_entries_keep_their_build(tmp_path: Path) -> None:
    program = compile_workload("builtin:gemm_small", Arch())
    assert not any(k.startswith(("HAS_VECTOR", "VEC_", "VOP_")) for k in image_parameters(program, Arch()))
    assert "vecops" not in encode_program(program, Arch(), tmp_path).files


def test_vector_parameters_are_checked_against_the_rtl() -> None:
    arch = arch_from_dict({"vector": {"lanes": 8, "latency_cycles": 2}})
    assert {"VEC_LANES": 8, "VEC_LATENCY": 2}.items() <= arch.rtl_parameters().items()
    check_arch(arch, arch.rtl_parameters())
    with pytest.raises(RtlParameterMismatch, match=r"arch \[vector\] lanes = 8 but the RTL is built with "
                                                   r"VEC_LANES = 16"):
        check_arch(arch, {**arch.rtl_parameters(), "VEC_LANES": 16})


def test_vector_unit_is_free_from_its_store_done_cycle(tmp_path: Path) -> None:
    """The TLM dispatches a waiting VEC entry in the cycle the unit's store ends, as the RTL does.

    Before, whether the scheduler saw the unit free in that cycle depended on
    which process the kernel resumed first: here tile 38's dispatch ended at
    3110 and the run took 4584 cycles; the RTL dispatches at 3105 and takes 4579.
    """
    arch = calibrated_base()
    program = compile_workload(POOLS, arch)
    with TraceWriter(tmp_path / "t.jsonl", source="tlm", workload="pools", arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        result = simulate(program, arch, trace=w)
        w.close(result.cycles, result.tiles, result.functional)
    records = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()[1:-1]]
    dispatch = {r["tile"]: r for r in records if r["op"] == "dispatch"}
    assert dispatch[38]["end"] == 3105 and dispatch[38]["engine"] == 2
    assert result.cycles == 4579 and result.functional == "pass"
