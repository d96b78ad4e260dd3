"""Dynamic sensitivity of methods (next_trigger), finding what runs now,
and finding where a process is queued (for process control).

The scheduler records neither which process it is running nor what a
process waits on (a store per resumption on the hot path). The few calls
that need to know walk the Python call stack up to `Simulator._loop`, whose
local `p` is the runnable entry being run, or look among the referrers of
the process on the heap.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from tlm.kernel.errors import SimulationError
from tlm.kernel.event import Event, _as_delay, _Combined
from tlm.kernel.process import RAN, Method, Process
from tlm.kernel.simulator import Simulator

_LOOP_CODE = Simulator._loop.__code__
_RUN_CODE = Method._run.__code__
_BATCH_FILE = "<method batch>"


def _loop_frame(sim: Simulator | None) -> Any:
    f: Any = sys._getframe(1)
    while f is not None:
        if f.f_code is _LOOP_CODE and (sim is None or f.f_locals.get("self") is sim):
            return f
        f = f.f_back
    return None


def running_item(sim: Simulator | None) -> Any:
    """The entry of the runnable list `sim` runs now (any simulator if None)."""
    f = _loop_frame(sim)
    return None if f is None else f.f_locals.get("p")


def batch_method(sim: Simulator) -> Method | None:
    """The method running inside a method batch, found from the batch's frame.

    A batch calls its methods one per source line (see tlm.kernel.batch), so
    the line the batch's frame is at names the function it is calling.
    """
    f: Any = sys._getframe(1)
    while f is not None:
        back = f.f_back
        if back is not None and back.f_code.co_filename == _BATCH_FILE:
            # The batch proper has a first line for `ev`; a chunk of a large one has not.
            local = back.f_locals
            fn = local.get(f"f{back.f_lineno - (3 if 'ev' in local else 2)}")
            for m in sim._methods:
                if m.fn is fn:
                    return m
            return None
        f = back
    return None


def _current_method() -> Method:
    f: Any = sys._getframe(2)
    while f is not None:
        back = f.f_back
        if back is not None:
            if back.f_code is _RUN_CODE:
                m = back.f_locals.get("self")
                if isinstance(m, Method):
                    return m
            elif back.f_code.co_filename == _BATCH_FILE:
                item = running_item(None)
                found = batch_method(item.sim) if isinstance(item, Event) else None
                if found is not None:
                    return found
                break
            elif back.f_code is _LOOP_CODE:
                break
        f = back
    raise SimulationError("next_trigger() must be called from inside a method process (SC_METHOD)")


def _unbatch(m: Method) -> None:
    """Take `m` out of its event's method batch: the batch cannot skip it
    while a dynamic trigger overrides its static sensitivity."""
    m._dynamic = True
    for ev in m.sensitive:
        for i, x in enumerate(ev._solo):
            if x is m:
                del ev._solo[i]
                del ev._solo_fns[i]
                ev._send = ev._build_batch  # regenerated at the next trigger
                ev._static.append(m)
                break


def next_trigger(*args: Any) -> None:
    """Set what triggers the calling method next, instead of its static sensitivity.

    Forms (IEEE 1666 next_trigger): ``next_trigger(ev)``, ``next_trigger(t)``,
    ``next_trigger(t, ev)`` (whichever first) and ``next_trigger()`` (back to
    the static sensitivity). The last call in one activation wins; after the
    trigger has run the method, its static sensitivity applies again unless
    it calls next_trigger once more.

    Raises:
        SimulationError: not called from inside a method process.
        TypeError, ValueError: bad arguments.
    """
    t: int | None = None
    events: tuple[Event, ...] = ()
    if len(args) == 1 and isinstance(args[0], Event):
        events = (args[0],)
    elif len(args) == 1:
        t = _as_delay(args[0])
    elif len(args) == 2:
        t = _as_delay(args[0])
        if not isinstance(args[1], Event):
            raise TypeError(f"next_trigger(t, ev): expected an Event, got {args[1]!r}")
        events = (args[1],)
    elif args:
        raise TypeError("next_trigger() takes (), (event), (time) or (time, event)")
    m = _current_method()
    if not m._dynamic:
        _unbatch(m)
    m._epoch += 1  # the previous call of this activation (if any) no longer counts
    m._wait = None
    if t is None and not events:
        m._scheduled = False
        return
    # While the dynamic trigger is pending the method counts as scheduled, so
    # its static events do not queue it (see Event._trigger_static).
    m._scheduled = True
    _Combined(events, False, t)._register(m)  # type: ignore[arg-type]


# -- where a process is queued (process control) ------------------------------------
def _queues_holding(sim: Simulator, p: Process) -> tuple[list[list[Any]], list[Event]]:
    """The scheduler lists and the events whose waiter lists hold `p`, found
    among its referrers (a scan of the heap: process control is rare)."""
    lists = [r for r in gc.get_referrers(p) if type(r) is list and r is not sim._processes]
    kernel = {id(sim._runnable), id(sim._delta)}
    kernel.update(id(b) for b in sim._timed.values())
    events = [o for o in gc.get_referrers(*lists) if isinstance(o, Event) and o.sim is sim
              and any(o._waiters is r for r in lists)] if lists else []
    kernel.update(id(ev._waiters) for ev in events)
    return [r for r in lists if id(r) in kernel], events


def locate(sim: Simulator, p: Process) -> tuple[Event | None, bool]:
    """(the event `p` waits on, whether it is runnable and waits on nothing)."""
    lists, events = _queues_holding(sim, p)
    park = events[0] if events else None
    waiting = park is not None or any(r is not sim._runnable for r in lists)
    if getattr(p._wait, "epoch", None) == p._epoch:  # an any_of/all_of/timeout wait
        waiting = True
    in_run = any(r is sim._runnable for r in lists)
    return park, in_run and not waiting


def scrub(sim: Simulator, p: Process) -> None:
    """Make every queued wake-up of `p` inert (its coroutine is being replaced)."""
    lists, _ = _queues_holding(sim, p)
    for lst in lists:
        for i, x in enumerate(lst):
            if x is p:
                lst[i] = _INERT


class _Inert:
    """Stands in a scheduler list where a killed or reset process was queued:
    run, it does nothing; fired as a delta item, it wakes nobody."""

    __slots__ = ("_at",)
    _plain = True
    _waiters: list[Any] = []  # always empty: nothing is ever added

    def __init__(self) -> None:
        self._at: int | None = None

    @staticmethod
    def _send(_: None) -> object:
        return RAN

    def hit(self, _: Event) -> None:
        pass


_INERT = _Inert()
