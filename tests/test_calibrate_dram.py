"""Fitting the memory-model levels (tlm/calibrate/dram_fit.py) and `tlmsim calibrate --hardware` input errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tlm.arch import Arch, MemoryModel
from tlm.calibrate.dram_fit import OpReplay, fit_dram, fit_error, fit_fixed, predict_dram, predict_fixed
from tlm.cli import main


def _arch() -> Arch:
    return Arch().with_timing(dma_setup_cycles=1, dma_read_done_cycles=1, dma_write_done_cycles=1)


def synthetic_ops(arch: Arch, seed: int = 3, n: int = 40) -> OpReplay:
    """Ops of gathers at random addresses and stores, timed by `arch`'s dram level."""
    rng = np.random.default_rng(seed)
    grant, read, reqs, beats = [], [], [], []
    t = 0
    for i in range(n):
        rd = i % 3 != 2
        base = int(rng.integers(0, 1 << 14))
        if rd:
            r = [(base + 37 * j, int(rng.integers(1, 9)), False) for j in range(int(rng.integers(1, 5)))]
        else:
            r = [(base + j, 1, False) for j in range(int(rng.integers(1, 9)))]
        grant.append(t)
        read.append(rd)
        reqs.append(r)
        beats.append(sum(x[1] for x in r))
        t += 40 + int(rng.integers(0, 30))
    rep = OpReplay("synthetic", grant, read, reqs, np.zeros(n, dtype=np.int64), np.array(beats))
    rep.duration = predict_dram(arch, rep)
    return rep


def test_fixed_level_fit_recovers_latency_and_bandwidth() -> None:
    a = _arch()
    hidden = dataclasses.replace(a, memory_model=dataclasses.replace(
        MemoryModel(), fixed_read_extra_cycles=-6, fixed_write_extra_cycles=3, fixed_cycles_per_beat=2.0))
    rep = synthetic_ops(a)
    rep.duration = predict_fixed(hidden, rep)
    m = fit_fixed(a, [rep])
    assert (m.fixed_read_extra_cycles, m.fixed_write_extra_cycles) == (-6, 3)
    assert m.fixed_cycles_per_beat == pytest.approx(2.0, abs=0.01)


def test_dram_level_fit_beats_its_start_and_is_deterministic() -> None:
    hidden = dataclasses.replace(_arch(), memory_model=dataclasses.replace(
        MemoryModel(), dram_banks=2, dram_row_bytes=256, dram_cl_cycles=14, dram_rcd_cycles=11,
        dram_refi_cycles=0))
    rep = synthetic_ops(hidden)
    fits = [fit_dram(_arch(), [rep], max_generations=4, popsize=4, max_sweeps=3) for _ in range(2)]
    assert fits[0].model == fits[1].model
    f = fits[0]
    assert f.error < f.error_start / 2
    assert fit_error(predict_dram(dataclasses.replace(_arch(), memory_model=f.model), rep), rep) == f.error


@pytest.mark.parametrize("text,extra,where", [
    (None, [], "No such file"),
    ("[dram]\nbanks = 3\n", [], "[dram] banks: must be a power of two"),
    ("[dram]\nrow_bytes = 4\n", [], "[dram] row_bytes: 4 is smaller than one bus beat"),
    ("[dram]\nbogus = 1\n", [], "[dram] bogus: unknown key"),
    ("[dram]\n", ["--stand-in", "STANDIN"], "--stand-in: value: cannot be used with --hardware"),
    ("[dram]\n", ["--min-accuracy", "2"], "--min-accuracy: value: must be in 0..1"),
])
def test_calibrate_hardware_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             text: str | None, extra: list[str], where: str) -> None:
    hw = tmp_path / "hw.toml"
    if text is not None:
        hw.write_text(text)
    stand_in = tmp_path / "s.toml"
    stand_in.write_text("[timing]\n")
    extra = [str(stand_in) if e == "STANDIN" else e for e in extra]
    code = main(["calibrate", "--hardware", str(hw), "--out", str(tmp_path / "cal.toml"), "--no-progress",
                 "--cache", str(tmp_path / "cache"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and where in err, err
    assert not (tmp_path / "cal.toml").exists()


def test_refresh_interval_is_the_shortest_gap_between_refreshes() -> None:
    from tlm.calibrate.dram_fit import REFI_MAX, refresh_interval_seen

    assert refresh_interval_seen([np.array([412, 812, 1230]), np.array([405])], [2000, 900]) == 400
    assert refresh_interval_seen([np.zeros(0, np.int64)], [REFI_MAX + 1]) == 0    # long runs, no refresh
    assert refresh_interval_seen([np.zeros(0, np.int64)], [REFI_MAX - 1]) is None  # cannot tell
    assert refresh_interval_seen([np.array([700])], [5000]) is None


def test_dram_fit_keeps_a_measured_refresh_interval_close() -> None:
    hidden = dataclasses.replace(_arch(), memory_model=dataclasses.replace(
        MemoryModel(), dram_refi_cycles=300, dram_rfc_cycles=30))
    rep = synthetic_ops(hidden)
    f = fit_dram(_arch(), [rep], max_generations=2, popsize=4, max_sweeps=2, refresh_interval=310)
    assert 310 - 32 <= f.model.dram_refi_cycles <= 310


def test_dram_fit_reports_each_stage() -> None:
    from tlm.calibrate.dram_fit import SPEEDS, fit_stages

    rep = synthetic_ops(_arch(), n=12)
    seen: list[tuple[str, float]] = []
    fit_dram(_arch(), [rep], max_generations=2, popsize=3, max_sweeps=1, on_step=lambda s, e: seen.append((s, e)))
    names = [s for s, _ in seen]
    assert names[:len(SPEEDS)] == [f"start at speed x{s:g}" for s in SPEEDS]
    assert names[len(SPEEDS)] == "refine the best start" and names[-1] == "final descent"
    assert len(seen) <= fit_stages(2) and all(e >= 0 for _, e in seen)
