"""Hostile inputs: each is refused with exit 2 and one `error:` line, in bounded memory.

The small cases live in tests/hostile/; the large ones (files over a size
cap, deep nesting, endless devices, FIFOs nobody writes) are generated here.
All cases run in one child process whose address space is capped with
`RLIMIT_AS`, so an input that makes the CLI allocate without bound fails its
case with a MemoryError instead of taking the machine. The child's timeout
only guards against a hang; no speed is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HOSTILE = Path(__file__).parent / "hostile"
ADDRESS_SPACE = 2 << 30
HANG_GUARD_S = 900

HEADER = {"format": "tlm-trace/1", "source": "tlm", "workload": "w", "clock_period_ps": 1000, "arch": {}}
RECORD = '{"op": "tile", "tile": 0, "start": 0, "end": 5}'
FOOTER = '{"end": true, "cycles": 5, "tiles": 1, "functional": "pass"}'

_CHILD = r"""
import io, json, resource, sys, traceback
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from tlm.cli import main
results = {}
for name, argv in json.loads(sys.stdin.read()):
    err, out = io.StringIO(), io.StringIO()
    sys.stderr, sys.stdout = err, out
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    except BaseException:
        rc = "exception"
        err.write(traceback.format_exc())
    finally:
        sys.stderr, sys.stdout = sys.__stderr__, sys.__stdout__
    results[name] = {"rc": rc, "err": err.getvalue()}
