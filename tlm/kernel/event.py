"""Events and the things a process can await.

A process awaits:
- `wait(t)`: resume after `t` ps; `wait(0)` is exactly one delta cycle.
- `wait(t, ev)`: whichever comes first; returns True when `ev` fired, False on timeout.
- `ev` (an `Event`), `any_of(e1, e2, ...)` (returns the event that fired) and
  `all_of(e1, e2, ...)` (each must fire once after the wait began).

Notification follows IEEE 1666: `notify()` is immediate (waiters run in the
current evaluation phase) and cancels a pending notification; `notify(0)`
fires in the delta-notification phase; `notify(t)` at now + t. A pending
notification is overridden only by an earlier one: delta beats timed, an
earlier time beats a later one, and the later request is ignored.
"""

from __future__ import annotations

import types
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from tlm.kernel.process import Method, Process
from tlm.kernel.time import fmt_time

if TYPE_CHECKING:
    from tlm.kernel.simulator import Simulator


class Event:
    """A notification point processes can wait on (sc_event)."""

    __slots__ = ("sim", "name", "_waiters", "_static", "_solo", "_solo_fns", "_solo_queued",
                 "_timed_at", "_delta_pending", "_runnable", "_one")

    def __init__(self, sim: Simulator, name: str = "event") -> None:
        self.sim = sim
        self.name = name
        self._runnable = sim._runnable     # the simulator's queue, cached for _trigger
        self._one = (self,)
        self._waiters: list[Any] = []      # Process or _Waiter tokens
        self._static: list[Method] = []    # methods sensitive to this and other events
        # Methods sensitive to this event alone run as one batch per trigger:
        # the event itself goes into the runnable queue (see Simulator._loop).
        self._solo: list[Method] = []
        self._solo_fns: list[Any] = []
        self._solo_queued = False
        self._timed_at: int | None = None  # time of a pending timed notification
        self._delta_pending = False

    def __repr__(self) -> str:
        return f"<Event {self.name}>"

    # `await ev` yields the event itself to the scheduler, which adds the
    # process to `_waiters`. An iterator over a cached 1-tuple is the cheapest
    # awaitable in CPython (cheaper than a generator).
    def __await__(self) -> Any:
        return iter(self._one)

    def _register(self, proc: Process) -> None:
        proc._wait = self
        self._waiters.append(proc)

    # -- notification --------------------------------------------------------
    def notify(self, delay: int | None = None) -> None:
        """Immediate (no argument), delta (`0`) or timed (`t` ps) notification."""
        if delay is None:
            # Immediate: inlined `_trigger` for the waiters (the hot case).
            if self._delta_pending or self._timed_at is not None:
                self.cancel()
            ws = self._waiters
            if ws:
                self._waiters = []
                run = self._runnable
                for w in ws:
                    if w.__class__ is Process:
                        run.append(w)
                    else:
                        w.hit(self)
            if self._solo_fns or self._static:
                self._trigger_static()
            return
        if self._delta_pending:
            return
        if delay.__class__ is not int:
            delay = _as_delay(delay)
        if delay == 0:
            self._timed_at = None
            self._delta_pending = True
            self.sim._delta.append(self)
            return
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        sim = self.sim
        t = sim.now + delay
        if self._timed_at is not None and self._timed_at <= t:
            return
        self._timed_at = t
        sim._schedule_other(t, self)

    def cancel(self) -> None:
        """Drop a pending delta or timed notification (sc_event::cancel)."""
        if self._delta_pending:
            self._delta_pending = False
            self.sim._delta.remove(self)
        self._timed_at = None

    @property
    def pending(self) -> bool:
        return self._delta_pending or self._timed_at is not None

    def _fire_timed(self) -> None:
        # Stale heap entries (overridden by an earlier notification) are skipped.
        if self._timed_at == self.sim.now:
            self._timed_at = None
            self._trigger()

    def _fire_delta(self) -> None:
        self._delta_pending = False
        self._trigger()

    def _trigger(self) -> None:
        ws = self._waiters
        if ws:
            self._waiters = []
            run = self._runnable
            for w in ws:
                if w.__class__ is Process:
                    run.append(w)
                else:
                    w.hit(self)
        if self._solo_fns or self._static:
            self._trigger_static()

    def _trigger_static(self) -> None:
        runnable = self._runnable
        if self._solo_fns and not self._solo_queued:
            self._solo_queued = True
            runnable.append(self)
        for m in self._static:
            if not m._scheduled:
                m._scheduled = True
                runnable.append(m)

    def _run_solo(self) -> None:
        """Run the methods sensitive to this event alone (queued by `_trigger`)."""
        self._solo_queued = False
        try:
            for fn in self._solo_fns:
                fn()
        except BaseException as e:
            self.sim._fail(self._failed_method(e), e)

    def _failed_method(self, e: BaseException) -> Method:
        """The solo method whose code raised `e` (found from the traceback)."""
        codes = {getattr(getattr(m.fn, "__func__", m.fn), "__code__", None): m for m in self._solo}
        tb = e.__traceback__
        while tb is not None:
            m = codes.get(tb.tb_frame.f_code)
            if m is not None:
                return m
            tb = tb.tb_next
        return self._solo[0]

    def has_sensitivity(self) -> bool:
        """True when notifying this event could wake anything."""
        return bool(self._waiters or self._solo_fns or self._static)


