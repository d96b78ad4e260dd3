"""Traces identify their workload by content; compare and report read values strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlm.arch import Arch
from tlm.cli import main
from tlm.workload import compile_workload

GOLDEN = Path(__file__).resolve().parent.parent / "traces" / "golden"
TLM = GOLDEN / "two_tiles_tlm.jsonl"
RTL = GOLDEN / "two_tiles_rtl.jsonl"


def _workload(tmp_path: Path, name: str, m: int, n: int, k: int) -> Path:
    p = tmp_path / f"{name}-{m}x{n}x{k}.json"
    p.write_text(json.dumps({"format": "tlm-workload/1", "name": name,
                             "layers": [{"op": "gemm", "M": m, "N": n, "K": k}]}))
    return p


def _as_rtl(src: Path, dst: Path) -> Path:
    """The same trace, labelled as an RTL run (what compare expects second)."""
    lines = src.read_text().splitlines()
    header = json.loads(lines[0])
    header["source"] = "rtl"
    dst.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    return dst


def _edit(src: Path, dst: Path, line: int, **changes: object) -> Path:
    lines = src.read_text().splitlines()
    obj = json.loads(lines[line])
    obj.update(changes)
    lines[line] = json.dumps(obj)
    dst.write_text("\n".join(lines) + "\n")
    return dst


def test_content_hash_tells_workloads_apart_not_names() -> None:
    arch = Arch()
    a = compile_workload("builtin:gemm_small", arch, functional=True)
    b = compile_workload("builtin:gemm_small", arch, functional=False)
    assert a.content_hash() == b.content_hash()  # data is not part of it
    assert len(a.content_hash()) == 64
    c = compile_workload("builtin:random_dag", arch, functional=False)
    assert c.content_hash() != a.content_hash()


def test_compare_refuses_two_workloads_sharing_a_name(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    small, big = _workload(tmp_path, "w", 4, 4, 4), _workload(tmp_path, "w", 8, 8, 64)
    ta, tb = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main(["sim", "-w", str(small), "--no-progress", "--trace", str(ta)]) == 0
    assert main(["sim", "-w", str(big), "--no-progress", "--trace", str(tb)]) == 0
    capsys.readouterr()
    assert json.loads(ta.read_text().splitlines()[0])["program_hash"]
    code = main(["compare", str(ta), str(_as_rtl(tb, tmp_path / "rb.jsonl"))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "field program_hash" in err[0]
    # The same workload labelled as RTL compares fine (accuracy 1).
    assert main(["compare", "--json", str(ta), str(_as_rtl(ta, tmp_path / "ra.jsonl"))]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0


def test_compare_of_a_file_with_itself_or_two_tlm_traces_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(RTL), str(RTL)]) == 2
    assert "same file" in capsys.readouterr().err
    other = tmp_path / "t2.jsonl"
    other.write_bytes(TLM.read_bytes())
    assert main(["compare", str(TLM), str(other)]) == 2
    err = capsys.readouterr().err
    assert "both traces are from the TLM model" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(TLM), str(other), "--format", "md"]) == 2


def test_older_traces_without_hash_are_read_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--json", str(TLM), str(RTL)]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("no program_hash" in w for w in warnings)


@pytest.mark.parametrize("value", ["Infinity", "NaN", "-Infinity"])
def test_non_finite_numbers_are_refused_on_read(tmp_path: Path, value: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    lines = RTL.read_text().splitlines()
    lines[-1] = lines[-1][:-1] + f', "sim_s": {value}}}'
    bad = tmp_path / "r.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    assert main(["compare", "--json", str(TLM), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"{value} is not a JSON number" in err


def test_huge_footer_cycles_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = len(RTL.read_text().splitlines())
    bad = _edit(RTL, tmp_path / "r.jsonl", n - 1, cycles=2**70)
    assert main(["report", str(TLM), str(bad), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "field cycles: integer out of range" in err and "Traceback" not in err


def test_json_output_is_strict(capsys: pytest.CaptureFixture[str]) -> None:
    """print_json never writes NaN/Infinity: non-finite floats become null."""
    from tlm.cli import print_json

    print_json({"a": float("inf"), "b": [float("nan"), 1.5], "c": {"d": -float("inf")}})
    out = capsys.readouterr().out
    assert json.loads(out, parse_constant=lambda c: pytest.fail(c)) == {
        "a": None, "b": [None, 1.5], "c": {"d": None}}
