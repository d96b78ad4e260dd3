"""Differential test: the calibrated TLM model against the RTL on random workloads.

Hypothesis draws small workloads — tile DAGs with random m, n, k, random
non-contiguous ids and irregular backward dependencies (up to 4 per tile,
reaching up to 8 tiles back), and small gemm layer stacks — and a hardware
variant (engines, array shape, bus width, memory latency, table depth).
Each is run on the TLM with the shipped calibrated `[timing]`
(`tlm/data/calibrated_timing.toml`, what `tlmsim sim` uses by default) and
on the RTL (`tlm.rtl.run.run_rtl`), and the two traces go through
`tlm.compare.compare_traces`, the same code `tlmsim compare` runs.

Checks:

- both models pass the functional check against numpy;
- the two traces hold the same (op, tile) records;
- end-to-end accuracy >= ``MIN_ACCURACY`` = 0.99 and every op's p95
  duration error <= ``MAX_P95`` = 0.05.

Why these thresholds: `tlmsim calibrate` measured the calibrated model at
100.00% end-to-end accuracy on all 7 held-out workloads (and all 8 fitted
ones) with zero per-op residual over 5,928 matched records (bench/RESULTS.md), so
any drop is a regression; 0.99 and 5% are the project's stated targets
(issue 6), which leave room for a deliberate RTL change that the overlay has
not been re-fitted to yet, while still catching a broken timing relation
(one cycle of error in a per-tile phase already costs more than 1% on these
sizes). The calibration was done on the default hardware only, so the
variants also test that the fitted parameters carry over to other hardware.

Examples are few (each RTL run costs about a second plus a build) and
derandomized so CI sees the same workloads every time; shrinking is off
because every shrink step would be another RTL run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.blocks import simulate
from tlm.cli.common import calibrated_base
from tlm.compare import compare_traces
from tlm.rtl.run import run_rtl
from tlm.trace.reader import read_trace
from tlm.trace.writer import TraceWriter
from tlm.workload import compile_workload

MIN_ACCURACY = 0.99
MAX_P95 = 0.05

HARDWARE: list[dict[str, Any]] = [
    {},
    {"array": {"engines": 3}, "memory": {"latency_cycles": 9}, "scheduler": {"table_depth": 6}},
    {"array": {"engines": 1, "rows": 2, "cols": 3}, "dma": {"bus_bytes": 16, "max_burst_beats": 4}},
]


@st.composite
def tile_dags(draw: Any, rows: int, cols: int) -> dict[str, Any]:
    count = draw(st.integers(2, 18))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=count, max_size=count, unique=True))
    tiles = []
    for i in range(count):
        window = list(range(max(0, i - 8), i))
        deps = draw(st.lists(st.sampled_from(window), max_size=4, unique=True)) if window else []
        tiles.append({"id": ids[i], "m": draw(st.integers(1, rows)), "n": draw(st.integers(1, cols)),
                      "k": draw(st.integers(1, 96)), "deps": sorted(ids[d] for d in deps)})
    return {"format": "tlm-workload/1", "name": "diff_dag", "seed": draw(st.integers(0, 999)),
            "tiles": tiles}


@st.composite
def gemm_stacks(draw: Any) -> dict[str, Any]:
    m = draw(st.integers(1, 12))
    k = draw(st.integers(1, 40))
    layers = []
    for i in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 12))
        layers.append({"name": f"fc{i}", "op": "gemm", "M": m, "N": n, "K": k})
        k = n
    return {"format": "tlm-workload/1", "name": "diff_gemm", "seed": draw(st.integers(0, 999)),
            "layers": layers}


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], Arch]:
    hw = draw(st.sampled_from(HARDWARE))
    arch = arch_from_dict(hw, "<variant>", base=calibrated_base())
    workload = draw(st.one_of(tile_dags(arch.array.rows, arch.array.cols), gemm_stacks()))
    return workload, arch


def _tlm_trace(program: Any, arch: Arch, path: Path) -> str:
    with TraceWriter(path, source="tlm", workload=program.name, arch=arch,
                     clock_period_ps=arch.clock.period_ps) as w:
        result = simulate(program, arch, trace=w)
        w.close(result.cycles, result.tiles, result.functional)
    return result.functional


def test_calibrated_default_is_the_shipped_rtl_calibration():
    """The default arch of `tlmsim sim` carries the overlay fitted against the RTL."""
    text = (Path(__file__).resolve().parents[1] / "tlm" / "data" / "calibrated_timing.toml").read_text()
    assert "against the rtl reference" in text
    assert calibrated_base().hardware_dict() == Arch().hardware_dict()


@settings(max_examples=8, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_tlm_matches_rtl_on_random_workloads(case, tmp_path_factory):
    workload, arch = case
    tmp = tmp_path_factory.mktemp("diff")
    program = compile_workload(workload, arch)
    rtl = run_rtl(program, arch, tmp / "rtl.jsonl", progress=False)
    assert rtl.functional == "pass", rtl.mismatches
    assert _tlm_trace(program, arch, tmp / "tlm.jsonl") == "pass"
    cmp = compare_traces(read_trace(tmp / "tlm.jsonl"), read_trace(tmp / "rtl.jsonl"))
    assert cmp.unmatched == 0, {op: (s.unmatched_tlm, s.unmatched_rtl) for op, s in cmp.per_op.items()}
    assert cmp.accuracy >= MIN_ACCURACY, (cmp.cycles_tlm, cmp.cycles_rtl)
    for op, s in cmp.per_op.items():
        assert s.p95 is None or s.p95 <= MAX_P95, (op, s)
