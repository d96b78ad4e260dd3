"""The scheduler's and channels' fast paths keep the general paths' results.

Each test drives a shortcut (the delta phase testing `_plain` first,
EventQueue.notify's timed case, Mutex.lock finding its caller inline) next
to the case it must not change.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Event, EventQueue, Mutex, Simulator, wait


@settings(max_examples=80, deadline=None)
@given(kinds=st.lists(st.sampled_from(["zero", "event", "both"]), min_size=1, max_size=8))
def test_delta_phase_wakes_wait0_and_delta_notified_waiters_in_queue_order(kinds):
    """wait(0) sleepers and waiters of notify(0) events wake in the order
    they were queued, however the two kinds interleave."""
    sim = Simulator()
    log: list[tuple[int, int]] = []
    events = [Event(sim, f"e{i}") for i in range(len(kinds))]

    def waiter(i: int):
        async def body() -> None:
            await events[i]
            log.append((i, sim.delta_count))
        return body

    def actor(i: int, kind: str):
        async def body() -> None:
            if kind in ("event", "both"):
                events[i].notify(0)
                events[i].notify(0)  # a second one is merged with the first
            if kind in ("zero", "both"):
                await wait(0)
                log.append((i, sim.delta_count))
        return body

    for i, kind in enumerate(kinds):
        if kind != "zero":
            sim.spawn(waiter(i)(), name=f"w{i}")
    for i, kind in enumerate(kinds):
        sim.spawn(actor(i, kind)(), name=f"a{i}")
    sim.run()
    expected: list[tuple[int, int]] = []
    for i, kind in enumerate(kinds):
        if kind == "event":
            expected.append((i, 1))
        elif kind == "zero":
            expected.append((i, 1))
        else:  # the event was queued first, then the actor's wait(0)
            expected += [(i, 1), (i, 1)]
    assert log == expected
    assert sim.delta_count == 1 and sim.now == 0


def test_delta_notified_event_with_a_method_and_an_or_list_waiter_still_fires_all():
    sim = Simulator()
    ev = Event(sim, "ev")
    log: list[str] = []

    async def plain() -> None:
        await ev
        log.append("plain")

    async def lister() -> None:
        await wait(1 * NS, ev)
        log.append("lister")

    async def notifier() -> None:
        ev.notify(0)
        await wait(0)
        log.append("zero")

    sim.method(lambda: log.append("method"), [ev], dont_initialize=True, name="m")
    sim.spawn(plain())
    sim.spawn(lister())
    sim.spawn(notifier())
    sim.run()
    assert log == ["plain", "lister", "method", "zero"]


def test_event_queue_notify_accepts_every_delay_form_and_rejects_bad_ones():
    sim = Simulator()
    eq = EventQueue(sim, "eq")
    seen: list[tuple[int, int]] = []

    async def watcher() -> None:
        for _ in range(6):
            await eq
            seen.append((sim.now, sim.delta_count))

    sim.spawn(watcher())
    eq.notify(np.int64(2 * NS))   # an integer with __index__
    eq.notify(2 * NS)             # the same time: one delta later
    eq.notify(1 * NS)             # earlier, queued after
    eq.notify(0)                  # the next delta cycle
    eq.notify(np.int64(0))        # another one: the delta cycle after
    eq.notify(5 * NS)
    assert eq.pending_count == 6
    for bad, err in ((None, TypeError), (True, TypeError), (1.5, TypeError), (-1, ValueError),
                     (np.int64(-3), ValueError)):
        with pytest.raises(err):
            eq.notify(bad)  # type: ignore[arg-type]
    assert eq.pending_count == 6
    sim.run()
    assert [t for t, _ in seen] == [0, 0, 1 * NS, 2 * NS, 2 * NS, 5 * NS]
    assert seen[1][1] == seen[0][1] + 1 and seen[4][1] == seen[3][1] + 1
    assert eq.pending_count == 0


def test_event_queue_cancel_all_leaves_stale_entries_inert():
    sim = Simulator()
    eq = EventQueue(sim, "eq")
    seen: list[int] = []

    async def watcher() -> None:
        while True:
            await eq
            seen.append(sim.now)

    sim.spawn(watcher())
    eq.notify(3 * NS)
    eq.notify(4 * NS)
    eq.cancel_all()
    eq.notify(4 * NS)  # the same time again, after the cancel: fires once
    sim.run()
    assert seen == [4 * NS]


def test_mutex_owner_is_the_process_whether_it_locks_directly_or_from_a_helper():
    sim = Simulator()
    m = Mutex(sim, "m")
    log: list[tuple[str, int]] = []

    async def lock_in_helper() -> None:
        await m.lock()  # re-entrant for the process that holds it: returns at once

    async def direct_then_helper() -> None:
        await m.lock()
        await lock_in_helper()
        log.append(("a holds", sim.now))
        await wait(2 * NS)
        assert m.unlock()

    async def helper_then_direct() -> None:
        await wait(1 * NS)
        await lock_in_helper()
        await m.lock()
        log.append(("b holds", sim.now))
        assert m.unlock()
        assert not m.unlock()

    async def intruder() -> None:
        await wait(1 * NS)
        log.append(("intruder unlock", int(m.unlock())))

    sim.spawn(direct_then_helper())
    sim.spawn(helper_then_direct())
    sim.spawn(intruder())
    sim.run()
    assert log == [("a holds", 0), ("intruder unlock", 0), ("b holds", 2 * NS)]
    assert not m.locked
