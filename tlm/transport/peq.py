"""Payload event queue: deliver (transaction, phase) pairs at their annotated time.

A non-blocking call arrives with a delay annotation ("this happens `delay`
ps from now"); a target or initiator that wants to act at that time puts the
pair into a `PayloadEventQueue`. It comes out in one of two ways:

- with a callback (tlm_utils::peq_with_cb_and_phase): a method process runs
  the callback at the entry's time. `notify(trans, phase)` without a delay is
  immediate (delivered in the current evaluation phase), delay 0 is one
  delta cycle later, never in the delta that put it, even when other entries
  are due at the same time; in one delivery, immediate entries come first,
  then delta ones, then timed ones, each in the order they were put in;
- without one (tlm_utils::peq_with_get): a thread waits on `get_event()` and
  takes every due entry with `get_next_transaction()`, or simply awaits
  `get()`.

`cancel_all()` drops every pending entry. Runs are reproducible: entries due
together always come out in the same order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tlm.kernel.event import Event, _as_delay

if TYPE_CHECKING:
    from tlm.kernel.module import Module
    from tlm.transport.protocol import Phase

__all__ = ["PayloadEventQueue"]

PeqCallback = Callable[[Any, "Phase | None"], None]


class PayloadEventQueue:
    """A time-ordered queue of (transaction, phase) pairs.

    Args:
        module: the owning module; the queue is named `module.name + '.' + name`.
        name: the queue's own name.
        callback: `fn(trans, phase)`, run at each entry's time. Without it the
            owner takes entries from a thread (`get`, `get_next_transaction`).

    Usage::

        peq = PayloadEventQueue(self, "peq", self._on_peq)
        peq.notify(trans, Phase.BEGIN_RESP, 20 * NS)   # at now + 20 ns
        peq.notify(trans, Phase.END_REQ, 0)            # next delta cycle
        peq.notify(trans, Phase.END_REQ)               # immediate
    """

    __slots__ = ("sim", "name", "callback", "event", "_heap", "_seq", "_delta", "_immediate")

    def __init__(self, module: Module, name: str, callback: PeqCallback | None = None) -> None:
        self.sim = module.sim
        self.name = f"{module.name}.{name}"
        self.callback = callback
        self.event = Event(self.sim, f"{self.name}.event")
        self._heap: list[tuple[int, int, Any, Any]] = []
        self._seq = 0
        # Callback style only: entries put with delay 0, each with the delta
        # cycle it was put in, and immediate entries.
        self._delta: list[tuple[int, Any, Any]] = []
        self._immediate: list[tuple[Any, Any]] = []
        if callback is not None:
            self.sim.method(self._deliver, (self.event,), dont_initialize=True, name=self.name)

    def __len__(self) -> int:
        return len(self._heap) + len(self._delta) + len(self._immediate)

    def get_event(self) -> Event:
        """The event notified when an entry becomes due (peq_with_get::get_event)."""
        return self.event

    def notify(self, trans: Any, phase: Phase | None = None, delay: int | None = None) -> None:
        """Deliver `(trans, phase)` `delay` ps from now; 0: next delta cycle;
        None (the default): immediately, in the current evaluation phase.

        Raises:
            ValueError / TypeError: `delay` is negative or not an int.
        """
        if delay is None:
            if self.callback is not None:
                self._immediate.append((trans, phase))
            else:
                self._push(self.sim.now, trans, phase)
            self.event.notify()
            return
        if delay.__class__ is not int or delay < 0:
            delay = _as_delay(delay)
        if delay == 0 and self.callback is not None:
            self._delta.append((self.sim.delta_count, trans, phase))
            self.event.notify(0)
            return
        if self._push(self.sim.now + delay, trans, phase):   # the new entry is now the earliest
            self.event.notify(delay)

    def _push(self, t: int, trans: Any, phase: Any) -> bool:
        heap = self._heap
        self._seq += 1
        heapq.heappush(heap, (t, self._seq, trans, phase))
        return heap[0][1] == self._seq

    def cancel_all(self) -> None:
        """Drop every pending entry and the pending notification."""
        self._heap.clear()
        self._delta.clear()
        self._immediate.clear()
        self.event.cancel()

    def _pop_due(self) -> list[tuple[int, int, Any, Any]]:
        heap = self._heap
        now = self.sim.now
        due = []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap))
        return due

    def _rearm(self) -> None:
        if self._heap:
            self.event.notify(self._heap[0][0] - self.sim.now)

    def _deliver(self) -> None:
        cb = self.callback
        assert cb is not None
        if self._immediate:
            now_list, self._immediate = self._immediate, []
            for trans, phase in now_list:
                cb(trans, phase)
        if self._delta:
            # Only entries put in an earlier delta cycle: one put in this one
            # (even before this delivery ran) is due in the next, as in SystemC.
            dc = self.sim.delta_count
            due = [e for e in self._delta if e[0] < dc]
            if due:
                self._delta = [e for e in self._delta if e[0] >= dc]
                for _, trans, phase in due:
                    cb(trans, phase)
            if self._delta:
                self.event.notify(0)
        # Take the timed batch first: entries the callback puts belong to a later delta.
        for _, _, trans, phase in self._pop_due():
            cb(trans, phase)
        if not self._delta:
            self._rearm()

    def get_next_transaction(self) -> Any:
        """The next due transaction, or None; call it until None (peq_with_get).

        When none is due, the event is notified for the earliest pending entry.
        """
        heap = self._heap
        if not heap:
            return None
        if heap[0][0] <= self.sim.now:
            return heapq.heappop(heap)[2]
        self.event.notify(heap[0][0] - self.sim.now)
        return None

    async def get(self) -> tuple[Any, Phase | None]:
        """Await the next entry and return `(trans, phase)` at its time."""
        heap = self._heap
        while not heap or heap[0][0] > self.sim.now:
            await self.event
        _, _, trans, phase = heapq.heappop(heap)
        self._rearm()
        return trans, phase
