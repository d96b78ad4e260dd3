"""Bounded reading of user files: size caps, endless inputs, nesting depth.

Every reader of a user file (workload JSON, arch TOML, trace JSONL) goes
through here, so that no input can take unbounded memory or time before it
is validated:

- `read_capped` reads at most `limit` bytes. A regular file larger than that
  is refused before reading; a pipe, FIFO or device (`/dev/zero`) is read up
  to the cap and refused when it goes on. A FIFO is opened without blocking
  on a writer that never comes.
- `check_json_depth` / `check_toml_depth` measure bracket nesting without
  recursion (Python's parsers recurse: a deep input is a RecursionError
  otherwise).
- `describe` renders a bad value for an error message in bounded length.

The limits themselves are module constants (documented in docs/); the ones a
user may need to raise are CLI flags that pass another value in.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
from dataclasses import dataclass
from typing import Any

import numpy as np

from tlm.errors import InputError

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30

#: Largest workload file (`--max-workload-bytes` raises it).
MAX_WORKLOAD_BYTES = 16 * MIB
#: Largest arch TOML file.
MAX_ARCH_BYTES = 1 * MIB
#: Deepest nesting of arrays/objects (tables) in a workload, arch or trace line.
MAX_DEPTH = 64
#: Longest line of a trace (the header included).
MAX_TRACE_LINE = 1 * MIB
#: Largest trace file (or bytes read from a non-regular one).
MAX_TRACE_BYTES = 4 * GIB

_CHUNK = 1 * MIB
_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))
# A JSON string, unrolled so the regex engine does not backtrack per character.
_JSON_STRING = re.compile(rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')
# TOML strings (multi-line first) and comments: what brackets inside do not count.
_TOML_SKIP = re.compile(
    rb'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|\'[^\'\n]*\'|#[^\n]*', re.S)


def parse_size(text: str) -> int:
    """A byte count with an optional K/M/G suffix (powers of 1024): `64M`, `2G`, `1000`.

    Raises:
        ValueError: not a positive size.
    """
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = 1
    if t and t[-1] in "KMG":
        scale = {"K": KIB, "M": MIB, "G": GIB}[t[-1]]
        t = t[:-1]
    if not t.isdigit() or int(t) <= 0:
        raise ValueError(f"not a size: {text!r} (e.g. 4096, 64M, 2G)")
    return int(t) * scale


def human(n: int) -> str:
    """`n` bytes for a message: exact below 1 KiB, else with a binary unit."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            v = n / size
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} bytes"


def describe(v: Any, width: int = 40) -> str:
    """A value for an error message, bounded in length and never recursive."""
    if isinstance(v, dict):
        return f"an object of {len(v)} keys"
    if isinstance(v, list):
        return f"a list of {len(v)} items"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**width:
        return f"an integer of {len(str(abs(v)))} digits" if abs(v) < 10**4000 else "a huge integer"
    r = repr(v)
    return r if len(r) <= width else r[:width - 3] + "..."


def key_name(key: str, width: int = 40) -> str:
    """An object key for an error's `where`: as is when short and printable, else quoted."""
    if len(key) <= width and key.isprintable() and key.strip() == key and key:
        return key
    return describe(key, width)


