"""Tile DAGs listed out of dependency order run on the RTL at small table depths.

The compiler admits the tiles of the tiles form in a topological order
(lowest file position first), so a file that lists a tile before the tiles
it waits for can no longer fill the dependency table with tiles that never
become ready. `tests/test_workload_order.py` proves it on the TLM with a
hypothesis property; this is the RTL half on a fixed sample: a few seeded
random DAGs in shuffled file order, table depths 1..8, each checked against
numpy (the RTL's functional check) and against the calibrated TLM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.cli.common import calibrated_base
from tlm.compare import compare_traces
from tlm.rtl.run import run_rtl
from tlm.trace.reader import read_trace
from tlm.trace.writer import TraceWriter
from tlm.workload import compile_workload


def shuffled_dag(seed: int, count: int, rows: int, cols: int) -> dict[str, Any]:
    """A random acyclic DAG whose file order is a random permutation of a topological one."""
    rng = np.random.default_rng([seed, 11])
    ids = [int(x) for x in rng.permutation(np.arange(500, 500 + 5 * count))[:count]]
    deps = [sorted({int(d) for d in rng.integers(max(0, i - 6), i, int(rng.integers(0, 4)))}) if i else []
            for i in range(count)]
    tiles = [{"id": ids[i], "m": int(rng.integers(1, rows + 1)), "n": int(rng.integers(1, cols + 1)),
              "k": int(rng.integers(1, 80)), "deps": [ids[d] for d in deps[i]]} for i in range(count)]
    file_order = rng.permutation(count)
    return {"format": "tlm-workload/1", "name": f"shuffled_dag_{seed}", "seed": seed,
            "tiles": [tiles[i] for i in file_order]}


def reversed_chain(count: int) -> dict[str, Any]:
    """Tile i waits for tile i-1; ids written count-1 .. 0."""
    return {"format": "tlm-workload/1", "name": f"reversed_chain_{count}", "seed": 3, "tiles": [
        {"id": i, "m": 4, "n": 4, "k": 16, "deps": [i - 1] if i else []} for i in range(count - 1, -1, -1)]}


CASES = [
    ("reversed_chain_17", reversed_chain(17), {}),
    ("seed1_depth1", shuffled_dag(1, 24, 4, 4), {"scheduler": {"table_depth": 1}}),
    ("seed2_depth2", shuffled_dag(2, 30, 4, 4), {"scheduler": {"table_depth": 2}, "array": {"engines": 3}}),
    ("seed3_depth3", shuffled_dag(3, 20, 2, 3), {"scheduler": {"table_depth": 3},
                                                 "array": {"engines": 1, "rows": 2, "cols": 3}}),
    ("seed4_depth8", shuffled_dag(4, 36, 4, 4), {"scheduler": {"table_depth": 8}}),
]


def _forward_refs(workload: dict[str, Any]) -> int:
    pos = {t["id"]: i for i, t in enumerate(workload["tiles"])}
    return sum(1 for i, t in enumerate(workload["tiles"]) for d in t["deps"] if pos[d] > i)


def _tlm_trace(program: Any, arch: Arch, path: Path) -> str:
    with TraceWriter(path, source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        result = simulate(program, arch, trace=w)
        w.close(result.cycles, result.tiles, result.functional)
    return result.functional


@pytest.mark.parametrize("name,workload,overlay", CASES, ids=[c[0] for c in CASES])
def test_out_of_order_dag_runs_on_the_rtl(name, workload, overlay, tmp_path):
    assert _forward_refs(workload) > 0   # the file really lists tiles before their predecessors
    arch = arch_from_dict(overlay, "<variant>", base=calibrated_base())
    program = compile_workload(workload, arch)
    rtl = run_rtl(program, arch, tmp_path / "rtl.jsonl", progress=False)
    assert rtl.functional == "pass", rtl.mismatches
    assert rtl.tiles == len(workload["tiles"])
    assert _tlm_trace(program, arch, tmp_path / "tlm.jsonl") == "pass"
    cmp = compare_traces(read_trace(tmp_path / "tlm.jsonl"), read_trace(tmp_path / "rtl.jsonl"))
    assert cmp.unmatched == 0
    assert cmp.accuracy >= 0.99, (cmp.cycles_tlm, cmp.cycles_rtl)
