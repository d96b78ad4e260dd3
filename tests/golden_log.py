"""Reading the reference logs in tests/golden/ and comparing them with ours.

A log line is `TIME DELTA MESSAGE`. Delta counts are compared relative to the
first line at each time, and the messages of one delta as a set (the order of
processes inside a delta is implementation-defined in IEEE 1666).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

Line = tuple[int, int, str]


def read_log(path: Path) -> list[Line]:
    """The (time, delta, message) lines of a reference log; other lines are skipped."""
    lines = []
    for line in path.read_text().splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            lines.append((int(parts[0]), int(parts[1]), parts[2]))
    return lines


def normalise(lines: list[Line]) -> list[tuple[int, int, frozenset[str]]]:
    """(time, delta relative to the first line at that time, messages of that delta)."""
    first: dict[int, int] = {}
    groups: dict[tuple[int, int], set[str]] = defaultdict(set)
    order: list[tuple[int, int]] = []
    for t, d, msg in lines:
        rel = d - first.setdefault(t, d)
        if (t, rel) not in groups:
            order.append((t, rel))
        groups[(t, rel)].add(msg)
    return [(t, rel, frozenset(groups[(t, rel)])) for t, rel in order]
