"""tlm.limits and the memory budget: capped reads, depth scans, estimates, the reference product."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, Array
from tlm.errors import InputError
from tlm.limits import (
    MAX_DEPTH,
    RunLimits,
    check_json_depth,
    check_toml_depth,
    describe,
    parse_size,
    read_capped,
)
from tlm.workload import compile_workload, load_workload, parse_workload
from tlm.workload import reference

FMT = "tlm-workload/1"


def test_read_capped_regular_file_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "w.json"
    f.write_bytes(b"x" * 101)
    assert read_capped(str(f), 101, "flag") == b"x" * 101
    with pytest.raises(InputError) as e:
        read_capped(str(f), 100, "--flag raises it")
    assert e.value.what == "101 bytes, more than the limit of 100 bytes (--flag raises it)"


def test_read_capped_endless_device_and_fifo(tmp_path: Path) -> None:
    """/dev/zero is read up to the cap and refused; a FIFO nobody writes reads as empty (no hang)."""
    with pytest.raises(InputError) as e:
        read_capped("/dev/zero", 1000, "x")
    assert "goes on past 1000 bytes" in e.value.what
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    assert read_capped(str(fifo), 1000, "x") == b""
    with pytest.raises(InputError) as e:
        read_capped(str(tmp_path), 1000, "x")
    assert e.value.what == "is a directory"


@pytest.mark.parametrize("text, ok", [
    ("[" * MAX_DEPTH + "]" * MAX_DEPTH, True),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), False),
    ('{"a": "' + "[" * 500 + '"}', True),                 # brackets in strings do not count
    ('["\\"' + "[" * 500 + '"]', True),                   # nor after an escaped quote
    ('["\\\\", ' + "[" * 100 + "]" * 100 + "]", False),   # an escaped backslash ends the string
    ("[" + ",".join(["[]"] * 10_000) + "]", True),         # many, not deep
])
def test_json_depth(text: str, ok: bool) -> None:
    if ok:
        check_json_depth(text.encode(), "f")
        json.loads(text)  # and Python agrees it is fine
    else:
        with pytest.raises(InputError, match="nesting deeper than 64"):
            check_json_depth(text.encode(), "f")


@pytest.mark.parametrize("text, ok", [
    ("a = " + "[" * 64 + "]" * 64, True),
    ("a = " + "[" * 65 + "]" * 65, False),
    ('a = "' + "[" * 100 + '"\n# ' + "{" * 100 + "\nb = '" + "[" * 100 + "'", True),
    ('a = """\n' + "[" * 100 + '\n"""', True),
    ("a = " + "{b = " * 65 + "1" + "}" * 65, False),
])
def test_toml_depth(text: str, ok: bool) -> None:
    if ok:
        check_toml_depth(text.encode(), "f")
    else:
        with pytest.raises(InputError, match="nesting deeper than 64"):
            check_toml_depth(text.encode(), "f")


def test_parse_size_and_describe() -> None:
    assert parse_size("4096") == 4096 and parse_size("64M") == 64 << 20 and parse_size("2GiB") == 2 << 30
    for bad in ("", "0", "-1", "1.5G", "G", "12X"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert describe([[1]] * 5) == "a list of 5 items" and describe({"a": 1}) == "an object of 1 keys"
    assert describe(10**100) == "an integer of 101 digits" and len(describe("x" * 10_000)) == 40


def _gemm(M: int, N: int, K: int) -> dict[str, Any]:
    return {"format": FMT, "name": "g", "layers": [{"op": "gemm", "M": M, "N": N, "K": K}]}


def test_budget_refuses_before_allocating_and_names_the_flag() -> None:
    """The K = 2e8 gemm is refused from its layout; timing-only it is small and runs."""
    with pytest.raises(InputError) as e:
        compile_workload(_gemm(1, 1, 200_000_000), Arch())
    assert "needs about" in e.value.what and "(--max-memory raises it)" in e.value.what
    prog = compile_workload(_gemm(1, 1, 200_000_000), Arch(), functional=False)
    assert prog.tiles == 24438
    with pytest.raises(InputError, match=r"lowers to 16,000,000 tiles, more than the limit of 2,000,000"):
        compile_workload(_gemm(16000, 16000, 1), Arch(), functional=False)
    with pytest.raises(InputError, match="more than the limit of 10"):
        compile_workload(_gemm(16, 16, 1), Arch(), limits=RunLimits(tiles=10))


def test_budget_tiles_form() -> None:
    wl = {"format": FMT, "tiles": [{"id": i, "m": 4, "n": 4, "k": 8000} for i in range(20)]}
    assert compile_workload(wl, Arch()).tiles == 20
    with pytest.raises(InputError, match="host memory"):
        compile_workload(wl, Arch(), limits=RunLimits(memory=100 << 20))
    with pytest.raises(InputError, match="--max-tiles"):
        compile_workload(wl, Arch(), limits=RunLimits(tiles=19))


def test_budget_checks_dependencies_while_lowering() -> None:
    """A flatten of a one-channel output: each fc tile waits for thousands of m-groups."""
    arch = Arch(array=Array(engines=1, rows=1, cols=1))
    wl = {"format": FMT, "layers": [
        {"op": "conv2d", "name": "wide", "in_channels": 1, "out_channels": 1, "height": 128, "width": 128,
         "kernel": 1},
        {"op": "gemm", "name": "fc", "M": 1, "N": 64, "K": 16384}]}
    prog = compile_workload(wl, arch, functional=False)
    edges = int(prog.preds.idx.shape[0])
    assert edges >= 64 * 16384  # every fc tile depends on each producer of its chunk
    with pytest.raises(InputError) as e:
        compile_workload(wl, arch, functional=False, limits=RunLimits(memory=(96 << 20) + edges * 40))
    assert e.value.where == "layers[1]" and "dependencies of layer 'fc'" in e.value.what


@pytest.mark.parametrize("block", [1, 7, 1000, reference.MATMUL_BLOCK])
def test_blocked_reference_product_is_exact(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """The blocked float64 product equals the int64 one, wrap-around to int32 included."""
    monkeypatch.setattr(reference, "MATMUL_BLOCK", block)
    rng = np.random.default_rng(5)
    for M, K, N in ((3, 5, 2), (1, 3000, 1), (40, 300, 17)):
        a = rng.integers(-128, 128, (M, K), dtype=np.int8)
        b = rng.integers(-128, 128, (K, N), dtype=np.int8)
        want = (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)
        assert np.array_equal(reference._matmul_int32(a, b), want)
    k = 200_000  # -128 * -128 * k overflows int32: the result wraps like the hardware's
    a, b = np.full((1, k), -128, dtype=np.int8), np.full((k, 1), -128, dtype=np.int8)
    assert int(reference._matmul_int32(a, b)[0, 0]) == (16384 * k + 2**31) % 2**32 - 2**31


# -- fuzzing the workload parser: any JSON value gives a spec or an InputError -------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_json = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                     max_leaves=20)
_keys = st.sampled_from(["format", "name", "seed", "layers", "tiles", "op", "M", "N", "K", "id", "m", "n", "k",
                         "deps", "in_channels", "out_channels", "height", "width", "kernel", "stride",
                         "padding", "dilation", "deformable", "max_offset", "shift", "Seed", "extra"])
_values = st.one_of(_json, st.sampled_from([FMT, "gemm", "conv2d", 0, 1, 3, 4, 8, -1, 2**31]))
_obj = st.recursive(_values, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(_keys, inner, max_size=6)),
                    max_leaves=30)


@st.composite
def _workloads(draw: st.DrawFn) -> Any:
    body = draw(st.dictionaries(_keys, _obj, max_size=5))
    if draw(st.booleans()):
        body["format"] = FMT
    return body if draw(st.integers(0, 9)) else draw(_json)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_workloads())
def test_fuzz_workload_parser_never_crashes(obj: Any) -> None:
    """Random JSON structures: a valid spec or an InputError with a one-line message, nothing else."""
    try:
        parse_workload(obj, "fuzz.json", Arch())
    except InputError as e:
        assert "\n" not in e.line() and len(e.line()) < 400


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()))
def test_fuzz_workload_file_bytes(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    """Random bytes as a workload file: loaded and parsed, or an InputError; never another exception."""
    f = tmp_path_factory.mktemp("fz") / "w.json"
    f.write_bytes(raw)
    try:
        parse_workload(load_workload(f), str(f), Arch())
    except InputError as e:
        assert "\n" not in e.line()


_HEADER = json.dumps({"format": "tlm-trace/1", "source": "tlm", "workload": "w", "clock_period_ps": 1000,
                      "arch": {}})
_record = st.fixed_dictionaries({"op": st.sampled_from(["tile", "load_a", 7, None, ""]),
                                 "tile": st.integers(-2, 2**64), "start": st.integers(-1, 5)},
                                optional={"end": _scalars, "engine": _json, "x": _json})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_record.map(json.dumps), _json.map(json.dumps), st.text(max_size=30)), max_size=6),
       st.booleans())
def test_fuzz_trace_reader(tmp_path_factory: pytest.TempPathFactory, lines: list[str], newline: bool) -> None:
    """Random record lines after a valid header: a Trace or an InputError with a one-line message."""
    from tlm.trace.reader import read_trace

    f = tmp_path_factory.mktemp("tr") / "t.jsonl"
    f.write_text("\n".join([_HEADER, *lines]) + ("\n" if newline else ""), encoding="utf-8",
                 errors="surrogatepass")
    try:
        read_trace(f)
    except InputError as e:
        assert "\n" not in e.line()
