"""Sweep spec validation (exit 2, one line), point generation, the size limit, the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pandas  # noqa: E402,F401  (the [dse] extra)

from tlm.cli import main  # noqa: E402
from tlm.dse.pareto import nondominated, pareto_ranks  # noqa: E402
from tlm.dse.points import check_size, grid, random_points  # noqa: E402
from tlm.dse.spec import load_spec, parse_spec  # noqa: E402
from tlm.dse.store import Store  # noqa: E402
from tlm.errors import InputError  # noqa: E402

GOOD = """workloads = ["builtin:gemm_small"]
[axes]
"array.rows" = [4, 8]
"""

BAD = [
    ('bogus = 1\n' + GOOD, "bogus: unknown key"),
    ('[axes]\n"array.rows" = [4]\n', "workloads: missing"),
    ('workloads = []\n', "workloads: must not be empty"),
    ('workloads = [3]\n', "workloads[0]: must be a string"),
    ('workloads = ["builtin:gemm_small"]\nstrategy = "annealing"\n', "strategy: unknown strategy"),
    ('workloads = ["builtin:gemm_small"]\nsamples = 0\n', "samples: must be in 1..1000000"),
    ('workloads = ["builtin:gemm_small"]\nsamples = true\n', "samples: must be a positive integer"),
    ('workloads = ["builtin:gemm_small"]\nobjectives = ["speed"]\n', "objectives[0]: unknown objective"),
    ('workloads = ["builtin:gemm_small"]\nobjectives = []\n', "objectives: must not be empty"),
    ('workloads = ["builtin:gemm_small"]\nconstraints = ["area = 4"]\n', "constraints[0]: must read"),
    ('workloads = ["builtin:gemm_small"]\nconstraints = ["size <= 4"]\n', "constraints[0]: unknown metric"),
    ('workloads = ["builtin:gemm_small"]\nfunctional = 1\n', "functional: must be true or false"),
    ('workloads = ["builtin:gemm_small"]\nbatch = 0\n', "batch: must be in 1..10000"),
    ('workloads = ["builtin:gemm_small"]\n[axes]\n"array.rowz" = [4]\n', 'rowz": unknown arch key'),
    ('workloads = ["builtin:gemm_small"]\n[axes]\n"array.rows" = []\n', 'rows": must not be empty'),
    ('workloads = ["builtin:gemm_small"]\n[axes]\n"array.rows" = 4\n', 'rows": must be a non-empty list'),
    ('workloads = ["builtin:gemm_small"]\n[axes]\n"array.rows" = [4, 4]\n', 'rows": lists a value twice'),
    ('workloads = ["builtin:gemm_small"]\n[axes]\n"array.rows" = [4, 300]\n', 'rows"[1]: must be <= 256'),
    ('workloads = ["builtin:gemm_small"]\n[axes]\n"dma.bus_bytes" = [8, "x"]\n', 'bus_bytes"[1]: must be an integer'),
    ('workloads = ["builtin:gemm_small"]\n[axes.array]\nrows = [4]\n', 'must be a dotted arch key in quotes'),
    ('workloads = ["builtin:gemm_small"]\n[base.array]\nrows = 0\n', "[base] [array] rows: must be a positive"),
    ('workloads = ["builtin:gemm_small"]\nbase = "missing.toml"\n', "missing.toml: file"),
    ('workloads = ["builtin:gemm_small"]\nstrategy = "random"\n', "axes: strategy 'random' needs"),
    ('workloads = [\n', "TOML"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_bad_spec_is_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          text: str, message: str) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("content,message", [
    ("workloads = " + "[" * 5000 + "]" * 5000, "nesting deeper than 64"),
    ("seed = " + "9" * 5000, "TOML"),
    (None, "more than the limit"),
])
def test_hostile_spec_files_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       content: str | None, message: str) -> None:
    """Deep nesting, a 5000-digit integer and an endless device are refused, never a traceback."""
    spec = "/dev/zero" if content is None else tmp_path / "s.toml"
    if content is not None:
        Path(spec).write_text(content)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_bad_flags_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(GOOD)
    for extra, msg in ((["--workers", "0"], "--workers"), (["--top", "3"], "go together"),
                       (["--prescreen", str(tmp_path / "m.json"), "--top", "3"], "m.json: file"),
                       (["--max-points", "1"], "more than the limit 1")):
        assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and msg in err, err
    assert main(["sweep", str(tmp_path / "none.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "none.toml: file" in capsys.readouterr().err


def test_spec_defaults_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text("[memory]\nlatency_cycles = 33\n")
    (tmp_path / "s.toml").write_text('workloads = ["net.json", "builtin:gemm_small"]\nbase = "base.toml"\n'
                                     '[axes]\n"array.rows" = [4, 8]\n"dma.bus_bytes" = [8, 16, 32]\n')
    spec = load_spec(tmp_path / "s.toml")
    assert spec.workloads == ("net.json", "builtin:gemm_small")
    assert spec.sources[0] == str(tmp_path / "net.json")
    assert spec.base.memory.latency_cycles == 33 and spec.base.timing.dma_grant_cycles == 1
    assert spec.objectives == ("cycles", "area") and spec.strategy == "grid" and not spec.functional
    assert spec.grid_size == 6 and grid(spec)[1] == {"array.rows": 4, "dma.bus_bytes": 16}
    check_size(spec, 6)
    with pytest.raises(InputError, match="6 points, more than the limit 5"):
        check_size(spec, 5)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=4), samples=st.integers(1, 50),
       seed=st.integers(0, 2**31))
def test_random_points_are_distinct_grid_points_and_seeded(sizes: list[int], samples: int, seed: int) -> None:
    keys = ["array.rows", "array.cols", "dma.bus_bytes", "memory.latency_cycles"]
    vals = {"array.rows": [1, 2, 3, 4, 5], "array.cols": [1, 2, 3, 4, 5], "dma.bus_bytes": [1, 2, 4, 8, 16],
            "memory.latency_cycles": [1, 2, 3, 4, 5]}
    axes = {k: vals[k][:n] for k, n in zip(keys, sizes)}
    spec = parse_spec({"workloads": ["builtin:gemm_small"], "strategy": "random", "samples": samples,
                       "seed": seed, "axes": axes}, "<s>")
    pts = random_points(spec)
    full = grid(spec)
    assert len(pts) == min(samples, len(full))
    assert all(p in full for p in pts) and len({tuple(p.values()) for p in pts}) == len(pts)
    assert pts == random_points(spec)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=20))
def test_pareto_front_is_exactly_the_undominated_points(pts: list[tuple[int, int]]) -> None:
    import numpy as np

    v = np.array(pts, dtype=float)
    mask = nondominated(v)
    for i, p in enumerate(pts):
        dominated = any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in pts)
        assert mask[i] == (not dominated)
    ranks = pareto_ranks(v)
    assert (ranks[mask] == 0).all() and (ranks >= 0).all()


def test_store_chunks_consolidate_and_drop_orphan_layers(tmp_path: Path) -> None:
    s = Store(tmp_path)
    s.append([{"key": "a", "workload": "w", "status": "ok", "cycles": 5}],
             [{"key": "a", "layer": 0, "incr": 5}])
    s.append([{"key": "b", "workload": "w", "status": "error: x", "cycles": None}], [])
    s.append([{"key": "a", "workload": "w", "status": "ok", "cycles": 5}], [])  # a duplicate
    import pandas as pd

    # layers written by a run killed before its result chunk: dropped
    pd.DataFrame([{"key": "z", "layer": 0, "incr": 1}]).to_parquet(s.chunks / "l-orphan.parquet")
    # half-written files of a sweep killed mid-write
    (s.chunks / ".l-dead.parquet.123.tmp").write_bytes(b"PAR1")
    (tmp_path / ".results.parquet.123.tmp").write_bytes(b"PAR1")
    res = s.consolidate(["workload"])
    assert sorted(res["key"]) == ["a", "b"]
    assert list(Store(tmp_path).layers()["key"]) == ["a"]
    assert set(Store(tmp_path).done()) == {"a", "b"}
    assert not list(s.chunks.iterdir()) and not list(tmp_path.glob(".*tmp"))
