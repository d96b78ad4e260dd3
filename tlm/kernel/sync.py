"""Mutex, Semaphore, EventQueue and Buffer (sc_mutex, sc_semaphore,
sc_event_queue, sc_buffer), with SystemC 2.3.4's timing."""

from __future__ import annotations

import heapq
import inspect
import sys
from collections.abc import Generator
from typing import Any, TypeVar

from tlm.kernel.coro import as_simulator, native_coroutine, scoped_name
from tlm.kernel.event import Event, _as_delay
from tlm.kernel.process import Method
from tlm.kernel.signal import Signal
from tlm.kernel.simulator import Simulator

T = TypeVar("T")
_LOOP_CODE = Simulator._loop.__code__


def _caller_id() -> object:
    """Who calls (the process or method): the outermost Python frame under
    the scheduler loop, as an identity. A thread's outermost frame is its
    coroutine's, the same across its waits; a method gives its Method."""
    f: Any = sys._getframe(2)
    while f is not None:
        back = f.f_back
        if back is None:
            return None
        if back.f_code is _LOOP_CODE:
            if f.f_code.co_flags & inspect.CO_COROUTINE:
                return f
            return back.f_locals.get("p")  # a method, or a thread under a wrapper
        f = back
    return None


class Mutex:
    """A lock one process holds at a time (sc_mutex).

    `unlock()` wakes the waiting lockers at once (an immediate notification);
    the first of them to run takes the lock, the others wait again.

    Usage::

        await m.lock(); ...; m.unlock()
        if m.trylock(): ...; m.unlock()
    """

    __slots__ = ("sim", "name", "_owner", "_free")

    def __init__(self, sim: Simulator, name: str = "mutex") -> None:
        if not isinstance(sim, Simulator):
            name = scoped_name(sim, name)
            sim = as_simulator(sim, "Mutex")
        self.sim = sim
        self.name = name
        self._owner: object = None
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
        me = _caller_id()
        if self._owner is me:
            return
        while self._owner is not None:
            yield self._free
        self._owner = me

    def trylock(self) -> bool:
        """Hold the mutex if it is free (or held by the caller); False otherwise."""
        me = _caller_id()
        if self._owner is me:
            return True
        if self._owner is not None:
            return False
        self._owner = me
        return True

    def unlock(self) -> bool:
        """Release the mutex; False (nothing done) if the caller does not hold it,
        as sc_mutex::unlock returns -1."""
        if self._owner is None or self._owner is not _caller_id():
            return False
        self._owner = None
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

    Each `notify(t)` fires once, at now + t; several at one time fire in
    successive delta cycles. Await it, or make methods sensitive to it, like
    an Event. There is no immediate notification.
    """

    __slots__ = ("_times",)

    def __init__(self, sim: Simulator, name: str = "event_queue") -> None:
        super().__init__(sim, name)
        self._times: list[int] = []
        sim = self.sim
        # As in SystemC, a method sensitive to the event pops what fired and
        # arms the event for the next pending time.
        fire = Method(sim, self._fire, sim.register_name(f"{self.name}.fire_event", None, rename=True),
                      (self,))
        sim._methods.append(fire)

    def __repr__(self) -> str:
        return f"<EventQueue {self.name} ({len(self._times)} pending)>"

    def notify(self, delay: int | None = None) -> None:
        """Queue one notification `delay` ps from now (0: the next delta cycle)."""
        if delay is None:
            raise TypeError(f"EventQueue '{self.name}': notify needs a delay (0 for the next delta cycle)")
        d = _as_delay(delay)
        t = self.sim.now + d
        times = self._times
        if not times or t < times[0]:
            Event.notify(self, d)
        heapq.heappush(times, t)

    def cancel_all(self) -> None:
        """Drop every pending notification."""
        self._times.clear()
        Event.cancel(self)

    @property
    def pending_count(self) -> int:
        return len(self._times)

    def _fire(self) -> None:
        times = self._times
        if not times:  # cancelled
            return
        heapq.heappop(times)
        if times:
            Event.notify(self, times[0] - self.sim.now)


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