def open_input(path: str) -> tuple[int, bool]:
    """Open a file for reading without hanging on a FIFO nobody writes.

    Returns:
        (file descriptor, whether it is a regular file).

    Raises:
        InputError: cannot open (missing, a directory, no permission).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise InputError(path, "file", e.strerror or "cannot read") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(path, "file", "is a directory")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, stat.S_ISREG(st.st_mode)


def too_big(path: str, size: str, limit: int, raise_with: str) -> InputError:
    """The one message for an input over a size limit."""
    return InputError(path, "file", f"{size}, more than the limit of {human(limit)} ({raise_with})")


def read_capped(path: str, limit: int, raise_with: str) -> bytes:
    """All bytes of `path`, refusing more than `limit`.

    Args:
        path: the file (a regular file, or a pipe, FIFO or device).
        limit: most bytes accepted.
        raise_with: how a user raises the limit, for the message
            (`--max-workload-bytes`, "a fixed limit").

    Raises:
        InputError: unreadable, or larger than `limit`.
    """
    fd, regular = open_input(path)
    with os.fdopen(fd, "rb") as f:
        if regular:
            size = os.fstat(fd).st_size
            if size > limit:
                raise too_big(path, f"{size} bytes", limit, raise_with)
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise InputError(path, "file", e.strerror or "cannot read") from None
    if len(data) > limit:
        kind = "it" if regular else "this non-regular file (a pipe or device)"
        raise too_big(path, f"{kind} goes on past {limit} bytes", limit, raise_with)
    return data


def _bracket_depth(data: bytes, where: str, path: str, limit: int) -> None:
    """Refuse nesting of [ ] / { } deeper than `limit` in `data` (strings already blanked)."""
    depth = 0
    for lo in range(0, len(data), _CHUNK):
        a = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - lo), offset=lo)
        o = (a == _OPEN[0]) | (a == _OPEN[1])
        c = (a == _CLOSE[0]) | (a == _CLOSE[1])
        pos = np.flatnonzero(o | c)
        if pos.size == 0:
            continue
        step = np.where(o[pos], 1, -1).astype(np.int64)
        run = np.cumsum(step) + depth
        peak = int(run.max())
        if peak > limit:
            raise InputError(path, where, f"nesting deeper than {limit} levels of arrays/objects "
                                          f"(a fixed limit)")
        depth = int(run[-1])


def check_json_depth(data: bytes, path: str, where: str = "JSON", *, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than `limit`, before parsing it.

    Brackets inside strings do not count; invalid JSON is left for the parser
    to report.

    Raises:
        InputError: too deep.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return  # cannot be too deep
    blank = _JSON_STRING.sub(b'""', data) if b'"' in data else data
    _bracket_depth(blank, where, path, limit)


def check_toml_depth(data: bytes, path: str, *, limit: int = MAX_DEPTH) -> None:
    """Refuse TOML whose inline arrays/tables nest deeper than `limit`, before parsing it.

    Raises:
        InputError: too deep.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return
    blank = _TOML_SKIP.sub(b'""', data) if (b'"' in data or b"'" in data or b"#" in data) else data
    _bracket_depth(blank, "TOML", path, limit)


def read_toml(path: str, limit: int, raise_with: str = "a fixed limit") -> dict[str, Any]:
    """Parse a TOML file of at most `limit` bytes, nested at most MAX_DEPTH deep.

    Raises:
        InputError: unreadable, too large, too deep, not UTF-8, or not TOML.
    """
    import tomllib

    text = read_capped(path, limit, raise_with)
    check_toml_depth(text, path)
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(path, "file", "not UTF-8 text") from None
    except (tomllib.TOMLDecodeError, ValueError) as e:  # ValueError: an integer of > 4300 digits
        raise InputError(path, "TOML", str(e)) from None


#: Most tile entries a workload may lower to (`--max-tiles`).
MAX_TILES = 2_000_000
#: Layers of a workload (ResNet-50 has about 170, EfficientNet-B0 240): each costs a lowering pass.
MAX_LAYERS = 10_000
#: Most host memory a run's estimate may reach (`--max-memory`).
MAX_MEMORY = 2 * GIB


@dataclass(frozen=True)
class RunLimits:
    """What one simulation run may take; each has a CLI flag that raises it."""

    workload_bytes: int = MAX_WORKLOAD_BYTES   # --max-workload-bytes
    tiles: int = MAX_TILES                     # --max-tiles
    memory: int = MAX_MEMORY                   # --max-memory


def _size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _count_arg(text: str) -> int:
    t = text.replace("_", "").replace(",", "").strip().upper()
    scale = 1
    if t and t[-1] in "KMG":
        scale, t = 1000 ** ("KMG".index(t[-1]) + 1), t[:-1]
    if not t.isdigit() or int(t) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive count: {text!r} (e.g. 500000, 4M)")
    return int(t) * scale


def add_limit_args(p: argparse.ArgumentParser) -> None:
    """The flags of `RunLimits` (for the commands that compile a workload)."""
    p.add_argument("--max-tiles", type=_count_arg, default=MAX_TILES, metavar="N",
                   help=f"refuse a workload that lowers to more than N tiles (default {MAX_TILES:,})")
    p.add_argument("--max-memory", type=_size_arg, default=MAX_MEMORY, metavar="SIZE",
                   help="refuse a run whose estimated host memory exceeds SIZE, e.g. 8G "
                   f"(default {human(MAX_MEMORY)})")
    p.add_argument("--max-workload-bytes", type=_size_arg, default=MAX_WORKLOAD_BYTES, metavar="SIZE",
                   help=f"largest workload file read (default {human(MAX_WORKLOAD_BYTES)})")


def limits_from_args(args: argparse.Namespace) -> RunLimits:
    """The `RunLimits` of parsed `add_limit_args` flags (defaults where absent)."""
    return RunLimits(workload_bytes=getattr(args, "max_workload_bytes", MAX_WORKLOAD_BYTES),
                     tiles=getattr(args, "max_tiles", MAX_TILES),
                     memory=getattr(args, "max_memory", MAX_MEMORY))
