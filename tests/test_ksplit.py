"""The K-split warning of `tlmsim sim` / `tlmsim rtl`: one stderr line, stdout stays clean."""

from __future__ import annotations

import json

import pytest

from tlm.arch import arch_from_dict
from tlm.cli import main
from tlm.workload.ksplit import ksplit_warning, spad_bytes_for
from tlm.workload import compile_workload

LAYERS = {"format": "tlm-workload/1", "name": "ks", "seed": 2, "layers": [
    {"name": "fc_wide", "op": "gemm", "M": 6, "N": 5, "K": 300, "shift": 6},
    {"name": "fc_narrow", "op": "gemm", "M": 6, "N": 3, "K": 5, "shift": 4},
    {"name": "fc_last", "op": "gemm", "M": 6, "N": 2, "K": 3}]}


def _files(tmp_path, spad: int, double: bool = False) -> tuple[str, str]:
    w = tmp_path / "w.json"
    w.write_text(json.dumps(LAYERS))
    a = tmp_path / "a.toml"
    a.write_text(f"[scratchpad]\nbytes = {spad}\n[engine]\ndouble_buffer = {str(double).lower()}\n")
    return str(w), str(a)


def test_split_layer_warns_once_on_stderr_and_json_stays_clean(tmp_path, capsys):
    w, a = _files(tmp_path, 64 * 8 + 64 + 200)  # 4x4: kmax 95 < 300
    assert main(["sim", "-w", w, "-a", a, "--json"]) == 0
    out, err = capsys.readouterr()
    s = json.loads(out)  # stdout is exactly one JSON object
    lines = [x for x in err.splitlines() if x.startswith("warning:")]
    assert len(lines) == 1 and s["warnings"] == lines
    assert "fc_wide (K=300: 4 chunks)" in lines[0] and "fc_narrow" not in lines[0]
    assert f"bytes = {spad_bytes_for(arch_from_dict({}), 300)} would avoid it" in lines[0]


@pytest.mark.parametrize("double", [False, True])
def test_the_suggested_scratchpad_avoids_the_split(tmp_path, capsys, double):
    arch = arch_from_dict({"engine": {"double_buffer": double}})
    need = spad_bytes_for(arch, 300)
    w, a = _files(tmp_path, need, double)
    assert main(["sim", "-w", w, "-a", a, "--json"]) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err and json.loads(out)["warnings"] == []
    # One byte less splits again.
    w, a = _files(tmp_path, need - 1, double)
    assert main(["sim", "-w", w, "-a", a, "--json"]) == 0
    assert "fc_wide (K=300: 2 chunks)" in capsys.readouterr().err


def test_many_split_layers_make_one_line():
    arch = arch_from_dict({"scratchpad": {"bytes": 64 * 8 + 64 + 200}})
    many = {**LAYERS, "layers": [{"name": f"l{i}", "op": "gemm", "M": 4, "N": 200 + i + 1, "K": 200 + i}
                                 for i in range(6)]}
    line = ksplit_warning(compile_workload(many, arch, functional=False), arch)
    assert line is not None and "\n" not in line
    assert line.startswith("warning: 6 of 6 layers") and "l3 (K=203" in line and "2 more" in line
    plain = arch_from_dict({})
    assert ksplit_warning(compile_workload("builtin:random_dag", plain, functional=False), plain) is None


def test_rtl_warns_too(tmp_path, capsys, monkeypatch):
    """`tlmsim rtl` prints the same line after compiling (the RTL run itself stubbed out)."""
    import tlm.rtl.run
    from tlm.rtl.runner import RtlError

    def no_rtl(*args, **kwargs):
        raise RtlError("not run in this test")

    monkeypatch.setattr(tlm.rtl.run, "run_rtl", no_rtl)
    w, a = _files(tmp_path, 64 * 8 + 64 + 200)
    assert main(["rtl", "-w", w, "-a", a, "-t", str(tmp_path / "r.jsonl"), "--no-progress"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warning: 1 of 3 layers split K") and "fc_wide (K=300: 4 chunks)" in err[0]
    assert err[1] == "error: rtl: not run in this test"
