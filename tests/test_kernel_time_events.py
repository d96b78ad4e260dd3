"""Timed waits, events and the IEEE 1666 notification rules."""

from __future__ import annotations

import pytest

from tlm import NS, Event, Signal, Simulator, all_of, any_of, fmt_time, wait


def test_timed_waits_resume_in_time_order(sim, log):
    """Processes resume at now + delay; equal times run in the order they were scheduled."""
    async def w(name, delays):
        for d in delays:
            await wait(d)
            log.append((sim.now, name))

    sim.spawn(w("a", [5 * NS, 5 * NS]))
    sim.spawn(w("b", [10 * NS]))
    sim.spawn(w("c", [3 * NS, 7 * NS]))
    sim.run()
    assert log == [(3000, "c"), (5000, "a"), (10000, "b"), (10000, "c"), (10000, "a")]
    assert sim.now == 10 * NS


def test_wait_zero_is_one_delta(sim, log):
    """`wait(0)` resumes in the next delta cycle at the same time."""
    async def p():
        d0 = sim.delta_count
        await wait(0)
        log.append((sim.now, sim.delta_count - d0))

    sim.spawn(p())
    sim.run()
    assert log == [(0, 1)]


def test_immediate_notification_wakes_in_same_evaluation(sim, log):
    """notify() makes waiters runnable in the current evaluation phase (same delta)."""
    ev = Event(sim, "ev")

    async def waiter():
        await ev
        log.append(("woken", sim.delta_count))

    async def notifier():
        await wait(0)
        log.append(("notify", sim.delta_count))
        ev.notify()

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == [("notify", 1), ("woken", 1)]


def test_delta_notification_wakes_next_delta(sim, log):
    """notify(0) wakes waiters in the next delta cycle."""
    ev = Event(sim, "ev")

    async def waiter():
        await ev
        log.append(("woken", sim.now, sim.delta_count))

    async def notifier():
        log.append(("notify", sim.now, sim.delta_count))
        ev.notify(0)

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == [("notify", 0, 0), ("woken", 0, 1)]


@pytest.mark.parametrize("first,second,fire_at", [
    (10, 5, 5),    # an earlier notification overrides a pending later one
    (5, 10, 5),    # a later one is ignored
    (0, 5, 0),     # delta beats timed
    (5, 0, 0),     # delta overrides a pending timed one
])
def test_override_rule(sim, log, first, second, fire_at):
    """Of two pending notifications the earlier wins and the event fires once."""
    ev = Event(sim, "ev")

    async def waiter():
        while True:
            await ev
            log.append(sim.now)

    async def notifier():
        ev.notify(first * NS)
        ev.notify(second * NS)

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == [fire_at * NS]


def test_cancel_drops_pending_notification(sim, log):
    """cancel() removes a pending timed or delta notification."""
    ev = Event(sim, "ev")

    async def waiter():
        await ev
        log.append(sim.now)

    async def notifier():
        ev.notify(5 * NS)
        await wait(1 * NS)
        ev.cancel()
        ev.notify(0)
        ev.cancel()

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == []
    assert sim.blocked() == [("process0", "event ev")]


def test_immediate_notify_cancels_pending(sim, log):
    """An immediate notification cancels a pending timed one (it does not fire again)."""
    ev = Event(sim, "ev")

    async def waiter():
        while True:
            await ev
            log.append(sim.now)

    async def notifier():
        await wait(1 * NS)
        ev.notify(10 * NS)
        ev.notify()

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == [1 * NS]


def test_wait_timeout_or_event(sim, log):
    """wait(t, ev) returns True when the event came first, False on timeout."""
    ev = Event(sim, "ev")

    async def waiter():
        log.append((await wait(10 * NS, ev), sim.now))
        log.append((await wait(10 * NS, ev), sim.now))

    async def notifier():
        await wait(3 * NS)
        ev.notify()

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == [(True, 3 * NS), (False, 13 * NS)]


def test_any_of_returns_first_event_and_all_of_waits_for_each(sim, log):
    """any_of wakes on the first event (returning it); all_of needs every event."""
    a, b = Event(sim, "a"), Event(sim, "b")

    async def waiter():
        first = await any_of(a, b)
        log.append((first.name, sim.now))
        await all_of(a, b)
        log.append(("all", sim.now))

    async def notifier():
        b.notify(2 * NS)
        await wait(5 * NS)
        a.notify()
        await wait(5 * NS)
        b.notify()

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == [("b", 2 * NS), ("all", 10 * NS)]


def test_stale_any_of_registration_does_not_wake_again(sim, log):
    """After any_of ends, the other event firing does not resume the process twice."""
    a, b = Event(sim, "a"), Event(sim, "b")

    async def waiter():
        await any_of(a, b)
        log.append(sim.now)
        await wait(100 * NS)
        log.append(sim.now)

    async def notifier():
        a.notify(1 * NS)
        b.notify(2 * NS)

    sim.spawn(waiter())
    sim.spawn(notifier())
    sim.run()
    assert log == [1 * NS, 101 * NS]


