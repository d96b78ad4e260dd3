"""Reading and validating `tlm-trace/1` files (docs/trace.md).

`read_trace(path)` returns a `Trace`: the header, the parsed `Arch`, one numpy
structured array per op (sorted by tile), the footer (None when the run was
cut short) and warnings. Validation follows the spec:

- a missing footer is accepted; the trace is marked incomplete;
- a last line without a newline that does not parse is dropped with a
  warning (the writer was interrupted mid-line);
- anything else malformed raises `InputError(path, "line N: field F", what)`,
  including a duplicate (op, tile) and an unknown format.

Speed: lines are parsed a block at a time with one `json.loads` over a JSON
array of the block's lines, and fields are checked column-wise (a set of the
values' types, then numpy), so a five-million-record trace reads in seconds.
Only when a block is wrong is it re-read line by line to name the line.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from itertools import repeat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tlm.arch import Arch, arch_from_dict
from tlm.errors import InputError
from tlm.limits import (
    MAX_DEPTH,
    MAX_TRACE_BYTES,
    MAX_TRACE_LINE,
    check_json_depth,
    describe,
    key_name,
    open_input,
    too_big,
)
from tlm.trace.dram import OUTCOMES
from tlm.trace.schema import FORMAT, MISSING, RECORD_KEYS, op_order

#: Bytes of lines parsed per block.
BLOCK_BYTES = 8 << 20
#: Most distinct extra record keys and op names in one trace: each becomes a
#: column or an array, so unbounded counts would grow memory per record.
MAX_EXTRA_KEYS = 32
MAX_OPS = 64

#: Integers in headers and footers must fit in a signed 64-bit value, as record fields do.
INT_LIMIT = 2**63


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: a trace holding them is malformed.
    raise ValueError(f"{name} is not a JSON number")


def _loads(raw: bytes) -> Any:
    return json.loads(raw, parse_constant=_no_constant)

_CORE_COLUMNS = ("tile", "start", "end")


@dataclass
class Trace:
    """One parsed trace.

    Attributes:
        path: The file it was read from.
        header: The header object as written.
        arch: The header's arch config.
        ops: Per op name, a structured array sorted by tile with int64 fields
            ``tile, start, end, line`` (1-based line in the file) and one field
            per integer extra key (`schema.MISSING` where a record lacks it).
            Extra keys with non-integer values, and an extra key named
            ``line``, are not kept.
        footer: The footer object, or None when the run was cut short.
        warnings: Problems that were tolerated (truncated last line, no footer).
    """

    path: str
    header: dict[str, Any]
    arch: Arch
    ops: dict[str, np.ndarray]
    footer: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.footer is not None

    @property
    def workload(self) -> str:
        return str(self.header["workload"])

    @property
    def source(self) -> str:
        return str(self.header["source"])

    @property
    def clock_period_ps(self) -> int:
        return int(self.header["clock_period_ps"])

    @property
    def cycles(self) -> int | None:
        """End-to-end cycles from the footer, None when the run was cut short."""
        return None if self.footer is None else int(self.footer["cycles"])

    def __len__(self) -> int:
        return sum(len(a) for a in self.ops.values())

    def op_names(self) -> list[str]:
        """The ops present, known ones first in a tile's life order."""
        return sorted(self.ops, key=op_order)

    def perf(self, key: str) -> float | None:
        """A performance figure (`sim_s`, `wall_s`) from the header's `perf` or the footer."""
        perf = self.header.get("perf")
        for src in (perf if isinstance(perf, dict) else {}, self.footer or {}):
            v = src.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < INT_LIMIT:
                return float(v)
        return None

    def records(self) -> Iterator[tuple[str, int, int, int, dict[str, int]]]:
        """All records as ``(op, tile, start, end, extra)``, by start then op then tile."""
        columns: dict[str, tuple[list[str], list[list[int]]]] = {}
        order: list[tuple[int, tuple[int, str], int, str, int]] = []
        for op, arr in self.ops.items():
            names = [n for n in arr.dtype.names or () if n != "line"]
            cols = [arr[n].tolist() for n in names]
            columns[op] = (names[3:], cols)
            key = op_order(op)
            order.extend(zip(cols[1], repeat(key), cols[0], repeat(op), range(len(arr))))
        order.sort()
        for _, _, _, op, i in order:
            extra_names, cols = columns[op]
            extra = {k: c[i] for k, c in zip(extra_names, cols[3:]) if c[i] != MISSING}
            yield op, cols[0][i], cols[1][i], cols[2][i], extra


