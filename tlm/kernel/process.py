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

    Process control (IEEE 1666 sc_process_handle) swaps `_send` for `_held`
    while the process is suspended or disabled, so the scheduler's hot path
    has nothing to test: a wake-up of a held process lands in `_held`, which
    remembers it (suspended) or drops it and keeps the process waiting on the
    same event (disabled).
    """

    __slots__ = ("sim", "name", "coro", "_send", "_throw", "_epoch", "_wait", "alive", "_terminated",
                 "_factory", "_live", "_suspended", "_disabled", "_ready", "_pass", "_park",
                 "_reset_sig", "_reset_level")
    # In the delta list a process (a wait(0)) sits among events: this class
    # attribute lets the scheduler test an item's `_plain` first.
    _plain = False

    def __init__(self, sim: Simulator, coro: Coroutine[Any, Any, Any], name: str,
                 factory: Callable[[], Coroutine[Any, Any, Any]] | None = None) -> None:
        if not hasattr(coro, "send") or not hasattr(coro, "throw"):
            raise TypeError(f"spawn() needs a coroutine (call the async function), got {coro!r}")
        self.sim = sim
        self.name = name
        self.coro = coro
        self._send: Callable[[Any], Any] = coro.send
        self._throw: Callable[..., Any] = coro.throw
        self._epoch = 0
        self._wait: object = None
        self.alive = True
        self._terminated: Event | None = None
        self._factory = factory
        self._live: Callable[[Any], Any] = coro.send  # `_send` when not held
        self._suspended = False
        self._disabled = False
        self._ready = False    # triggered while suspended: runs at resume()
        self._pass = False     # runnable when disabled: runs once all the same
        self._park: Event | None = None  # the event a disabled process goes on waiting for
        self._reset_sig: Any = None
        self._reset_level: object = True

    @property
    def terminated(self) -> Event:
        """Event notified (immediately) when the process ends, returned or killed; await it to join."""
        if self._terminated is None:
            from tlm.kernel.event import Event

            self._terminated = Event(self.sim, f"{self.name}.terminated")
        return self._terminated

    def __repr__(self) -> str:
        return f"<Process {self.name}{'' if self.alive else ' (done)'}>"

    # -- process control (sc_process_handle) -------------------------------------
    @property
    def suspended(self) -> bool:
        return self._suspended

    @property
    def disabled(self) -> bool:
        return self._disabled

    def _running(self) -> bool:
        coro = self.coro
        return bool(getattr(coro, "cr_running", False) or getattr(coro, "gi_running", False))

    def _hold(self) -> None:
        self._send = self._held if (self._suspended or self._disabled) else self._live

    def _held(self, value: Any) -> Any:
        """What the scheduler calls for a suspended or disabled process."""
        if self._pass:  # runnable before it was disabled: it runs all the same
            self._pass = False
            return self._live(value)
        if self._disabled:
            # The trigger is lost; an event wait stays in place (a timed one
            # is lost too, as SystemC does with a disabled timeout).
            if self._park is not None:
                self._park._waiters.append(self)
        else:
            self._ready = True
        return RAN

    def suspend(self) -> None:
        """Stop the process from running; a trigger meanwhile runs it at `resume()`.

        A process suspending itself stops at its next `await`.
        """
        if self.alive and not self._suspended:
            self._suspended = True
            self._hold()

    def resume(self) -> None:
        """Undo `suspend()`; a trigger that came meanwhile makes it runnable now."""
        if not self._suspended:
            return
        self._suspended = False
        self._hold()
        if self._ready:
            self._ready = False
            if self.alive and not self._disabled:
                self.sim._runnable.append(self)

    def disable(self) -> None:
        """Ignore triggers until `enable()`; the process keeps waiting for its event.

        A trigger while disabled is lost (a timed wait that ends meanwhile is
        lost for good, as in SystemC). A process already runnable still runs.
        """
        if not self.alive or self._disabled:
            return
        from tlm.kernel.control import locate

        self._disabled = True
        self._park, self._pass = locate(self.sim, self)
        self._hold()

    def enable(self) -> None:
        """Undo `disable()`: the next trigger runs the process again."""
        if self._disabled:
            self._disabled = False
            self._pass = False
            self._park = None
            self._hold()

    def kill(self) -> None:
        """Terminate the process now (its `finally` blocks run); `terminated` fires.

        A process killing itself stops at once (the call does not return).
        """
        if not self.alive:
            return
        if self._running():
            raise Unwind(reset=False)
        self._end_coroutine()
        self.sim._finish(self)

    def reset(self) -> None:
        """Restart the process from the beginning of its function, now.

        The old coroutine is closed (its `finally` blocks run) and the new one
        runs up to its first `await` before `reset()` returns, as
        sc_process_handle::reset does. Needs a process made from a function
        (`module.thread(fn)` or `sim.spawn(fn)`). No effect on a terminated
        process.

        Raises:
            SimulationError: the process was spawned from a coroutine object.
        """
        if self._factory is None:
            from tlm.kernel.errors import SimulationError

            raise SimulationError(
                f"process '{self.name}' cannot be reset: it was spawned from a coroutine object; "
                "spawn the async function itself (sim.spawn(fn) or module.thread(fn))")
        if not self.alive:
            return
        if self._running():
            raise Unwind(reset=True)
        self._end_coroutine()
        self._restart()
        self.sim._run_now(self)

    def _end_coroutine(self) -> None:
        """Close the coroutine and make every wake-up still queued for it inert."""
        from tlm.kernel.control import scrub

        self._epoch += 1
        scrub(self.sim, self)
        coro = self.coro
        self._send = self._throw = _dead
        self._live = _dead
        try:
            coro.close()
        except BaseException as e:  # noqa: BLE001 - reported like any failure of the process
            from tlm.kernel.errors import ProcessError
            from tlm.kernel.time import fmt_time

            self.alive = False
            raise ProcessError(self.name, fmt_time(self.sim.now), e) from e

    def _restart(self) -> None:
        """A fresh coroutine from the factory, with the control state kept."""
        assert self._factory is not None
        coro = self._factory()
        self.coro = coro
        self._throw = coro.throw
        self._live = self._reset_send if self._reset_sig is not None else coro.send
        self._wait = None
        self._hold()

    def _reset_send(self, value: Any) -> Any:
        """`_live` of a process with a reset signal (reset_signal_is): a
        resumption while the signal is at its reset level restarts it."""
        if self._reset_sig.read() == self._reset_level:
            self._epoch += 1
            old = self.coro
            self._restart()
            old.close()
            return self.coro.send(None)
        return self.coro.send(value)


class Unwind(BaseException):  # noqa: N818 - a control-flow signal, like GeneratorExit
    """Raised in a process that kills or resets itself; the scheduler catches it.

    A BaseException, so `except Exception` in the process does not stop it.
    """

    def __init__(self, reset: bool) -> None:
        super().__init__("reset" if reset else "kill")
        self.reset = reset


def _dead(_: Any) -> Any:
    """`_send` of a process killed or reset elsewhere: stale wake-ups do nothing."""
    return RAN


# What running a method (or a batch of them) returns to the scheduler, in
# the place of what a thread process's `_send` yields.
RAN = object()


class Method:
    """A plain function run whenever one of its static events fires (SC_METHOD).

    `_scheduled` keeps it from being queued twice in one evaluation phase;
    `_send` runs it, called by the scheduler like a thread's `coro.send`.
    """

    __slots__ = ("sim", "name", "fn", "_scheduled", "_send", "alive", "sensitive", "_epoch", "_wait",
                 "_disabled", "_dynamic")

    def __init__(self, sim: Simulator, fn: Callable[[], object], name: str,
                 sensitive: Iterable[Event]) -> None:
        self.sim = sim
        self.name = name
        self.fn = fn
        self._scheduled = False
        self._send = self._run
        self.alive = True
        self._epoch = 0          # next_trigger tokens (see tlm.kernel.event._Waiter)
        self._wait: object = None
        self._disabled = False
        self._dynamic = False    # next_trigger was used: never in a method batch again
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
