"""Output files that never destroy a good file and never replace a device.

Every file tlmsim writes (traces, Perfetto JSON, VCD, the HTML report, the
calibrated TOML) goes through `AtomicOutput`:

- a regular file, or a path that does not exist yet, is written to a
  temporary file beside the target, ``.<name>.<pid>.<random>.tmp``, which is
  renamed over the target by `commit`; until then the target keeps its old
  content. A symlink to a regular file has its target replaced, not the link;
- a path that exists and is not a regular file (a character device such as
  ``/dev/null``, a FIFO, a socket, or a symlink to one) is written directly:
  renaming over it would replace the device by a file;
- a folder, an empty path or a missing parent folder is bad input
  (`tlm.errors.InputError`, exit 2) before anything runs;
- a failed write (disk full, I/O error) is bad input too, and the temporary
  file is removed, so the previous file stays intact;
- `rollback` cuts the temporary file back to its last `checkpoint`, so a
  write interrupted half-way (a signal) never leaves a cut line behind;
- a temporary file left by a process that no longer runs (killed with
  SIGKILL) is removed by the next run that writes the same path; every
  temporary file still open when the interpreter exits is removed.

`install_signal_handlers` turns SIGTERM and SIGHUP into a `Terminated`
exception (as SIGINT is a KeyboardInterrupt), so writers can finish a valid
file marked incomplete and remove their temporary files.

Names that come from user input (a workload name) reach outputs through
`safe_text`, which escapes what a terminal or a text file cannot carry.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import signal
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, NoReturn

from tlm.errors import InputError

#: Temporary files beside a target: ``.<name>.<pid>.<random>.tmp``.
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")

_LIVE: set[AtomicOutput] = set()


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM or SIGHUP (raised by the handler).

    A KeyboardInterrupt, so every layer that lets an interrupt through (the
    kernel re-raises it from a process as is) lets this through too.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def safe_text(s: str) -> str:
    """`s` with every character a terminal or UTF-8 file cannot carry escaped.

    Control characters and lone surrogates become ``\\xNN``/``\\uNNNN``
    escapes; everything printable is kept as is.
    """
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def _where(flag: str) -> str:
    return flag or "file"


def check_output_path(path: str | Path, flag: str = "file") -> str:
    """Refuse an output path that cannot be written as a file, before any work.

    Returns:
        The path as a string.

    Raises:
        InputError: Empty path, a folder, or a parent folder that does not exist.
    """
    p = os.fspath(path)
    if p == "":
        raise InputError("''", _where(flag), "empty output path")
    if os.path.isdir(p):
        raise InputError(p, _where(flag), "is a folder, not a file")
    folder = os.path.dirname(os.path.realpath(p)) if os.path.islink(p) else os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(folder):
        raise InputError(p, _where(flag), f"folder {folder} does not exist")
    return p


def _identity(path: str) -> tuple[Any, ...]:
    """What makes two paths the same file: device and inode, else the resolved name."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("name", os.path.realpath(path))