def read_trace(path: str | Path) -> Trace:
    """Read and validate a `tlm-trace/1` file.

    Bounded whatever the file: lines longer than `MAX_TRACE_LINE`, nesting
    deeper than `MAX_DEPTH`, more than `MAX_EXTRA_KEYS` extra keys or
    `MAX_OPS` op names, and files (or pipes) over `MAX_TRACE_BYTES` are
    refused.

    Raises:
        InputError: Unreadable file, unknown format, a malformed line
            (``where`` names the line and field), or a limit exceeded.
    """
    p = str(path)
    fd, regular = open_input(p)
    with os.fdopen(fd, "rb") as f:
        if regular and os.fstat(fd).st_size > MAX_TRACE_BYTES:
            raise too_big(p, f"{os.fstat(fd).st_size} bytes", MAX_TRACE_BYTES, "a fixed limit")
        lines = _Lines(p, f)
        header, arch = _parse_header(p, lines.header())
        builder = _Builder(p)
        lineno = 2
        for block in lines.blocks():
            builder.add_block(block, lineno)
            lineno += len(block)
    return builder.finish(header, arch)


class _Lines:
    """A trace's lines in blocks of about `BLOCK_BYTES`, each line at most `MAX_TRACE_LINE`."""

    def __init__(self, path: str, f: BinaryIO) -> None:
        self.path = path
        self.f = f
        self.total = 0
        self.lineno = 2  # of the next block's first line: the header is line 1

    def _read(self, n: int) -> bytes:
        try:
            data = self.f.read(n)
        except OSError as e:
            raise InputError(self.path, "file", e.strerror or "cannot read") from None
        self.total += len(data)
        if self.total > MAX_TRACE_BYTES:
            raise too_big(self.path, f"it goes on past {MAX_TRACE_BYTES} bytes", MAX_TRACE_BYTES,
                          "a fixed limit")
        return data

    def _long(self, lineno: int) -> InputError:
        return _bad(self.path, lineno, None, f"longer than {MAX_TRACE_LINE} bytes (a fixed limit)")

    def header(self) -> bytes:
        line = self.f.readline(MAX_TRACE_LINE + 1)
        self.total += len(line)
        if len(line) > MAX_TRACE_LINE:
            raise self._long(1)
        return line

    def blocks(self) -> Iterator[list[bytes]]:
        rest = b""
        while True:
            data = self._read(BLOCK_BYTES)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if len(rest) > MAX_TRACE_LINE:
                raise self._long(self.lineno + data.count(b"\n", 0, cut))
            if cut:
                block = io.BytesIO(data[:cut]).readlines()  # splits at b"\n" only, like the writer
                self._check_lengths(block)
                self.lineno += len(block)
                yield block
        if rest:
            yield [rest]

    def _check_lengths(self, block: list[bytes]) -> None:
        if max(map(len, block)) > MAX_TRACE_LINE:
            i = next(i for i, line in enumerate(block) if len(line) > MAX_TRACE_LINE)
            raise self._long(self.lineno + i)


def _bad(path: str, line: int, fld: str | None, what: str) -> InputError:
    where = f"line {line}" if fld is None else f"line {line}: field {fld}"
    return InputError(path, where, what)


def _parse_header(path: str, line: bytes) -> tuple[dict[str, Any], Arch]:
    if not line.strip():
        raise _bad(path, 1, None, "empty: a trace starts with its header line")
    check_json_depth(line, path, "line 1")
    try:
        header = _loads(line)
    except ValueError as e:
        raise _bad(path, 1, None, f"not a JSON header: {e}") from None
    if not isinstance(header, dict):
        raise _bad(path, 1, None, "the header must be a JSON object")
    fmt = header.get("format")
    if fmt != FORMAT:
        raise _bad(path, 1, "format", f"unknown format {describe(fmt)} (expected {FORMAT!r})")
    for key in ("source", "workload"):
        v = header.get(key)
        if not isinstance(v, str) or not v:
            raise _bad(path, 1, key, f"must be a non-empty string, got {describe(v)}")
    period = header.get("clock_period_ps")
    if type(period) is not int or not 0 < period < INT_LIMIT:
        raise _bad(path, 1, "clock_period_ps", f"must be a positive integer, got {describe(period)}")
    if not isinstance(header.get("arch"), dict):
        raise _bad(path, 1, "arch", "must be an object (the arch config)")
    try:
        arch = arch_from_dict(header["arch"], path)
    except InputError as e:
        raise _bad(path, 1, f"arch {e.where}", e.what) from None
    return header, arch


def _first_bad(values: list[Any], ok: Any) -> int:
    """Index of the first value for which `ok` is false (the slow, error path)."""
    return next(i for i, v in enumerate(values) if not ok(v))


