"""The interface every trace sink offers, and the sinks that need no file.

A model holds one sink and calls it unconditionally (no `if trace:` branches
on the hot path):

- ``record(op, tile, start, end, **extra)`` once per activity, in any order;
  times are integer clock cycles, ``start <= end``;
- ``close(cycles, tiles, functional, **extra)`` once when the run completed;
- ``abort()`` when the run was cut short (deadlock, interrupt, error): what
  was recorded stays readable and the output says the run did not complete;
- ``occupancy(time, value)`` (optional to act on): dependency-table entries
  in use from cycle `time`; the VCD and Perfetto writers draw it, the JSON
  Lines trace has no record for it.

Every sink is also a context manager: leaving the ``with`` block without
``close`` (normally or by an exception) calls ``abort``.

`NullWriter` records nothing; `TeeWriter` forwards to several sinks (for
example a JSON Lines trace and a Perfetto file from the same run).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from tlm.outputs import AtomicOutput, write_file


@runtime_checkable
class TraceSink(Protocol):
    """What a model may call on a trace output."""

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None: ...

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None: ...

    def abort(self) -> None: ...

    def occupancy(self, time: int, value: int) -> None: ...

    # A sink is a context manager: leaving it without `close` aborts it.
    def __enter__(self) -> Any: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class SinkBase:
    """Context-manager behaviour shared by the sinks: ``abort`` unless closed."""

    closed: bool = False

    def _open(self, path: str | Path, clock_period_ps: int) -> int:
        """Common constructor checks: remember the path, return the period as an int."""
        if clock_period_ps <= 0:
            raise ValueError(f"clock_period_ps must be > 0, got {clock_period_ps}")
        self.path = str(path)
        return int(clock_period_ps)

    def occupancy(self, time: int, value: int) -> None:
        """Dependency-table entries in use from cycle `time`; ignored unless overridden."""

    def abort(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def discard(self) -> None:
        """Drop the output: no file is created or replaced."""
        self.closed = True
        out: AtomicOutput | None = getattr(self, "_out", None)
        if out is not None:
            out.discard()

    def __enter__(self) -> SinkBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.closed:
            self.abort()


class NullWriter(SinkBase):
    """A sink that records nothing, for runs without a trace."""

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        pass

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


class TeeWriter(SinkBase):
    """Forwards every call to each of several sinks, in the order given."""

    def __init__(self, *sinks: TraceSink) -> None:
        self.sinks = tuple(sinks)
        # One bound method per sink, looked up once: record() is the hot path.
        self._records = tuple(s.record for s in self.sinks)
        self._occupancies = tuple(s.occupancy for s in self.sinks)

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        for rec in self._records:
            rec(op, tile, start, end, **extra)

    def occupancy(self, time: int, value: int) -> None:
        for occ in self._occupancies:
            occ(time, value)

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        for s in self.sinks:
            s.close(cycles, tiles, functional, **extra)
        self.closed = True

    def abort(self) -> None:
        # Every sink gets its abort even when one of them fails.
        self.closed = True
        error: BaseException | None = None
        for s in self.sinks:
            try:
                s.abort()
            except BaseException as e:  # noqa: B902 - re-raised below
                error = error or e
        if error is not None:
            raise error


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write a whole file through `tlm.outputs.write_file` (temp file + rename).

    Raises:
        InputError: The path is not writable, or the write failed.
    """
    write_file(path, data)
