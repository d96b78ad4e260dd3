"""Pairing the records of two traces of the same run on (op, tile).

Two traces are comparable when they are of the same workload on the same
hardware: the arch configs must agree on everything but `[timing]` (the TLM's
own parameters, which calibration changes). Anything else is bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tlm.errors import InputError
from tlm.trace.reader import Trace
from tlm.trace.schema import op_order


@dataclass
class OpMatch:
    """One op's records present in both traces, in tile order.

    Attributes:
        op: The op name.
        tlm, rtl: The matched rows of each trace (structured arrays, same
            length, row i of both is the same tile).
        only_tlm, only_rtl: Tile ids present in one trace only.
    """

    op: str
    tlm: np.ndarray
    rtl: np.ndarray
    only_tlm: np.ndarray
    only_rtl: np.ndarray

    @property
    def tiles(self) -> np.ndarray:
        return self.rtl["tile"]

    @property
    def dur_tlm(self) -> np.ndarray:
        return self.tlm["end"] - self.tlm["start"]

    @property
    def dur_rtl(self) -> np.ndarray:
        return self.rtl["end"] - self.rtl["start"]

    @property
    def error(self) -> np.ndarray:
        """|duration error| as a fraction of the RTL duration (a 0-cycle op counts as 1)."""
        return np.abs(self.dur_tlm - self.dur_rtl) / np.maximum(self.dur_rtl, 1)


def _first_difference(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> tuple[str, Any, Any] | None:
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            found = _first_difference(va, vb, f"[{key}] ")
            if found:
                return found
        elif va != vb:
            return f"{prefix}{key}", va, vb
    return None


def check_comparable(tlm: Trace, rtl: Trace) -> None:
    """Raise `InputError` unless both traces are of one workload on one hardware.

    The workload is told by the header's `program_hash` (content of the
    compiled program) when both traces carry one, else by name only.
    """
    if tlm.workload != rtl.workload:
        raise InputError(rtl.path, "line 1: field workload",
                         f"{rtl.workload!r} differs from {tlm.workload!r} in {tlm.path}")
    ht, hr = tlm.header.get("program_hash"), rtl.header.get("program_hash")
    if ht is not None and hr is not None and ht != hr:
        raise InputError(rtl.path, "line 1: field program_hash",
                         f"{str(hr)[:16]}… differs from {str(ht)[:16]}… in {tlm.path}: "
                         "the traces are of different workloads (same name, other content)")
    diff = _first_difference(tlm.arch.hardware_dict(), rtl.arch.hardware_dict())
    if diff is not None:
        where, vt, vr = diff
        raise InputError(rtl.path, f"line 1: field arch {where}",
                         f"{vr!r} differs from {vt!r} in {tlm.path} (different hardware)")


def align(tlm: Trace, rtl: Trace) -> dict[str, OpMatch]:
    """Pair the records of two comparable traces, per op (known ops first).

    Raises:
        InputError: The traces are not comparable (see `check_comparable`).
    """
    check_comparable(tlm, rtl)
    empty = np.zeros(0, dtype=[("tile", np.int64), ("start", np.int64), ("end", np.int64),
                               ("line", np.int64)])
    out: dict[str, OpMatch] = {}
    for op in sorted(set(tlm.ops) | set(rtl.ops), key=op_order):
        a = tlm.ops.get(op, empty)
        b = rtl.ops.get(op, empty)
        # Both are sorted by tile with unique tiles (the reader guarantees it).
        common, ia, ib = np.intersect1d(a["tile"], b["tile"], assume_unique=True, return_indices=True)
        out[op] = OpMatch(
            op=op,
            tlm=a[ia],
            rtl=b[ib],
            only_tlm=np.setdiff1d(a["tile"], common, assume_unique=True),
            only_rtl=np.setdiff1d(b["tile"], common, assume_unique=True),
        )
    return out
