"""Build Verilog with Icarus and run cocotb test modules against it.

A thin layer over `cocotb_tools.runner.get_runner("icarus")` that adds what
the project needs and cocotb's runner does not give:

- a build cache keyed by content, not by file times;
- exceptions instead of `SystemExit` when a test fails or the simulator dies;
- `extra_env` that wins over the parent environment (cocotb's own runner lets
  the parent environment win), and a wall-clock timeout;
- one clear error when Icarus is missing (tests must fail, never skip).

API::

    from tlm.rtl.runner import build, run_test, icarus_available, RTL_DIR

    handle = build("mac_array", [RTL_DIR / "pe.v", RTL_DIR / "mac_array.v"],
                   {"ROWS": 4, "COLS": 4})
    xml = run_test(handle, "test_mac_array", Path("testbenches"),
                   extra_env={"MAC_CASES": str(cases_file)}, timeout_s=120)

`build(top, sources, parameters, *, waves=False, includes=None,
build_root=None)` compiles
`sources` with `top` as the root module and the given Verilog parameter
overrides (`-P top.NAME=value`), under `<cache>/build/<top>-<hash>/` (`hash`
covers the top name, every source's name and bytes, the `include` directories'
`.v`/`.vh`/`.svh` files, the parameters and `waves`). The cache is per user and
independent of the current folder: `$TLMSIM_CACHE`, else
`$XDG_CACHE_HOME/tlmsim`, else `~/.cache/tlmsim` (`cache_root()`). A second
call with the same inputs reuses the compiled `sim.vvp` without running
iverilog. A build is compiled in a temporary folder and renamed into place,
under a file lock, so concurrent runs share builds safely and a killed build
leaves no half-built folder. Modules without a `timescale` directive get
1ns/1ps. Returns a `BuildHandle`; raises `RtlBuildError` (with the tail of
iverilog's output) on a compile error.

`run_test(handle, test_module, test_dir, *, extra_env=None, plusargs=None,
results_xml=None, timeout_s=None, testcase=None, log_file=None)` runs every
`@cocotb.test()` of the Python module `test_module` (found in `test_dir`,
which is put on the simulator's Python path) on that build. The simulator runs
in `run_dir`, by default a fresh folder of its own
(`<build>/run-<test_module>-<pid>-<random>`; folders of processes that ended are
removed by later runs), so concurrent runs never share files; results go to
`results_xml` or `results.xml` there; the path is returned. With `waves=True`
the FST lands in that folder too. The simulator ends with this process: it is
started through `_pdeathsig.py` (Linux: killed when its parent dies, even by
SIGKILL), and an exception in this process (SIGTERM handled as one) kills it. Raises `RtlTestFailed` (names
the failing tests; a `tlm.errors.CheckFailed`) when a test failed,
`RtlTimeout` when `timeout_s` wall-clock seconds passed, `RtlSimAborted`
when the simulator ended without a results file.

Pass test inputs through a file whose path you give in `extra_env` or
`plusargs`: the simulator process inherits the parent environment, and its
`PYTHONPATH` is this process's `sys.path`.

Every error is an `RtlError`. `icarus_available()` tells whether `iverilog` and `vvp` are on PATH;
`build`/`run_test` raise `IcarusMissingError` (one line naming
`apt-get install iverilog`) when they are not.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from tlm.errors import CheckFailed

REPO_ROOT = Path(__file__).resolve().parents[2]
RTL_DIR = REPO_ROOT / "rtl"
TESTBENCH_DIR = REPO_ROOT / "testbenches"
_PDEATHSIG = Path(__file__).with_name("_pdeathsig.py")
TIMESCALE = ("1ns", "1ps")
_COMPLETE = "build.ok"  # written last: its presence marks a finished build
_INCLUDE_SUFFIXES = (".v", ".vh", ".svh")


class RtlError(Exception):
    """Base of every error raised by the RTL runner."""


class IcarusMissingError(RtlError):
    """iverilog or vvp is not on PATH."""


class RtlBuildError(RtlError):
    """iverilog rejected the sources."""


class RtlSimAborted(RtlError):
    """The simulator ended without writing a results file."""


class RtlTimeout(RtlSimAborted):
    """The simulation ran longer than its wall-clock limit."""


class RtlTestFailed(RtlError, CheckFailed):
    """At least one cocotb test failed; `failed` names them."""

    def __init__(self, message: str, failed: list[str], results_xml: Path) -> None:
        super().__init__(message)
        self.failed = failed
        self.results_xml = results_xml


@dataclass(frozen=True)
class BuildHandle:
    """A compiled design, ready for `run_test`.

    Attributes:
        top: the root module's name.
        build_dir: where `sim.vvp` lives (`<cache>/build/<top>-<hash>`).
        parameters: the Verilog parameter overrides it was built with.
        waves: whether it records an FST waveform.
        key: the content hash naming the build.
    """

    top: str
    build_dir: Path
    parameters: dict[str, int]
    waves: bool
    key: str

    @property
    def sim_file(self) -> Path:
        return self.build_dir / "sim.vvp"


def cache_root() -> Path:
    """The per-user cache folder: `$TLMSIM_CACHE`, `$XDG_CACHE_HOME/tlmsim` or `~/.cache/tlmsim`."""
    env = os.environ.get("TLMSIM_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tlmsim"


def default_build_root() -> Path:
    """Where builds go unless a caller names a folder."""
    return cache_root() / "build"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_dead_runs(folder: Path, prefix: str) -> None:
    """Remove `<prefix><pid>-*` folders of processes that no longer run."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for d in entries:
        m = re.fullmatch(re.escape(prefix) + r"(\d+)-\w+", d.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)


