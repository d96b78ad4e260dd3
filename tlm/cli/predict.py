"""`tlmsim predict`: fit the learned performance model on sweeps, and query it."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from tlm.errors import InputError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "predict", help="learned performance model: fit on sweep results, predict a network's cycles",
        description="`fit DIR [DIR ...] --out MODEL` trains the per-layer model on sweep folders "
        "(DIR/layers.parquet) and reports cross-validated errors; `run --model MODEL --workload W "
        "--arch A` predicts a network's cycles in milliseconds. Exit 2 on bad input.")
    act = p.add_subparsers(dest="action", required=True)
    f = act.add_parser("fit", help="train a model on sweep results")
    f.add_argument("dirs", nargs="+", metavar="DIR", help="sweep results folders (tlmsim sweep --out)")
    f.add_argument("--out", "-o", metavar="MODEL", required=True, help="model file to write (JSON)")
    f.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    f.add_argument("--json", action="store_true", help="print the cross-validated errors as JSON")
    r = act.add_parser("run", help="predict a workload's cycles on an arch")
    r.add_argument("--model", "-m", metavar="MODEL", required=True, help="model file (predict fit)")
    r.add_argument("--workload", "-w", metavar="W", required=True, help="workload file or builtin:NAME")
    r.add_argument("--arch", "-a", metavar="A", default=None, help="arch config TOML")
    r.add_argument("--uncalibrated", action="store_true", help="default [timing], not the calibration")
    r.add_argument("--json", action="store_true", help='print {"cycles","query_ms","layers"}')
    return p


def run(args: argparse.Namespace) -> int:
    return _fit(args) if args.action == "fit" else _run(args)


def _fit(args: argparse.Namespace) -> int:
    from tlm.cli import print_json
    from tlm.predict.fit import fit_dirs

    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise InputError(args.out, "--out", f"folder {out.resolve().parent} does not exist")
    obj = fit_dirs(list(args.dirs), cv=not args.no_cv)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, separators=(",", ":")) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    report = {"model": str(out), "trained_on": obj["trained_on"], "cv": obj["cv"]}
    if args.json:
        print_json(report)
    else:
        t = obj["trained_on"]
        print(f"trained on {t['runs']} runs, {t['layers']} layers, {len(t['workloads'])} workloads; wrote {out}")
        for name, s in obj["cv"].items():
            print(f"  {name:24s} network MAPE {s['network_mape']:.2%} (max {s['network_max_ape']:.2%}), "
                  f"Kendall tau {s['kendall_tau']:.3f}, layer MAPE {s['layer_mape']:.2%}, {s['folds']} folds")
    return 0


def _run(args: argparse.Namespace) -> int:
    from tlm.api import resolve_arch, workload_object
    from tlm.cli import print_json
    from tlm.predict.model import load_model, predict_network

    model = load_model(args.model)
    arch = resolve_arch(args.arch, calibrated=not args.uncalibrated)
    obj = workload_object(args.workload)
    res = predict_network(model, obj, arch, args.workload)
    if args.json:
        print_json(res)
    else:
        print(f"predicted cycles {res['cycles']:,}  (query {res['query_ms']:.2f} ms; an estimate of the TLM)")
        for lay in res["layers"]:
            print(f"  {lay['name']:16s} {lay['cycles']:>12,}  ends {lay['end']:,}")
    return 0
