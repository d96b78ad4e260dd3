"""`tlmsim`: the command-line driver.

Each subcommand lives in its own module of this package and exposes
`add_parser(subparsers)` and `run(args) -> int`. This module turns the
project's exceptions into the exit statuses of `shared/spec/cli.md`:
0 success, 1 a failed check, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from tlm.errors import CheckFailed, InputError

COMMANDS = ("sim", "rtl", "compare", "calibrate", "report", "sweep", "predict")


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


def print_json(summary: dict[str, Any]) -> None:
    """The one JSON object a `--json` run prints on stdout."""
    sys.stdout.write(json.dumps(summary, sort_keys=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except BrokenPipeError:
        return 0
    try:
        return int(args._run(args))
    except InputError as e:
        sys.stderr.write(e.line() + "\n")
        return 2
    except CheckFailed as e:
        sys.stderr.write(f"check failed: {e}\n")
        return 1
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
