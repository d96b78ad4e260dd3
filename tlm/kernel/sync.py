"""Mutex, Semaphore, EventQueue and Buffer (sc_mutex, sc_semaphore,
sc_event_queue, sc_buffer), with SystemC 2.3.4's timing."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Generator
from heapq import heappush
from typing import Any, TypeVar

from tlm.kernel.coro import as_simulator, native_coroutine, scoped_name
from tlm.kernel.event import Event, _as_delay
from tlm.kernel.process import RAN
from tlm.kernel.signal import Signal
from tlm.kernel.simulator import Simulator

T = TypeVar("T")
_LOOP_CODE = Simulator._loop.__code__
_CO_COROUTINE = inspect.CO_COROUTINE


def _caller_id() -> object:
    """Who calls (the process or method): the outermost Python frame under
    the scheduler loop, as an identity. A thread's outermost frame is its
    coroutine's, the same across its waits; a method gives its Method."""
    f: Any = sys._getframe(2)
    while f is not None:
        back = f.f_back
        if back is None:
            break
        if back.f_code is _LOOP_CODE:
            if f.f_code.co_flags & inspect.CO_COROUTINE:
                return f
            return back.f_locals.get("p")  # a method, or a thread under a wrapper
        f = back
    return _OUTSIDE


_OUTSIDE = object()  # the caller when no simulation runs (elaboration, between runs)


class Mutex:
    """A lock one process holds at a time (sc_mutex).

    `unlock()` wakes the waiting lockers at once (an immediate notification);
    the first of them to run takes the lock, the others wait again.

    Usage::

        await m.lock(); ...; m.unlock()
        if m.trylock(): ...; m.unlock()
    """

    __slots__ = ("sim", "name", "_owner", "_owner_frame", "_free")

    def __init__(self, sim: Simulator, name: str = "mutex") -> None:
        if not isinstance(sim, Simulator):
            name = scoped_name(sim, name)
            sim = as_simulator(sim, "Mutex")
        self.sim = sim
        self.name = name
        self._owner: object = None
        self._owner_frame: object = None  # the frame that locked: unlock from it needs no walk
        self._free = Event(sim, f"{name}.free")

    def __repr__(self) -> str:
        return f"<Mutex {self.name} {'locked' if self._owner is not None else 'free'}>"

    @property
    def locked(self) -> bool:
        return self._owner is not None

    @native_coroutine
    def lock(self) -> Generator[Any, None, None]:
        """Wait until the mutex is free, then hold it (``await m.lock()``).

        The holder locking again returns at once.
        """
        # _caller_id(), inlined for the common case: `await m.lock()` in the
        # process's own coroutine, whose caller is the scheduler loop.
        f: Any = sys._getframe(1)
        back = f.f_back
        if back is not None and back.f_code is _LOOP_CODE and f.f_code.co_flags & _CO_COROUTINE:
            me: object = f
        else:
            me = _caller_id()
        if self._owner is me:
            return
        while self._owner is not None:
            yield self._free
        self._owner = me
        self._owner_frame = sys._getframe(1)

    def trylock(self) -> bool:
        """Hold the mutex if it is free (or held by the caller); False otherwise."""
        me = _caller_id()
        if self._owner is me:
            return True
        if self._owner is not None:
            return False
        self._owner = me
        self._owner_frame = sys._getframe(1)
        return True

    def unlock(self) -> bool:
        """Release the mutex; False (nothing done) if the caller does not hold it,
        as sc_mutex::unlock returns -1."""
        if self._owner is None:
            return False
        if sys._getframe(1) is not self._owner_frame and self._owner is not _caller_id():
            return False
        self._owner = self._owner_frame = None
        self._free.notify()
        return True


class Semaphore:
    """A counter processes take (`wait`) and give back (`post`) (sc_semaphore).

    Usage::

        await s.wait(); ...; s.post()
    """

    __slots__ = ("sim", "name", "value", "_free")

    def __init__(self, sim: Simulator, n: int, name: str = "semaphore") -> None:
        if not isinstance(sim, Simulator):
            name = scoped_name(sim, name)
            sim = as_simulator(sim, "Semaphore")
        if type(n) is not int or n < 0:
            raise ValueError(f"semaphore value must be an int >= 0, got {n!r}")
        self.sim = sim
        self.name = name
        self.value = n
        self._free = Event(sim, f"{name}.free")

    def __repr__(self) -> str:
        return f"<Semaphore {self.name}={self.value}>"

    def get_value(self) -> int:
        return self.value

    @native_coroutine
    def wait(self) -> Generator[Any, None, None]:
        """Take one unit, waiting while there is none (``await s.wait()``)."""
        while self.value <= 0:
            yield self._free
        self.value -= 1

    def trywait(self) -> bool:
        """Take one unit if there is one; False otherwise."""
        if self.value <= 0:
            return False
        self.value -= 1
        return True

    def post(self) -> None:
        """Give one unit back; waiters wake at once (an immediate notification)."""
        self.value += 1
        self._free.notify()


