"""The TLM's dram memory-model level (tlm/blocks/dram_model.py) and the [memory] model key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, MemoryModel, arch_from_dict
from tlm.blocks import simulate
from tlm.blocks.dram_model import DramModel
from tlm.cli import main
from tlm.errors import InputError
from tlm.workload import compile_workload
from tlm.workload.builtins import builtin

BUS = 8


def dram_arch(**mm: object) -> Arch:
    a = Arch().with_timing(dma_setup_cycles=1, dma_read_done_cycles=1, dma_write_done_cycles=1)
    return dataclasses.replace(a, memory=dataclasses.replace(a.memory, model="dram"),
                               memory_model=dataclasses.replace(MemoryModel(), **mm))  # type: ignore[arg-type]


def reference_outcomes(beats: list[list[int]], banks: int, cols: int, interleave: bool) -> tuple[int, int, int]:
    """(hits, misses, conflicts) of one open row per bank, run by run: the plain definition."""
    open_row: dict[int, int] = {}
    hits = misses = conflicts = 0
    for request in beats:
        prev: tuple[int, int] | None = None
        for x in request:
            bank = x % banks if interleave else (x // cols) % banks
            row = x // (cols * banks)
            if (bank, row) == prev and not interleave:
                continue  # same run of one request: one column command
            prev = (bank, row)
            if open_row.get(bank) == row:
                hits += 1
            elif bank in open_row:
                conflicts += 1
            else:
                misses += 1
            open_row[bank] = row
    return hits, misses, conflicts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 40)), min_size=1, max_size=12),
       st.sampled_from([1, 2, 4, 8]), st.sampled_from([64, 256, 1024]), st.booleans())
def test_row_outcomes_match_a_reference_of_bank_state(reqs: list[tuple[int, int]], banks: int,
                                                      row_bytes: int, interleave: bool) -> None:
    """Open page, no refresh: hit/miss/conflict counts are those of one open row per bank."""
    mapping = "row:col:bank" if interleave else "row:bank:col"
    a = dram_arch(dram_banks=banks, dram_row_bytes=row_bytes, dram_mapping=mapping, dram_refi_cycles=0)
    model = DramModel(a)
    requests = [(x, n, False) for x, n in reqs]
    model.read_op(0, requests)
    beats = [[x + j for j in range(n)] for x, n in reqs]
    want = reference_outcomes(beats, banks, row_bytes // BUS, interleave and banks > 1)
    s = model.stats
    assert (s.hits, s.misses, s.conflicts) == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(1, 16), st.booleans()), min_size=1, max_size=10),
       st.integers(0, 5000), st.booleans(), st.sampled_from(["open", "closed"]),
       st.sampled_from(["fcfs", "frfcfs"]), st.integers(0, 20), st.integers(1, 16))
def test_an_op_takes_at_least_its_ideal_time(reqs: list[tuple[int, int, bool]], grant: int, write: bool,
                                             page: str, sched: str, cl: int, queue: int) -> None:
    """Every beat takes a bus cycle, in order: done >= grant + setup + beats + done cost."""
    a = dram_arch(dram_page_policy=page, dram_scheduler=sched, dram_cl_cycles=cl, dram_queue=queue,
                  dram_refi_cycles=700, dram_rfc_cycles=50)
    model = DramModel(a)
    model.read_op(0, [(7, 3, False)])  # some state first
    beats = sum(n for _x, n, _z in reqs)
    if write:
        done = model.write_op(grant + 100, [(x, 1, False) for x, n, _z in reqs for _ in range(n)])
        assert done >= grant + 100 + 1 + beats + 1
    else:
        done = model.read_op(grant + 100, reqs)
        assert done >= grant + 100 + 1 + beats + 1


def test_refresh_costs_time_and_closes_rows() -> None:
    stream = [(x * 16, 16, False) for x in range(200)]
    fast = DramModel(dram_arch(dram_refi_cycles=0))
    slow = DramModel(dram_arch(dram_refi_cycles=300, dram_rfc_cycles=80))
    t_fast, t_slow = fast.read_op(0, stream), slow.read_op(0, stream)
    assert slow.stats.refreshes >= (t_slow - 300) // 380
    assert t_slow > t_fast + 80 * (slow.stats.refreshes - 1)
    assert slow.stats.misses > fast.stats.misses  # rows reopened after each refresh


def test_closed_page_turns_row_hits_between_ops_into_misses() -> None:
    ops = [[(x * 4, 4, False)] for x in range(20)]  # one row, op after op
    hits = {}
    for page in ("open", "closed"):
        m = DramModel(dram_arch(dram_page_policy=page, dram_refi_cycles=0))
        t = 0
        for op in ops:
            t = m.read_op(t + 30, op)
        hits[page] = m.stats.hits
    assert hits["open"] == len(ops) - 1 and hits["closed"] == 0


def test_write_then_read_pays_the_turnaround() -> None:
    def read_after_write(wtr: int) -> int:
        m = DramModel(dram_arch(dram_wtr_cycles=wtr, dram_refi_cycles=0))
        g = m.write_op(0, [(x, 1, False) for x in range(8)])
        return m.read_op(g, [(0, 8, False)]) - g

    assert read_after_write(30) - read_after_write(0) >= 20


def test_fixed_is_the_default_and_unchanged() -> None:
    """`[memory] model = "fixed"` with default `[memory_model]` is today's timing exactly."""
    from tlm.cli.common import calibrated_base

    a = calibrated_base()
    p = compile_workload(builtin("gemm_small"), a)
    explicit = arch_from_dict({"memory": {"model": "fixed"}, "memory_model": {"dram_banks": 2}}, base=a)
    # 2,832: the RTL's cycles with the fixed-latency memory (bench/RESULTS.md)
    assert simulate(p, a).cycles == simulate(p, explicit).cycles == 2832


