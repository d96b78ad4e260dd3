"""PayloadEventQueue: delivery at annotated times, deterministic order, delta semantics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_zero_delay_entry_put_while_others_are_due_comes_one_delta_later(sim: Simulator) -> None:
    """Regression: with a timed entry due now, a delta entry put in the same delta (before the
    queue's delivery ran) used to come out with it; SystemC delivers it one delta later."""
    got: list[tuple[str, int, int]] = []
    peq = PayloadEventQueue(Module(sim, "t"), "peq", lambda tr, ph: got.append((tr, sim.now, sim.delta_count)))

    async def producer() -> None:
        peq.notify("timed", None, 10 * NS)
        await wait(10 * NS)            # wakes in the delta where "timed" is due, before delivery
        peq.notify("delta", None, 0)

    sim.spawn(producer())
    sim.run()
    assert [g[:2] for g in got] == [("timed", 10 * NS), ("delta", 10 * NS)]
    assert got[1][2] == got[0][2] + 1


def test_immediate_entries_come_out_in_the_same_delta_before_the_others(sim: Simulator) -> None:
    """notify(trans, phase) without a delay is delivered in the current evaluation phase."""
    got: list[tuple[str, int]] = []
    peq = PayloadEventQueue(Module(sim, "t"), "peq", lambda tr, ph: got.append((tr, sim.delta_count)))
    put_at: list[int] = []

    async def producer() -> None:
        await wait(1 * NS)
        put_at.append(sim.delta_count)
        peq.notify("delta", Phase.END_REQ, 0)
        peq.notify("now", Phase.BEGIN_REQ)
        got.append(("after the call", sim.delta_count))

    sim.spawn(producer())
    sim.run()
    d = put_at[0]
    # Delivered by the queue's method, after the producer's code in this phase: not inside the call.
    assert got == [("after the call", d), ("now", d), ("delta", d + 1)]


def test_cancel_all_drops_every_kind_of_entry_and_the_queue_still_works(sim: Simulator) -> None:
    """After cancel_all nothing pending comes out; later entries do."""
    got: list[tuple[str, int]] = []
    peq = PayloadEventQueue(Module(sim, "t"), "peq", lambda tr, ph: got.append((tr, sim.now)))

    async def producer() -> None:
        peq.notify("timed", None, 5 * NS)
        peq.notify("delta", None, 0)
        peq.notify("now", None)            # delivered before cancel_all? no: the method runs later
        peq.cancel_all()
        assert len(peq) == 0
        await wait(10 * NS)
        peq.notify("after", None, 1 * NS)

    sim.spawn(producer())
    sim.run()
    assert got == [("after", 11 * NS)]


def test_get_next_transaction_takes_due_entries_and_rearms_for_the_next(sim: Simulator) -> None:
    """peq_with_get: a thread waits on get_event() and drains what is due."""
    gq = PayloadEventQueue(Module(sim, "t"), "gq")
    got: list[tuple[str, int]] = []

    async def consumer() -> None:
        while True:
            await gq.get_event()
            while (tr := gq.get_next_transaction()) is not None:
                got.append((tr, sim.now))

    async def producer() -> None:
        gq.notify("b", None, 7 * NS)
        gq.notify("a", None, 5 * NS)
        gq.notify("a2", None, 5 * NS)
        await wait(20 * NS)
        gq.notify("now")

    sim.spawn(consumer())
    sim.spawn(producer())
    sim.run()
    assert got == [("a", 5 * NS), ("a2", 5 * NS), ("b", 7 * NS), ("now", 20 * NS)]
    assert gq.get_next_transaction() is None


# Each step: (ps to wait before putting, -1 for a delta wait, or None for none; delay: None = immediate).
_steps = st.lists(st.tuples(st.sampled_from([None, -1, 0, 1000, 2000]),
                            st.sampled_from([None, 0, 0, 1000, 1500, 3000])), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(steps=_steps)
def test_every_entry_comes_out_when_and_in_the_order_systemc_gives(steps: list) -> None:
    """Immediate: the delta it was put in; delay 0: exactly one delta later; timed: at now + delay.
    Entries delivered together come out immediate first, then delta, then timed, each in put order."""
    sim = Simulator()
    delivered: list[tuple[int, int, int]] = []
    peq = PayloadEventQueue(Module(sim, "t"), "peq", lambda tr, ph: delivered.append((tr, sim.now, sim.delta_count)))
    put: list[tuple[int, int, int, int | None]] = []

    async def producer() -> None:
        for i, (pause, delay) in enumerate(steps):
            if pause == -1:
                await wait(0)
            elif pause:
                await wait(pause)
            put.append((i, sim.now, sim.delta_count, delay))
            peq.notify(i, None, delay)

    sim.spawn(producer())
    sim.run()
    assert sorted(d[0] for d in delivered) == list(range(len(steps)))
    when = {i: (t, d) for i, t, d in delivered}
    rank = {None: 0, 0: 1}
    for i, t, d, delay in put:
        if delay is None:
            assert when[i] == (t, d)
        elif delay == 0:
            assert when[i] == (t, d + 1)
        else:
            assert when[i][0] == t + delay
    # Within one delivery (same time and delta): by kind, then put order.
    kind = {i: rank.get(delay, 2) for i, _, _, delay in put}
    for (a, ta, da), (b, tb, db) in zip(delivered, delivered[1:]):
        if (ta, da) == (tb, db) and kind[a] == kind[b]:
            assert a < b
        if (ta, da) == (tb, db) and kind[a] and kind[b]:   # an immediate put may rerun the delivery
            assert kind[a] <= kind[b]
