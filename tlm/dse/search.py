"""`strategy = "optuna"`: multi-objective search (NSGA-II) batched onto the cluster.

Each trial is a design point evaluated on every workload; its objective
values are the sums over the workloads. A batch of trials is asked, run as
one wave of Dask tasks, and told back. Points already stored are told from
the store without running. A constraint's violation is the worst over the
workloads (NSGA-II's constrained domination prefers feasible points).
"""

from __future__ import annotations

import logging
from typing import Any

from tlm.dse.runner import Sweep


def run_optuna(sweep: Sweep) -> None:
    """Run `samples` trials in batches of `batch` (default: twice the cluster's workers)."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(logging.WARNING)
    spec = sweep.spec

    batch = spec.batch or max(2, 2 * sweep.workers())
    sampler = optuna.samplers.NSGAIISampler(
        seed=spec.seed, population_size=max(4, min(50, batch)))
    study = optuna.create_study(directions=["minimize"] * len(spec.objectives), sampler=sampler)
    left = spec.samples
    while left > 0:
        trials = [study.ask() for _ in range(min(batch, left))]
        left -= len(trials)
        points = [{k: t.suggest_categorical(k, list(v)) for k, v in spec.axes.items()} for t in trials]
        tasks = [[sweep.task(p, w) for w in range(len(sweep.objs))] for p in points]
        rows = sweep.run(t for group in tasks for t in group)
        for trial, group in zip(trials, tasks):
            got = [rows.get(t["key"]) for t in group]
            if any(r is None or r.get("status") != "ok" for r in got):
                study.tell(trial, state=TrialState.FAIL)
                continue
            ok = [r for r in got if r is not None]
            for i, c in enumerate(spec.constraints):
                trial.set_constraint(f"c{i}", max(_violation(c, r) for r in ok))
            study.tell(trial, [float(sum(float(r[o]) for r in ok)) for o in spec.objectives])


def _violation(c: Any, row: dict[str, Any]) -> float:
    x = float(row[c.metric])
    return x - c.value if c.op in ("<=", "<") else c.value - x
