"""Fitting the TLM `[timing]` parameters to reference traces.

Two steps (docs/microarch.md gives the relations):

1. `measure.measure`: what the reference traces show directly, per op
   (engine phase gaps, DMA grant and service times, dispatch costs, and
   estimates of the completion and admission costs).
2. `refine`: integer coordinate descent over every parameter, re-running the
   TLM on every fitting case and minimising `Objective` (end-to-end relative
   error + mean per-op duration error + mean start-time error relative to the
   run length). Single-parameter steps first; when they stall, paired moves
   that get past the ridges that sums of parameters make. The scheduler's
   costs are only seen through when tiles become ready and start, so
   `fit_timing` refines them first and restarts from other splits of their
   sums when the descent stalls above zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tlm.arch import Timing
from tlm.calibrate.measure import LOWER, UPPER, measure
from tlm.calibrate.runs import FitCase, case_error, run_tlm
from tlm.errors import DeadlockError

#: Held fixed: only its sums with the done latencies are observable.
FIXED = ("dma_setup_cycles",)
TIMING_NAMES = tuple(f.name for f in dataclasses.fields(Timing))
SCHEDULER = tuple(n for n in TIMING_NAMES if n.startswith("sched_"))


# -- step 2: coordinate descent ----------------------------------------------------------------

@dataclass
class Refinement:
    values: dict[str, int]
    objective: float
    evaluations: int
    history: list[tuple[str, float]] = field(default_factory=list)


class Objective:
    """Sum over cases of `CaseError.objective` for a timing assignment (memoised)."""

    def __init__(self, cases: list[FitCase], base: Timing) -> None:
        self.cases = cases
        self.base = base
        self.memo: dict[tuple[int, ...], float] = {}

    def timing(self, values: dict[str, int]) -> Timing:
        return dataclasses.replace(self.base, **values)

    def __call__(self, values: dict[str, int]) -> float:
        t = self.timing(values)
        key = dataclasses.astuple(t)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        total = 0.0
        for c in self.cases:
            try:
                run = run_tlm(c.program, dataclasses.replace(c.arch, timing=t))
            except DeadlockError:
                total = float("inf")
                break
            total += case_error(run, c.ref).objective
        self.memo[key] = total
        return total


def refine(cases: list[FitCase], base: Timing, start: dict[str, int], *,
           names: tuple[str, ...] | None = None, max_sweeps: int = 8,
           objective: Objective | None = None,
           on_step: Callable[[str, float], None] | None = None) -> Refinement:
    """Integer coordinate descent from `start` over `names` (default: all but `FIXED`).

    `objective` may be shared between calls so that their evaluations are memoised once.
    """
    names = names or tuple(n for n in TIMING_NAMES if n not in FIXED)
    f = objective if objective is not None else Objective(cases, base)
    cur = {n: int(getattr(base, n)) for n in TIMING_NAMES}
    cur.update(start)
    best = f(cur)
    history: list[tuple[str, float]] = [("start", best)]

    def attempt(moves: dict[str, int]) -> bool:
        nonlocal best
        trial = dict(cur)
        for n, d in moves.items():
            trial[n] += d
            if not LOWER <= trial[n] <= UPPER:
                return False
        val = f(trial)
        if val < best - 1e-12:
            cur.update(trial)
            best = val
            label = ",".join(f"{n}{d:+d}" for n, d in moves.items())
            history.append((label, val))
            if on_step is not None:
                on_step(label, val)
            return True
        return False

    for _ in range(max_sweeps):
        if best == 0.0:
            break
        improved = False
        for n in names:
            for sign in (1, -1):
                step = 1
                # Accelerate while a direction keeps paying off, then settle back to 1.
                while attempt({n: sign * step}):
                    improved = True
                    step = min(step * 2, 32)
                if step > 1:
                    while attempt({n: sign}):
                        pass
        if improved:
            continue
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for da, db in ((1, -1), (-1, 1), (1, 1), (-1, -1)):
                    if attempt({a: da, b: db}):
                        improved = True
                        break
        if not improved:
            break
    return Refinement({n: cur[n] for n in TIMING_NAMES}, best, len(f.memo), history)


@dataclass
class Fit:
    """The fitted parameters and how they were found."""

    timing: Timing
    measured: dict[str, int]
    notes: list[str]
    objective_measured: float
    objective: float
    evaluations: int


def _scheduler_starts(measured: dict[str, int]) -> list[dict[str, int]]:
    """Starting points for the scheduler costs: as measured, then alternatives.

    Only sums of the scheduler costs show directly, and the descent can stall
    on a ridge of such a sum, so it is restarted from other splits of them.
    """
    starts = [dict(measured)]
    both = measured.get("sched_complete_cycles", 1) + measured.get("sched_notice_cycles", 1)
    for complete in (0, both, both // 2):
        s = dict(measured)
        s["sched_complete_cycles"], s["sched_notice_cycles"] = complete, both - complete
        starts.append(s)
    for value in (0, 1, 2):
        s = dict(measured)
        s.update({n: value for n in SCHEDULER})
        starts.append(s)
    return starts


def fit_timing(cases: list[FitCase], base: Timing, *, max_evaluations: int = 3000,
               on_step: Callable[[str, float], None] | None = None) -> Fit:
    """Measure, then refine: the `[timing]` that brings the TLM closest to the references.

    Restarts (see `_scheduler_starts`) stop at an exact fit or once
    `max_evaluations` TLM evaluations (one run of every case each) are spent.
    """
    m = measure(cases, base)
    f = Objective(cases, base)
    start_obj = f(m.values)
    best: Refinement | None = None
    for start in _scheduler_starts(m.values):
        # The scheduler costs first, from the measured engine and DMA costs; otherwise the
        # descent bends well-measured engine costs to stand in for them. Then everything.
        first = refine(cases, base, start, names=SCHEDULER, objective=f, on_step=on_step)
        r = refine(cases, base, first.values, objective=f, on_step=on_step)
        if best is None or r.objective < best.objective:
            best = r
        if best.objective == 0.0 or len(f.memo) >= max_evaluations:
            break
    assert best is not None
    return Fit(timing=dataclasses.replace(base, **best.values), measured=m.values, notes=m.notes,
               objective_measured=start_obj, objective=best.objective, evaluations=len(f.memo))


def identifiable(t: Timing) -> dict[str, Any]:
    """The parameters a trace can tell apart: the DMA's fixed parts as sums, the rest as is."""
    d = dataclasses.asdict(t)
    setup = d.pop("dma_setup_cycles")
    d["dma_read_fixed"] = setup + d.pop("dma_read_done_cycles")
    d["dma_write_fixed"] = setup + d.pop("dma_write_done_cycles")
    return d


__all__ = ["FIXED", "Fit", "FitCase", "Objective", "Refinement", "case_error", "fit_timing",
           "identifiable", "measure", "refine"]
