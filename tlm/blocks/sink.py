"""The trace sink used when no trace is requested.

Blocks test `is_null(trace)` once at elaboration and then skip building
trace records altogether: a record's keyword arguments cost more than the
rest of a DMA op's bookkeeping.
"""

from __future__ import annotations

from typing import Any, Protocol


class TraceRecorder(Protocol):
    """What the blocks call on a trace sink (tlm.trace.TraceSink has more)."""

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None: ...

    def occupancy(self, time: int, value: int) -> None: ...


class NullTrace:
    """A trace sink that keeps nothing."""

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        return None

    def occupancy(self, time: int, value: int) -> None:
        return None


def is_null(trace: object) -> bool:
    """True when `trace` discards everything, so records need not be built."""
    return isinstance(trace, NullTrace)
