"""Per-layer cycles and per-engine time split of a TLM trace against an RTL trace.

Both traces name their layers in the header (``"layers": [{"name", "op"}]``)
and tag each record with its ``layer`` index. A layer's cycles are computed
from the ``tile`` records exactly as `tlmsim sim` does from the run itself
(`tlm.blocks.profile.share_cycles`): every cycle is shared among the layers
whose tiles occupy engines then, so the layers' cycles sum to the footer's.
Traces without layers, cut short, or filtered (`--trace-layers`,
`--trace-window`) give no per-layer rows.

`engine_time(trace)` splits each engine's cycles into compute, load, store
and idle from the ``tile`` and ``compute`` records, with the definitions of
`tlm.blocks.profile` (what `tlmsim sim` prints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tlm.blocks.profile import share_cycles
from tlm.trace.reader import Trace


@dataclass
class LayerRow:
    """One layer in both traces (cycles as shared, start/end of its tiles)."""

    index: int
    name: str
    op: str
    cycles_tlm: int
    cycles_rtl: int
    start_tlm: int
    end_tlm: int
    start_rtl: int
    end_rtl: int

    @property
    def error(self) -> float:
        """|cycles TLM - cycles RTL| as a fraction of the RTL cycles (0 cycles count as 1)."""
        return abs(self.cycles_tlm - self.cycles_rtl) / max(self.cycles_rtl, 1)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "op": self.op,
                "cycles_tlm": self.cycles_tlm, "cycles_rtl": self.cycles_rtl,
                "error": round(self.error, 6), "start_tlm": self.start_tlm,
                "end_tlm": self.end_tlm, "start_rtl": self.start_rtl, "end_rtl": self.end_rtl}


def header_layers(trace: Trace) -> list[tuple[str, str]] | None:
    """The header's layers as (name, op) pairs; None when absent or malformed."""
    raw = trace.header.get("layers")
    if not isinstance(raw, list) or not raw:
        return None
    out = []
    for x in raw:
        if not isinstance(x, dict) or not isinstance(x.get("name"), str) \
                or not isinstance(x.get("op"), str):
            return None
        out.append((x["name"], x["op"]))
    return out


def _per_layer(trace: Trace, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Shared cycles, first start and last end per layer, from the tile records."""
    tiles = trace.ops.get("tile")
    if tiles is None or "layer" not in (tiles.dtype.names or ()) or trace.cycles is None:
        return None
    layer = tiles["layer"]
    ok = (layer >= 0) & (layer < n)
    if not ok.all():
        return None
    layer = layer.astype(np.int64)
    cycles = share_cycles(tiles["start"], tiles["end"], layer, n, trace.cycles)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, layer, tiles["start"])
    first[first == np.iinfo(np.int64).max] = -1
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, layer, tiles["end"])
    return cycles, first, last


def compare_layers(tlm: Trace, rtl: Trace) -> tuple[list[LayerRow], list[str]]:
    """Per-layer rows (empty when the traces have no usable layers) and warnings."""
    names = header_layers(rtl)
    if names is None or header_layers(tlm) is None:
        return [], []
    if header_layers(tlm) != names:
        return [], [f"{tlm.path}: its layers differ from those of {rtl.path}: no per-layer figures"]
    if any("filter" in t.header for t in (tlm, rtl)):
        return [], ["a trace is filtered (--trace-layers/--trace-window): no per-layer figures"]
    a, b = _per_layer(tlm, len(names)), _per_layer(rtl, len(names))
    if a is None or b is None:
        return [], []
    rows = [LayerRow(i, name, op, int(a[0][i]), int(b[0][i]), int(a[1][i]), int(a[2][i]),
                     int(b[1][i]), int(b[2][i]))
            for i, (name, op) in enumerate(names)]
    return rows, []


def engine_time(trace: Trace) -> list[dict[str, int]] | None:
    """Per engine {"compute", "load", "store", "idle"} cycles; None when the trace cannot say.

    It cannot when it is cut short or filtered, or when its ``tile`` and
    ``compute`` records do not pair up one to one with an engine each.
    """
    tile, comp = trace.ops.get("tile"), trace.ops.get("compute")
    if tile is None or comp is None or trace.cycles is None or "filter" in trace.header:
        return None
    if "engine" not in (tile.dtype.names or ()) or tile.shape != comp.shape \
            or not (tile["tile"] == comp["tile"]).all():
        return None
    engines = trace.arch.array.engines
    eng = tile["engine"]
    if eng.size and (eng.min() < 0 or eng.max() >= engines):
        return None
    out = []
    for e in range(engines):
        on = eng == e
        t, c = tile[on], comp[on]
        out.append({"compute": int((c["end"] - c["start"]).sum()),
                    "load": int((c["start"] - t["start"]).sum()),
                    "store": int((t["end"] - c["end"]).sum()),
                    "idle": trace.cycles - int((t["end"] - t["start"]).sum())})
    return out
