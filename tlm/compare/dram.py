"""The DRAM's row outcomes seen by each model, side by side (from the trace footers' `dram`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tlm.trace.dram import OUTCOMES, hit_rate
from tlm.trace.reader import Trace

DRAM_HEAD = ["op", "requests tlm", "requests rtl", "row hits tlm", "row hits rtl",
             "misses tlm", "misses rtl", "conflicts tlm", "conflicts rtl"]


@dataclass
class DramRow:
    op: str                        # a DMA op, or "all"
    tlm: dict[str, int] | None     # row_hits / row_misses / row_conflicts; None: no DRAM in that trace
    rtl: dict[str, int] | None

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "tlm": self.tlm, "rtl": self.rtl}


def _counts(footer: dict[str, Any] | None, op: str) -> dict[str, int] | None:
    dram = (footer or {}).get("dram")
    if not isinstance(dram, dict):
        return None
    src = dram if op == "all" else (dram.get("by_op") or {}).get(op, {})
    if not isinstance(src, dict):
        return None
    return {k: int(src.get(k, 0)) for k in OUTCOMES}


def compare_dram(tlm: Trace, rtl: Trace) -> list[DramRow]:
    """Per DMA op (and all), each model's row outcomes; empty when neither trace has a DRAM."""
    ops: set[str] = set()
    for t in (tlm, rtl):
        dram = (t.footer or {}).get("dram")
        if isinstance(dram, dict) and isinstance(dram.get("by_op"), dict):
            ops.update(str(op) for op in dram["by_op"])
    if not ops and _counts(tlm.footer, "all") is None and _counts(rtl.footer, "all") is None:
        return []
    return [DramRow(op, _counts(tlm.footer, op), _counts(rtl.footer, op)) for op in [*sorted(ops), "all"]]


def dram_rows(rows: list[DramRow]) -> list[list[str]]:
    """Table cells: request counts, then each outcome as a share of the requests."""
    def share(c: dict[str, int] | None, key: str) -> str:
        if c is None:
            return "-"
        n = sum(c.values())
        return f"{100 * c[key] / n:.1f}%" if n else "-"

    def req(c: dict[str, int] | None) -> str:
        return "-" if c is None else str(sum(c.values()))

    return [[r.op, req(r.tlm), req(r.rtl), share(r.tlm, "row_hits"), share(r.rtl, "row_hits"),
             share(r.tlm, "row_misses"), share(r.rtl, "row_misses"),
             share(r.tlm, "row_conflicts"), share(r.rtl, "row_conflicts")] for r in rows]


__all__ = ["DRAM_HEAD", "DramRow", "compare_dram", "dram_rows", "hit_rate"]
