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

from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from tlm.kernel.batch import batch_send
from tlm.kernel.coro import as_simulator, native_coroutine, scoped_name
from tlm.kernel.process import RAN, Method, Process
from tlm.kernel.time import fmt_time

if TYPE_CHECKING:
    from tlm.kernel.simulator import Simulator


# `Event._at` when a delta notification is pending. Being below every time,
# it also makes a later `notify(t)` lose to it without an extra test.
_DELTA = -1
_ZERO = 0


class Event:
    """A notification point processes can wait on (sc_event)."""

    __slots__ = ("sim", "name", "__await__", "_waiters", "_static", "_solo", "_solo_fns",
                 "_send", "_solo_queued", "_has_static", "_mixed", "_plain", "_at", "_runnable", "_delta")
    _send: Callable[[None], object]  # a method batch's runner (see _add_method)

    if TYPE_CHECKING:  # an instance slot at run time (see __init__)
        def __await__(self) -> Generator[Any, None, None]: ...

    def __init__(self, sim: Simulator, name: str = "event") -> None:
        if not hasattr(sim, "_runnable"):  # a Module (or a mistake): see as_simulator
            name = scoped_name(sim, name)
            sim = as_simulator(sim, "Event")
        self.sim = sim
        self.name = name
        # `await ev` yields the event itself to the scheduler, which adds the
        # process to `_waiters`. `__await__` is an instance slot holding the
        # bound `__iter__` of a 1-tuple, so awaiting runs no Python frame at all.
        self.__await__ = (self,).__iter__  # type: ignore[method-assign,assignment]
        self._runnable = sim._runnable     # the simulator's queues, cached for notify
        self._delta = sim._delta
        self._waiters: list[Any] = []      # Process or _Waiter tokens
        # True while `_waiters` may hold _Waiter tokens; without them a
        # trigger moves the whole list to the runnable queue in one call.
        self._mixed = False
        # True while neither `_mixed` nor `_has_static`: a trigger then only
        # moves `_waiters` to the runnable queue (the hot case, one test).
        self._plain = True
        self._static: list[Method] = []    # methods sensitive to this and other events
        # Methods sensitive to this event alone run as one batch per trigger:
        # the event itself goes into the runnable queue (see Simulator._loop).
        self._solo: list[Method] = []
        self._solo_fns: list[Any] = []
        self._solo_queued = False
        self._has_static = False           # any method sensitive to this event
        # Pending notification: None, _DELTA, or the time of a timed one.
        self._at: int | None = None

    def __repr__(self) -> str:
        return f"<Event {self.name}>"

    def _register(self, proc: Process) -> None:
        # `await ev` on a plain Event is registered by the scheduler itself;
        # this is the path of subclasses, which may act before a wait begins.
        self._register_hook()
        self._waiters.append(proc)

    def _register_hook(self) -> None:
        """Called before a process starts waiting on an Event subclass."""

    def _add_method(self, method: Method, solo: bool) -> None:
        """Make `method` statically sensitive to this event (see `Method`)."""
        if solo:
            self._solo.append(method)
            self._solo_fns.append(method.fn)
            # The scheduler runs a queued event's batch through `_send`; it
            # is (re)generated on the next trigger.
            self._send = self._build_batch
        else:
            self._static.append(method)
        self._has_static = True
        self._plain = False

    # -- notification --------------------------------------------------------
    def notify(self, delay: int | None = None) -> None:
        """Immediate (no argument), delta (`0`) or timed (`t` ps) notification."""
        if delay is None:
            # Immediate, tested first: `is None` is one jump instruction.
            # `_trigger` inlined for the hot case.
            if self._at is not None:
                self.cancel()
            if self._plain:
                ws = self._waiters
                self._runnable.extend(ws)
                ws.clear()
            else:
                self._trigger()
            return
        if delay is _ZERO:
            # Delta: an int 0 is CPython's cached small int, so identity
            # spares the type check (anything else takes the long way).
            # A pending timed notification is overridden: its queue entry goes
            # stale (`_fire_timed` checks `_at`).
            if self._at is None:  # the hot case, one test
                self._at = _DELTA
                self._delta.append(self)
            elif self._at > _DELTA:
                self._at = _DELTA
                self._delta.append(self)
            return
        if type(delay) is not int:
            delay = _as_delay(delay)
        at = self._at
        if delay == 0:
            # A pending timed notification is overridden: its queue entry
            # goes stale (`_fire_timed` checks `_at`).
            if at is None or at > _DELTA:
                self._at = _DELTA
                self._delta.append(self)
            return
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        sim = self.sim
        t = sim.now + delay
        if at is not None and at <= t:  # an earlier one (or a delta one) wins
            return
        self._at = t
        sim._schedule_other(t, self)

    def _notify_from_update(self) -> None:
        """`notify(0)` from a channel's update phase, skipped when nothing is
        sensitive (and nothing is pending): nobody can start waiting before
        the delta phase.

        With no delta notification queued yet, this one would fire first in
        the delta phase, which only moves its processes and methods to the
        runnable list: it fires at once, in the same order, without the
        round trip.
        """
        if self._at is None:
            if self._waiters or self._has_static:
                if self._delta:  # notify(0), inlined
                    self._at = _DELTA
                    self._delta.append(self)
                elif self._plain:  # _trigger, inlined for the hot case
                    ws = self._waiters
                    self._runnable.extend(ws)
                    ws.clear()
                else:
                    self._trigger()
        else:
            self.notify(0)  # overrides a timed notification

    def cancel(self) -> None:
        """Drop a pending delta or timed notification (sc_event::cancel)."""
        if self._at == _DELTA:
            self._delta.remove(self)
        self._at = None

    @property
    def pending(self) -> bool:
        return self._at is not None

    def _fire_timed(self) -> None:
        # Stale queue entries (overridden by an earlier notification) are skipped.
        if self._at == self.sim.now:
            self._at = None
            self._trigger()

    def _trigger(self) -> None:
        ws = self._waiters
        if ws:
            if self._mixed:
                self._wake_mixed()
            else:
                self._runnable.extend(ws)
                ws.clear()
        if self._has_static:
            if self._static:
                self._trigger_static()
            elif not self._solo_queued:  # only a method batch
                self._solo_queued = True
                self._runnable.append(self)

    def _wake_mixed(self) -> None:
        """Wake the waiters, some of them any_of/all_of/timeout tokens, in wait order."""
        ws = self._waiters
        # A token's hit may remove tokens from other events' lists; this one
        # is detached first so that it is walked exactly as it was.
        self._waiters = []
        self._mixed = False
        self._plain = not self._has_static
        run = self._runnable
        for w in ws:
            if type(w) is Process:
                run.append(w)
            else:
                w.hit(self)

    def _trigger_static(self) -> None:
        runnable = self._runnable
        if self._solo_fns and not self._solo_queued:
            self._solo_queued = True
            runnable.append(self)
        for m in self._static:
            if not m._scheduled:
                m._scheduled = True
                runnable.append(m)

    def _build_batch(self, _: None) -> object:
        """Generate the batch's `_send` (see tlm.kernel.batch), install it, run it."""
        self._send = send = batch_send(self, tuple(self._solo_fns), RAN)
        return send(None)

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
        return bool(self._waiters or self._has_static)


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
        proc = self.proc
        if self.epoch != proc._epoch:
            return
        if proc._disabled:  # the trigger is lost; the wait stays in place
            ev._waiters.append(self)
            ev._mixed = True
            ev._plain = False
            return
        if self.remaining is not None:
            self.remaining.discard(ev)
            if self.remaining:
                return
        self.fired = ev
        self._wake()

    def _fire_timed(self) -> None:
        if self.epoch == self.proc._epoch:
            if self.proc._disabled:  # a timeout while disabled is lost, with the wait
                self.fired = None
                self.proc._epoch += 1
                for ev in self.events:
                    try:
                        ev._waiters.remove(self)
                    except ValueError:
                        pass
                return
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
            if type(ev) is not Event:
                ev._register_hook()
            ev._waiters.append(w)
            ev._mixed = True
            ev._plain = False
        if self.timeout is not None:
            w.timeout_at = proc.sim.now + self.timeout
            proc.sim._schedule_other(w.timeout_at, w)


@native_coroutine
def _await_combined(c: _Combined) -> Generator[Any, None, Any]:
    yield c
    w = c.waiter
    assert w is not None
    if c.timeout is not None:
        return w.fired is not None
    return w.fired


@native_coroutine
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
    if type(t) is not int:
        t = _as_delay(t)
    if t < 0:
        raise ValueError(f"negative delay {t}")
    c = _Combined((event,), False, t)  # _await_combined, inlined (this body is not a generator to mypy)
    yield c
    return c.waiter is not None and c.waiter.fired is not None


def any_of(*events: Event) -> Coroutine[Any, Any, Any]:
    """Await the first of `events` to fire; the result is that event (or-list)."""
    if not events:
        raise ValueError("any_of() needs at least one event")
    return _await_combined(_Combined(events, False, None))


def all_of(*events: Event) -> Coroutine[Any, Any, Any]:
    """Await until every one of `events` has fired since the wait began (and-list)."""
    if not events:
        raise ValueError("all_of() needs at least one event")
    return _await_combined(_Combined(events, True, None))
