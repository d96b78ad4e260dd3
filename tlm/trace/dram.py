"""DRAM outcomes in a trace footer: what the memory did, attributed to DMA ops.

Both models (the RTL with a hardware file's DRAM, the TLM's `dram` level)
collect, per memory request, the cycle of its first column command and its
row-buffer outcome (0 hit, 1 miss, 2 conflict), and the DMA's grants. The
footer's `dram` object is computed from those by this one function, so the
two traces count by the same rule: a request belongs to the DMA op granted
most recently at or before its column command (a store's posted writes that
issue after the store is done still count for the store, until the next
grant). Zero-fill requests use no DRAM command and are not counted.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Any

OUTCOMES = ("row_hits", "row_misses", "row_conflicts")


def dram_footer(events: Iterable[int], grants: Sequence[tuple[int, str]], refreshes: int) -> dict[str, Any]:
    """The footer's `dram` object.

    Args:
        events: per request, cycle of its first column command * 4 + outcome (0/1/2).
        grants: (grant cycle, op name) of every DMA op, in grant order.
        refreshes: refresh commands issued during the run.
    """
    total = dict.fromkeys(OUTCOMES, 0)
    by_op: dict[str, dict[str, int]] = {}
    cycles = [g for g, _op in grants]
    n = 0
    for packed in sorted(events):
        cycle, kind = packed >> 2, packed & 3
        n += 1
        total[OUTCOMES[kind]] += 1
        i = bisect.bisect_right(cycles, cycle) - 1
        op = grants[i][1] if i >= 0 else "none"
        by_op.setdefault(op, dict.fromkeys(OUTCOMES, 0))[OUTCOMES[kind]] += 1
    return {"requests": n, **total, "refreshes": refreshes,
            "by_op": {op: by_op[op] for op in sorted(by_op)}}


def hit_rate(counts: dict[str, Any]) -> float | None:
    """Row hits over requests with a column command, None without any."""
    n = sum(int(counts.get(k, 0)) for k in OUTCOMES)
    return int(counts.get("row_hits", 0)) / n if n else None


__all__ = ["OUTCOMES", "dram_footer", "hit_rate"]
