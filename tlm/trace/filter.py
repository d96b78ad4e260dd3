"""Keeping only part of a run in its trace outputs: some layers, a cycle window.

`FilterSink(inner, layers=..., window=...)` forwards to `inner` the records
that pass and drops the others, so every writer behind it (JSON Lines,
Perfetto, VCD) sees the same subset:

- ``layers``: a record passes when its ``layer`` key is one of them (a
  record without a ``layer`` key never passes);
- ``window = (lo, hi)``: a record passes when it overlaps the cycles
  ``lo..hi`` (both included): ``start <= hi and end >= lo``; ``hi`` None is
  open-ended.

Both given: a record must pass both. Table occupancy samples are filtered by
the window only (they belong to no layer): samples inside it pass, and the
value in force at ``lo`` is sent at ``lo``.

`parse_layers` and `parse_window` read the command-line forms (``3,5-7`` and
``1000:50000``) and raise `InputError` naming the flag.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from tlm.errors import InputError
from tlm.trace.base import TraceSink

#: Largest layer index or cycle the parsers accept (keeps ranges bounded).
LIMIT = 2**62


class FilterSink:
    """A `TraceSink` that forwards to `inner` only the records asked for."""

    def __init__(self, inner: TraceSink, *, layers: frozenset[int] | None = None,
                 window: tuple[int, int | None] | None = None) -> None:
        self.inner = inner
        self.layers = layers
        self.lo, self.hi = window if window is not None else (0, None)
        self._windowed = window is not None
        self._held: int | None = None  # occupancy in force before the window
        self._inner_record = inner.record
        self.kept = 0
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return bool(getattr(self.inner, "closed", False))

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        hi = self.hi
        if ((self.layers is not None and extra.get("layer") not in self.layers)
                or end < self.lo or (hi is not None and start > hi)):
            self.dropped += 1
            return
        self.kept += 1
        self._inner_record(op, tile, start, end, **extra)

    def occupancy(self, time: int, value: int) -> None:
        if not self._windowed:
            self.inner.occupancy(time, value)
            return
        if time < self.lo:
            self._held = value
            return
        if self.hi is not None and time > self.hi:
            return
        if self._held is not None:
            if time > self.lo:
                self.inner.occupancy(self.lo, self._held)
            self._held = None
        self.inner.occupancy(time, value)

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        if self._held is not None and self._windowed:
            self.inner.occupancy(self.lo, self._held)
            self._held = None
        self.inner.close(cycles, tiles, functional, **extra)

    def abort(self) -> None:
        self.inner.abort()

    def discard(self) -> None:
        discard = getattr(self.inner, "discard", None)
        if discard is not None:
            discard()

    def __enter__(self) -> FilterSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.inner.__exit__(exc_type, exc, tb)


def parse_layers(text: str, flag: str = "--trace-layers") -> frozenset[int]:
    """``"3,5-7"`` -> {3, 5, 6, 7}: comma-separated indices and inclusive ranges.

    Raises:
        InputError: Empty, not integers, negative, or a range that runs backwards.
    """
    out: set[int] = set()
    parts = text.split(",")
    for part in parts:
        item = part.strip()
        lo_s, dash, hi_s = item.partition("-")
        try:
            lo = _index(lo_s)
            hi = _index(hi_s) if dash else lo
        except ValueError:
            raise InputError(flag, "value", f"expected layer indices like 3,5-7, got {text!r}") from None
        if hi < lo:
            raise InputError(flag, "value", f"range {item!r} runs backwards")
        if hi - lo >= 1 << 20:
            raise InputError(flag, "value", f"range {item!r} is longer than {1 << 20} layers")
        out.update(range(lo, hi + 1))
    return frozenset(out)


def parse_window(text: str, flag: str = "--trace-window") -> tuple[int, int | None]:
    """``"1000:50000"`` -> (1000, 50000); ``"1000:"`` -> (1000, None); ``":500"`` -> (0, 500).

    Raises:
        InputError: No colon, not integers, negative, or end before start.
    """
    lo_s, colon, hi_s = text.strip().partition(":")
    try:
        if not colon:
            raise ValueError
        lo = _index(lo_s) if lo_s.strip() else 0
        hi = _index(hi_s) if hi_s.strip() else None
    except ValueError:
        raise InputError(flag, "value",
                         f"expected a cycle window FROM:TO like 1000:50000 (either may be left "
                         f"out), got {text!r}") from None
    if hi is not None and hi < lo:
        raise InputError(flag, "value", f"window {text!r} ends before it starts")
    return lo, hi


def _index(s: str) -> int:
    s = s.strip()
    if not s.isdigit() or not s.isascii():
        raise ValueError(s)
    v = int(s)
    if v > LIMIT:
        raise ValueError(s)
    return v
