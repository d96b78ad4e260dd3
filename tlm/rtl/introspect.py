"""Read the RTL's modules with pyverilog and check them against the arch config.

`parse_file(path)` lists each module of a Verilog file: its overridable
parameters and its localparams (name, default expression as text, value when
it resolves to a constant) and its ports (name, direction, width expression,
width in bits under the defaults). ANSI and non-ANSI port lists both work.
Expressions are kept as `tlm.rtl.constexpr.Expr` (plain lists), so a module's
parameters can be re-evaluated with build overrides (`ModuleInfo.resolve`),
and so that parse results can be cached on disk: pyverilog needs about a
second to build its parser tables (written to a temporary directory, never the
working directory) and is only started when a file's content is new.

`check_arch(arch, top_params)` compares `arch.rtl_parameters()` with the
values `accel_top` will be built with (its defaults, overridden by
`top_params`, with dependent parameters re-evaluated) and checks that the top
has every parameter the arch derives. Any mismatch raises
`RtlParameterMismatch`, an `InputError` naming the RTL file and parameter::

    rtl/accel_top.v: parameter ROWS: arch [array] rows = 4 but the RTL is built with ROWS = 8

Needs pyverilog, not a simulator: the files are read without Icarus's
preprocessor, so RTL files must not rely on `define macros or `include.
Where pyverilog 1.3 rejects a file for ANSI-style task/function ports, the
file is parsed again with function and task bodies blanked out.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlm.arch import MAX_ARRAY, MAX_SCRATCHPAD, Arch
from tlm.errors import InputError
from tlm.rtl.constexpr import Expr, evaluate, expr_text, from_pyverilog
from tlm.rtl.constexpr import width as range_width
from tlm.rtl.runner import cache_root

REPO_ROOT = Path(__file__).resolve().parents[2]
RTL_DIR = REPO_ROOT / "rtl"
CACHE_DIR = cache_root() / "introspect"  # per user, whatever the current folder
_CACHE_VERSION = "1"


# Where each parameter `Arch.rtl_parameters()` derives comes from, for messages.
ARCH_SOURCES = {
    "ROWS": "[array] rows",
    "COLS": "[array] cols",
    "ENGINES": "[array] engines",
    "TABLE_DEPTH": "[scheduler] table_depth",
    "BUS_BYTES": "[dma] bus_bytes",
    "MAX_BURST_BEATS": "[dma] max_burst_beats",
    "MEM_LATENCY": "[memory] latency_cycles",
    "KMAX": "kmax (from [scratchpad] bytes, [array] rows, cols and [engine] reuse_slots)",
    "DOUBLE_BUFFER": "[engine] double_buffer",
    "DATAFLOW": "[array] dataflow (os = 0, ws = 1)",
    "TILE_ROWS": "tile_rows (R, or from [scratchpad] bytes with [array] dataflow = \"ws\")",
    "OVERLAP_DRAIN": "[engine] overlap_drain",
    "VEC_LANES": "[vector] lanes",
    "VEC_LATENCY": "[vector] latency_cycles",
    "REUSE_SLOTS": "[engine] reuse_slots",
}


#: What the RTL can represent, tighter than what TLM-only runs accept (`tlm.arch`):
#: k (up to kmax) is a 16-bit field of the entry word and of the MAC array's
#: counter (`engine.v`, `mac_array.v`); arrays beyond 64x64 are not supported
#: by the RTL build (nor practical to simulate gate by gate).
RTL_MAX_ARRAY = 64
RTL_MAX_KMAX = 65535


def check_rtl_limits(arch: Arch, file: str = "rtl/accel_top.v") -> None:
    """Refuse an arch the RTL cannot build, before any RTL run.

    Raises:
        InputError: rows or cols above `RTL_MAX_ARRAY`, or kmax above `RTL_MAX_KMAX`.
    """
    a = arch.array
    for name, v in (("rows", a.rows), ("cols", a.cols)):
        if v > RTL_MAX_ARRAY:
            raise InputError(file, f"[array] {name}",
                             f"{v} is more than the RTL supports (<= {RTL_MAX_ARRAY}); "
                             f"TLM-only runs (tlmsim sim) accept up to {MAX_ARRAY}")
    slots = arch.engine.reuse_slots
    if arch.kmax > RTL_MAX_KMAX:
        raise InputError(file, "[scratchpad] bytes",
                         f"{arch.scratchpad.bytes} gives {arch.kmax} bytes per lane (kmax), more than "
                         f"the RTL's 16-bit k supports (<= {RTL_MAX_KMAX}, i.e. [scratchpad] bytes <= "
                         f"{(RTL_MAX_KMAX + 1) * (a.rows + slots * a.cols) + 4 * a.rows * a.cols - 1} "
                         f"on a {a.rows}x{a.cols} array); TLM-only runs accept up to {MAX_SCRATCHPAD}")


class RtlParameterMismatch(InputError):
    """The arch config and the RTL top disagree on a parameter."""


@dataclass(frozen=True)
class ParamInfo:
    """One parameter: its default as written and, if constant, its value."""

    name: str
    text: str
    expr: Expr
    width: tuple[Expr, Expr] | None  # declared [msb:lsb], if any
    local: bool
    default: int | None


@dataclass(frozen=True)
class PortInfo:
    """One port; `width` is in bits under the parameter defaults (None if unknown)."""

    name: str
    direction: str          # "input" | "output" | "inout"
    msb_text: str           # "" for a 1-bit port
    lsb_text: str
    msb: Expr | None
    lsb: Expr | None
    width: int | None

    @property
    def range_text(self) -> str:
        return f"[{self.msb_text}:{self.lsb_text}]" if self.msb is not None else ""


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    file: str
    parameters: tuple[ParamInfo, ...]   # overridable, in declaration order
    localparams: tuple[ParamInfo, ...]
    ports: tuple[PortInfo, ...]

    def parameter_defaults(self) -> dict[str, int | None]:
        return {p.name: p.default for p in self.parameters}

    def resolve(self, overrides: Mapping[str, int] | None = None) -> dict[str, int | None]:
        """Values of all parameters and localparams when built with `overrides`.

        Raises:
            KeyError: an override names no overridable parameter.
        """
        overrides = dict(overrides or {})
        names = {p.name for p in self.parameters}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise KeyError(f"{self.name} has no parameter {', '.join(unknown)}")
        env: dict[str, int | None] = {}
        for p in (*self.parameters, *self.localparams):
            if p.name in overrides and not p.local:
                env[p.name] = overrides[p.name]
            else:
                env[p.name] = _sized(p, evaluate(p.expr, env), env)
        return env

    def port_widths(self, overrides: Mapping[str, int] | None = None) -> dict[str, int | None]:
        env = self.resolve(overrides)
        return {p.name: range_width(p.msb, p.lsb, env) for p in self.ports}


def _sized(p: ParamInfo, value: int | None, env: Mapping[str, int | None]) -> int | None:
    """A parameter with a declared range keeps only that many bits (unsigned)."""
    if value is None or p.width is None:
        return value
    w = range_width(p.width[0], p.width[1], env)
    return None if w is None else value & ((1 << w) - 1)


# ------------------------------------------------------- pyverilog -> Expr ----
_parser: Any = None


def _get_parser() -> Any:
    """The pyverilog parser, built once per process; its tables go to a temp dir."""
    global _parser
    if _parser is None:
        from pyverilog.vparser.parser import VerilogParser

        tables = Path(tempfile.gettempdir()) / f"tlmsim-pyverilog-{os.getuid()}"
        _parser = VerilogParser(outputdir=str(tables), debug=False)
    return _parser


def _range(width: Any) -> tuple[Expr, Expr] | None:
    return None if width is None else (from_pyverilog(width.msb), from_pyverilog(width.lsb))


def _module_dict(mod: Any, file: str) -> dict[str, Any]:
    """A module as plain data (what the disk cache stores)."""
    from pyverilog.vparser import ast as va

    params: list[dict[str, Any]] = []
    header = [p for decl in (mod.paramlist.params if mod.paramlist else ()) for p in decl.list]
    for p in header:
        params.append(_param_dict(p, local=isinstance(p, va.Localparam)))
    ports: dict[str, dict[str, Any]] = {}
    order: list[str] = []

    def add_port(var: Any) -> None:
        kind = {va.Input: "input", va.Output: "output", va.Inout: "inout"}[type(var)]
        rng = _range(var.width)
        ports[var.name] = {"name": var.name, "direction": kind,
                           "msb": rng[0] if rng else None, "lsb": rng[1] if rng else None}

    for port in mod.portlist.ports if mod.portlist else ():
        if isinstance(port, va.Ioport):
            add_port(port.first)
            order.append(port.first.name)
        else:
            order.append(port.name)  # non-ANSI: direction comes from the body
    for item in mod.items:
        if not isinstance(item, va.Decl):
            continue
        for d in item.list:
            if isinstance(d, va.Parameter):
                # With a #( ) header, body `parameter`s are local (IEEE 1364-2005 4.10.1).
                local = isinstance(d, va.Localparam) or bool(header)
                params.append(_param_dict(d, local=local))
            elif isinstance(d, (va.Input, va.Output, va.Inout)) and d.name not in ports:
                add_port(d)
    return {
        "name": mod.name,
        "file": file,
        "params": params,
        "ports": [ports[n] for n in order if n in ports],
    }


def _param_dict(p: Any, local: bool) -> dict[str, Any]:
    expr = from_pyverilog(p.value) if p.value is not None else ["?", "no value"]
    return {"name": p.name, "expr": expr, "width": _range(p.width), "local": local}


def _module_info(data: dict[str, Any]) -> ModuleInfo:
    env: dict[str, int | None] = {}
    params: list[ParamInfo] = []
    for d in data["params"]:
        width = tuple(d["width"]) if d["width"] else None
        info = ParamInfo(d["name"], expr_text(d["expr"]), d["expr"], width, d["local"], None)  # type: ignore[arg-type]
        value = _sized(info, evaluate(d["expr"], env), env)
        env[d["name"]] = value
        params.append(ParamInfo(info.name, info.text, info.expr, info.width, info.local, value))
    ports = tuple(
        PortInfo(p["name"], p["direction"], expr_text(p["msb"]), expr_text(p["lsb"]),
                 p["msb"], p["lsb"], range_width(p["msb"], p["lsb"], env))
        for p in data["ports"]
    )
    return ModuleInfo(
        data["name"], data["file"],
        tuple(p for p in params if not p.local), tuple(p for p in params if p.local), ports,
    )


# --------------------------------------------------------------- parsing ----
_memo: dict[str, dict[str, ModuleInfo]] = {}


def parse_file(path: str | Path, *, cache_dir: Path | None = CACHE_DIR) -> dict[str, ModuleInfo]:
    """Modules of one Verilog file, by name (cached by content).

    Raises:
        InputError: the file cannot be read or does not parse.
    """
    p = Path(path)
    shown = _shown(p)
    try:
        text = p.read_bytes()
    except OSError as e:
        raise InputError(shown, "file", e.strerror or "cannot read") from None
    key = hashlib.sha256(_CACHE_VERSION.encode() + b"\0" + text).hexdigest()
    if key in _memo:
        return _with_file(_memo[key], shown)
    data = _read_cache(cache_dir, key)
    if data is None:
        data = _parse_text(text, shown)
        _write_cache(cache_dir, key, data)
    modules = {d["name"]: _module_info(d) for d in data}
    _memo[key] = modules
    return _with_file(modules, shown)


def _with_file(modules: dict[str, ModuleInfo], shown: str) -> dict[str, ModuleInfo]:
    # The same content may live in several files; name the one asked about.
    from dataclasses import replace

    return {n: m if m.file == shown else replace(m, file=shown) for n, m in modules.items()}


def _parse_text(text: bytes, shown: str) -> list[dict[str, Any]]:
    from pyverilog.vparser import ast as va
    from pyverilog.vparser.parser import ParseError

    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(shown, "file", "not UTF-8 text") from None
    try:
        tree = _parse_source(source)
    except ParseError as first:
        # pyverilog 1.3 rejects some legal Verilog-2005 inside module bodies
        # (ANSI-style task/function ports). Parameters and ports do not live
        # there, so retry with those bodies blanked out.
        try:
            tree = _parse_source(_without_subprograms(source))
        except ParseError:
            raise InputError(shown, "Verilog", f"pyverilog cannot parse it: {str(first).strip()}") from None
    defs = tree.description.definitions if tree is not None else ()
    return [_module_dict(m, shown) for m in defs if isinstance(m, va.ModuleDef)]


def _parse_source(source: str) -> Any:
    parser = _get_parser()
    try:
        return parser.parse(source)
    finally:
        # The lexer keeps its line count between parses; start the next afresh.
        parser.lexer.lexer.lineno = 1


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_SUBPROGRAM = re.compile(r"\b(function|task)\b.*?\bend\1\b", re.S)


def _blank(match: re.Match[str]) -> str:
    # Keep the newlines so that line numbers in later messages stay right.
    return "\n" * match.group(0).count("\n")


def _without_subprograms(source: str) -> str:
    """The source with comments and function/task declarations blanked out."""
    return _SUBPROGRAM.sub(_blank, _COMMENT.sub(_blank, source))


def _read_cache(cache_dir: Path | None, key: str) -> list[dict[str, Any]] | None:
    if cache_dir is None:
        return None
    try:
        return json.loads((cache_dir / f"{key}.json").read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _write_cache(cache_dir: Path | None, key: str, data: list[dict[str, Any]]) -> None:
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, cache_dir / f"{key}.json")
    except OSError:
        pass  # a cache that cannot be written only costs time


def _shown(p: Path) -> str:
    """How a file is named in messages: relative to the repository when inside it."""
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def find_module(name: str, rtl_dir: str | Path = RTL_DIR) -> ModuleInfo:
    """The module `name` from the `.v` files of `rtl_dir` (`<name>.v` first).

    A file that does not parse is only an error when no other file defines
    the module, so one unrelated file pyverilog cannot read does not block
    the check.

    Raises:
        InputError: no file defines it (naming the first parse failure, if any).
    """
    d = Path(rtl_dir)
    first = d / f"{name}.v"
    files = ([first] if first.is_file() else []) + [f for f in sorted(d.glob("*.v")) if f != first]
    failure: InputError | None = None
    for f in files:
        try:
            mods = parse_file(f)
        except InputError as e:
            failure = failure or e
            continue
        if name in mods:
            return mods[name]
    if failure is not None:
        raise failure
    raise InputError(_shown(first), f"module {name}", f"not defined in any {_shown(d)}/*.v file")


# ----------------------------------------------------------- arch check ----
def check_arch(
    arch: Arch,
    top_params: Mapping[str, int],
    *,
    top: str = "accel_top",
    rtl_dir: str | Path = RTL_DIR,
    module: ModuleInfo | None = None,
    only: Iterable[str] | None = None,
) -> dict[str, int | None]:
    """Check that the RTL top, built with `top_params`, is the arch's hardware.

    Args:
        arch: the arch config.
        top_params: the parameter overrides the top will be built with.
        top: the top module's name (looked up in `rtl_dir`).
        rtl_dir: where the RTL lives.
        module: an already parsed module (instead of `top` / `rtl_dir`).
        only: check just these of the arch's parameters (default: all).

    Returns:
        The top's resolved parameter values (parameters and localparams).

    Raises:
        InputError: the arch is beyond what the RTL supports (`check_rtl_limits`).
        RtlParameterMismatch: an override names no parameter of the top, the
            top lacks a parameter the arch derives, or a value differs.
    """
    check_rtl_limits(arch)
    mod = module or find_module(top, rtl_dir)
    derived = arch.rtl_parameters()
    names = list(derived) if only is None else list(only)
    overridable = {p.name for p in mod.parameters}
    for name in top_params:
        if name not in overridable:
            raise RtlParameterMismatch(
                mod.file, f"parameter {name}",
                f"the build overrides {name} but {mod.name} has no such parameter",
            )
    values = mod.resolve(top_params)
    for name in names:
        want = derived[name]
        source = ARCH_SOURCES.get(name, name)
        if name not in overridable:
            raise RtlParameterMismatch(
                mod.file, f"parameter {name}",
                f"arch {source} = {want} derives {name} but {mod.name} has no such parameter",
            )
        got = values[name]
        if got != want:
            shown = "an expression that does not resolve" if got is None else str(got)
            raise RtlParameterMismatch(
                mod.file, f"parameter {name}",
                f"arch {source} = {want} but the RTL is built with {name} = {shown}",
            )
    return values