class _Builder:
    """Accumulates validated column chunks per op, block by block."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.chunks: dict[str, list[dict[str, np.ndarray]]] = {}
        self.non_int_keys: set[str] = set()
        self.extra_keys: set[str] = set()
        self.footer: dict[str, Any] | None = None
        self.footer_line = 0
        self.warnings: list[str] = []

    # -- parsing ---------------------------------------------------------------
    def add_block(self, block: list[bytes], first_line: int) -> None:
        if not block[-1].endswith(b"\n"):
            # Only the file's last line can lack its newline: a run interrupted
            # mid-write. Drop it when it does not parse.
            try:
                _loads(block[-1])
            except ValueError:
                self.warnings.append(f"line {first_line + len(block) - 1}: truncated last line dropped")
                block = block[:-1]
                if not block:
                    return
        joined = b"[" + b",".join(block) + b"]"
        try:
            objs = _loads(joined)
            if len(objs) != len(block) or set(map(type, objs)) != {dict}:
                raise ValueError("a line is not one object")
            # Each line is one object, so it holds a '{'; one bracket per line means
            # no nesting at all (the usual case). Else measure (lines are balanced).
            if joined.count(b"{") + joined.count(b"[") != len(block) + 1:
                check_json_depth(joined, self.path, f"lines {first_line}-{first_line + len(block) - 1}",
                                 limit=MAX_DEPTH + 1)
        except (ValueError, RecursionError, InputError):
            objs = [self._parse_line(line, first_line + i) for i, line in enumerate(block)]
        self._add_objects(objs, first_line)

    def _parse_line(self, raw: bytes, lineno: int) -> dict[str, Any]:
        if not raw.strip():
            raise _bad(self.path, lineno, None, "empty line")
        check_json_depth(raw, self.path, f"line {lineno}")
        try:
            obj = _loads(raw)
        except ValueError as e:
            raise _bad(self.path, lineno, None, f"not valid JSON: {e}") from None
        if not isinstance(obj, dict):
            raise _bad(self.path, lineno, None, "must be a JSON object")
        return obj

    def _add_objects(self, objs: list[dict[str, Any]], first_line: int) -> None:
        path = self.path
        if self.footer is not None:
            raise _bad(path, first_line, None, f"record after the footer on line {self.footer_line}")
        lines = np.arange(first_line, first_line + len(objs), dtype=np.int64)
        ops: list[Any] = list(map(dict.get, objs, repeat("op")))
        if set(map(type, ops)) != {str}:
            i = _first_bad(ops, lambda v: isinstance(v, str))
            if "op" not in objs[i] and objs[i].get("end") is True:
                self._set_footer(objs[i], first_line + i)
                if i != len(objs) - 1:
                    raise _bad(path, first_line + i + 1, None,
                               f"record after the footer on line {first_line + i}")
                objs, ops, lines = objs[:-1], ops[:-1], lines[:-1]
                if not objs:
                    return
                if set(map(type, ops)) != {str}:
                    i = _first_bad(ops, lambda v: isinstance(v, str))
                    raise self._op_error(objs[i], first_line + i)
            else:
                raise self._op_error(objs[i], first_line + i)
        cols = {name: self._int_column(objs, name, first_line) for name in _CORE_COLUMNS}
        for name, cond, what in (
            ("tile", cols["tile"] < 0, "must be an integer >= 0"),
            ("start", cols["start"] < 0, "must be an integer >= 0"),
            ("end", cols["end"] < cols["start"], "must be an integer >= start"),
        ):
            bad = np.flatnonzero(cond)
            if bad.size:
                raise _bad(path, first_line + int(bad[0]), name, what)
        if "" in set(ops):
            raise _bad(path, first_line + ops.index(""), "op", "must be a non-empty string")
        cols["line"] = lines
        if set(map(len, objs)) != {len(RECORD_KEYS)}:
            keys: set[str] = set()
            for o in objs:
                keys.update(o)
            # `line` is the reader's own column; a record's `line` key is not kept.
            extra = keys.difference(RECORD_KEYS, ("line",))
            self.extra_keys.update(extra)
            if len(self.extra_keys) > MAX_EXTRA_KEYS:
                raise _bad(path, first_line, None, f"records use more than {MAX_EXTRA_KEYS} different "
                                                   "extra keys (a fixed limit)")
            for key in sorted(extra):
                col = self._extra_column(objs, key)
                if col is not None:
                    cols[key] = col
        names = set(ops)
        if len(names) + len(self.chunks.keys() - names) > MAX_OPS:
            raise _bad(path, first_line, "op", f"more than {MAX_OPS} different op names (a fixed limit)")
        op_arr = np.array(ops)
        for op in sorted(names):
            idx = np.flatnonzero(op_arr == op)
            self.chunks.setdefault(op, []).append({k: v[idx] for k, v in cols.items()})

    def _op_error(self, obj: dict[str, Any], lineno: int) -> InputError:
        if "op" not in obj:
            return _bad(self.path, lineno, "op", "missing")
        return _bad(self.path, lineno, "op", f"must be a string, got {describe(obj['op'])}")

    def _int_column(self, objs: list[dict[str, Any]], name: str, first_line: int) -> np.ndarray:
        # map(dict.get, ...) runs in C: the column pull is most of the reading time.
        values = list(map(dict.get, objs, repeat(name)))
        if set(map(type, values)) == {int}:
            try:
                return np.array(values, dtype=np.int64)
            except OverflowError:
                i = _first_bad(values, lambda v: -(2**63) < v < 2**63)
                raise _bad(self.path, first_line + i, name, "integer out of range") from None
        i = _first_bad(values, lambda v: type(v) is int)
        if name not in objs[i]:
            raise _bad(self.path, first_line + i, name, "missing")
        raise _bad(self.path, first_line + i, name, f"must be an integer, got {describe(values[i])}")

    def _extra_column(self, objs: list[dict[str, Any]], key: str) -> np.ndarray | None:
        values = list(map(dict.get, objs, repeat(key), repeat(MISSING)))
        if set(map(type, values)) != {int}:
            self.non_int_keys.add(key)
            return None
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            self.non_int_keys.add(key)
            return None

    def _set_footer(self, obj: dict[str, Any], lineno: int) -> None:
        for key in ("cycles", "tiles"):
            v = obj.get(key)
            if type(v) is not int or v < 0:
                raise _bad(self.path, lineno, key, f"must be an integer >= 0, got {describe(v)}")
            if v >= INT_LIMIT:
                raise _bad(self.path, lineno, key, f"integer out of range (must be < 2**63), got {v}")
        if not isinstance(obj.get("functional"), str):
            raise _bad(self.path, lineno, "functional",
                       f"must be a string, got {describe(obj.get('functional'))}")
        if "dram" in obj:
            self._check_dram(obj["dram"], lineno)
        self.footer = obj
        self.footer_line = lineno

    def _check_dram(self, dram: Any, lineno: int) -> None:
        """The footer's `dram` object (tlm.trace.dram): counts are integers >= 0, `by_op` maps op
        names to such counts."""
        def counts(obj: Any, where: str, keys: tuple[str, ...]) -> None:
            if not isinstance(obj, dict):
                raise _bad(self.path, lineno, where, f"must be an object, got {describe(obj)}")
            for k in keys:
                v = obj.get(k, 0)
                if type(v) is not int or not 0 <= v < INT_LIMIT:
                    raise _bad(self.path, lineno, f"{where}.{k}", f"must be an integer in 0..2**63-1, "
                                                                   f"got {describe(v)}")

        counts(dram, "dram", ("requests", *OUTCOMES, "refreshes"))
        by_op = dram.get("by_op", {})
        if not isinstance(by_op, dict):
            raise _bad(self.path, lineno, "dram.by_op", f"must be an object, got {describe(by_op)}")
        for op, c in by_op.items():
            counts(c, f"dram.by_op.{key_name(op)}", OUTCOMES)

    # -- result ----------------------------------------------------------------
    def finish(self, header: dict[str, Any], arch: Arch) -> Trace:
        ops: dict[str, np.ndarray] = {}
        for op in sorted(self.chunks, key=op_order):
            ops[op] = self._merge(op, self.chunks[op])
        if self.footer is None:
            self.warnings.append("no footer: the run was cut short")
        return Trace(self.path, header, arch, ops, self.footer, self.warnings)

    def _merge(self, op: str, chunks: list[dict[str, np.ndarray]]) -> np.ndarray:
        extra = sorted({k for c in chunks for k in c if k not in ("tile", "start", "end", "line")}
                       - self.non_int_keys)
        names = ["tile", "start", "end", "line", *extra]
        n = sum(len(c["tile"]) for c in chunks)
        arr = np.empty(n, dtype=[(name, np.int64) for name in names])
        pos = 0
        for c in chunks:
            m = len(c["tile"])
            for name in names:
                arr[name][pos:pos + m] = c[name] if name in c else MISSING
            pos += m
        arr = arr[np.argsort(arr["tile"], kind="stable")]
        dup = np.flatnonzero(arr["tile"][1:] == arr["tile"][:-1])
        if dup.size:
            j = int(dup[np.argmin(arr["line"][dup + 1])])
            raise _bad(self.path, int(arr["line"][j + 1]), "tile",
                       f"duplicate ({op}, {int(arr['tile'][j])}): already on line {int(arr['line'][j])}")
        return arr


def comparable(path: str | Path) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """What two runs of one workload, on either model, must share exactly: (header, records, footer).

    The header without `source`, the record lines sorted (records of one cycle
    may be written in another order), the footer without its wall-clock times.
    The file is one this project wrote; `read_trace` is the checked reader.
    """
    lines = Path(path).read_text().splitlines()
    header, footer = json.loads(lines[0]), json.loads(lines[-1])
    header.pop("source")
    for key in ("sim_s", "wall_s"):
        footer.pop(key, None)
    return header, sorted(lines[1:-1]), footer
