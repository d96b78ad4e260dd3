"""Check a trace against the per-tile timing relations of docs/microarch.md.

`contract_violations(records, program, arch)` returns one line per broken
relation (an empty list means the trace keeps the contract). It reads only
the trace records, the program (k, load_c, beats, bytes) and the arch
(array size, memory latency and the `[timing]` fixed costs), so it applies to
the RTL's traces (whose fixed costs are the `[timing]` defaults) and to the
TLM model's traces alike.

Checked, per tile on its engine:

- tile.start = dispatch.end; load_a.start = tile.start + engine_start;
  each further load and the compute start engine_phase after the previous
  phase's end; compute lasts R + C + k - 2 (weight stationary:
  ceil(k/R) * (2R + C + m - 2)); store_c starts engine_phase
  after compute; tile.end = store_c.end + engine_done;
- DMA ops: read done = grant + setup + L + beats + read_done, write done =
  grant + setup + beats + write_done; bytes and beats are the program's;
- the shared DMA, over all ops in grant order: grant = max(request, end of
  the previous op) + dma_grant, and the granted engine is the first one
  after the previously granted engine (cyclically) among those whose request
  was pending at that moment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.workload.program import TileProgram

LOADS = ("load_a", "load_b", "load_c")


def read_records(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(activity records, footer or None) of a tlm-trace/1 file."""
    records: list[dict[str, Any]] = []
    footer = None
    with open(path) as fh:
        next(fh)  # header
        for line in fh:
            obj = json.loads(line)
            if obj.get("end") is True:
                footer = obj
            else:
                records.append(obj)
    return records, footer


def contract_violations(records: Iterable[dict[str, Any]], program: TileProgram, arch: Arch,
                        limit: int = 50) -> list[str]:
    """Lines naming each relation the records break (at most `limit`)."""
    t = arch.timing
    r_, c_, lat = arch.array.rows, arch.array.cols, arch.memory.latency_cycles
    ws = arch.array.dataflow == "ws"
    by: dict[tuple[str, int], dict[str, Any]] = {}
    for rec in records:
        by[(rec["op"], int(rec["tile"]))] = rec
    entry_of = {int(tid): i for i, tid in enumerate(program.tile_id) if program.kind[i] == 0}
    bad: list[str] = []

    def need(cond: bool, text: str) -> None:
        if not cond and len(bad) < limit:
            bad.append(text)

    dma_ops: list[tuple[int, int, int, int, str, int]] = []  # grant, request, end, engine, op, tile
    for tid, x in entry_of.items():
        rec = {op: by.get((op, tid)) for op in ("dispatch", "tile", *LOADS, "compute", "store_c")}
        for op in ("dispatch", "tile", "load_a", "load_b", "compute", "store_c"):
            need(rec[op] is not None, f"tile {tid}: no {op} record")
        if program.load_c[x]:
            need(rec["load_c"] is not None, f"tile {tid}: no load_c record")
        if len(bad) >= limit or any(rec[op] is None for op in ("dispatch", "tile", "load_a", "load_b",
                                                              "compute", "store_c")):
            continue
        tile, comp, store = rec["tile"], rec["compute"], rec["store_c"]
        need(tile["start"] == rec["dispatch"]["end"], f"tile {tid}: tile.start {tile['start']} != dispatch.end")
        prev_end = tile["start"] + t.engine_start_cycles - t.engine_phase_cycles
        for op in LOADS:
            if rec[op] is None:
                continue
            ld = rec[op]
            need(ld["start"] == prev_end + t.engine_phase_cycles,
                 f"tile {tid}: {op}.start {ld['start']} != {prev_end + t.engine_phase_cycles}")
            want_end = ld["grant"] + t.dma_setup_cycles + lat + int(program.beats[op][x]) + t.dma_read_done_cycles
            need(ld["end"] == want_end, f"tile {tid}: {op}.end {ld['end']} != grant + setup + L + beats + done = {want_end}")
            need(ld["beats"] == int(program.beats[op][x]) and ld["bytes"] == int(program.bytes[op][x]),
                 f"tile {tid}: {op} beats/bytes {ld['beats']}/{ld['bytes']} differ from the program")
            dma_ops.append((ld["grant"], ld["start"], ld["end"], ld["engine"], op, tid))
            prev_end = ld["end"]
        need(comp["start"] == prev_end + t.engine_phase_cycles,
             f"tile {tid}: compute.start {comp['start']} != last load end + phase")
        k = int(program.k[x])
        if ws:
            n_cycles, formula = -(-k // r_) * (2 * r_ + c_ + int(program.m[x]) - 2), "ceil(k/R)(2R + C + m - 2)"
        else:
            n_cycles, formula = r_ + c_ + k - 2, "R + C + k - 2"
        need(comp["end"] - comp["start"] == n_cycles,
             f"tile {tid}: compute lasts {comp['end'] - comp['start']}, not {formula} = {n_cycles}")
        need(store["start"] == comp["end"] + t.engine_phase_cycles,
             f"tile {tid}: store_c.start {store['start']} != compute.end + phase")
        want_end = store["grant"] + t.dma_setup_cycles + int(program.beats["store_c"][x]) + t.dma_write_done_cycles
        need(store["end"] == want_end, f"tile {tid}: store_c.end {store['end']} != grant + setup + beats + done = {want_end}")
        request = store["start"] + arch.tile_rows + t.drain_extra_cycles
        dma_ops.append((store["grant"], request, store["end"], store["engine"], "store_c", tid))
        need(tile["end"] == store["end"] + t.engine_done_cycles,
             f"tile {tid}: tile.end {tile['end']} != store_c.end + done")

    dma_ops.sort()
    engines = arch.array.engines
    last_end, last_engine = None, engines - 1
    for i, (grant, request, end, engine, op, tid) in enumerate(dma_ops):
        free = request if last_end is None else max(request, last_end)
        need(grant == free + t.dma_grant_cycles,
             f"{op} of tile {tid}: grant {grant} != max(request {request}, DMA free {last_end}) + grant")
        decided = grant - t.dma_grant_cycles
        pending = {e for (g, r, _, e, _, _) in dma_ops[i:] if r <= decided}
        if pending:
            first = next(e for k in range(1, engines + 1) if (e := (last_engine + k) % engines) in pending)
            need(engine == first, f"{op} of tile {tid}: granted engine {engine}, round robin gives {first}")
        last_end, last_engine = end, engine
    return bad
