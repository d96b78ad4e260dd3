"""Simulated time: a plain `int` count of picoseconds.

Integer time keeps the hot path free of float rounding and makes traces
reproducible bit for bit; `5 * NS` is ordinary integer arithmetic.
"""

from __future__ import annotations

PS = 1
NS = 1_000
US = 1_000_000
MS = 1_000_000_000
SEC = 1_000_000_000_000

_UNITS = ((SEC, "s"), (MS, "ms"), (US, "us"), (NS, "ns"))


def fmt_time(t: int) -> str:
    """`t` picoseconds in the largest unit that divides it exactly, e.g. '30 ns'."""
    for scale, unit in _UNITS:
        if t and t % scale == 0:
            return f"{t // scale} {unit}"
    return f"{t} ps"
