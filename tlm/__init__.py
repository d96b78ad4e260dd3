"""tlmsim: a SystemC-style transaction-level simulator of a DNN accelerator.

The public kernel names are re-exported here::

    from tlm import Simulator, Module, Event, Signal, Fifo, Clock, PS, NS, US, MS
    from tlm import wait, any_of, all_of, next_trigger
    from tlm import Mutex, Semaphore, EventQueue, Buffer, Port, Export
"""

from __future__ import annotations

from tlm.kernel import (
    MS, NS, PS, SEC, US, Buffer, Clock, Event, EventQueue, Export, Fifo, Method, Module, Mutex, Port,
    Process, ProcessError, Semaphore, Signal, SimulationError, SimulationWarning, Simulator, all_of,
    any_of, fmt_time, next_trigger, wait,
)

__all__ = [
    "MS", "NS", "PS", "SEC", "US", "Buffer", "Clock", "Event", "EventQueue", "Export", "Fifo", "Method",
    "Module", "Mutex", "Port", "Process", "ProcessError", "Semaphore", "Signal", "SimulationError",
    "SimulationWarning", "Simulator", "all_of", "any_of", "fmt_time", "next_trigger", "wait",
]
__version__ = "0.1.0"
