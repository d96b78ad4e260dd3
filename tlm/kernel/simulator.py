"""The discrete-event scheduler (sc_simcontext).

One simulation cycle, as IEEE 1666 defines it:

    evaluate   run every runnable process, in the order it became runnable;
               an immediate notification makes waiters runnable in this same
               phase
    update     channels that asked for it (Signal, Fifo) commit their writes
    delta      delta notifications fire and `wait(0)` sleepers wake; if that
               made anything runnable, the next delta cycle starts (same time)
    advance    otherwise time moves to the earliest timed notification; all
               that is due then becomes runnable for the first delta there

Time is an int of picoseconds. Timed work is kept in buckets: a dict from
time to the processes resuming then (so 1000 processes waiting until the
same instant cost one heap entry), a second dict for timed events, timeouts
and clocks, and a heap of their times (a time is pushed once per dict
that gets a bucket for it, so it can be in the heap twice).

Hot-path tricks (each measured with `bench/bench_kernel.py`):
- the runnable queue is a list walked by a `for` loop, which sees what is
  appended while it runs; every entry has `_send` (a thread's `coro.send`,
  a method's or a method batch's runner), so there is no dispatch on type;
- the loop special-cases what a thread yields: a plain `int` (from
  `wait(t)`) and an `Event` (from `await ev`, which runs no Python frame:
  see `Event.__init__`), so the common paths allocate nothing but the
  awaiting generator; an event wait is not recorded on the process
  (`blocked()` finds it among the events);
- an event whose waiters are all plain processes moves them to the runnable
  list with one `extend` (see `Event._plain`); the delta phase inlines
  `Event._trigger`; a channel's notification from the update phase fires
  at once when no delta notification is queued before it (it would fire
  first anyway, see `Event._notify_from_update`), so a write that wakes a
  reader or a clock edge that runs methods skips the delta phase;
- methods sensitive to a single event run as one generated batch (see
  tlm.kernel.batch); a `Clock` is driven by the scheduler, not a process,
  and leaves out of the queue the falling edges nobody watches;
- the update list is one list, walked and then cleared (updates request no
  updates); a run without `until` does not compare times with a limit;
- `stop()` queues a delta notification, so `_stop` is looked at only after
  a delta phase that had something to do;
- type checks use `type(x)` and locals, which CPython 3.11 specializes;
  `x.__class__` is a generic attribute lookup.
"""

from __future__ import annotations

import gc
import heapq
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from tlm.kernel.errors import ProcessError, SimulationError, SimulationWarning
from tlm.kernel.event import Event, _as_delay
from tlm.kernel.process import RAN, Method, Process, Unwind, _dead
from tlm.kernel.time import fmt_time


