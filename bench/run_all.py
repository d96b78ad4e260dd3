"""Run every benchmark in bench/ and write bench/RESULTS.md.

Each `bench_*.py` prints a Markdown fragment; this script adds the machine,
the date and the command that reproduces each section. Run: `make bench`
(or `.venv/bin/python bench/run_all.py [--only kernel,accel] [--quick]`).
With `--only`, the other sections of the existing RESULTS.md are kept as
they are (each section sits between `<!-- bench:KEY -->` markers), each
with the date it was measured on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = [
    ("kernel", "Kernel vs SimPy", ["bench_kernel.py"]),
    ("transport", "TLM-2.0 transport", ["bench_transport.py"]),
    ("accel", "Accelerator model speed and scale", ["bench_accel.py"]),
    ("rtl", "RTL simulation speed", ["bench_rtl.py"]),
    ("accuracy", "Accuracy against RTL and speed-up", ["bench_accuracy.py"]),
    ("dse", "Design-space exploration", ["bench_dse.py"]),
    ("double_buffer", "Double buffering (overlapped loads and stores)", ["bench_double_buffer.py"]),
    ("dram", "Memory-model levels against the RTL with a DRAM", ["bench_dram.py"]),
    ("dataflow", "Dataflows: output stationary vs weight stationary", ["bench_dataflow.py"]),
    ("reuse", "Operand reuse", ["bench_reuse.py"]),
    ("zoo", "Model zoo at full size (graph workloads)", ["bench_zoo.py"]),
    ("graph_rtl", "Graph workloads on the RTL", ["bench_graph_rtl.py"]),
]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated section keys")
    ap.add_argument("--quick", action="store_true", help="pass --quick where supported")
    ns = ap.parse_args()
    only = {s for s in ns.only.split(",") if s}
    target = HERE / "RESULTS.md"
    kept = _sections(target.read_text()) if only and target.exists() else {}
    out = ["# Benchmark results", "",
           f"Machine: {machine()}  ",
           "Rerun everything: `make bench` (or `.venv/bin/python bench/run_all.py`); "
           "one section: `--only KEY`.", ""]
    failed = False
    for key, title, cmd in SECTIONS:
        if only and key not in only:
            if key in kept:
                out += [kept[key], ""]
            continue
        script = HERE / cmd[0]
        if not script.exists():
            continue
        out.append(f"<!-- bench:{key} -->")
        args = [sys.executable, str(script), *cmd[1:]]
        if ns.quick and key == "accel":
            args.append("--quick")
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(args, capture_output=True, text=True, cwd=HERE.parent)
        text = proc.stdout.strip()
        command = f"Command: `.venv/bin/python bench/{cmd[0]}` (measured {dt.date.today().isoformat()})"
        if text.startswith("## "):  # a section that brings its own heading keeps it
            head, _, rest = text.partition("\n")
            text = f"{head}\n\n{command}\n{rest}"
        else:
            out += [f"## {title}", "", command, ""]
        if proc.returncode != 0:
            failed = True
            out += ["Failed:", "", "```", proc.stderr.strip()[-2000:], "```", ""]
        else:
            out += [text, ""]
        out += [f"<!-- /bench:{key} -->", ""]
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text("\n".join(out) + "\n")
    tmp.replace(target)
    print(f"wrote {target}", file=sys.stderr)
    return 1 if failed else 0


def _sections(text: str) -> dict[str, str]:
    """The marked sections of an existing RESULTS.md, by key, markers included."""
    return {m.group(1): m.group(0) for m in
            re.finditer(r"<!-- bench:(\w+) -->\n.*?<!-- /bench:\1 -->", text, re.S)}


if __name__ == "__main__":
    raise SystemExit(main())