def _as_delay(delay: object) -> int:
    if isinstance(delay, bool) or not hasattr(delay, "__index__"):
        raise TypeError(f"delay must be an int number of picoseconds, got {delay!r}")
    value = int(delay.__index__())  # type: ignore[attr-defined]
    if value < 0:
        raise ValueError(f"negative delay {value}")
    return value


class _Waiter:
    """A wait that can end through several events and/or a timeout."""

    __slots__ = ("proc", "epoch", "events", "remaining", "fired", "all", "timeout_at")

    def __init__(self, proc: Process, events: tuple[Event, ...], all_: bool) -> None:
        self.proc = proc
        self.epoch = proc._epoch
        self.events = events
        self.remaining = set(events) if all_ else None
        self.fired: Event | None = None
        self.all = all_
        self.timeout_at: int | None = None

    def hit(self, ev: Event) -> None:
        if self.epoch != self.proc._epoch:
            return
        if self.remaining is not None:
            self.remaining.discard(ev)
            if self.remaining:
                return
        self.fired = ev
        self._wake()

    def _fire_timed(self) -> None:
        if self.epoch == self.proc._epoch:
            self._wake()

    def _wake(self) -> None:
        proc = self.proc
        proc._epoch += 1
        for ev in self.events:
            if ev is not self.fired:
                try:
                    ev._waiters.remove(self)
                except ValueError:
                    pass
        proc.sim._runnable.append(proc)

    def describe(self) -> str:
        parts = [e.name for e in (self.remaining if self.remaining is not None else self.events)]
        text = ("all_of(" if self.all else "any_of(") + ", ".join(sorted(parts)) + ")"
        if self.timeout_at is not None:
            text += f" or timeout at {fmt_time(self.timeout_at)}"
        return text


class _Combined:
    """What `any_of`/`all_of`/`wait(t, ev)` yield to the scheduler."""

    __slots__ = ("events", "all", "timeout", "waiter")

    def __init__(self, events: tuple[Event, ...], all_: bool, timeout: int | None) -> None:
        for ev in events:
            if not isinstance(ev, Event):
                raise TypeError(f"expected Event, got {ev!r}")
        self.events = events
        self.all = all_
        self.timeout = timeout
        self.waiter: _Waiter | None = None

    def _register(self, proc: Process) -> None:
        w = _Waiter(proc, self.events, self.all)
        self.waiter = w
        proc._wait = w
        for ev in self.events:
            ev._waiters.append(w)
        if self.timeout is not None:
            w.timeout_at = proc.sim.now + self.timeout
            proc.sim._schedule_other(w.timeout_at, w)


@types.coroutine
def _await_combined(c: _Combined) -> Generator[Any, None, Any]:
    yield c
    w = c.waiter
    assert w is not None
    if c.timeout is not None:
        return w.fired is not None
    return w.fired


@types.coroutine
def wait(t: int, event: Event | None = None) -> Generator[Any, None, Any]:
    """Await `t` ps (`0`: one delta cycle), or `t` ps or `event`, whichever first.

    Raises (in the awaiting process):
        ValueError: `t` is negative.
        TypeError: `t` is not an integer number of picoseconds.

    Usage: ``await wait(5 * NS)``; ``fired = await wait(10 * NS, ev)``.
    """
    if event is None:
        # The scheduler receives the int itself: no object per timed wait.
        yield t
        return None
    if t.__class__ is not int:
        t = _as_delay(t)
    if t < 0:
        raise ValueError(f"negative delay {t}")
    return (yield from _await_combined(_Combined((event,), False, t)))


def any_of(*events: Event) -> Generator[Any, None, Any]:
    """Await the first of `events` to fire; the result is that event (or-list)."""
    if not events:
        raise ValueError("any_of() needs at least one event")
    return _await_combined(_Combined(events, False, None))


def all_of(*events: Event) -> Generator[Any, None, Any]:
    """Await until every one of `events` has fired since the wait began (and-list)."""
    if not events:
        raise ValueError("all_of() needs at least one event")
    return _await_combined(_Combined(events, True, None))
