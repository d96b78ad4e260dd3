"""tlmsim: a SystemC-style transaction-level simulator of a DNN accelerator.

The public kernel names are re-exported here::

    from tlm import Simulator, Module, Event, Signal, Fifo, Clock, PS, NS, US, MS
    from tlm import wait, any_of, all_of
"""

from __future__ import annotations

from tlm.kernel import (
    MS, NS, PS, SEC, US, Clock, Event, Fifo, Method, Module, Process, ProcessError, Signal,
    SimulationError, Simulator, all_of, any_of, fmt_time, wait,
)

__all__ = [
    "MS", "NS", "PS", "SEC", "US", "Clock", "Event", "Fifo", "Method", "Module", "Process",
    "ProcessError", "Signal", "SimulationError", "Simulator", "all_of", "any_of", "fmt_time", "wait",
]
__version__ = "0.1.0"
