"""Clock against a clock that queues every edge, over random programs.

Clock leaves falling edges nobody watches out of the timed queue; these
tests check that no process can tell: the levels read, the wake-ups, and
`delta_count` all match a clock that schedules both edges every period.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Clock, Signal, Simulator, wait
from tlm.kernel.event import _as_delay


class EagerClock(Signal[bool]):
    """Both edges queued every period, written when due (as Clock was before)."""

    def __init__(self, sim: Simulator, period: int, name: str = "clock",
                 duty: float = 0.5, start: int = 0) -> None:
        super().__init__(sim, False, name)
        self.high = max(1, min(period - 1, int(period * duty)))
        self.low = period - self.high
        start = _as_delay(start)
        if start == 0:
            self.write(True)
            sim._schedule_other(sim.now + self.high, self)
        else:
            sim._schedule_other(sim.now + start, self)

    def _fire_timed(self) -> None:
        rising = not self._new
        self.write(rising)
        self.sim._schedule_other(self.sim.now + (self.high if rising else self.low), self)


OPS = ("read", "wait_t", "wait0", "wait_pos", "wait_neg", "wait_vc", "neg_or_t", "method_neg",
       "method_vc", "write_sig", "wait_sig")
programs = st.lists(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 30)),
                             min_size=1, max_size=8), min_size=1, max_size=3)


def run_program(make_clock: Any, period: int, duty: float, start: int,
                program: list[list[tuple[str, int]]]) -> list[tuple]:
    sim = Simulator()
    clk = make_clock(sim, period, "clk", duty, start)
    sig = Signal(sim, 0, "sig")  # other update-phase traffic, to compare orders against
    log: list[tuple] = []

    def note(*what: Any) -> None:
        log.append((*what, clk.read(), sim.now, sim.delta_count))

    async def proc(k: int, ops: list[tuple[str, int]]) -> None:
        for j, (op, arg) in enumerate(ops):
            if op == "wait_t":
                await wait(arg * NS // 2)
            elif op == "wait0":
                await wait(0)
            elif op == "wait_pos":
                await clk.posedge
            elif op == "wait_neg":
                await clk.negedge
            elif op == "write_sig":
                sig.write(sig.read() + 1)
            elif op == "wait_sig":
                await sig.value_changed
            elif op == "wait_vc":
                await clk.value_changed
            elif op == "neg_or_t":
                note(k, j, "fired", await wait(arg * NS // 2 + 1, clk.negedge))
            elif op in ("method_neg", "method_vc"):
                ev = clk.negedge if op == "method_neg" else clk.value_changed
                sim.method(lambda k=k, j=j: note(k, j, "method"), [ev], dont_initialize=True,
                           name=f"m{k}_{j}")
            note(k, j, op)

    for k, ops in enumerate(program):
        sim.spawn(proc(k, ops))
    sim.run(until=40 * NS)
    log.append(("first run", sim.now, sim.delta_count))
    sim.run(duration=7 * NS + 3)
    log.append(("second run", sim.now, sim.delta_count))
    return log


@settings(max_examples=500, deadline=None)
@given(period=st.integers(2, 12).map(lambda n: n * NS // 2), duty=st.sampled_from([0.5, 0.3, 0.8]),
       start=st.sampled_from([0, 1 * NS, 3 * NS + 500]), program=programs)
def test_clock_matches_a_clock_that_queues_every_edge(period, duty, start, program):
    lazy = run_program(Clock, period, duty, start, program)
    eager = run_program(EagerClock, period, duty, start, program)
    assert lazy == eager


@pytest.mark.parametrize("stops", [[95 * NS], [5 * NS - 1, 5 * NS, 15 * NS + 1, 95 * NS]])
def test_unwatched_falling_edges_still_count_as_delta_cycles(stops):
    """Runs that end just before, at and just after falling instants."""
    counts = []
    for make in (Clock, EagerClock):
        sim = Simulator()
        clk = make(sim, 10 * NS, "clk")
        sim.method(lambda: None, [clk.posedge], dont_initialize=True, name="on_rise")
        seen = []
        for until in stops:
            sim.run(until=until)
            seen.append((sim.delta_count, clk.read()))
        counts.append(seen)
    assert counts[0] == counts[1]
    # Like sc_start(95 ns): the fall due at 95 ns runs in the next run, so the level is still high.
    assert counts[0][-1][1] is True


def test_wait_begun_at_the_falling_instant_keeps_the_update_order():
    """A wait on negedge that begins in the first delta of the falling instant
    sees the edge in the next delta, ordered as if the edge had been queued."""
    logs = []
    for make in (Clock, EagerClock):
        sim = Simulator()
        clk = make(sim, 10 * NS, "clk")
        sig = Signal(sim, 0, "sig")
        log: list[tuple] = []

        async def sig_watcher():
            await sig.value_changed
            log.append(("sig changed", sim.now, sim.delta_count))

        async def writer():
            await wait(5 * NS)  # the falling instant
            sig.write(1)

        async def late_neg_watcher():
            await wait(5 * NS)
            log.append(("level at fall, delta 0", clk.read()))
            await clk.negedge
            log.append(("negedge", sim.now, sim.delta_count, clk.read()))

        sim.spawn(sig_watcher())
        sim.spawn(writer())
        sim.spawn(late_neg_watcher())
        sim.run(until=20 * NS)
        logs.append(log)
    assert logs[0] == logs[1]
    assert [entry[0] for entry in logs[0]] == ["level at fall, delta 0", "negedge", "sig changed"]


def test_two_clocks_falling_at_one_instant_count_it_once():
    counts = []
    for make in (Clock, EagerClock):
        sim = Simulator()
        a = make(sim, 10 * NS, "a")
        b = make(sim, 20 * NS, "b", 0.25)  # falls at 5 ns, 25 ns, ... like a at 5 ns, 25 ns
        sim.method(lambda: None, [a.posedge], dont_initialize=True, name="on_a")
        sim.method(lambda: None, [b.posedge], dont_initialize=True, name="on_b")
        sim.run(until=100 * NS)
        counts.append((sim.delta_count, a.read(), b.read()))
    assert counts[0] == counts[1]
