"""PayloadEventQueue: delivery at annotated times, deterministic order, delta semantics."""

from __future__ import annotations

import pytest

from tlm import NS, Module, Simulator, wait
from tlm.transport import PayloadEventQueue, Phase


def test_callback_delivery_at_annotated_times_in_put_order(sim: Simulator) -> None:
    """Entries come out at now + delay; equal times keep the order they were put in."""
    got: list[tuple[int, str, Phase | None]] = []
    peq = PayloadEventQueue(Module(sim, "t"), "peq", lambda tr, ph: got.append((sim.now, tr, ph)))

    async def producer() -> None:
        peq.notify("c", Phase.BEGIN_RESP, 20 * NS)
        peq.notify("a", Phase.BEGIN_REQ, 5 * NS)
        peq.notify("b", Phase.END_REQ, 20 * NS)
        await wait(5 * NS)
        peq.notify("d", None, 15 * NS)    # also due at 20 ns, put last

    sim.spawn(producer())
    sim.run()
    assert got == [(5 * NS, "a", Phase.BEGIN_REQ), (20 * NS, "c", Phase.BEGIN_RESP),
                   (20 * NS, "b", Phase.END_REQ), (20 * NS, "d", None)]


def test_zero_delay_is_delivered_in_a_later_delta_not_inside_the_call(sim: Simulator) -> None:
    """An entry put with delay 0 (even from the callback) arrives one delta later, same time."""
    got: list[tuple[str, int, int]] = []
    peq: PayloadEventQueue

    def cb(tr: str, ph: Phase | None) -> None:
        got.append((tr, sim.now, sim.delta_count))
        if tr == "first":
            peq.notify("second", None, 0)
            assert got[-1][0] == "first"   # not delivered re-entrantly

    peq = PayloadEventQueue(Module(sim, "t"), "peq", cb)

    async def producer() -> None:
        await wait(3 * NS)
        peq.notify("first", None, 0)

    sim.spawn(producer())
    sim.run()
    assert [g[:2] for g in got] == [("first", 3 * NS), ("second", 3 * NS)]
    assert got[1][2] > got[0][2]


def test_a_thread_can_await_entries(sim: Simulator) -> None:
    """get() returns each entry at its time, earliest first, regardless of put order."""
    peq = PayloadEventQueue(Module(sim, "t"), "peq")
    got: list[tuple[int, str]] = []

    async def consumer() -> None:
        for _ in range(3):
            tr, _ = await peq.get()
            got.append((sim.now, tr))

    async def producer() -> None:
        peq.notify("late", Phase.BEGIN_RESP, 30 * NS)
        peq.notify("early", Phase.BEGIN_RESP, 10 * NS)
        await wait(12 * NS)
        peq.notify("middle", Phase.BEGIN_RESP, 8 * NS)

    sim.spawn(consumer())
    sim.spawn(producer())
    sim.run()
    assert got == [(10 * NS, "early"), (20 * NS, "middle"), (30 * NS, "late")]


def test_negative_delay_is_refused(sim: Simulator) -> None:
    """A delay is an int >= 0 ps."""
    peq = PayloadEventQueue(Module(sim, "t"), "peq")
    with pytest.raises(ValueError, match="negative delay -1"):
        peq.notify("x", None, -1)
    with pytest.raises(TypeError):
        peq.notify("x", None, 1.5)  # type: ignore[arg-type]
