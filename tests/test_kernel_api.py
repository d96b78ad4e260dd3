"""Kernel API traps and the IEEE 1666 additions not covered by the golden logs."""

from __future__ import annotations

import gc
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import (
    NS, Buffer, Clock, Event, EventQueue, Export, Fifo, Module, Mutex, Port, Semaphore, Signal, any_of,
    SimulationError, Simulator, next_trigger, wait,
)


def _never_awaited(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, RuntimeWarning) and "never awaited" in str(w.message)]


def test_put_without_await_on_a_full_fifo_writes_nothing_and_warns():
    """A forgotten await neither drops the item silently nor writes it: Python
    warns at the line of the call, and the fifo holds what was awaited."""
    sim = Simulator()
    f: Fifo[int] = Fifo(sim, 1, "f")
    got: list[int] = []

    async def producer():
        await f.put(1)
        f.put(2)  # forgotten await (the fifo is full until the update)
        await f.put(3)

    async def consumer():
        for _ in range(2):
            got.append(await f.get())
            await wait(1 * NS)

    sim.spawn(producer())
    sim.spawn(consumer())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim.run()
        gc.collect()
    assert got == [1, 3]
    hits = _never_awaited(caught)
    assert len(hits) == 1 and "put" in str(hits[0].message)
    assert hits[0].filename == __file__


def test_put_without_await_on_a_fifo_with_room_writes_nothing():
    sim = Simulator()
    f: Fifo[int] = Fifo(sim, 4, "f")

    async def p():
        f.put(7)
        await wait(1 * NS)

    sim.spawn(p())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim.run()
        gc.collect()
    assert len(f) == 0 and f.num_available == 0
    assert _never_awaited(caught)


def test_wait_without_await_warns_at_the_call():
    sim = Simulator()
    seen: list[int] = []

    async def p():
        wait(5 * NS)  # forgotten await: must not pass silently
        seen.append(sim.now)

    sim.spawn(p())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim.run()
        gc.collect()
    hits = _never_awaited(caught)
    assert seen == [0]
    assert len(hits) == 1 and "wait" in str(hits[0].message) and hits[0].filename == __file__


@pytest.mark.parametrize("make", [
    lambda m: Signal(m, 0, "s"), lambda m: Fifo(m, 2, "s"), lambda m: Event(m, "s"),
    lambda m: Clock(m, 10 * NS, "s"), lambda m: Buffer(m, 0, "s"), lambda m: Mutex(m, "s"),
    lambda m: Semaphore(m, 1, "s"), lambda m: EventQueue(m, "s"),
])
def test_channels_accept_a_module_and_name_under_it(make):
    sim = Simulator()
    top = Module(sim, "top")
    ch = make(top)
    assert ch.sim is sim and ch.name == "top.s"


@pytest.mark.parametrize("make", [
    lambda x: Signal(x, 0), lambda x: Fifo(x, 2), lambda x: Event(x), lambda x: Clock(x, 10),
    lambda x: Mutex(x), lambda x: Semaphore(x, 1), lambda x: EventQueue(x),
])
def test_channels_refuse_other_owners_with_a_type_error_saying_what_to_pass(make):
    with pytest.raises(TypeError, match="needs a Simulator or a Module"):
        make(42)


def test_unbound_ports_are_reported_by_name_before_time_zero():
    sim = Simulator()
    top = Module(sim, "top")
    Port(top, "a")
    Export(top, "x")
    ok = Port(top, "b")
    ok.bind(Signal(sim, 0, "s"))
    with pytest.raises(SimulationError, match=r"unbound port\(s\)/export\(s\) at elaboration: top.a, top.x"):
        sim.run()


def test_port_interface_is_checked_and_binding_is_once():
    sim = Simulator()
    top = Module(sim, "top")
    p = Port(top, "p", Fifo)
    p.bind(Signal(sim, 0, "s"))
    with pytest.raises(SimulationError, match="already bound"):
        p.bind(Signal(sim, 0, "t"))
    with pytest.raises(SimulationError, match="does not provide interface 'Fifo'"):
        sim.run()


def test_port_forwards_to_a_fifo_through_an_export():
    sim = Simulator()
    top = Module(sim, "top")
    f: Fifo[int] = Fifo(top, 2, "f")
    x = Export(top, "x")
    x(f)
    p = Port(top, "p")
    p(x)
    got: list[int] = []

    async def prod():
        await p.put(5)

    async def cons():
        got.append(await p.get())

    sim.spawn(prod())
    sim.spawn(cons())
    sim.run()
    assert got == [5] and p.channel is f
    with pytest.raises(SimulationError, match="after elaboration"):
        Port(top, "late").bind(f)


def test_reset_needs_a_function_and_next_trigger_needs_a_method():
    sim = Simulator()

    async def body():
        await wait(1)

    proc = sim.spawn(body())
    with pytest.raises(SimulationError, match="cannot be reset"):
        proc.reset()

    async def thread():
        next_trigger(1 * NS)

    sim.spawn(thread(), name="t")
    with pytest.raises(Exception, match="must be called from inside a method"):
        sim.run()


def test_process_kills_and_resets_itself():
    sim = Simulator()
    log: list[tuple[int, str]] = []
    holder: dict[str, object] = {}

    async def victim():
        log.append((sim.now, "start"))
        await wait(1 * NS)
        if sim.now < 3 * NS:
            holder["p"].reset()  # type: ignore[attr-defined]
        try:
            holder["p"].kill()  # type: ignore[attr-defined]
        finally:
            log.append((sim.now, "unwound"))
        log.append((sim.now, "not reached"))

    holder["p"] = p = sim.spawn(victim, name="victim")
    sim.run()
    assert log == [(0, "start"), (1 * NS, "start"), (2 * NS, "start"), (3 * NS, "unwound")]
    assert not p.alive


