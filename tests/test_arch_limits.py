"""Size bounds: TLM-only runs take large arrays and scratchpads; the RTL's bounds apply to RTL runs."""

from __future__ import annotations

import numpy as np
import pytest

from tlm.arch import MAX_ARRAY, MAX_SCRATCHPAD, arch_from_dict
from tlm.blocks import simulate
from tlm.cli import main
from tlm.errors import InputError
from tlm.rtl.introspect import RTL_MAX_ARRAY, RTL_MAX_KMAX, check_rtl_limits
from tlm.workload import compile_workload
from tlm.workload.data import layer_input, layer_weights_t

BIG = {"array": {"rows": 128, "cols": 128}, "scratchpad": {"bytes": 4 << 20}}
GEMM = {"format": "tlm-workload/1", "name": "g", "seed": 3, "layers": [
    {"name": "fc1", "op": "gemm", "M": 150, "N": 200, "K": 300, "shift": 6},
    {"name": "fc2", "op": "gemm", "M": 150, "N": 70, "K": 200}]}


def test_large_arrays_and_scratchpads_are_legal_for_the_tlm():
    arch = arch_from_dict({"array": {"rows": MAX_ARRAY, "cols": MAX_ARRAY},
                           "scratchpad": {"bytes": MAX_SCRATCHPAD}})
    assert arch.kmax > RTL_MAX_KMAX
    assert MAX_ARRAY == 256 and MAX_SCRATCHPAD == 64 << 20


@pytest.mark.parametrize("overlay,where,limit", [
    ({"array": {"rows": 257}}, "[array] rows", "must be <= 256"),
    ({"array": {"cols": 1000}}, "[array] cols", "must be <= 256"),
    ({"scratchpad": {"bytes": (64 << 20) + 1}}, "[scratchpad] bytes", "must be <= 67108864 (64 MiB)"),
])
def test_beyond_the_tlm_limits_is_bad_input(overlay, where, limit):
    with pytest.raises(InputError) as info:
        arch_from_dict(overlay, "a.toml")
    assert info.value.where == where and limit in info.value.what


def test_128x128_with_4_mib_runs_functionally_and_matches_numpy():
    arch = arch_from_dict(BIG)
    program = compile_workload(GEMM, arch)
    assert program.m.max() == 128 and program.n.max() == 128
    result = simulate(program, arch)
    assert result.functional == "pass", result.mismatches
    # the reference the run was checked against, recomputed here from the seeded data
    x = layer_input(3, 150, 300).astype(np.int64)
    h = x @ layer_weights_t(3, 0, 200, 300).astype(np.int64).T
    h = np.clip(np.maximum(h.astype(np.int32), 0) >> 6, 0, 127).astype(np.int64)
    y = (h @ layer_weights_t(3, 1, 70, 200).astype(np.int64).T).astype(np.int32)
    np.testing.assert_array_equal(program.expected["fc2"], y)
    timing = compile_workload(GEMM, arch, functional=False)
    assert simulate(timing, arch, functional=False).cycles == result.cycles


def test_k_beyond_16_bits_runs_on_the_tlm():
    """A 4 MiB scratchpad on a 4x4 array gives lanes of ~512 KiB: one K-chunk of 100,000."""
    arch = arch_from_dict({"scratchpad": {"bytes": 4 << 20}})
    wl = {"format": "tlm-workload/1", "name": "deep", "seed": 1, "layers": [
        {"name": "fc", "op": "gemm", "M": 4, "N": 4, "K": 100_000}]}
    program = compile_workload(wl, arch)
    assert program.tiles == 1 and int(program.k[0]) == 100_000
    assert simulate(program, arch).functional == "pass"


@pytest.mark.parametrize("overlay,where", [
    ({"array": {"rows": RTL_MAX_ARRAY + 1}}, "[array] rows"),
    ({"array": {"cols": 128}, "scratchpad": {"bytes": 1 << 20}}, "[array] cols"),
    ({"scratchpad": {"bytes": 4 << 20}}, "[scratchpad] bytes"),
])
def test_rtl_limits_refuse_what_the_rtl_cannot_build(overlay, where):
    arch = arch_from_dict(overlay)
    with pytest.raises(InputError) as info:
        check_rtl_limits(arch)
    assert info.value.where == where and "RTL" in info.value.what and "TLM-only" in info.value.what


def test_rtl_limits_accept_their_boundaries():
    check_rtl_limits(arch_from_dict({"array": {"rows": 64, "cols": 64}}))
    r = c = 4
    top = RTL_MAX_KMAX * (r + c) + 4 * r * c + r + c - 1  # the largest scratchpad with kmax 65535
    assert arch_from_dict({"scratchpad": {"bytes": top}}).kmax == RTL_MAX_KMAX
    check_rtl_limits(arch_from_dict({"scratchpad": {"bytes": top}}))
    assert arch_from_dict({"scratchpad": {"bytes": top + 1}}).kmax == RTL_MAX_KMAX + 1
    with pytest.raises(InputError, match=f"bytes <= {top} on a 4x4 array"):
        check_rtl_limits(arch_from_dict({"scratchpad": {"bytes": top + 1}}))


def test_tlmsim_rtl_refuses_a_big_arch_before_building(tmp_path, capsys, monkeypatch):
    import tlm.rtl.runner as runner

    def boom(*a, **k):
        raise AssertionError("built despite the RTL limits")

    monkeypatch.setattr(runner, "build", boom)
    arch = tmp_path / "big.toml"
    arch.write_text("[array]\nrows = 128\ncols = 128\n[scratchpad]\nbytes = 4194304\n")
    rc = main(["rtl", "-w", "builtin:gemm_small", "-a", str(arch), "-t", str(tmp_path / "t.jsonl")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "[array] rows: 128" in err[0]
    # the same arch runs on the TLM
    assert main(["sim", "-w", "builtin:gemm_small", "-a", str(arch), "--no-progress"]) == 0