def test_fixed_level_extra_latency_moves_every_read_op() -> None:
    w = builtin("gemm_small")
    a = Arch()
    p = compile_workload(w, a)
    base = simulate(p, a).cycles
    slower = arch_from_dict({"memory_model": {"fixed_read_extra_cycles": 10}}, base=a)
    faster = arch_from_dict({"memory_model": {"fixed_cycles_per_beat": 0.5}}, base=a)
    assert simulate(p, slower).cycles > base > simulate(p, faster).cycles


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 30), st.integers(1, 4), st.integers(1, 4), st.integers(1, 300), st.integers(0, 999))
def test_dram_level_run_is_no_faster_than_its_bus_beats(count: int, m: int, n: int, k: int, seed: int) -> None:
    """One DMA, one beat per cycle: a run is at least as long as all the beats it moves."""
    w = {"format": "tlm-workload/1", "name": "p", "seed": seed,
         "tiles": [{"id": i, "m": m, "n": n, "k": 1 + (k * (i + 1)) % 300, "deps": []} for i in range(count)]}
    a = dram_arch()
    p = compile_workload(w, a)
    res = simulate(p, a)
    beats = sum(int(v.sum()) for v in p.beats.values())
    assert res.cycles >= beats
    assert res.cycles >= simulate(p, dataclasses.replace(a, memory=Arch().memory)).cycles - 20 * count * 4


