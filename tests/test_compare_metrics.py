"""compare_traces on synthetic traces with known offsets, and refusals of incomparable pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict
from tlm.compare import compare_traces
from tlm.errors import InputError
from tlm.trace import read_trace, write_trace

ARCH = Arch()


def _trace(path: Path, records, *, cycles: int | None, arch: Arch = ARCH, workload: str = "syn",
           source: str = "rtl", **footer_extra):
    footer = None if cycles is None else {"cycles": cycles, "tiles": 20, "functional": "pass", **footer_extra}
    write_trace(path, records, source=source, workload=workload, arch=arch, footer=footer)
    return read_trace(path)


def _known_pair(tmp_path: Path):
    rtl, tlm = [], []
    for k in range(20):
        rtl.append(("compute", k, 50 * k, 50 * k + 100, {"engine": k % 2}))
        tlm.append(("compute", k, 52 * k, 52 * k + 100 + k, {"engine": k % 2}))
        rtl.append(("load_a", k, 50 * k, 50 * k + 7, {"engine": k % 2, "grant": 50 * k + 1}))
        tlm.append(("load_a", k, 50 * k, 50 * k + 7, {"engine": k % 2, "grant": 50 * k + 1}))
    rtl += [("load_a", 20, 990, 995, {}), ("load_a", 21, 995, 999, {})]
    tlm += [("load_a", 30, 10, 20, {})]
    t = _trace(tmp_path / "tlm.jsonl", tlm, cycles=1040, source="tlm", sim_s=0.5)
    r = _trace(tmp_path / "rtl.jsonl", rtl, cycles=1000, sim_s=60.0)
    return compare_traces(t, r, worst=4)


def test_known_offsets_give_exact_figures(tmp_path: Path) -> None:
    """Accuracy, mape, p95, max, unmatched and worst tiles match the hand computation."""
    c = _known_pair(tmp_path)
    assert c.accuracy == pytest.approx(0.96, abs=1e-12)
    assert (c.cycles_tlm, c.cycles_rtl, c.matched, c.unmatched) == (1040, 1000, 40, 3)
    comp = c.per_op["compute"]
    # errors are k/100 for k = 0..19: mean 0.095; p95 at rank 18.05 -> 0.18 + 0.05 * 0.01
    assert comp.mape == pytest.approx(0.095, abs=1e-12)
    assert comp.p95 == pytest.approx(0.1805, abs=1e-12)
    assert comp.max == pytest.approx(0.19, abs=1e-12)
    assert comp.worst_tiles == [19, 18, 17]
    load = c.per_op["load_a"]
    assert (load.mape, load.p95, load.max, load.n) == (0.0, 0.0, 0.0, 20)
    assert (load.unmatched_tlm, load.unmatched_rtl, load.worst_tiles) == (1, 2, [])
    assert [(m.op, m.tile, m.dur_tlm, m.dur_rtl, m.engine) for m in c.worst] == [
        ("compute", 19, 119, 100, 1), ("compute", 18, 118, 100, 0),
        ("compute", 17, 117, 100, 1), ("compute", 16, 116, 100, 0)]
    assert c.speedup == pytest.approx(120.0)


def test_drift_deciles(tmp_path: Path) -> None:
    """Start drift per tenth of the RTL run: compute drifts 2k cycles, load_a none."""
    c = _known_pair(tmp_path)
    assert [(b.lo, b.hi, b.n) for b in c.drift] == [(100 * b, 100 * b + 100, 4) for b in range(10)]
    for b, d in enumerate(c.drift):
        assert d.mean == pytest.approx((4 * b + 4 * b + 2) / 4)
        assert (d.min, d.max) == (0, 4 * b + 2)
        assert d.rel == pytest.approx(d.mean / (100 * b + 100))


def test_json_has_the_spec_keys(tmp_path: Path) -> None:
    """to_json carries at least the keys of docs/cli.md, plus drift and worst."""
    j = _known_pair(tmp_path).to_json()
    for key in ("accuracy", "cycles_tlm", "cycles_rtl", "matched", "unmatched", "per_op", "drift", "worst"):
        assert key in j
    assert j["per_op"]["compute"]["p95"] == 0.1805 and j["accuracy"] == 0.96
    assert set(j["per_op"]["load_a"]) >= {"mape", "p95", "max"}


@settings(max_examples=30, deadline=None)
@given(
    durs=st.dictionaries(st.integers(0, 500), st.tuples(st.integers(0, 300), st.integers(0, 300)),
                         min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_per_op_errors_match_numpy(tmp_path_factory: pytest.TempPathFactory, durs, seed: int) -> None:
    """Records in any order: the per-op figures equal a direct numpy computation."""
    d = tmp_path_factory.mktemp("p")
    rng = np.random.default_rng(seed)
    tiles = list(durs)
    rtl = [("compute", t, 3 * t, 3 * t + durs[t][0], {}) for t in tiles]
    tlm = [("compute", t, 3 * t, 3 * t + durs[t][1], {}) for t in tiles]
    rng.shuffle(rtl)
    rng.shuffle(tlm)
    c = compare_traces(_trace(d / "t.jsonl", tlm, cycles=100), _trace(d / "r.jsonl", rtl, cycles=100))
    dr = np.array([durs[t][0] for t in sorted(tiles)], dtype=float)
    dt = np.array([durs[t][1] for t in sorted(tiles)], dtype=float)
    err = np.abs(dt - dr) / np.maximum(dr, 1)
    s = c.per_op["compute"]
    assert s.n == len(tiles) and c.unmatched == 0 and c.accuracy == 1.0
    assert s.mape == pytest.approx(err.mean()) and s.max == pytest.approx(err.max())
    assert s.p95 == pytest.approx(np.percentile(err, 95))


def test_identical_traces_are_perfect(tmp_path: Path) -> None:
    """A trace compared with itself: accuracy 1, no error, no drift, no worst list."""
    recs = [("tile", k, 10 * k, 10 * k + 9, {"engine": 0}) for k in range(5)]
    t = _trace(tmp_path / "a.jsonl", recs, cycles=60)
    c = compare_traces(t, t)
    assert c.accuracy == 1.0 and c.per_op["tile"].max == 0.0 and c.worst == []
    assert all(b.mean in (None, 0.0) for b in c.drift)


def test_different_workloads_are_refused(tmp_path: Path) -> None:
    """Traces of two workloads cannot be compared."""
    t = _trace(tmp_path / "a.jsonl", [], cycles=1, workload="a")
    r = _trace(tmp_path / "b.jsonl", [], cycles=1, workload="b")
    with pytest.raises(InputError) as e:
        compare_traces(t, r)
    assert e.value.where == "line 1: field workload" and "'b' differs from 'a'" in e.value.what


def test_different_hardware_is_refused_but_timing_may_differ(tmp_path: Path) -> None:
    """The arch must agree outside [timing]; a timing difference is what is compared."""
    t = _trace(tmp_path / "a.jsonl", [], cycles=1)
    other = arch_from_dict({"array": {"rows": 8}})
    r = _trace(tmp_path / "b.jsonl", [], cycles=1, arch=other)
    with pytest.raises(InputError) as e:
        compare_traces(t, r)
    assert e.value.where == "line 1: field arch [array] rows" and e.value.what.startswith("8 differs from 4")
    r2 = _trace(tmp_path / "c.jsonl", [], cycles=1, arch=ARCH.with_timing(dma_setup_cycles=7))
    assert compare_traces(t, r2).accuracy == 1.0


def test_missing_footer_is_refused(tmp_path: Path) -> None:
    """A run cut short has no end-to-end cycles: InputError naming the footer."""
    t = _trace(tmp_path / "a.jsonl", [("tile", 0, 0, 5, {})], cycles=None)
    r = _trace(tmp_path / "b.jsonl", [("tile", 0, 0, 5, {})], cycles=6)
    with pytest.raises(InputError) as e:
        compare_traces(t, r)
    assert (e.value.file, e.value.where) == (str(tmp_path / "a.jsonl"), "footer")
    assert "cut short" in e.value.what