print(json.dumps(results))
"""


class Files:
    """Makes the generated inputs, or only names them (to list the cases at collection)."""

    def __init__(self, tmp: Path, make: bool) -> None:
        self.tmp, self.make = tmp, make

    def text(self, name: str, content: Callable[[], str]) -> Path:
        p = self.tmp / name
        if self.make:
            p.write_text(content())
        return p

    def fifo(self, name: str) -> Path:
        p = self.tmp / name
        if self.make:
            os.mkfifo(p)
        return p


def _workload_cases(fs: Files) -> dict[str, tuple[list[str], str]]:
    """name -> (argv, a fragment the error line must hold)."""
    # 17 MiB: over the 16 MiB default, refused before reading
    big = fs.text("over_cap.json", lambda: '{"format": "tlm-workload/1", "name": "' + "a" * (17 << 20) + '"}')
    deep = fs.text("deep.json", lambda: '{"format": "tlm-workload/1", "name": ' + "[" * 100_000 + "]" * 100_000 + "}")
    fifo = fs.fifo("fifo.json")
    tmp = fs.tmp
    files = {
        "gemm_k_200m": ("gemm_k_200m.json", "--max-memory raises it"),
        "conv_200m_channels": ("conv_200m_channels.json", "--max-memory raises it"),
        "gemm_16m_tiles": ("gemm_16m_tiles.json", "lowers to 16,000,000 tiles, more than the limit of 2,000,000 "
                                                  "(--max-tiles raises it)"),
        "extra_top_key": ("extra_top_key.json", "extra: unknown key (known: format, layers, name, seed, tiles)"),
        "seed_wrong_case": ("seed_wrong_case.json", "did you mean 'seed'?"),
        "tiles_beside_layers": ("tiles_beside_layers.json", "Tiles: unknown key"),
        "negative_tile_id": ("negative_tile_id.json", "tiles[0].id: must be in 0..2147483647, got -1"),
        "float_size": ("float_size.json", "layers[0].M: must be an integer, got 4.0"),
        "bool_size": ("bool_size.json", "layers[0].M: must be an integer, got True"),
        "huge_size": ("huge_size.json", "an integer of 400 digits"),
        "huge_digits": ("huge_digits.json", "seed"),
        "surrogate_name": ("surrogate_name.json", "U+D800"),
        "vcd_injection_name": ("vcd_injection_name.json", "U+000A"),
        "newline_key": ("newline_key.json", "unknown key"),
        "nan_size": ("nan_size.json", "NaN is not allowed"),
        "inf_size": ("inf_size.json", "got inf"),
        "deep_64": ("deep_64.json", "nesting deeper than 64"),
        "empty": ("empty.json", "is empty"),
        "not_object": ("not_object.json", "must be a JSON object"),
        "not_utf8": ("not_utf8.json", "not UTF-8"),
        "dup_tile": ("dup_tile.json", "duplicate id 1"),
        "cycle": ("cycle.json", "dependency cycle"),
    }
    cases = {name: ([str(HOSTILE / f)], frag) for name, (f, frag) in files.items()}
    cases["over_cap"] = ([str(big)], f"{(17 << 20) + 40} bytes, more than the limit of 16 MiB "
                                     "(--max-workload-bytes raises it)")
    cases["deep_100k"] = ([str(deep)], "nesting deeper than 64")
    cases["dev_zero"] = (["/dev/zero"], "more than the limit of 16 MiB (--max-workload-bytes raises it)")
    cases["fifo_no_writer"] = ([str(fifo)], "is empty")
    cases["directory"] = ([str(tmp)], "is a directory")
    cases["missing"] = ([str(tmp / "missing.json")], "No such file")
    cases["flatten_fan_in"] = ([str(HOSTILE / "flatten_fan_in.json"), "--arch", str(HOSTILE / "arch_1x1.toml"),
                                "--timing-only"], "layers[1]: needs about")
    cases["tiny_memory_limit"] = (["builtin:gemm_small", "--max-memory", "1M"], "more than the limit of 1 MiB")
    cases["tiny_tile_limit"] = (["builtin:gemm_small", "--max-tiles", "3"], "(--max-tiles raises it)")
    return cases


def _arch_cases(fs: Files) -> dict[str, tuple[str, str]]:
    deep = fs.text("deep.toml", lambda: "[timing]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    big = fs.text("big.toml", lambda: "# padding\n" * 200_000)
    huge = fs.text("huge_int.toml", lambda: "[array]\nrows = " + "9" * 5000 + "\n")
    return {
        "arch_deep": (str(HOSTILE / "arch_deep.toml"), "nesting deeper than 64"),
        "arch_inline_deep": (str(HOSTILE / "arch_inline_deep.toml"), "nesting deeper than 64"),
        "arch_newline_key": (str(HOSTILE / "arch_newline_key.toml"), "unknown key"),
        "arch_deep_5000": (str(deep), "nesting deeper than 64"),
        "arch_over_cap": (str(big), "more than the limit of 1 MiB (a fixed limit)"),
        "arch_huge_int": (str(huge), "TOML"),
        "arch_dev_zero": ("/dev/zero", "more than the limit of 1 MiB"),
    }


def _trace_cases(fs: Files) -> dict[str, tuple[str, str]]:
    header = json.dumps(HEADER)
    tmp = fs.tmp

    def write(name: str, *lines: str) -> str:
        return str(fs.text(name, lambda: "".join(line + "\n" for line in lines)))

    keys = [json.dumps({"op": "tile", "tile": i, "start": 0, "end": 1, f"k{i}": 1}) for i in range(40)]
    ops = [json.dumps({"op": f"o{i}", "tile": 0, "start": 0, "end": 1}) for i in range(70)]
    fifo = fs.fifo("fifo.jsonl")
    cases = {name: (str(HOSTILE / f"{name}.jsonl"), frag) for name, frag in (
        ("trace_deep_header", "line 1: nesting deeper than 64"),
        ("trace_deep_record", "line 2: nesting deeper than 64"),
        ("trace_deep_arch", "line 1: nesting deeper than 64"),
        ("trace_negative_tile", "line 2: field tile"),
        ("trace_op_list", "field op: must be a string, got a list of 1 items"),
        ("trace_huge_int", "line 2: field tile: integer out of range"),
        ("trace_not_object", "line 1"),
    )}
    cases.update({
        "trace_many_keys": (write("keys.jsonl", header, *keys, FOOTER), "more than 32 different extra keys"),
        "trace_many_ops": (write("ops.jsonl", header, *ops, FOOTER), "more than 64 different op names"),
        "trace_long_line": (write("long.jsonl", header, RECORD[:-1] + ', "x": "' + "a" * (2 << 20) + '"}'),
                            "line 2: longer than 1048576 bytes"),
        "trace_long_header": (write("longh.jsonl", '{"x": "' + "a" * (2 << 20) + '"}'), "line 1: longer than"),
        "trace_deep_100k": (write("deep.jsonl", header, '{"op": ' + "[" * 100_000 + "]" * 100_000 + "}"),
                            "line 2: nesting deeper than 64"),
        "trace_dev_zero": ("/dev/zero", "line 1: longer than 1048576 bytes"),
        "trace_fifo": (str(fifo), "line 1: empty"),
        "trace_directory": (str(tmp), "is a directory"),
    })
    return cases


def _all_cases(tmp: Path, make: bool = True) -> dict[str, tuple[list[str], str]]:
    fs = Files(tmp, make)
    good = fs.text("good.jsonl", lambda: json.dumps(HEADER) + "\n" + RECORD + "\n" + FOOTER + "\n")
    out = tmp / "out"
    if make:
        out.mkdir()
    cases: dict[str, tuple[list[str], str]] = {}
    for name, (args, frag) in _workload_cases(fs).items():
        cases[f"sim-{name}"] = (["sim", "-w", *args], frag)
        # the RTL command compiles the same way and refuses before simulating
        if name in ("gemm_k_200m", "gemm_16m_tiles", "negative_tile_id", "deep_100k", "dev_zero"):
            cases[f"rtl-{name}"] = (["rtl", "-w", *args, "--trace", str(out / f"{name}.jsonl")], frag)
    for name, (path, frag) in _arch_cases(fs).items():
        cases[f"sim-{name}"] = (["sim", "-w", "builtin:gemm_small", "--arch", path], frag)
    cases["calibrate-arch_deep"] = (["calibrate", "--arch", str(HOSTILE / "arch_deep.toml"),
                                     "--out", str(out / "cal.toml")], "nesting deeper than 64")
    for name, (path, frag) in _trace_cases(fs).items():
        cases[f"compare-{name}"] = (["compare", path, str(good)], frag)
        cases[f"compare-rtl-{name}"] = (["compare", str(good), path], frag)
        cases[f"report-{name}"] = (["report", path, str(good), "-o", str(out / "r.html")], frag)
    return cases


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], str]]:
    tmp = tmp_path_factory.mktemp("hostile")
    cases = _all_cases(tmp)
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(ADDRESS_SPACE)],
                          input=json.dumps([[name, argv] for name, (argv, _) in cases.items()]),
                          capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    return {name: (results[name], frag) for name, (_, frag) in cases.items()}


def _case_names() -> list[str]:
    return list(_all_cases(Path("unused"), make=False))


@pytest.mark.parametrize("case", _case_names())
def test_hostile_input_refused_in_one_line(outcomes: dict[str, tuple[dict[str, Any], str]], case: str) -> None:
    """Exit 2, exactly one stderr line `error: ...` naming the problem, no traceback, no MemoryError."""
    result, fragment = outcomes[case]
    err = result["err"]
    assert "Traceback" not in err and "MemoryError" not in err, err[-2000:]
    assert result["rc"] == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
