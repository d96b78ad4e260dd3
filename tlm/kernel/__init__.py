"""tlm.kernel: a discrete-event kernel with SystemC (IEEE 1666) semantics.

Knows nothing of accelerators. See `simulator.py` for the scheduling cycle.
"""

from __future__ import annotations

from tlm.kernel.clock import Clock
from tlm.kernel.control import next_trigger
from tlm.kernel.errors import ProcessError, SimulationError, SimulationWarning
from tlm.kernel.event import Event, all_of, any_of, wait
from tlm.kernel.fifo import Fifo
from tlm.kernel.module import Module
from tlm.kernel.port import Export, Port
from tlm.kernel.process import Method, Process
from tlm.kernel.signal import Signal
from tlm.kernel.simulator import Simulator
from tlm.kernel.sync import Buffer, EventQueue, Mutex, Semaphore
from tlm.kernel.time import MS, NS, PS, SEC, US, fmt_time

__all__ = [
    "MS", "NS", "PS", "SEC", "US", "Buffer", "Clock", "Event", "EventQueue", "Export", "Fifo", "Method",
    "Module", "Mutex", "Port", "Process", "ProcessError", "Semaphore", "Signal", "SimulationError",
    "SimulationWarning", "Simulator", "all_of", "any_of", "fmt_time", "next_trigger", "wait",
]
