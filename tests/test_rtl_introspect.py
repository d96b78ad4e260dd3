"""pyverilog introspection of the RTL and the arch <-> RTL parameter check (no simulator)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, Array, Scratchpad
from tlm.errors import InputError
from tlm.rtl import introspect
from tlm.rtl.introspect import (
    RtlParameterMismatch,
    check_arch,
    evaluate,
    find_module,
    parse_file,
)

# A stand-in top with every parameter the arch derives, KMAX computed from
# the others the way arch.py does, so overriding ROWS moves KMAX too.
FAKE_TOP = """
`timescale 1ns/1ps
module accel_top #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter ENGINES = 2,
    parameter TABLE_DEPTH = 16,
    parameter BUS_BYTES = 8,
    parameter MAX_BURST_BEATS = 16,
    parameter MEM_LATENCY = 20,
    parameter DOUBLE_BUFFER = 0,
    parameter DATAFLOW = 0,
    parameter TILE_ROWS = ROWS,
    parameter OVERLAP_DRAIN = 0,
    parameter VEC_LANES = 16,
    parameter VEC_LATENCY = 4,
    parameter REUSE_SLOTS = 1,
    parameter SPAD_BYTES = 32'd65536,
    parameter KMAX = (SPAD_BYTES - 4 * ROWS * COLS) / (ROWS + REUSE_SLOTS * COLS)
) (
    input  wire clk,
    output wire [$clog2(ENGINES + 1) - 1:0] n_busy
);
    assign n_busy = 0;
endmodule
"""


def arch_of(rows: int, cols: int, spad: int = 65536) -> Arch:
    return dataclasses.replace(
        Arch(), array=Array(rows=rows, cols=cols), scratchpad=Scratchpad(bytes=spad)
    )


@pytest.fixture
def fake_top(tmp_path: Path) -> Path:
    path = tmp_path / "accel_top.v"
    path.write_text(FAKE_TOP)
    return path


def test_mac_array_parameters() -> None:
    """mac_array's overridable parameters and their defaults are read from the source."""
    mod = find_module("mac_array")
    assert mod.file == "rtl/mac_array.v"
    assert mod.parameter_defaults() == {"ROWS": 4, "COLS": 4, "KW": 16, "OVERLAP": 0}
    locals_ = {p.name: p.default for p in mod.localparams}
    assert locals_["CW"] == 24 and locals_["EDGE_CYCLES"] == 6 and locals_["ROWS_M1"] == 3


def test_mac_array_ports() -> None:
    """Ports keep their declaration order, direction, width expression and width."""
    mod = find_module("mac_array")
    ports = {p.name: p for p in mod.ports}
    assert [p.name for p in mod.ports][:3] == ["clk", "rst", "start"]
    assert ports["a_in"].direction == "input" and ports["a_in"].range_text == "[(ROWS * 8) - 1:0]"
    assert ports["drain_row"].direction == "output" and ports["drain_row"].width == 128
    assert ports["done"].width == 1 and ports["done"].range_text == ""
    widths = mod.port_widths({"ROWS": 8, "COLS": 2})
    assert (widths["a_in"], widths["b_in"], widths["c_in"], widths["k"]) == (64, 16, 64, 16)


def test_pe_ports() -> None:
    """The PE's 8-bit operands and 32-bit accumulator are seen with their directions."""
    mod = parse_file(introspect.RTL_DIR / "pe.v")["pe"]
    ports = {p.name: (p.direction, p.width) for p in mod.ports}
    assert ports["a_in"] == ("input", 8) and ports["acc"] == ("output", 32)
    assert mod.parameters == ()


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 64), cols=st.integers(1, 64), built_rows=st.integers(1, 64))
def test_check_on_mac_array_matches_iff_equal(rows: int, cols: int, built_rows: int) -> None:
    """check_arch passes exactly when the built ROWS/COLS equal the arch's."""
    mod = find_module("mac_array")
    params = {"ROWS": built_rows, "COLS": cols}
    if built_rows == rows:
        values = check_arch(arch_of(rows, cols), params, module=mod, only=["ROWS", "COLS"])
        assert values["EDGE_CYCLES"] == rows + cols - 2
    else:
        with pytest.raises(RtlParameterMismatch, match=f"ROWS = {built_rows}$"):
            check_arch(arch_of(rows, cols), params, module=mod, only=["ROWS", "COLS"])


def test_broken_parameter_caught_before_simulation() -> None:
    """Arch 4x4 with an RTL built 8x8: an InputError naming file, parameter and both values."""
    mod = find_module("mac_array")
    with pytest.raises(RtlParameterMismatch) as info:
        check_arch(arch_of(4, 4), {"ROWS": 8, "COLS": 8}, module=mod, only=["ROWS", "COLS"])
    assert isinstance(info.value, InputError)
    assert info.value.line() == (
        "error: rtl/mac_array.v: parameter ROWS: "
        "arch [array] rows = 4 but the RTL is built with ROWS = 8"
    )


def test_full_check_on_fake_top(fake_top: Path) -> None:
    """Every derived parameter matches a top built from the same arch."""
    mod = parse_file(fake_top)["accel_top"]
    arch = arch_of(8, 8)
    values = check_arch(arch, {"ROWS": 8, "COLS": 8}, module=mod)
    assert values["KMAX"] == arch.kmax
    ports = {p.name: p.width for p in mod.ports}
    assert ports["n_busy"] == 2  # $clog2(ENGINES + 1) bits


def test_dependent_parameter_mismatch(fake_top: Path) -> None:
    """A derived parameter (KMAX) is re-evaluated under the overrides and compared."""
    mod = parse_file(fake_top)["accel_top"]
    arch = arch_of(4, 4, spad=32768)  # RTL keeps SPAD_BYTES = 65536
    with pytest.raises(RtlParameterMismatch, match=r"parameter KMAX: arch kmax .* = 4088 but the RTL is built with KMAX = 8184"):
        check_arch(arch, {}, module=mod)
    check_arch(arch, {"SPAD_BYTES": 32768}, module=mod)


def test_missing_parameter_in_top(tmp_path: Path) -> None:
    """A top without a parameter the arch derives is a mismatch naming it."""
    path = tmp_path / "accel_top.v"
    path.write_text(FAKE_TOP.replace("    parameter MEM_LATENCY = 20,\n", ""))
    with pytest.raises(RtlParameterMismatch, match="parameter MEM_LATENCY: arch \\[memory\\] latency_cycles = 20"):
        check_arch(Arch(), {}, top="accel_top", rtl_dir=tmp_path)


def test_unknown_override(fake_top: Path) -> None:
    """Overriding a parameter the top does not have is caught (iverilog would only warn)."""
    mod = parse_file(fake_top)["accel_top"]
    with pytest.raises(RtlParameterMismatch, match="parameter ROW: the build overrides ROW"):
        check_arch(Arch(), {"ROW": 4}, module=mod)


def test_non_ansi_ports_and_body_parameters(tmp_path: Path) -> None:
    """Old-style port lists, body parameters, sized constants, $clog2 and part-selects resolve."""
    path = tmp_path / "old.v"
    path.write_text(
        "module old (a, y, z);\n"
        "  parameter W = 4'd6;\n"
        "  parameter [3:0] BIG = 'h1f;\n"
        "  localparam L = $clog2(W * 3) + (W > 5 ? 100 : 200);\n"
        "  localparam S = L[3:1];\n"
        "  input [W-1:0] a;\n"
        "  output y;\n"
        "  inout [1:0] z;\n"
        "  assign y = ^a;\n"
        "endmodule\n"
    )
    mod = parse_file(path)["old"]
    assert mod.parameter_defaults() == {"W": 6, "BIG": 15}
    assert {p.name: p.default for p in mod.localparams} == {"L": 105, "S": 4}
    assert [(p.name, p.direction, p.width) for p in mod.ports] == [
        ("a", "input", 6), ("y", "output", 1), ("z", "inout", 2)
    ]
    assert mod.resolve({"W": 2})["L"] == 203


def test_header_makes_body_parameters_local(tmp_path: Path) -> None:
    """With a #( ) header, a body `parameter` cannot be overridden."""
    path = tmp_path / "m.v"
    path.write_text("module m #(parameter A = 1) (input wire x);\n  parameter B = A + 1;\nendmodule\n")
    mod = parse_file(path)["m"]
    assert [p.name for p in mod.parameters] == ["A"]
    with pytest.raises(KeyError):
        mod.resolve({"B": 3})


def test_parse_error_is_input_error(tmp_path: Path) -> None:
    """A file pyverilog cannot parse is reported as bad input with its name."""
    path = tmp_path / "bad.v"
    path.write_text("module bad(input a;\nendmodule\n")
    with pytest.raises(InputError, match="bad.v: Verilog: pyverilog cannot parse it"):
        parse_file(path)


def test_missing_module(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="module accel_top: not defined"):
        find_module("accel_top", tmp_path)


def test_disk_cache_and_no_files_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parser tables stay out of the cwd; a second process-level parse is served from the cache."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(introspect, "_parser", None)  # force pyverilog to build its tables
    monkeypatch.setattr(introspect, "_memo", {})
    src = tmp_path / "accel_top.v"
    src.write_text(FAKE_TOP)
    cache = tmp_path / "cache"
    first = parse_file(src, cache_dir=cache)
    assert list(work.iterdir()) == []
    assert len(list(cache.glob("*.json"))) == 1

    def no_pyverilog(*_: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(introspect, "_memo", {})
    monkeypatch.setattr(introspect, "_parse_text", no_pyverilog)
    assert parse_file(src, cache_dir=cache) == first


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=6), st.lists(st.sampled_from("+-*"), min_size=5, max_size=5))
@settings(max_examples=30, deadline=None)
def test_evaluate_matches_python(values: list[int], ops: list[str]) -> None:
    """Left-to-right + - * chains evaluate like Python integers."""
    expr: list = ["int", values[0]]
    py = values[0]
    for v, op in zip(values[1:], ops):
        expr = ["bin", op, expr, ["int", v]]
        py = {"+": py + v, "-": py - v, "*": py * v}[op]
    assert evaluate(expr, {}) == py


def test_ansi_function_ports_do_not_block(tmp_path: Path) -> None:
    """A module whose function pyverilog 1.3 cannot parse still yields its header."""
    path = tmp_path / "f.v"
    path.write_text(
        "module f #(parameter N = 3) (input wire [N-1:0] x, output wire y);\n"
        "    // a function with ANSI ports\n"
        "    function parity(input [N-1:0] v);\n"
        "        parity = ^v;\n"
        "    endfunction\n"
        "    assign y = parity(x);\n"
        "endmodule\n"
    )
    mod = parse_file(path)["f"]
    assert mod.parameter_defaults() == {"N": 3}
    assert [(p.name, p.width) for p in mod.ports] == [("x", 3), ("y", 1)]


def test_reuse_slots_parameter_is_checked(fake_top: Path) -> None:
    """`[engine] reuse_slots` is REUSE_SLOTS, and it moves kmax: both are compared with the top."""
    mod = parse_file(fake_top)["accel_top"]
    arch = dataclasses.replace(arch_of(4, 4), engine=dataclasses.replace(
        Arch().engine, reuse=True, reuse_slots=4))
    assert arch.kmax == (65536 - 64) // (4 + 4 * 4)
    with pytest.raises(RtlParameterMismatch, match="parameter (KMAX|REUSE_SLOTS)"):
        check_arch(arch, {}, module=mod)
    values = check_arch(arch, {"REUSE_SLOTS": 4}, module=mod)
    assert values["KMAX"] == arch.kmax
