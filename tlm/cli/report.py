"""`tlmsim report TLM RTL -o report.html`: the comparison as one HTML page."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="write an HTML report comparing a TLM trace with an RTL trace",
        description="Compare two tlm-trace/1 files of one workload and write one self-contained "
        "HTML page (summary, timelines, error distributions, worst mismatches, arch). "
        "With --format md, print a Markdown summary on stdout instead (or write it to -o).",
    )
    p.add_argument("tlm", metavar="TLM", help="trace of the transaction-level model")
    p.add_argument("rtl", metavar="RTL", help="trace of the RTL run (the reference)")
    p.add_argument("-o", "--output", metavar="FILE", help="report file (required for HTML)")
    p.add_argument("--format", choices=("html", "md"), default="html", help="html (default) or md")
    return p


def run(args: argparse.Namespace) -> int:
    from tlm.cli.common import check_trace_pair
    from tlm.compare.metrics import compare_traces
    from tlm.errors import InputError
    from tlm.trace.reader import read_trace

    if args.format == "html" and args.output is None:
        raise InputError("-o", "value", "an HTML report needs an output file (-o report.html)")
    if args.output is not None:
        from tlm.outputs import refuse_clashes

        refuse_clashes([("-o", args.output)], [("TLM", args.tlm), ("RTL", args.rtl)])
    tlm = read_trace(args.tlm)
    rtl = read_trace(args.rtl)
    check_trace_pair(tlm, rtl)
    result = compare_traces(tlm, rtl)
    if args.format == "md" and args.output is None:
        from tlm.compare.summary import render_markdown

        sys.stdout.write(render_markdown(result))
        return 0
    from tlm.compare.report import write_report

    write_report(result, tlm, rtl, args.output, args.format)
    from tlm.outputs import safe_text

    sys.stderr.write(f"report written to {safe_text(args.output)}\n")
    return 0
