"""Processes: coroutine threads (SC_THREAD / sc_spawn) and methods (SC_METHOD)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlm.kernel.event import Event
    from tlm.kernel.simulator import Simulator


class Process:
    """A running `async def` coroutine driven by the simulator.

    `_send` and `_throw` are the coroutine's bound methods, cached because the
    scheduler calls `_send` once per resumption. `_epoch` invalidates stale
    wake-ups of waits that can end in more than one way (timeout or event,
    `any_of`); `_wait` holds the token of such a wait, for `Simulator.blocked()`
    (a plain event wait is not recorded: `blocked()` finds it on the event).
    """

    __slots__ = ("sim", "name", "coro", "_send", "_throw", "_epoch", "_wait", "alive", "_terminated")

    def __init__(self, sim: Simulator, coro: Coroutine[Any, Any, Any], name: str) -> None:
        if not hasattr(coro, "send") or not hasattr(coro, "throw"):
            raise TypeError(f"spawn() needs a coroutine (call the async function), got {coro!r}")
        self.sim = sim
        self.name = name
        self.coro = coro
        self._send = coro.send
        self._throw = coro.throw
        self._epoch = 0
        self._wait: object = None
        self.alive = True
        self._terminated: Event | None = None

    @property
    def terminated(self) -> Event:
        """Event notified (delta) when the process returns; await it to join."""
        if self._terminated is None:
            from tlm.kernel.event import Event

            self._terminated = Event(self.sim, f"{self.name}.terminated")
        return self._terminated

    def __repr__(self) -> str:
        return f"<Process {self.name}{'' if self.alive else ' (done)'}>"


# What running a method (or a batch of them) returns to the scheduler, in
# the place of what a thread process's `_send` yields.
RAN = object()


class Method:
    """A plain function run whenever one of its static events fires (SC_METHOD).

    `_scheduled` keeps it from being queued twice in one evaluation phase;
    `_send` runs it, called by the scheduler like a thread's `coro.send`.
    """

    __slots__ = ("sim", "name", "fn", "_scheduled", "_send", "alive", "sensitive")

    def __init__(self, sim: Simulator, fn: Callable[[], object], name: str,
                 sensitive: Iterable[Event]) -> None:
        self.sim = sim
        self.name = name
        self.fn = fn
        self._scheduled = False
        self._send = self._run
        self.alive = True
        self.sensitive = tuple(dict.fromkeys(sensitive))
        solo = len(self.sensitive) == 1
        for ev in self.sensitive:
            ev._add_method(self, solo)

    def __repr__(self) -> str:
        return f"<Method {self.name}>"

    def _run(self, _: None) -> object:
        self._scheduled = False
        self.fn()
        return RAN