def test_next_trigger_inside_a_batch_of_methods_sharing_code():
    """Methods made from one function (closures) on one event: next_trigger
    acts on the method that called it, not on its siblings."""
    sim = Simulator()
    clk = Clock(sim, 10 * NS, "clk")
    runs = [[], [], []]

    for i in range(3):
        def body(i: int = i) -> None:
            runs[i].append(sim.now // NS)
            if i == 1:
                next_trigger(25 * NS)
        sim.method(body, [clk.posedge], dont_initialize=True, name=f"m{i}")
    sim.run(until=80 * NS)
    assert runs[0] == runs[2] == [0, 10, 20, 30, 40, 50, 60, 70]
    assert runs[1] == [0, 25, 50, 75]


def test_suspended_process_with_a_timed_wait_runs_at_resume():
    sim = Simulator()
    log: list[int] = []

    async def sleeper():
        await wait(5 * NS)
        log.append(sim.now)

    p = sim.spawn(sleeper())

    async def ctl():
        p.suspend()
        await wait(20 * NS)
        p.resume()

    sim.spawn(ctl())
    sim.run()
    assert log == [20 * NS]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 4), hold=st.lists(st.integers(1, 5), min_size=2, max_size=6))
def test_semaphore_never_exceeds_its_count_and_mutex_is_exclusive(n, hold):
    sim = Simulator()
    sem = Semaphore(sim, n, "sem")
    mx = Mutex(sim, "mx")
    inside = {"sem": 0, "mx": 0}
    peak = {"sem": 0, "mx": 0}

    async def user(h: int) -> None:
        for _ in range(3):
            await sem.wait()
            inside["sem"] += 1
            peak["sem"] = max(peak["sem"], inside["sem"])
            await mx.lock()
            inside["mx"] += 1
            peak["mx"] = max(peak["mx"], inside["mx"])
            await wait(h)
            inside["mx"] -= 1
            assert mx.unlock()
            await wait(h)
            inside["sem"] -= 1
            sem.post()

    for h in hold:
        sim.spawn(user(h))
    sim.run()
    assert peak["sem"] <= n and peak["mx"] == 1 and sem.value == n and not mx.locked


def test_disable_keeps_or_list_and_fifo_waits_and_a_runnable_process_still_runs():
    sim = Simulator()
    a, b = Event(sim, "a"), Event(sim, "b")
    f: Fifo[int] = Fifo(sim, 2, "f")
    log: list[tuple[str, int]] = []

    async def lister():
        while True:
            await any_of(a, b)
            log.append(("lister", sim.now))

    async def reader():
        while True:
            x = await f.get()
            log.append((f"reader {x}", sim.now))

    async def runnable_one():
        await a
        log.append(("runnable", sim.now))

    pl, pr = sim.spawn(lister()), sim.spawn(reader())
    pq = sim.spawn(runnable_one())

    async def ctl():
        await wait(1 * NS)
        pl.disable(); pr.disable()
        a.notify()   # lister: lost; runnable_one becomes runnable...
        pq.disable()  # ...and still runs, as SystemC lets a runnable process run
        f.nb_put(1)
        await wait(1 * NS)
        pl.enable(); pr.enable()
        await wait(1 * NS)
        b.notify()
        f.nb_put(2)

    sim.spawn(ctl())
    sim.run()
    assert log == [("runnable", 1 * NS), ("lister", 3 * NS), ("reader 1", 3 * NS), ("reader 2", 3 * NS)]


def test_kill_before_start_and_terminated_joins_in_the_same_delta():
    sim = Simulator()
    log: list[str] = []
    ev = Event(sim, "ev")

    async def never():
        log.append("ran")

    async def sleeper():
        try:
            await ev
        finally:
            log.append(f"sleeper unwound {sim.delta_count}")

    p = sim.spawn(never())
    q = sim.spawn(sleeper())

    async def joiner():
        await q.terminated
        log.append(f"joined {sim.delta_count}")

    async def killer():
        await wait(0)
        q.kill()
        log.append(f"killed {sim.delta_count}")

    sim.spawn(joiner())
    sim.spawn(killer())
    p.kill()  # before the run: it never starts
    sim.run()
    assert log == ["sleeper unwound 1", "killed 1", "joined 1"]
    assert not p.alive and not q.alive


def test_event_queue_in_an_or_list_and_as_a_method_sensitivity():
    sim = Simulator()
    eq = EventQueue(sim, "eq")
    other = Event(sim, "other")
    log: list[tuple[str, int]] = []

    async def lister():
        for _ in range(2):
            fired = await any_of(other, eq)
            log.append(("lister " + fired.name, sim.now))

    sim.spawn(lister())
    sim.method(lambda: log.append(("method", sim.now)), [eq], dont_initialize=True, name="m")
    eq.notify(3 * NS)
    eq.notify(1 * NS)
    sim.run()
    assert log == [("lister eq", 1 * NS), ("method", 1 * NS), ("lister eq", 3 * NS), ("method", 3 * NS)]
    assert eq.pending_count == 0


def test_event_queue_wakes_an_or_list_without_methods():
    sim = Simulator()
    eq = EventQueue(sim, "eq")
    log: list[int] = []

    async def lister():
        await any_of(Event(sim, "never"), eq)
        log.append(sim.now)

    sim.spawn(lister())
    eq.notify(2 * NS)
    sim.run()
    assert log == [2 * NS]


def test_mutex_taken_outside_the_run_is_held():
    sim = Simulator()
    m = Mutex(sim, "m")
    assert m.trylock() and m.locked
    got: list[bool] = []

    async def p():
        got.append(m.trylock())

    sim.spawn(p())
    sim.run()
    assert got == [False]
    assert m.unlock() and not m.locked