class EventQueue(Event):
    """An event that keeps every pending notification (sc_event_queue).

    Each `notify(t)` fires once, at now + t; several due at one time fire in
    successive delta cycles. Await it, or make methods sensitive to it, like
    an Event. There is no immediate notification.
    """

    __slots__ = ("_counts", "_dup", "_rearm", "_inner", "_simple", "_other", "_heap")

    def __init__(self, sim: Simulator, name: str = "event_queue") -> None:
        super().__init__(sim, name)
        # Notifications per future time: one timed queue entry per distinct time.
        self._counts: dict[int, int] = {}
        self._dup = 0  # due now but not fired yet: one per coming delta cycle
        self._other = self.sim._timed_other  # the simulator's timed queue, cached for notify
        self._heap = self.sim._times
        self._rearm = _Rearm(self)
        # `_trigger_static`, which every way of firing calls while `_static`
        # is not empty (`_ARM` keeps it so), queues the next delta's firing.
        self._static.append(_ARM)
        self._has_static = True
        self._plain = False
        # `await eq` waits on a plain Event fired with the queue, which the
        # scheduler's hot path handles (any_of and methods use the queue itself).
        self._inner = Event(self.sim, self.name)
        self.__await__ = (self._inner,).__iter__  # type: ignore[method-assign,assignment]
        self.sim._direct_waits.add(EventQueue)
        self._simple = True  # no method sensitive to the queue

    def __repr__(self) -> str:
        return f"<EventQueue {self.name} ({self.pending_count} pending)>"

    def notify(self, delay: int | None = None) -> None:
        """Queue one notification `delay` ps from now (0: the next delta cycle)."""
        if type(delay) is int and delay > 0:  # the hot case first
            t = self.sim.now + delay
            counts = self._counts
            if t in counts:
                counts[t] += 1
                return
            counts[t] = 1
            other = self._other
            bucket = other.get(t)  # sim._schedule_other, inlined
            if bucket is None:
                other[t] = [self]
                heappush(self._heap, t)
            else:
                bucket.append(self)
            return
        if delay is None:
            raise TypeError(f"EventQueue '{self.name}': notify needs a delay (0 for the next delta cycle)")
        delay = _as_delay(delay)
        if delay:
            self.notify(delay)
        elif self._at is None:
            Event.notify(self, 0)
        else:
            self._dup += 1

    def cancel_all(self) -> None:
        """Drop every pending notification."""
        self._counts.clear()
        self._dup = 0
        Event.cancel(self)

    @property
    def pending_count(self) -> int:
        return sum(self._counts.values()) + self._dup + (self._at is not None)

    def _fire_timed(self) -> None:
        c = self._counts.pop(self.sim.now, 0)
        if c == 1 and self._simple and not self._waiters:  # no any_of waiter, method or repeat
            ws = self._inner._waiters
            self._runnable.extend(ws)
            ws.clear()
        elif c:  # else cancelled
            if c > 1:
                self._dup += c - 1
            if self._waiters:
                self._trigger()
            else:
                self._trigger_static()

    def _add_method(self, method: Any, solo: bool) -> None:
        super()._add_method(method, solo)
        self._simple = False

    def _trigger_static(self) -> None:
        runnable = self._runnable
        ws = self._inner._waiters
        if ws:
            runnable.extend(ws)
            ws.clear()
        if self._dup:
            # As SystemC's method sensitive to the event: it runs in this
            # delta's evaluation and notifies the event for the next delta.
            runnable.append(self._rearm)
        if self._solo_fns and not self._solo_queued:
            self._solo_queued = True
            runnable.append(self)
        for m in self._static:
            if m is not _ARM and not m._scheduled:
                m._scheduled = True
                runnable.append(m)


class _Rearm:
    """A runnable entry that fires an EventQueue once more, one delta later."""

    __slots__ = ("eq",)

    def __init__(self, eq: EventQueue) -> None:
        self.eq = eq

    def _send(self, _: None) -> object:
        eq = self.eq
        if eq._dup and eq._at is None:
            eq._dup -= 1
            Event.notify(eq, 0)
        return RAN


_ARM: Any = object()  # EventQueue's place holder in `_static`


class Buffer(Signal[T]):
    """A Signal whose every write notifies `value_changed` (sc_buffer), even
    when the value does not change; `posedge` (`negedge`) fires on every
    write of a true (false) value, like sc_buffer<bool>."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<Buffer {self.name}={self._cur!r}>"

    def _update(self) -> None:
        self._pending = False
        new = self._new
        self._cur = new
        self.value_changed._notify_from_update()
        (self.posedge if new else self.negedge)._notify_from_update()
