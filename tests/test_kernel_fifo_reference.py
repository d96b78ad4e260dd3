"""Fifo against a plain sc_fifo written the obvious way (every read and write
requests the update phase), over random programs of several processes.

Fifo commits reads that nothing observes without an update phase; these
tests check that no process can tell the difference.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Event, Fifo, Signal, Simulator, any_of, wait


class EagerFifo:
    """sc_fifo as IEEE 1666 describes it, with no shortcuts."""

    def __init__(self, sim: Simulator, depth: int) -> None:
        self.sim = sim
        self.depth = depth
        self.items: deque[Any] = deque()
        self.readable = self.nr = self.nw = 0
        self.pending = False
        self.data_written = Event(sim, "w")
        self.data_read = Event(sim, "r")

    @property
    def num_available(self) -> int:
        return self.readable - self.nr

    @property
    def num_free(self) -> int:
        return self.depth - self.readable - self.nw

    def _request(self) -> None:
        if not self.pending:
            self.pending = True
            self.sim.request_update(self)

    def _update(self) -> None:
        self.pending = False
        if self.nr:
            self.readable -= self.nr
            self.nr = 0
            self.data_read.notify(0)
        if self.nw:
            self.readable += self.nw
            self.nw = 0
            self.data_written.notify(0)

    def nb_put(self, x: Any) -> bool:
        if self.num_free <= 0:
            return False
        self.items.append(x)
        self.nw += 1
        self._request()
        return True

    def nb_get(self) -> tuple[bool, Any]:
        if self.num_available <= 0:
            return False, None
        self.nr += 1
        self._request()
        return True, self.items.popleft()

    async def put(self, x: Any) -> None:
        while self.num_free <= 0:
            await self.data_read
        self.nb_put(x)

    async def get(self) -> Any:
        while self.num_available <= 0:
            await self.data_written
        return self.nb_get()[1]


OPS = ("put", "get", "nb_put", "nb_get", "free", "avail", "wait_read", "wait_any",
       "wait0", "wait_t", "notify0", "wait_ev", "write_sig", "wait_sig")
programs = st.lists(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 3)),
                             min_size=1, max_size=10), min_size=1, max_size=4)


def run_program(make_fifo: Any, depth: int, program: list[list[tuple[str, int]]]) -> list[tuple]:
    sim = Simulator()
    f = make_fifo(sim, depth)
    # Other delta-cycle traffic, so that the order of wake-ups across the
    # update and delta phases is compared as well.
    ev = Event(sim, "other")
    sig = Signal(sim, 0, "sig")
    log: list[tuple] = []

    async def proc(k: int, ops: list[tuple[str, int]]) -> None:
        for j, (op, arg) in enumerate(ops):
            if op == "put":
                await f.put((k, j))
                out: Any = None
            elif op == "get":
                out = await f.get()
            elif op == "nb_put":
                out = f.nb_put((k, j))
            elif op == "nb_get":
                out = f.nb_get()
            elif op == "free":
                out = f.num_free
            elif op == "avail":
                out = f.num_available
            elif op == "wait_read":
                out = await wait(arg * NS + NS, f.data_read)
            elif op == "wait_any":
                out = (await any_of(f.data_read, f.data_written)) is f.data_read
            elif op == "notify0":
                ev.notify(0)
                out = None
            elif op == "wait_ev":
                out = await wait(arg * NS + NS, ev)
            elif op == "write_sig":
                sig.write(sig.read() + 1)
                out = None
            elif op == "wait_sig":
                out = await wait(arg * NS + NS, sig.value_changed)
            elif op == "wait0":
                await wait(0)
                out = None
            else:
                await wait(arg * NS)
                out = None
            log.append((k, j, op, out, sim.now, sim.delta_count))

    for k, ops in enumerate(program):
        sim.spawn(proc(k, ops))
    sim.run()
    return log


@settings(max_examples=400, deadline=None)
@given(depth=st.integers(1, 3), program=programs)
def test_fifo_matches_eager_sc_fifo(depth, program):
    assert run_program(Fifo, depth, program) == run_program(EagerFifo, depth, program)


def test_wait_on_data_read_begun_after_an_unobserved_read_wakes_next_delta(sim):
    """A read with nobody waiting skips the update; a wait begun later in the
    same delta still sees data_read fire one delta later."""
    f: Fifo[int] = Fifo(sim, 2, "f")
    log: list[tuple[str, int]] = []

    async def reader():
        await wait(NS)  # the item is readable by now
        assert f.nb_get() == (True, 7)
        log.append(("read", sim.delta_count))

    async def late_waiter():
        await wait(NS)
        await f.data_read
        log.append(("woken", sim.delta_count))

    assert f.nb_put(7)
    sim.spawn(reader())
    sim.spawn(late_waiter())
    sim.run()
    assert log == [("read", log[0][1]), ("woken", log[0][1] + 1)]


def test_unobserved_read_frees_its_slot_from_the_next_delta(sim):
    f: Fifo[int] = Fifo(sim, 1, "f")
    seen: list[tuple[int, bool]] = []

    async def p():
        assert f.nb_put(1)
        await wait(0)
        assert f.nb_get() == (True, 1)
        seen.append((f.num_free, f.nb_put(2)))   # same delta: not yet free
        await wait(0)
        seen.append((f.num_free, f.nb_put(2)))   # next delta: free

    sim.spawn(p())
    sim.run()
    assert seen == [(0, False), (1, True)]
