"""Signals, fifos, clocks, modules and method processes."""

from __future__ import annotations

import pytest

from tlm import NS, Clock, Event, Fifo, Module, Signal, SimulationError, SimulationWarning, Simulator, wait


def test_signal_write_seen_after_update(sim, log):
    """A write is invisible in the same evaluation phase and visible in the next delta."""
    s = Signal(sim, 0, "s")

    async def writer():
        s.write(5)
        log.append(("same phase", s.read()))
        await wait(0)
        log.append(("next delta", s.read()))

    sim.spawn(writer())
    sim.run()
    assert log == [("same phase", 0), ("next delta", 5)]


def test_signal_events_fire_one_delta_later(sim, log):
    """value_changed/posedge wake waiters one delta after the write's delta."""
    s = Signal(sim, False, "s")

    async def watch(ev, tag):
        await ev
        log.append((tag, sim.delta_count, s.read()))

    sim.spawn(watch(s.value_changed, "changed"))
    sim.spawn(watch(s.posedge, "pos"))
    sim.spawn(watch(s.negedge, "neg"))

    async def writer():
        s.write(True)

    sim.spawn(writer())
    sim.run()
    assert log == [("changed", 1, True), ("pos", 1, True)]


@pytest.mark.parametrize("notify_between", [False, True])
def test_wake_order_follows_notification_order(sim, log, notify_between):
    """Waiters wake in the order their events were notified: a notify(0) made
    in the evaluation phase comes before the channels' update-phase
    notifications, which follow the order of the writes."""
    a, b = Signal(sim, 0, "a"), Signal(sim, 0, "b")
    ev = Event(sim, "ev")
    fifo: Fifo[int] = Fifo(sim, 2, "f")

    async def watch(awaitable, tag):
        await awaitable
        log.append((tag, sim.delta_count))

    sim.spawn(watch(b.value_changed, "b"))
    sim.spawn(watch(ev, "ev"))
    sim.spawn(watch(fifo.get(), "fifo"))
    sim.spawn(watch(a.value_changed, "a"))

    async def writer():
        await wait(1 * NS)
        a.write(1)
        if notify_between:
            ev.notify(0)
        fifo.nb_put(7)
        b.write(1)

    sim.spawn(writer())
    sim.run()
    woken = [tag for tag, _ in log]
    assert woken == (["ev", "a", "fifo", "b"] if notify_between else ["a", "fifo", "b"])
    assert {dc for _, dc in log} == {2}  # all in the delta after the writes


def test_clock_cycles_counts_rising_edges(sim):
    """`cycles` is the number of rising edges so far, whatever the start."""
    clk = Clock(sim, 10 * NS, "clk")
    late = Clock(sim, 10 * NS, "late", start=25 * NS)
    assert (clk.cycles, late.cycles) == (1, 0)
    sim.run(until=24 * NS)
    assert (clk.cycles, late.cycles) == (3, 0)
    sim.run(until=35 * NS)
    assert (clk.cycles, late.cycles) == (4, 2)


def test_signal_same_value_write_does_not_notify(sim, log):
    """Writing the current value is not a change."""
    s = Signal(sim, 3, "s")

    async def watch():
        await s.value_changed
        log.append(sim.now)

    async def writer():
        s.write(3)
        await wait(1 * NS)
        s.write(4)

    sim.spawn(watch())
    sim.spawn(writer())
    sim.run()
    assert log == [1 * NS]


def test_fifo_write_readable_after_update_and_read_frees_after_update(sim, log):
    """sc_fifo visibility: writes are readable, and reads free space, after the update phase."""
    f: Fifo[int] = Fifo(sim, 1, "f")

    async def p():
        assert f.nb_put(1)
        log.append(("avail same phase", f.num_available, f.num_free))
        await wait(0)
        log.append(("avail next delta", f.num_available, f.num_free))
        assert f.nb_get() == (True, 1)
        log.append(("after get", f.num_available, f.num_free, f.nb_put(2)))
        await wait(0)
        log.append(("next delta", f.num_free, f.nb_put(2)))

    sim.spawn(p())
    sim.run()
    assert log == [("avail same phase", 0, 0), ("avail next delta", 1, 0),
                   ("after get", 0, 0, False), ("next delta", 1, True)]


def test_fifo_blocking_put_get(sim, log):
    """put blocks while full, get while empty; order is preserved."""
    f: Fifo[int] = Fifo(sim, 2, "f")

    async def producer():
        for i in range(5):
            await f.put(i)
            log.append(("put", i, sim.now))

    async def consumer():
        for _ in range(5):
            await wait(10 * NS)
            log.append(("got", await f.get(), sim.now))

    sim.spawn(producer())
    sim.spawn(consumer())
    sim.run()
    got = [x[1] for x in log if x[0] == "got"]
    assert got == [0, 1, 2, 3, 4]
    puts = {x[1]: x[2] for x in log if x[0] == "put"}
    assert puts[0] == 0 and puts[1] == 0 and puts[2] == 10 * NS


def test_fifo_rejects_bad_depth(sim):
    with pytest.raises(ValueError):
        Fifo(sim, 0)


