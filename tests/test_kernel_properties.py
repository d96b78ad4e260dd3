"""Hypothesis properties of the kernel: ordering, fifo integrity, determinism."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Event, Fifo, Simulator, wait

delays = st.integers(min_value=0, max_value=50)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(delays, delays), min_size=1, max_size=4), min_size=1, max_size=6))
def test_timed_notifications_fire_in_time_order_exactly_once(plan):
    """Each event fires once per round, at the earliest of its requested times."""
    sim = Simulator()
    fired: list[tuple[int, int, int]] = []
    n_events = len(plan)
    events = [Event(sim, f"e{i}") for i in range(n_events)]

    async def watcher(i):
        for r in range(len(plan[i])):
            await events[i]
            fired.append((sim.now, i, r))

    async def driver():
        # Round r starts at time r * 100 ns; each event gets two requests,
        # of which the earlier must win.
        rounds = max(len(p) for p in plan)
        for r in range(rounds):
            for i, reqs in enumerate(plan):
                if r < len(reqs):
                    a, b = reqs[r]
                    events[i].notify(a * NS)
                    events[i].notify(b * NS)
            await wait(100 * NS)

    for i in range(n_events):
        sim.spawn(watcher(i))
    sim.spawn(driver())
    sim.run()
    expected = sorted((r * 100 * NS + min(reqs) * NS, i, r)
                      for i, p in enumerate(plan) for r, reqs in enumerate(p))
    assert sorted(fired) == expected
    assert [t for t, _, _ in fired] == sorted(t for t, _, _ in fired)


@settings(max_examples=60, deadline=None)
@given(depth=st.integers(1, 5), n=st.integers(1, 40),
       pdelays=st.lists(delays, min_size=1, max_size=10),
       cdelays=st.lists(delays, min_size=1, max_size=10))
def test_fifo_never_loses_duplicates_reorders_or_overfills(depth, n, pdelays, cdelays):
    """Under random producer/consumer delays the fifo is an order-preserving bounded queue."""
    sim = Simulator()
    f: Fifo[int] = Fifo(sim, depth, "f")
    got: list[int] = []
    max_fill = 0

    async def producer():
        nonlocal max_fill
        for i in range(n):
            await wait(pdelays[i % len(pdelays)])
            await f.put(i)
            max_fill = max(max_fill, len(f))

    async def consumer():
        for i in range(n):
            await wait(cdelays[i % len(cdelays)])
            got.append(await f.get())

    sim.spawn(producer())
    sim.spawn(consumer())
    sim.run()
    assert got == list(range(n))
    assert max_fill <= depth


def _program_log(seed: int) -> list[tuple[int, int, str]]:
    import random

    rng = random.Random(seed)
    sim = Simulator()
    events = [Event(sim, f"e{i}") for i in range(4)]
    f: Fifo[int] = Fifo(sim, 2, "f")
    log: list[tuple[int, int, str]] = []

    async def worker(k):
        for j in range(20):
            choice = rng.randrange(4)
            if choice == 0:
                await wait(rng.randrange(0, 5))
            elif choice == 1:
                events[rng.randrange(4)].notify(rng.choice([None, 0, 3]))
            elif choice == 2:
                await f.put(k * 100 + j)
            else:
                if f.num_available:
                    await f.get()
            log.append((sim.now, sim.delta_count, f"w{k}:{j}:{choice}"))

    for k in range(4):
        sim.spawn(worker(k))
    sim.run(until=10_000)
    return log


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_same_program_twice_gives_identical_logs(seed):
    """Order inside a delta is deterministic: two runs give the same log."""
    assert _program_log(seed) == _program_log(seed)
