"""`tlmsim calibrate` works on every arch the parser accepts, or says in one line why not.

These run against the stand-in reference (the TLM with hidden `[timing]`);
the same archs against the RTL are in testbenches/test_calibrate_archs.py.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import arch_from_dict
from tlm.blocks import simulate
from tlm.cli import main
from tlm.calibrate.core import compile_case
from tlm.workload.calibration import calibration_set, validation_set

HIDDEN = "[timing]\ndma_grant_cycles = 2\nengine_phase_cycles = 1\n"


@pytest.mark.parametrize("toml", [
    "[array]\nrows = 1\n",
    "[array]\ncols = 1\n[scheduler]\ntable_depth = 1\n",
    "[memory]\nbytes = 64\n[scratchpad]\nbytes = 128\n",   # 64 bytes of memory, kmax = 8
])
def test_stand_in_calibration_on_edge_archs(tmp_path, capsys, toml):
    """Each used to fail: a case reported as bad input, or a deadlock."""
    arch, hidden, out = tmp_path / "a.toml", tmp_path / "h.toml", tmp_path / "cal.toml"
    arch.write_text(toml)
    hidden.write_text(HIDDEN)
    rc = main(["calibrate", "--arch", str(arch), "--stand-in", str(hidden), "--out", str(out),
               "--json", "--no-progress", "--max-evaluations", "20"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    s = json.loads(captured.out)
    assert s["passed"] and s["held_out"]["min_accuracy"] == 1.0
    assert s["timing"]["dma_grant_cycles"] == 2


@st.composite
def legal_archs(draw):
    rows, cols = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    # kmax = 1 + extra (kmax = 1 is in test_smallest_scratchpad_cases_compile)
    extra = draw(st.sampled_from([7, 40, 300, 9000]))
    return arch_from_dict({
        "array": {"rows": rows, "cols": cols, "engines": draw(st.integers(1, 4))},
        "scratchpad": {"bytes": (rows + cols) * (1 + extra) + 4 * rows * cols},
        "scheduler": {"table_depth": draw(st.integers(1, 16))},
        "memory": {"bytes": draw(st.sampled_from([1, 4096, 1 << 30]))},
        "dma": {"bus_bytes": draw(st.sampled_from([1, 8, 128]))},
    })


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legal_archs())
def test_every_case_compiles_and_runs_on_any_legal_arch(arch):
    """Shapes fit the array and the lane, memory is made to fit, nothing deadlocks."""
    r, c = arch.array.rows, arch.array.cols
    cases = calibration_set(r, c, arch.kmax) + validation_set(r, c, arch.kmax)
    for case in cases:
        a, program = compile_case(case, arch)
        assert a.hardware_dict()["array"] == arch.hardware_dict()["array"]
        assert program.memory_size <= a.memory.bytes
        assert int(program.k.max()) <= a.kmax and int(program.m.max()) <= r and int(program.n.max()) <= c
        assert simulate(program, a, functional=False).tiles == program.tiles


def test_smallest_scratchpad_cases_compile():
    """kmax = 1 on a 1x1 array: every tile has k = 1 (the held-out built-ins get large)."""
    arch = arch_from_dict({"array": {"rows": 1, "cols": 1}, "scratchpad": {"bytes": 6}})
    assert arch.kmax == 1
    for case in calibration_set(1, 1, 1) + validation_set(1, 1, 1):
        a, program = compile_case(case, arch)
        assert int(program.k.max()) <= a.kmax and int(program.m.max()) == 1 == int(program.n.max())
        assert a.kmax == 1 or case["name"] == "cal_split_k"  # its own small-lane overlay


def test_default_cases_fit_the_memory_they_are_given():
    """On an arch with room, a case runs on the arch as given (its RTL cache key unchanged)."""
    arch = arch_from_dict({})
    for case in calibration_set():
        a, _ = compile_case(case, arch)
        assert a.memory == arch.memory


def test_beyond_the_rtl_limits_exits_2_before_any_run(tmp_path, capsys, monkeypatch):
    """The reference is the RTL: an arch it cannot build is refused up front, in one line."""
    import tlm.rtl.run as rtl_run

    def boom(*a, **k):
        raise AssertionError("an RTL run was started")

    monkeypatch.setattr(rtl_run, "run_rtl", boom)
    arch = tmp_path / "a.toml"
    arch.write_text("[array]\nrows = 128\n[scratchpad]\nbytes = 1048576\n")
    rc = main(["calibrate", "--arch", str(arch), "--out", str(tmp_path / "c.toml"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "[array] rows: 128" in err[0]