def test_dram_level_is_deterministic_and_functional(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        t = tmp_path / f"t{i}.jsonl"
        assert main(["sim", "-w", "builtin:gemm_small", "--memory-model", "dram", "--no-progress",
                     "--trace", str(t)]) == 0
        outs.append(t.read_bytes().splitlines()[:-1])  # the footer holds wall-clock times
    assert outs[0] == outs[1] and len(outs[0]) > 100


@pytest.mark.parametrize("text,where", [
    ('[memory]\nmodel = "sram"\n', "[memory] model"),
    ("[memory_model]\ndram_banks = 3\n", "[memory_model] dram_banks"),
    ("[memory_model]\ndram_row_bytes = 0\n", "[memory_model] dram_row_bytes"),
    ('[memory_model]\ndram_mapping = "bank:row:col"\n', "[memory_model] dram_mapping"),
    ('[memory_model]\ndram_page_policy = "ajar"\n', "[memory_model] dram_page_policy"),
    ('[memory_model]\ndram_scheduler = "lifo"\n', "[memory_model] dram_scheduler"),
    ("[memory_model]\ndram_queue = 0\n", "[memory_model] dram_queue"),
    ("[memory_model]\ndram_refi_cycles = 50\n", "[memory_model] dram_refi_cycles"),
    ("[memory_model]\ndram_cl_cycles = -1\n", "[memory_model] dram_cl_cycles"),
    ("[memory_model]\nfixed_cycles_per_beat = 0\n", "[memory_model] fixed_cycles_per_beat"),
    ("[memory_model]\nfixed_read_extra_cycles = 20000\n", "[memory_model] fixed_read_extra_cycles"),
    ("[memory_model]\ndram_cl_cycles = 1.5\n", "[memory_model] dram_cl_cycles"),
])
def test_bad_memory_model_keys_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      text: str, where: str) -> None:
    cal = tmp_path / "cal.toml"
    cal.write_text(text)
    assert main(["sim", "-w", "builtin:gemm_small", "--calibration", str(cal), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {cal}: {where}:") and err.count("\n") == 1, err


def test_memory_model_is_not_hardware() -> None:
    """Two traces of the same hardware agree whatever level the TLM used."""
    a = Arch()
    b = arch_from_dict({"memory": {"model": "dram"}, "memory_model": {"dram_banks": 2}}, base=a)
    assert a.hardware_dict() == b.hardware_dict()


def test_calibration_overlay_then_memory_model_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cal = tmp_path / "cal.toml"
    cal.write_text('[memory]\nmodel = "fixed"\n[memory_model]\ndram_cl_cycles = 40\n')
    runs = {}
    for extra in ([], ["--calibration", str(cal)]):
        assert main(["sim", "-w", "builtin:gemm_small", "--memory-model", "dram", "--json", *extra]) == 0
        runs[len(extra)] = capsys.readouterr().out
    assert '"model": "dram"' in runs[2] and '"dram_cl_cycles": 40' in runs[2]
    assert runs[0] != runs[2]


def test_timing_only_dram_run_keeps_its_segments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "-w", "builtin:gemm_small", "--memory-model", "dram", "--timing-only", "--json"]) == 0
    assert '"functional": "skipped"' in capsys.readouterr().out


def test_dram_level_without_segments_is_an_input_error() -> None:
    a = dram_arch()
    p = compile_workload(builtin("gemm_small"), a, functional=False)
    with pytest.raises(InputError, match="segment lists"):
        simulate(p, a)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200), st.integers(1, 5), st.integers(0, 40))
def test_refresh_barely_longer_than_its_duration_still_makes_progress(rfc: int, gap: int, rcd: int) -> None:
    """A refresh interval just above its duration once looped forever (no command fitted between)."""
    m = DramModel(dram_arch(dram_refi_cycles=rfc + gap, dram_rfc_cycles=rfc, dram_rcd_cycles=rcd))
    stream = [(x * 16, 16, False) for x in range(20)]
    assert m.read_op(0, stream) >= 20 * 16
    assert m.write_op(10_000, [(x, 1, False) for x in range(20)]) > 10_000


