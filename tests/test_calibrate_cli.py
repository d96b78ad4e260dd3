"""`tlmsim calibrate`: overlay round trip, exit statuses, RTL cache, case sets (no simulator)."""

from __future__ import annotations

import dataclasses
import json
import tomllib

import pytest

from tlm.arch import Arch, arch_from_dict, arch_to_toml
from tlm.cli import main
from tlm.calibrate.runs import RtlReference, run_tlm
from tlm.trace.writer import write_trace
from tlm.workload import compile_workload
from tlm.workload.calibration import calibration_set, validation_set

HIDDEN = {"dma_grant_cycles": 2, "engine_phase_cycles": 3, "sched_notice_cycles": 2,
          "dma_read_done_cycles": 4}


@pytest.fixture
def stand_in(tmp_path):
    base = Arch()
    path = tmp_path / "hidden.toml"
    path.write_text(arch_to_toml(base.with_timing(**HIDDEN), sections=("timing",)))
    return path


def test_stand_in_calibration_writes_an_overlay_that_round_trips(tmp_path, stand_in, capsys):
    """The written overlay parses through arch_from_dict into exactly the fitted timing."""
    out = tmp_path / "cal.toml"
    rc = main(["calibrate", "--stand-in", str(stand_in), "--out", str(out), "--json",
               "--no-progress"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    assert s["source"] == "stand-in" and s["passed"] is True
    arch = arch_from_dict(tomllib.loads(out.read_text()), str(out))
    assert dataclasses.asdict(arch.timing) == s["timing"]
    assert arch.hardware_dict() == Arch().hardware_dict()   # a [timing]-only overlay
    want = Arch().with_timing(**HIDDEN).timing
    assert arch.timing.dma_grant_cycles == want.dma_grant_cycles
    assert arch.timing.engine_phase_cycles == want.engine_phase_cycles
    assert (arch.timing.dma_setup_cycles + arch.timing.dma_read_done_cycles
            == want.dma_setup_cycles + want.dma_read_done_cycles)
    held = [c for c in s["cases"] if c["set"] == "held-out"]
    assert held and all(c["acc_after"] == 1.0 for c in held)
    assert any(c["acc_before"] < 1.0 for c in held)


def test_human_table_names_the_stand_in(tmp_path, stand_in, capsys):
    out = tmp_path / "cal.toml"
    assert main(["calibrate", "--stand-in", str(stand_in), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "STAND-IN" in text and "| dilated_vgg_small | held-out |" in text
    assert "accuracy before" in text and "per-op p95 after" in text


def test_held_out_below_min_accuracy_exits_1(tmp_path, capsys, monkeypatch):
    """A stand-in beyond the search bound cannot be matched: held-out accuracy fails the check."""
    import tlm.workload.calibration as calib

    # One case each way keeps the (bound-hitting, hence long) search short.
    small_cal, small_val = calib.calibration_set()[:1], calib.validation_set()[:1]
    monkeypatch.setattr(calib, "calibration_set", lambda r, c, k=0: small_cal)
    monkeypatch.setattr(calib, "validation_set", lambda r, c, k=0: small_val)
    hidden = tmp_path / "far.toml"
    hidden.write_text("[timing]\nengine_done_cycles = 260\n")
    out = tmp_path / "cal.toml"
    rc = main(["calibrate", "--stand-in", str(hidden), "--out", str(out), "--no-progress",
               "--json", "--min-accuracy", "0.999", "--max-evaluations", "50"])
    assert rc == 1
    s = json.loads(capsys.readouterr().out)
    assert s["passed"] is False and s["held_out"]["min_accuracy"] < 0.999
    assert out.is_file()  # the best fit found is still written


@pytest.mark.parametrize("args,needle", [
    (["--arch", "no/such/arch.toml"], "no/such/arch.toml"),
    (["--out", "no/such/folder/cal.toml"], "--out"),
    (["--min-accuracy", "1.5"], "--min-accuracy"),
])
def test_bad_input_exits_2_with_one_line(args, needle, capsys, tmp_path):
    rc = main(["calibrate", "--no-progress", *args] + ([] if "--out" in args else
                                                        ["--out", str(tmp_path / "c.toml")]))
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]


def test_bad_arch_key_exits_2(tmp_path, capsys):
    arch = tmp_path / "a.toml"
    arch.write_text("[array]\nrowz = 4\n")
    assert main(["calibrate", "--arch", str(arch), "--out", str(tmp_path / "c.toml")]) == 2
    assert "rowz" in capsys.readouterr().err


def test_out_under_a_file_exits_2(tmp_path, capsys):
    """An --out whose folder is a file cannot be written: exit 2 before any run."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["calibrate", "--out", str(blocker / "cal.toml")]) == 2
    assert "--out" in capsys.readouterr().err


def test_rtl_cache_hit_does_not_run_the_simulator(tmp_path, monkeypatch):
    """A cached (workload, hardware, RTL sources) result is read back without running the RTL."""
    import tlm.rtl.run as rtl_run

    def boom(*a, **k):
        raise AssertionError("run_rtl called despite a cache hit")

    monkeypatch.setattr(rtl_run, "run_rtl", boom)
    arch = Arch()
    case = calibration_set()[0]
    program = compile_workload(case["workload"], arch)
    ref = RtlReference(tmp_path)
    key = ref.key(case["workload"], arch)
    run = run_tlm(program, arch)
    recs = [(op, int(r["tile"]), int(r["start"]), int(r["end"]),
             {k: int(r[k]) for k in ("engine", "grant", "beats") if r[k] > -(2**62)})
            for op, arr in run.ops.items() for r in arr]
    write_trace(tmp_path / f"{case['name']}-{key}.jsonl", recs, source="rtl",
                workload=program.name, arch=arch,
                footer={"cycles": run.cycles, "tiles": program.tiles, "functional": "pass"})
    (tmp_path / f"{case['name']}-{key}.json").write_text(json.dumps(
        {"cycles": run.cycles, "functional": "pass", "sim_s": 0.5, "wall_s": 1.0}))
    got = ref.run(case["name"], case["workload"], program, arch)
    assert got.cycles == run.cycles and got.info["cached"] is True
    assert got.source == "rtl" and got.sim_s == 0.5
    for op, arr in run.ops.items():
        assert (got.ops[op]["end"] == arr["end"]).all()


def test_cache_key_covers_workload_and_hardware_but_not_timing(tmp_path):
    ref = RtlReference(tmp_path)
    w = calibration_set()[0]["workload"]
    a = Arch()
    assert ref.key(w, a) == ref.key(w, a.with_timing(engine_done_cycles=9))
    assert ref.key(w, a) != ref.key(w, arch_from_dict({"memory": {"latency_cycles": 21}}))
    assert ref.key(w, a) != ref.key({**w, "seed": 99}, a)


@pytest.mark.parametrize("hardware", [{}, {"array": {"engines": 3, "rows": 3, "cols": 5},
                                            "dma": {"bus_bytes": 4}}])
def test_calibration_and_validation_sets_are_disjoint_and_runnable(hardware):
    """No case is both fitted and held out; every case compiles and finishes on the TLM,
    also on an array of another shape (the sets follow the arch's rows and columns)."""
    base = arch_from_dict(hardware)
    cal = calibration_set(base.array.rows, base.array.cols)
    val = validation_set(base.array.rows, base.array.cols)
    assert not {c["name"] for c in cal} & {c["name"] for c in val}
    assert {"gemm_small", "dilated_vgg_small", "deformable_small", "random_dag"} <= {
        c["name"] for c in val}
    seen_load_c = seen_small_table = False
    for c in cal + val:
        a = arch_from_dict(c["arch"], base=base)
        p = compile_workload(c["workload"], a)
        run = run_tlm(p, a)
        assert run.cycles > 0 and len(run.ops["tile"]) == p.tiles
        seen_load_c |= "load_c" in run.ops
        seen_small_table |= a.scheduler.table_depth < Arch().scheduler.table_depth
    assert seen_load_c and seen_small_table
