"""`tlmsim`: the command-line driver.

Each subcommand lives in its own module of this package and exposes
`add_parser(subparsers)` and `run(args) -> int`. This module turns the
project's exceptions into the exit statuses of `docs/cli.md`:
0 success, 1 a failed check, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from typing import Any

from tlm.errors import CheckFailed, InputError
from tlm.outputs import Terminated, install_signal_handlers

COMMANDS = ("sim", "rtl", "compare", "calibrate", "report", "sweep", "predict", "import_")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as exit 2 with one `error:` line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {self.prog}: arguments: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tlmsim", description=(
        "Transaction-level simulation of a DNN accelerator, checked against its RTL: "
        "sim (TLM model), rtl (Icarus + cocotb), compare and report (TLM vs RTL traces), "
        "calibrate (fit the TLM timing to the RTL). Exit 0 success, 1 failed check, 2 bad input."))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tlm.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"tlm.cli.{name}":
                raise
            continue
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def _finite(x: Any) -> Any:
    """`x` with every float that is not finite (inf, NaN) replaced by None."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def print_json(summary: dict[str, Any]) -> None:
    """The one JSON object a `--json` run prints on stdout: strict JSON (no NaN/Infinity)."""
    sys.stdout.write(json.dumps(_finite(summary), sort_keys=False, allow_nan=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except BrokenPipeError:
        return 0
    # SIGTERM/SIGHUP/SIGINT become exceptions: outputs are finished or removed, children ended.
    install_signal_handlers()
    try:
        return int(args._run(args))
    except InputError as e:
        sys.stderr.write(e.line() + "\n")
        return 2
    except CheckFailed as e:
        sys.stderr.write(f"check failed: {e}\n")
        return 1
    except Terminated as e:  # before KeyboardInterrupt, its base class
        sys.stderr.write(f"terminated by {e}\n")
        return 128 + e.signum
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        # stdout went away (e.g. `| head`): not an error of ours.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
