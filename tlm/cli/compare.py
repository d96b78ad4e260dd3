"""`tlmsim compare TLM RTL`: accuracy of a TLM trace against an RTL trace."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from tlm.errors import InputError


def min_accuracy(text: str) -> float:
    """Parse `--min-accuracy`: a fraction in 0..1 (a bad value is exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise InputError("--min-accuracy", "value", f"must be a number in 0..1, got {text!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InputError("--min-accuracy", "value", f"must be a number in 0..1, got {text!r}")
    return value


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "compare",
        help="compare a TLM trace with an RTL trace",
        description="Align two tlm-trace/1 files of one workload on (op, tile) and report the "
        "end-to-end accuracy 1 - |cycles_tlm - cycles_rtl| / cycles_rtl, per-op duration "
        "errors, start-time drift and the worst mismatches. Exit 1 when the accuracy is "
        "below --min-accuracy, 2 on bad input.",
    )
    p.add_argument("tlm", metavar="TLM", help="trace of the transaction-level model")
    p.add_argument("rtl", metavar="RTL", help="trace of the RTL run (the reference)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--min-accuracy", metavar="X", default=None,
                   help="fail (exit 1) when the accuracy is below X, a fraction in 0..1")
    p.add_argument("--worst", metavar="N", type=int, default=10, help="worst mismatches listed (10)")
    return p


def run(args: argparse.Namespace) -> int:
    from tlm.cli import print_json
    from tlm.cli.common import check_trace_pair
    from tlm.compare.metrics import compare_traces
    from tlm.compare.summary import render_text
    from tlm.trace.reader import read_trace

    threshold = None if args.min_accuracy is None else min_accuracy(args.min_accuracy)
    if args.worst < 0:
        raise InputError("--worst", "value", f"must be >= 0, got {args.worst}")
    tlm = read_trace(args.tlm)
    rtl = read_trace(args.rtl)
    check_trace_pair(tlm, rtl)
    result = compare_traces(tlm, rtl, worst=args.worst)
    if args.json:
        print_json(result.to_json())
    else:
        sys.stdout.write(render_text(result))
    if threshold is not None and result.accuracy < threshold:
        sys.stderr.write(f"check failed: accuracy {100 * result.accuracy:.3f}% is below "
                         f"--min-accuracy {100 * threshold:.3f}%\n")
        return 1
    return 0
