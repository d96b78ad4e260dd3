"""Kernel exceptions."""

from __future__ import annotations


class SimulationError(Exception):
    """Misuse of the kernel (elaboration errors, bad names, running twice at once)."""


class ProcessError(SimulationError):
    """A process raised; the message names the process and the simulated time.

    The original exception is chained as `__cause__`.
    """

    def __init__(self, process: str, time: str, error: BaseException) -> None:
        self.process = process
        self.time = time
        self.error = error
        super().__init__(f"process '{process}' raised {type(error).__name__}: {error} (at {time})")


class SimulationWarning(UserWarning):
    """Something SystemC reports as a warning (a renamed duplicate name, ...)."""