def is_special(path: str | Path) -> bool:
    """True when `path` exists and is not a regular file (a device, FIFO, socket)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def refuse_clashes(outputs: Sequence[tuple[str, str | None]],
                   inputs: Sequence[tuple[str, str | None]]) -> None:
    """Refuse two outputs naming one file, or an output naming an input file.

    Paths are compared as files (symlinks and hard links count as the same
    file). Devices such as /dev/null may be given more than once.

    Args:
        outputs: (flag, path) per output; None or missing paths are skipped.
        inputs: (flag, path) per input file (a workload, an arch).

    Raises:
        InputError: The first clash, naming both flags.
    """
    seen: dict[tuple[Any, ...], str] = {}
    for flag, path in inputs:
        if path and os.path.exists(path):
            seen.setdefault(_identity(path), flag)
    inputs_seen = dict(seen)
    for flag, path in outputs:
        if path is None:
            continue
        check_output_path(path, flag)
        if is_special(path):
            continue
        ident = _identity(path)
        other = seen.get(ident)
        if other is not None:
            what = "input" if ident in inputs_seen else "output"
            raise InputError(path, flag, f"is also the {what} file of {other}: refusing to overwrite it")
        seen[ident] = flag


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def sweep_stale_temps(target: str | Path) -> list[str]:
    """Remove temporary files of `target` left by processes that no longer run.

    Returns:
        The names removed.
    """
    t = Path(target)
    removed: list[str] = []
    try:
        names = os.listdir(t.parent)
    except OSError:
        return removed
    for name in names:
        m = _TEMP.match(name)
        if m is None or m.group("name") != t.name or _pid_alive(int(m.group("pid"))):
            continue
        try:
            os.unlink(t.parent / name)
            removed.append(name)
        except OSError:
            pass
    return removed


def _write_error(path: str, flag: str, e: OSError) -> InputError:
    what = "disk full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else "cannot write"
    return InputError(path, _where(flag), f"{what}: {e.strerror or e}")


class AtomicOutput:
    """One output file, written so that it is either complete or untouched.

    Args:
        path: The file to write (see the module docstring for the rules).
        flag: The CLI flag naming it, used in error messages.

    Raises:
        InputError: The path is not writable as a file.

    Usage::

        with AtomicOutput("report.html", "-o") as out:
            out.write(b"...")
        # committed; an exception inside the block discards the output
    """

    def __init__(self, path: str | Path, flag: str = "file") -> None:
        self.path = check_output_path(path, flag)
        self.flag = flag
        self.failed = False
        self.done = False
        self._good = 0  # bytes known to end on a whole unit (checkpoint)
        self.direct = is_special(self.path)
        self._tmp: str | None = None
        self._scratch: list[str] = []
        try:
            if self.direct:
                self.target = self.path
                self._file: Any = open(self.path, "wb")
            else:
                # Write through a symlink: the link stays, its target is replaced.
                self.target = os.path.realpath(self.path) if os.path.islink(self.path) else self.path
                sweep_stale_temps(self.target)
                folder, name = os.path.split(os.path.abspath(self.target))
                fd, self._tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp",
                                                 dir=folder)
                os.chmod(self._tmp, self._mode())
                self._file = os.fdopen(fd, "wb")
        except OSError as e:
            if self._tmp is not None:
                _unlink_quietly(self._tmp)
            raise InputError(self.path, _where(flag), f"cannot write: {e.strerror or e}") from None
        _LIVE.add(self)

    def _mode(self) -> int:
        try:
            return stat.S_IMODE(os.stat(self.target).st_mode)  # keep an existing file's mode
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            return 0o666 & ~umask

    def scratch(self) -> str:
        """A new scratch file for the writer (a sorted run, say), removed with the output.

        It is named like the temporary file, so a killed run's scratch files
        are swept as stale too (beside the target; in the system's temporary
        folder when the target is a device).
        """
        if self.direct:
            folder, name = tempfile.gettempdir(), "tlmsim-" + os.path.basename(self.path)
        else:
            folder, name = os.path.split(os.path.abspath(self.target))
        try:
            fd, scratch = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=folder)
        except OSError as e:
            self._fail(e)
        os.close(fd)
        self._scratch.append(scratch)
        return scratch

    def _drop_scratch(self) -> None:
        for name in self._scratch:
            _unlink_quietly(name)
        self._scratch.clear()

    @property
    def temp_name(self) -> str | None:
        """The temporary file being written (None when writing directly)."""
        return self._tmp

    def write(self, data: bytes) -> None:
        """Append `data`.

        Raises:
            InputError: The write failed (disk full …); the output is discarded.
        """
        try:
            self._file.write(data)
        except OSError as e:
            self._fail(e)

    def checkpoint(self) -> None:
        """Flush: what was written so far ends on a whole unit (line, event)."""
        try:
            self._file.flush()
            self._good = self._file.tell() if not self.direct else self._good
        except OSError as e:
            self._fail(e)

    def rollback(self) -> None:
        """Cut the file back to the last `checkpoint` (after an interrupted write)."""
        if self.done or self.direct:
            return
        try:
            self._file.flush()
        except OSError:
            pass
        try:
            self._file.truncate(self._good)
            self._file.seek(self._good)
        except (OSError, ValueError):
            pass

    def _fail(self, e: OSError) -> NoReturn:
        self.failed = True
        self.discard()
        raise _write_error(self.path, self.flag, e) from None

    def commit(self) -> None:
        """Close the file and rename it over the target.

        Raises:
            InputError: The final flush or the rename failed (the target is kept).
        """
        if self.done:
            return
        try:
            self._file.close()
            if self._tmp is not None:
                os.replace(self._tmp, self.target)
                self._tmp = None
        except OSError as e:
            self._fail(e)
        self.done = True
        self._drop_scratch()
        _LIVE.discard(self)

    def discard(self) -> None:
        """Close and remove the temporary file; the target keeps its old content."""
        if self.done:
            return
        self.done = True
        _LIVE.discard(self)
        try:
            self._file.close()
        except OSError:
            pass
        if self._tmp is not None:
            _unlink_quietly(self._tmp)
            self._tmp = None
        self._drop_scratch()

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def write_file(path: str | Path, data: str | bytes, flag: str = "file") -> None:
    """Write a whole output file at once (see `AtomicOutput`).

    Raises:
        InputError: The path is not writable, or the write failed.
    """
    raw = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    with AtomicOutput(path, flag) as out:
        out.write(raw)


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


@atexit.register
def _discard_live() -> None:
    # Outputs nobody committed or aborted: never leave their temporary files.
    for out in list(_LIVE):
        out.discard()


_handling = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _handling
    if _handling:
        return  # a second signal must not cut the clean-up of the first short
    _handling = True
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP raise `Terminated`, SIGINT `KeyboardInterrupt`, once each run.

    Only in the main thread; a second signal during the clean-up is ignored.
    """
    global _handling
    _handling = False
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        try:
            if signal.getsignal(sig) in (signal.SIG_IGN,):
                continue  # e.g. nohup: keep ignoring
            signal.signal(sig, _on_signal)
        except (ValueError, OSError):
            pass  # not the main thread