class _CommandLog(DramModel):
    """The model with every command it places recorded as (cycle, kind, bank)."""

    def __init__(self, arch: Arch) -> None:
        super().__init__(arch)
        self.log: list[tuple[int, str, int]] = []

    def _slot(self, t: int) -> int:
        c = super()._slot(t)
        self.log.append((c, "slot", -1))
        return c

    def _open(self, bank: int, row: int, t: int, seen: int) -> int:
        act, pre = self.t_act[bank], self.t_pre[bank]
        col = super()._open(bank, row, t, seen)
        if self.t_pre[bank] != pre:
            self.log.append((self.t_pre[bank], "PRE", bank))
        if self.t_act[bank] != act:
            self.log.append((self.t_act[bank], "ACT", bank))
        return col

    def _snapshot(self) -> Any:
        return super()._snapshot(), len(self.log)

    def _restore(self, snap: Any) -> None:  # a posted write op taken back: so are its commands
        super()._restore(snap[0])
        del self.log[snap[1]:]

    def _column(self, bank: int, beats: int, t: int, write: bool) -> int:
        last = super()._column(bank, beats, t, write)
        self.log.append((last - (self.cwl if write else self.cl) - beats + 1, "COL", bank))
        return last


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 20), st.booleans()), min_size=1, max_size=10),
       st.sampled_from(["open", "closed"]), st.sampled_from(["fcfs", "frfcfs"]),
       st.sampled_from(["row:bank:col", "row:col:bank"]), st.integers(0, 1))
def test_one_command_per_cycle(ops: list[tuple[int, int, bool]], page: str, sched: str, mapping: str,
                               refresh: int) -> None:
    """The command bus carries one command a cycle: no ACT, PRE or column command shares one.

    Found by replaying the RTL's command log (rtl/dram/dram_ctrl.v): a closed-page
    precharge and an activate of another bank went out in the same cycle.
    """
    m = _CommandLog(dram_arch(dram_banks=2, dram_row_bytes=256, dram_page_policy=page, dram_scheduler=sched,
                              dram_mapping=mapping, dram_queue=4, dram_ras_cycles=14, dram_rcd_cycles=5,
                              dram_rp_cycles=6, dram_refi_cycles=400 * refresh, dram_rfc_cycles=40))
    t = 0
    for addr, beats, write in ops:
        reqs = [(addr + i, 1, False) for i in range(beats)] if write else [(addr, beats, False)]
        t = (m.write_op if write else m.read_op)(t, reqs)
    m.finish()
    placed = [c for c, kind, _b in m.log if kind != "slot"]
    slots = [c for c, kind, _b in m.log if kind == "slot"]
    assert len(set(slots)) == len(slots)
    assert len(set(placed)) == len(placed), sorted(c for c in placed if placed.count(c) > 1)[:5]
    assert set(placed) <= set(slots), sorted(set(placed) - set(slots))[:5]


def test_closed_page_row_is_kept_only_for_requests_already_queued() -> None:
    """A row closes once allowed unless a request that has arrived still needs it.

    Requests reach the queue one per cycle: the 20th one after a row's use arrives
    after the row may close, so it finds the row closed (a miss), as in the RTL.
    """
    m = DramModel(dram_arch(dram_banks=2, dram_row_bytes=256, dram_page_policy="closed",
                            dram_scheduler="frfcfs", dram_mapping="row:bank:col", dram_queue=32,
                            dram_ras_cycles=4, dram_refi_cycles=0))
    cols = 256 // BUS
    far = [(cols + i, 1, False) for i in range(20)]          # bank 1, row 0
    m.read_op(0, [(0, 1, False), *far, (1, 1, False)])        # bank 0, row 0 again, 21 requests later
    assert (m.stats.hits, m.stats.misses) == (19, 3)
    near = DramModel(dram_arch(dram_banks=2, dram_row_bytes=256, dram_page_policy="closed",
                               dram_scheduler="frfcfs", dram_mapping="row:bank:col", dram_queue=32,
                               dram_ras_cycles=40, dram_refi_cycles=0))
    near.read_op(0, [(0, 1, False), *far, (1, 1, False)])     # the row may not close before it arrives
    assert (near.stats.hits, near.stats.misses) == (20, 2)
