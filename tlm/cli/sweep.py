"""`tlmsim sweep`: design-space exploration over arch points and workloads on Dask."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tlm.dse.spec import DEFAULT_MAX_POINTS
from tlm.errors import InputError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "sweep", help="design-space exploration: simulate arch points x workloads on a Dask cluster",
        description="Run every (design point, workload) of SPEC.toml on the TLM model, on a local "
        "Dask cluster or an existing scheduler, into DIR/results.parquet, DIR/layers.parquet, "
        "DIR/pareto.csv and DIR/report.html. Resumable: a re-run runs only what is missing. "
        "Exit 1 when runs were lost (re-run to finish them), 2 on bad input.")
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (docs/dse.md)")
    p.add_argument("--out", "-o", metavar="DIR", required=True, help="results folder (created)")
    p.add_argument("--workers", type=int, metavar="N", default=None,
                   help="local cluster worker processes (default: the core count)")
    p.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="use an existing Dask scheduler, e.g. tcp://HOST:8786, instead of a local cluster")
    p.add_argument("--max-points", type=int, metavar="N", default=DEFAULT_MAX_POINTS,
                   help=f"refuse sweeps with more design points (default {DEFAULT_MAX_POINTS})")
    p.add_argument("--prescreen", metavar="MODEL", default=None,
                   help="predict every point with this model (tlmsim predict fit) and simulate only --top")
    p.add_argument("--top", type=int, metavar="K", default=None,
                   help="with --prescreen: how many points to simulate per workload")
    p.add_argument("--json", action="store_true", help='print {"points","ran","skipped","failed"}')
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tlm.cli import print_json
    from tlm.dse.spec import load_spec

    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise InputError("tlmsim sweep", "--workers", f"must be in 1..1024, got {args.workers}")
    if args.max_points < 1:
        raise InputError("tlmsim sweep", "--max-points", f"must be >= 1, got {args.max_points}")
    if (args.prescreen is None) != (args.top is None):
        raise InputError("tlmsim sweep", "--prescreen", "--prescreen MODEL and --top K go together")
    if args.top is not None and args.top < 1:
        raise InputError("tlmsim sweep", "--top", f"must be >= 1, got {args.top}")
    spec = load_spec(args.spec)
    if args.prescreen and spec.strategy == "optuna":
        raise InputError(args.spec, "strategy", "--prescreen works with grid and random sweeps")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "--out", "exists and is not a folder")
    if not out.parent.resolve().is_dir():
        raise InputError(str(out), "--out", f"folder {out.parent.resolve()} does not exist")
    model = None
    if args.prescreen:
        from tlm.predict.model import load_model

        model = load_model(args.prescreen)  # bad model: exit 2 before starting a cluster
    from tlm.dse import runner
    from tlm.dse.points import check_size

    check_size(spec, args.max_points)
    sweep = runner.Sweep(spec, str(out), lambda: runner.open_client(args.workers, args.scheduler),
                         progress=not args.no_progress, max_points=args.max_points)
    try:
        if spec.strategy == "optuna":
            from tlm.dse.search import run_optuna

            run_optuna(sweep)
        else:
            points = runner.select_points(spec)
            if model is not None:
                from tlm.predict.screen import screen

                per_wl = screen(model, spec, points, sweep.objs, args.top)
                for w, pts in enumerate(per_wl):
                    sweep.run(sweep.task(p, w) for p in pts)
            else:
                runner.run_points(sweep, points)
    finally:
        res = sweep.close()
    from tlm.dse.report import write_outputs

    write_outputs(out, spec, res, sweep.store.layers())
    st = sweep.stats
    if args.json:
        print_json(st.to_json())
    else:
        print(f"sweep: {st.points} runs: {st.ran} ran ({st.failed} failed), {st.skipped} already done; "
              f"results in {out}/results.parquet, report {out}/report.html")
    if st.lost:
        sys.stderr.write(f"sweep: {st.lost} runs lost ({st.errors[0]}); run the same command again "
                         "to finish them\n")
        return 1
    return 0
