"""Names of the `tlm-trace/1` format (docs/trace.md, docs/microarch.md)."""

from __future__ import annotations

FORMAT = "tlm-trace/1"

#: Keys every record carries; all others are the op's extra keys.
RECORD_KEYS = ("op", "tile", "start", "end")

#: Keys every header carries.
HEADER_KEYS = ("format", "source", "workload", "clock_period_ps", "arch")

#: The ops both models write, in the order of a tile's life.
KNOWN_OPS = ("dispatch", "tile", "load_a", "load_b", "load_c", "compute", "store_c", "vector")

#: Ops that are DMA operations: they carry `grant` (DMA busy from grant to end).
DMA_OPS = ("load_a", "load_b", "load_c", "store_c")

#: Value an integer extra column holds where a record lacks that key.
MISSING = -(2**63)


def op_order(op: str) -> tuple[int, str]:
    """Sort key putting the known ops first, in life order, then others by name."""
    return (KNOWN_OPS.index(op), "") if op in KNOWN_OPS else (len(KNOWN_OPS), op)
