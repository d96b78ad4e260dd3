"""Errors shared by every part of tlmsim.

`InputError` is the one way bad user input (a workload, an arch file, a trace,
a CLI flag) is reported: the CLI turns it into exit status 2 and the single
line ``error: FILE: <where>: <what>``.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad user input, named by file, location inside it and problem."""

    def __init__(self, file: str, where: str, what: str) -> None:
        self.file = file
        self.where = where
        self.what = what
        super().__init__(f"{file}: {where}: {what}")

    def line(self) -> str:
        """The one-line message the CLI prints on stderr.

        Parts quoted from the input may hold anything: control characters and
        lone surrogates are escaped, so the message stays one printable line.
        """
        text = f"error: {self.file}: {self.where}: {self.what}"
        if not text.isprintable():
            text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
        return text


class CheckFailed(Exception):
    """A check failed (functional mismatch, accuracy below threshold): exit 1."""


class DeadlockError(CheckFailed):
    """The simulation ended with work unfinished; the message names who waits."""
