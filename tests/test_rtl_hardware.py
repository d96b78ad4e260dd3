"""The hardware file (`tlm/rtl/hardware.py`) and `tlmsim rtl --hardware`.

Parsing and validation of `[dram]` (every key defaulted, unknown keys and
sections and bad values are one `error:` line and exit 2), the Verilog
parameters it gives, and one tiny run of accel_top with the DRAM through the
CLI. The DRAM's own timing is checked by `testbenches/test_dram*.py`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.cli import main
from tlm.errors import InputError
from tlm.rtl.hardware import (
    MAX_FILE_BYTES,
    Dram,
    Hardware,
    hardware_from_dict,
    load_hardware,
    verilog_parameters,
)

REPO = Path(__file__).resolve().parents[1]
TINY = {"format": "tlm-workload/1", "name": "tiny", "seed": 7, "tiles": [
    {"id": 0, "m": 4, "n": 4, "k": 16, "deps": []},
    {"id": 1, "m": 4, "n": 3, "k": 8, "deps": [0]},
    {"id": 2, "m": 2, "n": 4, "k": 32, "deps": [0, 1]},
]}


def test_defaults_are_the_documented_ones() -> None:
    assert hardware_from_dict({}) == Hardware()
    assert hardware_from_dict({"dram": {}}).dram == Dram(
        banks=8, row_bytes=1024, mapping="row:bank:col", t_rcd=7, t_rp=7, t_cl=9, t_cwl=5, t_ras=18,
        t_wr=8, t_wtr=4, t_rtw=3, t_refi=1950, t_rfc=60, page_policy="open", queue_depth=8,
        scheduler="frfcfs")


@pytest.mark.parametrize("data,where,what", [
    ({"ddr": {}}, "[ddr]", "unknown section"),
    ({"dram": {"bankz": 2}}, "[dram] bankz", "unknown key"),
    ({"dram": 3}, "[dram]", "must be a table"),
    ({"dram": {"banks": 3}}, "[dram] banks", "power of two in 1..32"),
    ({"dram": {"banks": 64}}, "[dram] banks", "power of two in 1..32"),
    ({"dram": {"banks": True}}, "[dram] banks", "must be an integer"),
    ({"dram": {"row_bytes": 1000}}, "[dram] row_bytes", "power of two"),
    ({"dram": {"mapping": "bank:row:col"}}, "[dram] mapping", "unknown mapping"),
    ({"dram": {"t_cl": 0}}, "[dram] t_cl", "1..10000"),
    ({"dram": {"t_rcd": -1}}, "[dram] t_rcd", "0..10000"),
    ({"dram": {"t_rp": 1.5}}, "[dram] t_rp", "must be an integer"),
    ({"dram": {"t_refi": 60, "t_rfc": 60}}, "[dram] t_refi", "t_rfc+1"),
    ({"dram": {"page_policy": "adaptive"}}, "[dram] page_policy", "unknown policy"),
    ({"dram": {"queue_depth": 1}}, "[dram] queue_depth", "2..64"),
    ({"dram": {"scheduler": 7}}, "[dram] scheduler", "must be a string"),
    ({"dram": {"scheduler": "fifo"}}, "[dram] scheduler", "unknown scheduler"),
])
def test_bad_values_name_the_key(data: dict, where: str, what: str) -> None:
    with pytest.raises(InputError) as e:
        hardware_from_dict(data, "hw.toml")
    assert e.value.file == "hw.toml" and e.value.where == where and what in e.value.what


@settings(max_examples=60, deadline=None)
@given(banks=st.integers(-2, 70), row=st.integers(0, 5000), refi=st.integers(0, 200),
       rfc=st.integers(0, 200), qd=st.integers(0, 70))
def test_accepted_means_valid(banks: int, row: int, refi: int, rfc: int, qd: int) -> None:
    """Whatever is accepted satisfies the documented limits; the rest is InputError."""
    try:
        d = hardware_from_dict({"dram": {"banks": banks, "row_bytes": row, "t_refi": refi,
                                         "t_rfc": rfc, "queue_depth": qd}}).dram
    except InputError:
        return
    assert 1 <= d.banks <= 32 and d.banks & (d.banks - 1) == 0
    assert d.row_bytes & (d.row_bytes - 1) == 0 and d.row_bytes >= 1
    assert d.t_refi == 0 or d.t_refi > d.t_rfc >= 1
    assert 2 <= d.queue_depth <= 64


def test_file_errors(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[dram\n")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe")
    deep = tmp_path / "deep.toml"
    deep.write_text("[dram]\nbanks = " + "[" * 5000 + "]" * 5000 + "\n")
    huge_int = tmp_path / "huge.toml"
    huge_int.write_text("[dram]\nbanks = " + "9" * 5000 + "\n")  # Python refuses > 4300 digits
    for path, where in ((big, "file"), (bad_toml, "TOML"), (binary, "file"), (tmp_path / "no.toml", "file"),
                        (deep, "TOML"), (huge_int, "TOML")):
        with pytest.raises(InputError) as e:
            load_hardware(path)
        assert e.value.where == where, path


def test_examples_differ_in_every_key() -> None:
    a = load_hardware(REPO / "examples" / "hardware" / "hw_a.toml").dram
    b = load_hardware(REPO / "examples" / "hardware" / "hw_b.toml").dram
    same = [f for f in a.__dataclass_fields__ if getattr(a, f) == getattr(b, f)]
    assert same == []


def test_verilog_parameters() -> None:
    arch = Arch()
    assert verilog_parameters(None, arch) == {}
    p = verilog_parameters(load_hardware(REPO / "examples" / "hardware" / "hw_b.toml"), arch)
    assert p["MEM_KIND"] == 1 and p["DRAM_BANKS"] == 2 and p["DRAM_MAPPING"] == 1
    assert p["DRAM_PAGE_OPEN"] == 0 and p["DRAM_FRFCFS"] == 0 and p["DRAM_T_REFI"] == 400
    wide = arch_from_dict({"dma": {"bus_bytes": 64}})
    with pytest.raises(InputError, match="smaller than one bus beat"):
        verilog_parameters(hardware_from_dict({"dram": {"row_bytes": 32}}), wide, "hw.toml")
    # every DRAM parameter exists on accel_top, defaulting to the documented value
    from tlm.rtl.introspect import find_module
    defaults = find_module("accel_top").parameter_defaults()
    assert defaults["MEM_KIND"] == 0
    for name, value in verilog_parameters(Hardware(), arch).items():
        if name != "MEM_KIND":
            assert defaults[name] == value, name


def test_tlm_model_never_imports_the_hardware_file() -> None:
    """Only the RTL side may know the DRAM parameters."""
    for path in (REPO / "tlm").rglob("*.py"):
        if path.parts[-2] in ("rtl", "cli"):
            continue
        tree = ast.parse(path.read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not any("hardware" in n for n in names), path


def test_cli_rtl_with_hardware(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`tlmsim rtl --hardware` runs accel_top on the DRAM; outputs still equal numpy."""
    wl = tmp_path / "tiny.json"
    wl.write_text(json.dumps(TINY))
    hw = REPO / "examples" / "hardware" / "hw_b.toml"
    code = main(["rtl", "--workload", str(wl), "--trace", str(tmp_path / "t.jsonl"), "--json",
                 "--no-progress", "--hardware", str(hw)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["functional"] == "pass" and summary["hardware"] == str(hw)
    code = main(["rtl", "--workload", str(wl), "--trace", str(tmp_path / "f.jsonl"), "--json",
                 "--no-progress"])
    fixed = json.loads(capsys.readouterr().out)
    assert code == 0 and fixed["cycles"] != summary["cycles"]


def test_cli_rtl_bad_hardware_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hw = tmp_path / "hw.toml"
    hw.write_text("[dram]\nscheduler = \"lifo\"\n")
    code = main(["rtl", "--workload", "builtin:gemm_small", "--trace", str(tmp_path / "t.jsonl"),
                 "--hardware", str(hw)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [f"error: {hw}: [dram] scheduler: unknown scheduler 'lifo' "
                                        "(known: fcfs, frfcfs)"]