class Simulator:
    """A simulation context; several can live side by side in one interpreter.

    Usage::

        sim = Simulator()
        sim.spawn(worker(10), name="w")
        sim.run()              # until no activity; or run(until=t), run(duration=t)
    """

    def __init__(self, name: str = "sim") -> None:
        self.name = name
        self.now = 0
        self.delta_count = 0
        self._runnable: list[Any] = []
        self._delta: list[Any] = []          # events (notify(0)) and processes (wait(0))
        self._updates: list[Any] = []        # channels with a pending update
        self._timed: dict[int, list[Process]] = {}
        self._timed_other: dict[int, list[Any]] = {}
        self._times: list[int] = []
        # Instants at which a delta cycle with no visible effect is due (a
        # clock edge nobody watches): each counts in `delta_count` as if the
        # scheduler had stopped there, unless it stops there anyway.
        self._quiet: list[int] = []
        self._t0_delta = 0  # delta_count of the first delta cycle at `now`
        self._processes: list[Process] = []
        self._methods: list[Method] = []
        self._names: dict[str, object] = {}
        self._unique: dict[str, int] = {}  # per leaf name, for renaming duplicates
        self._ports: list[Any] = []         # Port/Export objects, checked at elaboration
        self._paused = False
        self._direct_waits: set[type] = set()  # Event subclasses awaited like an Event
        self._fresh = False  # the last run() stopped at its limit, before what is due then
        self._elab_hooks: list[Callable[[], None]] = []
        self._end_hooks: list[Callable[[], None]] = []
        self._elaborated = False
        self._running = False
        self._stop = False
        self.top_modules: list[Any] = []
        self._stop_mark = Event(self, "stop")

    def __repr__(self) -> str:
        return f"<Simulator {self.name} at {fmt_time(self.now)}>"

    # -- construction ----------------------------------------------------------
    def register_name(self, name: str, obj: object, rename: bool = False) -> str:
        """Reserve a hierarchical name and return the name given.

        A name already used is an error, or with `rename` (what modules,
        processes, ports and exports use) a `SimulationWarning` and the next
        free ``<name>_<n>``, counting per leaf name as SystemC's
        sc_gen_unique_name does (``top.m`` then ``top.m_0``, ``top.m_1``).
        """
        if name in self._names:
            if not rename:
                raise SimulationError(f"duplicate name '{name}'")
            head, dot, leaf = name.rpartition(".")
            new = name
            while new in self._names:
                n = self._unique.get(leaf, 0)
                self._unique[leaf] = n + 1
                new = f"{head}{dot}{leaf}_{n}"
            warnings.warn(f"name '{name}' is already used: the later object is renamed '{new}'",
                          SimulationWarning, stacklevel=3)
            name = new
        self._names[name] = obj
        return name

    def spawn(self, coro: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
              name: str | None = None, reset: Any = None, reset_level: object = True) -> Process:
        """Start a thread process (sc_spawn) from a coroutine object, or from a
        function returning one (which `Process.reset()` can call again).

        It runs in the current evaluation phase (or at the start of `run()`).
        `reset`/`reset_level`: see `Module.thread` (needs a function).
        """
        if name is None:
            name = f"process{len(self._processes)}"
            while name in self._names:
                name += "_"
        factory = None
        if callable(coro) and not hasattr(coro, "send"):
            factory = coro
            body = factory()
        else:
            body = coro  # type: ignore[assignment]
        proc = Process(self, body, name, factory)
        proc.name = self.register_name(name, proc, rename=True)
        if reset is not None:
            if factory is None:
                raise SimulationError(f"process '{name}': a reset signal needs the async function, "
                                      "not a coroutine object")
            if not hasattr(reset, "read"):
                raise TypeError(f"reset must be a Signal (with read()), got {reset!r}")
            proc._reset_sig = reset
            proc._reset_level = reset_level
            proc._live = proc._send = proc._reset_send
        self._processes.append(proc)
        self._runnable.append(proc)
        return proc

    def method(self, fn: Callable[[], object], sensitive: list[Event] | tuple[Event, ...] = (),
               dont_initialize: bool = False, name: str | None = None) -> Method:
        """Register `fn` as a method process statically sensitive to `sensitive`."""
        name = name or str(getattr(fn, "__qualname__", "method"))
        name = self.register_name(name, None, rename=True)
        m = Method(self, fn, name, sensitive)
        self._names[name] = m
        self._methods.append(m)
        if not dont_initialize:
            m._scheduled = True
            self._runnable.append(m)
        return m

    def at_elaboration(self, hook: Callable[[], None]) -> None:
        """Call `hook` once before time 0 of the first `run()` (binding checks)."""
        self._elab_hooks.append(hook)

    def at_end(self, hook: Callable[[], None]) -> None:
        """Call `hook` after each `run()` returns normally."""
        self._end_hooks.append(hook)

    # -- scheduling helpers used by events and channels --------------------------
    def _schedule_other(self, t: int, item: Any) -> None:
        bucket = self._timed_other.get(t)
        if bucket is None:
            self._timed_other[t] = [item]
            heapq.heappush(self._times, t)
        else:
            bucket.append(item)

    def request_update(self, channel: Any) -> None:
        """Ask for `channel._update()` in this cycle's update phase.

        Call it from the evaluation phase (as IEEE 1666 has it, an `_update()`
        commits only its own channel and requests no other update).
        """
        self._updates.append(channel)

    def pause(self) -> None:
        """End `run()` after the current delta cycle (sc_pause); a later `run()`
        continues from there, at the same time."""
        self._paused = True
        self.stop()

    def stop(self) -> None:
        """End `run()` after the current delta cycle (sc_stop)."""
        self._stop = True
        # A delta notification makes the scheduler look at `_stop` (it does
        # only after a delta phase with something in it).
        self._stop_mark.notify(0)

    # -- running -------------------------------------------------------------------
    def run(self, until: int | None = None, duration: int | None = None) -> None:
        """Simulate until nothing is left to do, or until time `until`.

        As sc_start(t): with a limit, everything due before it runs and `now`
        ends at the limit (even if activity stopped earlier); what is due at
        the limit itself runs in the next `run()`. `duration` is relative to
        `now`, so repeated `run(duration=d)` calls continue where the last
        one stopped. `stop()`/`pause()` end a run early, at the current time.
        """
        if self._running:
            raise SimulationError("run() called from inside a running simulation")
        if until is not None and duration is not None:
            raise ValueError("give until or duration, not both")
        if duration is not None:
            until = self.now + _as_delay(duration)
        elif until is not None:
            until = _as_delay(until)
            if until < self.now:
                raise ValueError(f"until={until} is before now={self.now}")
        if not self._elaborated:
            self._check_binding()
            self._elaborated = True
            for hook in self._elab_hooks:
                hook()
        self._stop = False
        self._paused = False
        if self._fresh:
            self._fresh = False
            due = (self._times and self._times[0] == self.now) or (self._quiet and self._quiet[0] == self.now)
            if due and not self._runnable and not self._delta:
                # The last run stopped at `now` before what is due here ran, so the
                # time advance the loop makes to `now` is the instant's first delta
                # cycle, counted by none before (as sc_start(t) then sc_start()).
                self.delta_count -= 1
        self._running = True
        try:
            self._loop(until)
        finally:
            self._running = False
        if until is not None and not self._stop and self.now < until:
            self.now = until
            self.delta_count += self._pass_quiet(until, visited=False)
            self._t0_delta = self.delta_count  # nothing at `until` has run yet (see Clock.read)
            self._fresh = True
        for hook in self._end_hooks:
            hook()

    def _loop(self, until: int | None) -> None:
        runnable = self._runnable
        append = runnable.append
        extend = runnable.extend
        timed = self._timed
        timed_other = self._timed_other
        times = self._times
        heappush = heapq.heappush
        heappop = heapq.heappop
        proc_cls = Process
        event_cls = Event
        int_cls = int
        ran = RAN
        delta = self._delta
        updates = self._updates
        quiet = self._quiet
        now = self.now
        bounded = until is not None
        limit = until
        while True:
            # ---- evaluate
            # A list walked by a `for` loop that sees what is appended while it
            # runs: cheaper per resumption than deque.popleft. The walked part
            # is dropped when the phase ends (or a process fails).
            try:
                for p in runnable:
                    # A process, a method or an event's method batch: each
                    # has `_send`; a method's returns `ran`.
                    try:
                        send = p._send  # a slot load: LOAD_METHOD cannot specialize it
                        cmd = send(None)
                    except StopIteration as e:
                        if type(p) is proc_cls:
                            self._finish(p)
                            continue
                        self._fail(p, e)
                        continue
                    except BaseException as e:
                        self._fail(p, e)  # returns only for a process's kill/reset of itself
                        continue
                    cls = type(cmd)
                    if cls is int_cls and cmd > 0:
                        t = now + cmd
                        bucket = timed.get(t)
                        if bucket is None:
                            timed[t] = [p]
                            heappush(times, t)
                        else:
                            bucket.append(p)
                    elif cls is event_cls:
                        cmd._waiters.append(p)
                    elif cmd is not ran:
                        self._dispatch_slow(p, cmd)
            except BaseException:
                self._drop_walked(p)
                raise
            runnable.clear()
            # ---- update
            if updates:
                try:
                    for ch in updates:
                        ch._update()
                finally:
                    updates.clear()
            # ---- delta notification
            if delta:
                # Firing makes processes runnable but never adds delta items,
                # so the list can be walked and then cleared in place. The
                # event's `_trigger` is inlined here.
                for item in delta:
                    if item._plain:  # the hot case, tested first (a Process's `_plain` is False)
                        item._at = None
                        ws = item._waiters
                        extend(ws)
                        ws.clear()
                    elif type(item) is proc_cls:  # a wait(0)
                        append(item)
                    else:
                        item._at = None
                        ws = item._waiters
                        if ws:
                            if item._mixed:
                                item._wake_mixed()
                            else:
                                extend(ws)
                                ws.clear()
                        if item._has_static:
                            if item._static:
                                item._trigger_static()
                            elif not item._solo_queued:  # only a method batch
                                item._solo_queued = True
                                append(item)
                delta.clear()
                if self._stop:  # stop() queued `_stop_mark`, so delta was not empty
                    if runnable:
                        self.delta_count += 1  # what runs next is a new delta cycle
                    return
            if runnable:
                self.delta_count += 1
                continue
            # ---- advance time
            try:
                t = heappop(times)
            except IndexError:  # nothing left to do
                return
            if bounded and t >= limit:  # a flag: comparing with a huge int is slow
                heappush(times, t)  # only at the end of a bounded run
                return
            if times and times[0] == t:
                heappop(times)  # t was pushed for both `timed` and `timed_other`
            self.now = now = t
            procs = timed.pop(t, None)
            if procs is not None:
                extend(procs)
            if timed_other:
                others = timed_other.pop(t, None)
                if others is not None:
                    for item in others:
                        item._fire_timed()
            dc = self.delta_count + 1
            if quiet and quiet[0] <= t:
                q = heappop(quiet)
                if q < t:
                    dc += 1
                if quiet and quiet[0] <= t:
                    dc += self._pass_quiet(t, q)
            self.delta_count = self._t0_delta = dc

    def _pass_quiet(self, t: int, last: int | None = None, visited: bool = True) -> int:
        """Drop the quiet instants before `t`, and at `t` if the scheduler
        stops there; return how many distinct ones before `t` were passed
        (`last`: one already counted)."""
        quiet = self._quiet
        n = 0
        while quiet and (quiet[0] < t or (visited and quiet[0] == t)):
            q = heapq.heappop(quiet)
            if q != last and q < t:
                n += 1
            last = q
        return n

    def _dispatch_slow(self, p: Process, cmd: Any) -> None:
        """Everything but a positive int delay: events, wait(0), errors."""
        while True:
            if type(cmd) is int:
                if cmd == 0:
                    self._delta.append(p)
                    return
                exc: BaseException = ValueError(f"negative delay {cmd}")
            elif type(cmd) in self._direct_waits:  # an Event subclass without a wait hook
                cmd._waiters.append(p)
                return
            else:
                register = getattr(cmd, "_register", None)
                if register is not None:
                    register(p)
                    return
                if hasattr(cmd, "__index__") and not isinstance(cmd, bool):
                    try:
                        value = _as_delay(cmd)
                    except (TypeError, ValueError) as e:
                        exc = e
                    else:
                        if value == 0:
                            self._delta.append(p)
                        else:
                            self._schedule_proc(self.now + value, p)
                        return
                else:
                    exc = TypeError(
                        f"process '{p.name}' awaited {cmd!r}, which is not a tlm kernel awaitable "
                        "(use wait(t), an Event, any_of/all_of, or a channel operation)")
            # Throw the error into the process where it awaited; it may catch it.
            try:
                cmd = p._throw(exc)
            except StopIteration:
                self._finish(p)
                return
            except BaseException as e:
                self._fail(p, e)
                return
            if type(cmd) is int and cmd > 0:
                self._schedule_proc(self.now + cmd, p)
                return

    def _schedule_proc(self, t: int, p: Process) -> None:
        bucket = self._timed.get(t)
        if bucket is None:
            self._timed[t] = [p]
            heapq.heappush(self._times, t)
        else:
            bucket.append(p)

    def _drop_walked(self, p: Any) -> None:
        """After a failure in the evaluate phase: drop `p` and what ran before it.

        A thread process is in the runnable list at most once after the
        point being walked, so its last entry is the one that failed.
        """
        run = self._runnable
        for i in range(len(run) - 1, -1, -1):
            if run[i] is p:
                del run[:i + 1]
                return

    def _finish(self, p: Process) -> None:
        p.alive = False
        p._wait = None
        if p._terminated is not None:
            p._terminated.notify()  # immediate, as SystemC's terminated_event

    def _fail(self, p: Process | Method | Event, e: BaseException) -> None:
        if type(e) is Unwind and type(p) is Process:  # it killed or reset itself
            if e.reset:
                p._epoch += 1
                p._restart()
                self._run_now(p)
            else:
                p._send = p._live = _dead
                self._finish(p)
            return
        if isinstance(p, Event):  # a method batch: blame the method that raised
            p = p._failed_method(e)
        p.alive = False
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise e
        raise ProcessError(p.name, fmt_time(self.now), e) from e

    # -- process control support ---------------------------------------------------
    def _run_now(self, p: Process) -> None:
        """Run `p` up to its next `await` (a reset): now in an evaluation phase,
        else at the start of the next `run()`."""
        if not self._running:
            self._runnable.append(p)
            return
        try:
            cmd = p._send(None)
        except StopIteration:
            self._finish(p)
            return
        except BaseException as e:
            self._fail(p, e)
            return
        if type(cmd) is int and cmd > 0:
            self._schedule_proc(self.now + cmd, p)
        elif type(cmd) is Event:
            cmd._waiters.append(p)
        elif cmd is not RAN:
            self._dispatch_slow(p, cmd)

    def current_process(self) -> Process | Method | None:
        """The process or method running now (None outside the evaluation phase).

        Found from the call stack, so it costs nothing to the scheduler.
        """
        from tlm.kernel.control import batch_method, running_item

        item = running_item(self)
        if isinstance(item, Event):  # a method batch
            return batch_method(self)
        return item if isinstance(item, (Process, Method)) else None

    # -- ports -------------------------------------------------------------------------
    def _check_binding(self) -> None:
        """Resolve every port and export; raise naming all that are unbound."""
        unbound = [name for port in self._ports for name in port._elaborate()]
        if unbound:
            raise SimulationError("unbound port(s)/export(s) at elaboration: " + ", ".join(unbound))

    # -- introspection -------------------------------------------------------------
    def pending_activity(self) -> bool:
        """True when something is scheduled (runnable, delta or timed)."""
        return bool(self._runnable or self._delta or self._times)

    def next_time(self) -> int | None:
        """Time of the earliest timed activity, or None."""
        return self._times[0] if self._times else None

    def blocked(self) -> list[tuple[str, str]]:
        """Every live process that waits on an event, with what it waits on.

        Processes that are runnable or sleeping on a timed wait are not blocked.
        """
        scheduled: set[int] = set()
        for procs in self._timed.values():
            scheduled.update(id(p) for p in procs)
        scheduled.update(id(p) for p in self._runnable if isinstance(p, Process))
        scheduled.update(id(p) for p in self._delta)
        # An event wait is not recorded on the process (it would cost a store
        # per wait), so the events are found among the live objects.
        on_event: dict[int, Event] = {}
        for obj in gc.get_objects():
            if isinstance(obj, Event) and obj.sim is self:
                for w in obj._waiters:
                    if type(w) is Process:
                        on_event.setdefault(id(w), obj)
        out: list[tuple[str, str]] = []
        for p in self._processes:
            if not p.alive or id(p) in scheduled:
                continue
            ev = on_event.get(id(p))
            w = p._wait
            if ev is not None:
                what = f"event {ev.name}"
            elif w is not None and hasattr(w, "describe"):
                if w.epoch != p._epoch:  # its wait already ended; it is runnable
                    continue
                what = w.describe()
            else:
                what = "nothing (not started)"
            out.append((p.name, what))
        return out

    @property
    def processes(self) -> tuple[Process, ...]:
        return tuple(self._processes)