def test_run_until_and_duration_and_stop(sim, log):
    """run(until) stops at the limit, leaving what is due then to the next run
    (sc_start); run(duration) is relative; stop() ends run."""
    async def ticker():
        while True:
            await wait(10 * NS)
            log.append(sim.now)
            if sim.now == 50 * NS:
                sim.stop()

    sim.spawn(ticker())
    sim.run(until=20 * NS)
    assert log == [10 * NS] and sim.now == 20 * NS
    sim.run(duration=15 * NS)
    assert log == [10 * NS, 20 * NS, 30 * NS] and sim.now == 35 * NS
    sim.run()
    assert log[-1] == 50 * NS and sim.now == 50 * NS


def test_stop_ends_run_after_the_current_delta_and_run_resumes(sim, log):
    """stop() lets the current delta cycle finish (its update and delta
    phases too); what became runnable runs, one delta later, in the next run()."""
    ev = Event(sim, "ev")
    s = Signal(sim, 0, "s")

    async def stopper():
        await wait(5 * NS)
        s.write(1)
        ev.notify(0)
        sim.stop()
        log.append(("stopper", sim.delta_count))

    async def woken():
        await ev
        log.append(("woken", sim.now, sim.delta_count, s.read()))

    sim.spawn(stopper())
    sim.spawn(woken())
    sim.run()
    assert sim.now == 5 * NS and len(log) == 1
    stop_delta = log[0][1]
    sim.run()
    assert log[1] == ("woken", 5 * NS, stop_delta + 1, 1)


def test_errors_name_process_and_time():
    """An exception in a process leaves run() naming the process and the time."""
    from tlm import Module, ProcessError

    sim = Simulator()

    class Top(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.thread(self.body)

        async def body(self):
            await wait(7 * NS)
            raise RuntimeError("boom")

    Top(sim, "top")
    with pytest.raises(ProcessError) as info:
        sim.run()
    assert "top.body" in str(info.value) and "7 ns" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_awaiting_foreign_object_is_type_error(sim, log):
    """Awaiting something that is not a kernel awaitable raises TypeError in the process."""
    import asyncio

    async def p():
        try:
            await asyncio.sleep(0)
        except TypeError as e:
            log.append(str(e))

    sim.spawn(p(), name="p")
    sim.run()
    assert len(log) == 1 and "not a tlm kernel awaitable" in log[0] and "'p'" in log[0]


def test_negative_delay_is_value_error(sim, log):
    """A negative delay raises ValueError in the waiting process; so does notify(-1)."""
    ev = Event(sim, "ev")

    async def p():
        try:
            await wait(-5)
        except ValueError as e:
            log.append(str(e))
        with pytest.raises(ValueError):
            ev.notify(-1)
        log.append("ok")

    sim.spawn(p())
    sim.run()
    assert log == ["negative delay -5", "ok"]


def test_float_delay_is_type_error(sim, log):
    """Time is integer picoseconds: a float delay raises TypeError."""
    async def p():
        try:
            await wait(1.5)
        except TypeError:
            log.append("type")

    sim.spawn(p())
    sim.run()
    assert log == ["type"]


def test_blocked_lists_waiters(sim):
    """blocked() lists every process waiting on an event and what it waits on."""
    a, b = Event(sim, "a"), Event(sim, "b")

    async def on_a():
        await a

    async def on_both():
        await any_of(a, b)

    async def sleeper():
        await wait(1000 * NS)

    sim.spawn(on_a(), name="x")
    sim.spawn(on_both(), name="y")
    sim.spawn(sleeper(), name="z")
    sim.run(until=10 * NS)
    assert sim.blocked() == [("x", "event a"), ("y", "any_of(a, b)")]


def test_two_simulators_are_independent():
    """Two simulators in one interpreter keep separate time and queues."""
    s1, s2 = Simulator(), Simulator()
    e1 = Event(s1, "e")
    log = []

    async def p(sim, d, tag):
        await wait(d)
        log.append((tag, sim.now))

    s1.spawn(p(s1, 5, "s1"))
    s2.spawn(p(s2, 9, "s2"))
    e1.notify(3)
    s1.run()
    assert log == [("s1", 5)] and s2.now == 0
    s2.run()
    assert log == [("s1", 5), ("s2", 9)] and s1.now == 5


def test_join_on_terminated(sim, log):
    """A process can await another's termination."""
    async def child():
        await wait(4 * NS)

    async def parent():
        c = sim.spawn(child(), name="child")
        await c.terminated
        log.append(sim.now)

    sim.spawn(parent())
    sim.run()
    assert log == [4 * NS]


def test_fmt_time():
    assert fmt_time(30 * NS) == "30 ns" and fmt_time(1500) == "1500 ps" and fmt_time(0) == "0 ps"