def test_clock_first_posedge_at_zero(sim, log):
    """A Clock's first rising edge is at time 0, then every period."""
    clk = Clock(sim, 10 * NS, "clk")

    async def watch():
        for _ in range(3):
            await clk.posedge
            log.append(("pos", sim.now))

    async def watch_neg():
        await clk.negedge
        log.append(("neg", sim.now))

    sim.spawn(watch())
    sim.spawn(watch_neg())
    sim.run(until=25 * NS)
    assert ("pos", 0) in log and ("pos", 10 * NS) in log and ("pos", 20 * NS) in log
    assert ("neg", 5 * NS) in log


def test_method_runs_once_at_start_unless_dont_initialize(sim, log):
    """A method runs at initialization unless dont_initialize; then on each trigger."""
    ev = Event(sim, "ev")
    sim.method(lambda: log.append(("init", sim.now)), [ev], name="m1")
    sim.method(lambda: log.append(("noinit", sim.now)), [ev], dont_initialize=True, name="m2")

    async def p():
        await wait(3 * NS)
        ev.notify()

    sim.spawn(p())
    sim.run()
    assert log == [("init", 0), ("init", 3 * NS), ("noinit", 3 * NS)]


def test_method_sensitive_to_two_events_runs_once_per_delta(sim, log):
    """Triggered by two events in one delta, a method runs once."""
    a, b = Event(sim, "a"), Event(sim, "b")
    sim.method(lambda: log.append(sim.now), [a, b], dont_initialize=True, name="m")

    async def p():
        a.notify(0)
        b.notify(0)

    sim.spawn(p())
    sim.run()
    assert log == [0]


def test_methods_on_clock_edge(sim):
    """100 methods sensitive to one clock edge each run once per cycle."""
    clk = Clock(sim, 2 * NS, "clk")
    counts = [0] * 100
    for i in range(100):
        def body(i=i):
            counts[i] += 1
        sim.method(body, [clk.posedge], dont_initialize=True, name=f"m{i}")
    sim.run(until=9 * NS)
    assert counts == [5] * 100


def test_error_in_method_names_it(sim):
    ev = Event(sim, "ev")

    def bad():
        raise KeyError("x")

    sim.method(lambda: None, [ev], dont_initialize=True, name="fine")
    sim.method(bad, [ev], dont_initialize=True, name="bad")
    ev.notify(1)
    with pytest.raises(Exception, match="bad"):
        sim.run()


@pytest.mark.parametrize("n", [1, 3, 1100])
def test_method_batches_run_in_order_once_per_trigger(sim, n):
    """Methods sensitive to one event alone run as one generated batch; a
    batch larger than a chunk is split, and order and counts still hold."""
    ev = Event(sim, "ev")
    order: list[int] = []
    for i in range(n):
        sim.method(lambda i=i: order.append(i), [ev], dont_initialize=True, name=f"m{i}")

    async def driver():
        for _ in range(3):
            ev.notify(0)
            await wait(NS)

    sim.spawn(driver())
    sim.run()
    assert order == list(range(n)) * 3


def test_method_added_later_joins_the_batch(sim):
    ev = Event(sim, "ev")
    ran: list[str] = []
    sim.method(lambda: ran.append("a"), [ev], dont_initialize=True, name="a")

    async def driver():
        ev.notify(0)
        await wait(NS)
        sim.method(lambda: ran.append("b"), [ev], dont_initialize=True, name="b")
        ev.notify(0)
        await wait(NS)

    sim.spawn(driver())
    sim.run()
    assert ran == ["a", "a", "b"]


def test_error_in_a_large_method_batch_names_the_method(sim):
    ev = Event(sim, "ev")
    for i in range(700):
        sim.method(lambda: None, [ev], dont_initialize=True, name=f"ok{i}")

    def broken():
        raise KeyError("x")

    sim.method(broken, [ev], dont_initialize=True, name="broken")
    ev.notify(1)
    with pytest.raises(Exception, match="broken"):
        sim.run()


def test_module_hierarchy_names_and_threads(sim, log):
    """Modules have dotted names; threads are named under them; a duplicate is renamed."""
    class Leaf(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.thread(self.run)

        async def run(self):
            await wait(1 * NS)
            log.append(self.name)

    class Top(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.a = Leaf(self, "a")
            self.b = Leaf(self, "b")

    top = Top(sim, "top")
    sim.run()
    assert log == ["top.a", "top.b"]
    assert [m.name for m in top.walk()] == ["top", "top.a", "top.b"]
    assert sorted(p.name for p in sim.processes) == ["top.a.run", "top.b.run"]
    with pytest.warns(SimulationWarning, match="'top.a' is already used: the later object is renamed 'top.a_0'"):
        again = Leaf(top, "a")
    assert (again.name, again.basename) == ("top.a_0", "a_0")
    with pytest.warns(SimulationWarning, match="renamed 'top.a_1'"):
        assert Leaf(top, "a").name == "top.a_1"
    sim.run()
    assert log[2:] == ["top.a_0", "top.a_1"]


def test_elaboration_hook_runs_before_time_zero(sim, log):
    sim.at_elaboration(lambda: log.append(("elab", sim.now)))

    async def p():
        log.append(("run", sim.now))

    sim.spawn(p())
    sim.run()
    sim.run()
    assert log == [("elab", 0), ("run", 0)]