def private_folder(parent: Path, prefix: str) -> Path:
    """A new folder `<parent>/<prefix><pid>-<random>`, after sweeping dead processes' ones."""
    parent.mkdir(parents=True, exist_ok=True)
    sweep_dead_runs(parent, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


def die_with_parent_prefix() -> str:
    """A SIM_CMD_PREFIX part that makes the next command die with its parent ('' if impossible)."""
    exe, script = sys.executable, str(_PDEATHSIG)
    if not sys.platform.startswith("linux") or any(c.isspace() for c in exe + script):
        return ""  # cocotb splits the prefix on whitespace
    return f"{exe} -S -I {script}"


def icarus_available() -> bool:
    """True when both `iverilog` and `vvp` are on PATH."""
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def require_icarus() -> None:
    """Raise `IcarusMissingError` unless Icarus Verilog is installed."""
    missing = [tool for tool in ("iverilog", "vvp") if shutil.which(tool) is None]
    if missing:
        raise IcarusMissingError(
            f"Icarus Verilog not found ({' and '.join(missing)} not on PATH): "
            "install it with `apt-get install iverilog`"
        )


def build_key(
    top: str,
    sources: list[Path],
    parameters: dict[str, int],
    waves: bool,
    includes: list[Path] | None = None,
) -> str:
    """Content hash of a build's inputs (16 hex digits)."""
    h = hashlib.sha256()
    h.update(json.dumps([top, sorted(parameters.items()), waves, TIMESCALE]).encode())
    for src in sources:
        h.update(b"\0src\0" + src.name.encode() + b"\0" + src.read_bytes())
    for inc in includes or []:
        for f in sorted(p for p in inc.iterdir() if p.suffix in _INCLUDE_SUFFIXES):
            h.update(b"\0inc\0" + f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _check_parameters(parameters: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in parameters.items():
        if not name.isidentifier():
            raise ValueError(f"bad Verilog parameter name {name!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"parameter {name} must be an int, got {value!r}")
        out[name] = value
    return out


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _icarus_runner():  # type: ignore[no-untyped-def]
    # Imported late so that `tlm.rtl.introspect` and the simulator-free tests
    # never need cocotb.
    from cocotb_tools.runner import get_runner

    runner = get_runner("icarus")
    # cocotb logs every command at INFO; the project's own messages suffice.
    runner.log.setLevel(logging.WARNING)
    return runner


def _verilog(path: Path):  # type: ignore[no-untyped-def]
    # Tagged so any file name compiles as Verilog (cocotb guesses by suffix).
    from cocotb_tools.runner import Verilog

    return Verilog(path)


def build(
    top: str,
    sources: list[Path],
    parameters: dict[str, int],
    *,
    waves: bool = False,
    includes: list[Path] | None = None,
    build_root: Path | None = None,
) -> BuildHandle:
    """Compile `sources` with root module `top`, or reuse an identical build.

    Args:
        top: name of the root module.
        sources: Verilog files, in compile order.
        parameters: Verilog parameter overrides of `top` (name -> int).
        waves: record an FST waveform of `top` when run.
        includes: `include directories (their files are part of the key).
        build_root: parent of the build folders (default `cache_root() / "build"`).

    Returns:
        The handle `run_test` takes.

    Raises:
        IcarusMissingError: iverilog/vvp not installed.
        RtlBuildError: a source is missing or iverilog failed.
        ValueError: a parameter is not a name -> int pair.
    """
    require_icarus()
    params = _check_parameters(parameters)
    srcs = [Path(s).resolve() for s in sources]
    incs = [Path(i).resolve() for i in includes or []]
    for s in srcs:
        if not s.is_file():
            raise RtlBuildError(f"{s}: Verilog source not found")
    key = build_key(top, srcs, params, waves, incs)
    root = (build_root or default_build_root()).resolve()
    build_dir = root / f"{top}-{key}"
    handle = BuildHandle(top, build_dir, params, waves, key)
    if (build_dir / _COMPLETE).is_file() and handle.sim_file.is_file():
        return handle
    with _file_lock(root / f".{top}-{key}.lock"):
        if (build_dir / _COMPLETE).is_file() and handle.sim_file.is_file():
            return handle
        # Compile in a private folder, then rename it into place: no reader
        # ever sees a half-built folder, and a killed build leaves none.
        work = private_folder(root, f".build-{top}-")
        try:
            log = work / "build.log"
            runner = _icarus_runner()
            try:
                runner.build(
                    sources=[_verilog(s) for s in srcs],
                    includes=incs,
                    hdl_toplevel=top,
                    parameters=params,
                    build_dir=work,
                    always=True,  # the content key decides, not file times
                    waves=waves,
                    timescale=TIMESCALE,
                    log_file=log,
                )
            except RuntimeError as e:
                raise RtlBuildError(f"iverilog failed for {top}: {e}\n{_tail(log)}") from None
            (work / _COMPLETE).write_text(json.dumps({"top": top, "parameters": params}) + "\n")
            if build_dir.exists():  # an unfinished folder of an older version
                shutil.rmtree(build_dir, ignore_errors=True)
            os.replace(work, build_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return handle


@contextlib.contextmanager
def _environment(overrides: dict[str, str], drop: tuple[str, ...]) -> Iterator[None]:
    """Temporarily set/unset variables of this process's environment.

    cocotb's runner copies `os.environ` over its `extra_env`, so a value only
    wins when it is in `os.environ` itself while the runner runs.
    """
    saved = {k: os.environ.get(k) for k in (*overrides, *drop)}
    try:
        for k in drop:
            os.environ.pop(k, None)
        os.environ.update(overrides)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _on_sys_path(directory: Path) -> Iterator[None]:
    # The runner hands `sys.path` to the simulator as its PYTHONPATH.
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def _failed_tests(results_xml: Path) -> tuple[int, list[str], list[str]]:
    """(number of tests, failed test names, their failure messages) from JUnit XML."""
    root = ElementTree.parse(results_xml).getroot()
    total = 0
    failed: list[str] = []
    messages: list[str] = []
    for case in root.iter("testcase"):
        total += 1
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            name = case.get("name", "?")
            failed.append(name)
            text = (problem.get("message") or problem.text or "").strip()
            messages.append(f"{name}: " + "\n  ".join(text.splitlines()[:12]))
    return total, failed, messages


def run_test(
    handle: BuildHandle,
    test_module: str,
    test_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    plusargs: list[str] | None = None,
    results_xml: Path | None = None,
    timeout_s: float | None = None,
    testcase: str | None = None,
    log_file: Path | None = None,
    run_dir: Path | None = None,
) -> Path:
    """Run the cocotb tests of `test_module` on a build.

    Args:
        handle: from `build`.
        test_module: Python module name (no `.py`) holding `@cocotb.test()`s.
        test_dir: the directory that holds the module.
        extra_env: variables for the simulator process; they win over the
            parent environment.
        plusargs: `+name=value` arguments for the simulator.
        results_xml: where to write the JUnit results (default: in the run dir).
        timeout_s: wall-clock limit for the simulation, in seconds.
        testcase: run only the test of this name.
        log_file: send the simulator's output there instead of stdout.
        run_dir: the folder the simulator runs in (default: a fresh one of
            this call's own under the build folder).

    Returns:
        The path of the results file.

    Raises:
        IcarusMissingError: iverilog/vvp not installed.
        RtlTestFailed: a test failed (message names them).
        RtlTimeout: the limit `timeout_s` was reached.
        RtlSimAborted: the simulator ended without a results file.
    """
    require_icarus()
    if not handle.sim_file.is_file():
        raise RtlSimAborted(f"{handle.sim_file}: no compiled design; call build() first")
    test_dir = Path(test_dir).resolve()
    if run_dir is None:
        run_dir = private_folder(handle.build_dir, f"run-{test_module}-")
    else:
        run_dir = Path(run_dir).resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
    xml = Path(results_xml).resolve() if results_xml is not None else run_dir / "results.xml"
    with contextlib.suppress(OSError):
        xml.unlink()
    overrides = dict(extra_env or {})
    # [die-with-parent] [timeout ... die-with-parent] vvp: whichever process is
    # killed, the simulator below it goes too.
    guard = die_with_parent_prefix()
    prefix = f"{os.environ.get('SIM_CMD_PREFIX', '')} {guard}"
    if timeout_s is not None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        prefix += f" timeout --kill-after=5 {timeout_s:.3f} {guard}"
    if prefix.strip():
        overrides["SIM_CMD_PREFIX"] = " ".join(prefix.split())
    args = list(plusargs or [])
    if handle.waves:
        args.append(f"+dumpfile_path={run_dir / (handle.top + '.fst')}")
    runner = _icarus_runner()
    exit_code = 0
    # PYTEST_CURRENT_TEST makes cocotb's runner sys.exit() on failure; hide it.
    with _environment(overrides, drop=("PYTEST_CURRENT_TEST",)), _on_sys_path(test_dir):
        try:
            runner.test(
                test_module=test_module,
                hdl_toplevel=handle.top,
                hdl_toplevel_lang="verilog",
                build_dir=handle.build_dir,
                test_dir=run_dir,
                plusargs=args,
                results_xml=str(xml),
                waves=handle.waves,
                testcase=testcase,
                log_file=log_file,
            )
        except SystemExit as e:  # the runner exits with the simulator's status
            exit_code = e.code if isinstance(e.code, int) else 1
        except RuntimeError as e:
            # cocotb 2.1 reports a non-zero simulator status this way.
            m = re.search(r"return code: (-?\d+)", str(e))
            exit_code = int(m.group(1)) if m else 1
    if timeout_s is not None and exit_code in (124, 137, -9):
        raise RtlTimeout(f"{test_module} on {handle.top}: no result after {timeout_s:g} s")
    if not xml.is_file():
        raise RtlSimAborted(
            f"{test_module} on {handle.top}: simulator ended (status {exit_code}) without results"
        )
    total, failed, messages = _failed_tests(xml)
    if failed:
        raise RtlTestFailed(
            f"{test_module} on {handle.top}: {len(failed)} of {total} tests failed: "
            f"{', '.join(failed)}\n" + "\n".join(messages),
            failed,
            xml,
        )
    if total == 0:
        raise RtlSimAborted(f"{test_module} on {handle.top}: no tests ran ({xml})")
    if exit_code != 0:
        raise RtlSimAborted(f"{test_module} on {handle.top}: simulator exit status {exit_code}")
    return xml
