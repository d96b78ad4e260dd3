"""The kernel against SystemC 2.3.4: the same scenarios must give the same log.

`golden/systemc/scenarios.cpp` was run against Debian's libsystemc-dev to
produce `golden/systemc/scenarios.log` (see `regenerate.sh`); this file is
the same program written for tlm. Lines are (time ps, delta count,
message). Absolute delta counts differ between kernels (SystemC does not
count time advances as deltas), so they are compared relative to the first
line at the same time; lines in one delta are compared as a set, because
the order of processes inside a delta is implementation-defined.
"""

from __future__ import annotations

from pathlib import Path

from golden_log import normalise, read_log
from tlm import NS, Clock, Event, Fifo, Module, Signal, Simulator, all_of, any_of, wait

GOLDEN = Path(__file__).parent / "golden" / "systemc" / "scenarios.log"


def run_scenarios() -> list[tuple[int, int, str]]:
    sim = Simulator()
    out: list[tuple[int, int, str]] = []

    def say(msg: str) -> None:
        out.append((sim.now, sim.delta_count, msg))

    class Events(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.a, self.b, self.c = self.event("a"), self.event("b"), self.event("c")
            self.thread(self.waiter)
            self.thread(self.notifier)
            self.thread(self.lists)

        async def waiter(self):
            while True:
                await self.a
                say("waiter: a")

        async def notifier(self):
            a, b, c = self.a, self.b, self.c
            await wait(1 * NS); say("notifier: immediate a")
            a.notify()
            await wait(1 * NS); say("notifier: delta a")
            a.notify(0)
            await wait(1 * NS); say("notifier: a at +10 then +5 (earlier wins)")
            a.notify(10 * NS); a.notify(5 * NS)
            await wait(20 * NS); say("notifier: a at +5 then delta (delta wins)")
            a.notify(5 * NS); a.notify(0)
            await wait(20 * NS); say("notifier: a at +5, cancel")
            a.notify(5 * NS); a.cancel()
            await wait(20 * NS); say("notifier: b at +3, c at +7")
            b.notify(3 * NS); c.notify(7 * NS)
            await wait(20 * NS); say("notifier: c at +2")
            c.notify(2 * NS)
            await wait(20 * NS); say("notifier: b at +1")
            b.notify(1 * NS)

        async def lists(self):
            await wait(60 * NS)
            await any_of(self.b, self.c); say("lists: or-list woke")
            await all_of(self.b, self.c); say("lists: and-list woke")
            fired = await wait(4 * NS, self.b)
            say("lists: b before timeout" if fired else "lists: timeout")
            fired = await wait(50 * NS, self.b)
            say("lists: b before timeout" if fired else "lists: timeout")
            await wait(0); say("lists: after wait(0)")

    class Signals(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.s = Signal(self.sim, 0, f"{self.name}.s")
            self.flag = Signal(self.sim, False, f"{self.name}.flag")
            self.thread(self.writer)
            self.thread(self.watch_changed)
            self.thread(self.watch_pos)

        async def writer(self):
            await wait(300 * NS)
            self.s.write(5)
            say(f"writer: read after write {self.s.read()}")
            await wait(0)
            say(f"writer: read next delta {self.s.read()}")
            self.s.write(5)
            await wait(10 * NS)
            self.flag.write(True)
            await wait(10 * NS)
            self.flag.write(False)

        async def watch_changed(self):
            while True:
                await self.s.value_changed
                say("watch: s changed")

        async def watch_pos(self):
            while True:
                await self.flag.posedge
                say("watch: flag posedge")

    class Fifos(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.f: Fifo[int] = Fifo(self.sim, 2, f"{self.name}.f")
            self.thread(self.proc)
            self.thread(self.consumer)

        def show(self, msg):
            say(f"{msg} avail={self.f.num_available} free={self.f.num_free}")

        async def proc(self):
            f = self.f
            await wait(400 * NS)
            f.nb_put(1); self.show("fifo: wrote 1")
            f.nb_put(2); self.show("fifo: wrote 2")
            await wait(0); self.show("fifo: next delta")
            f.nb_get(); self.show("fifo: read one")
            await wait(0); self.show("fifo: next delta")
            for i in range(3, 7):
                await f.put(i)
                self.show("fifo: blocking write done")

        async def consumer(self):
            await wait(410 * NS)
            for _ in range(5):
                x = await self.f.get()
                say(f"consumer: got {x}")
                await wait(5 * NS)

    class Clocked(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.clk = Clock(self.sim, 10 * NS, f"{self.name}.clk")
            self.n = 0
            self.method(self.on_pos, [self.clk.posedge], dont_initialize=True)
            self.method(self.once, [self.clk.negedge])

        def on_pos(self):
            t = self.sim.now
            if t < 30 * NS or 500 * NS < t < 530 * NS:
                say("clocked: posedge")

        def once(self):
            self.n += 1
            if self.n <= 2:
                say("clocked: negedge-or-init")

    Events(sim, "ev")
    Signals(sim, "sg")
    Fifos(sim, "ff")
    Clocked(sim, "ck")
    sim.run(until=600 * NS)
    return out


def _golden() -> list[tuple[int, int, str]]:
    return read_log(GOLDEN)


def test_kernel_log_equals_systemc_reference():
    """Notifications, lists, timeouts, signals, fifos, clocks and methods match SystemC 2.3.4."""
    want = normalise(_golden())
    got = normalise(run_scenarios())
    assert len(want) > 30
    assert got == want


def test_normalisation_is_not_vacuous():
    """A log with one event a delta late no longer matches the reference."""
    lines = _golden()
    broken = [(t, d + (1 if m == "waiter: a" and t == 1000 else 0), m) for t, d, m in lines]
    assert normalise(broken) != normalise(lines)
