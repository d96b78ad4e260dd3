"""Payload event queue: deliver (transaction, phase) pairs at their annotated time.

A non-blocking call arrives with a delay annotation ("this happens `delay`
ps from now"); a target or initiator that wants to act at that time puts the
pair into a `PayloadEventQueue` (tlm_utils::peq_with_cb_and_phase). It comes
out either through a callback run by a method process at that time, or by a
thread awaiting `get()`. Entries due at the same time come out in the order
they were put in, so runs are reproducible; an entry put with delay 0 comes
out one delta cycle later, never inside the call that put it.
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
            owner awaits `get()` from a thread.

    Usage::

        peq = PayloadEventQueue(self, "peq", self._on_peq)
        peq.notify(trans, Phase.BEGIN_RESP, 20 * NS)
    """

    __slots__ = ("sim", "name", "callback", "event", "_heap", "_seq")

    def __init__(self, module: Module, name: str, callback: PeqCallback | None = None) -> None:
        self.sim = module.sim
        self.name = f"{module.name}.{name}"
        self.callback = callback
        self.event = Event(self.sim, f"{self.name}.event")
        self._heap: list[tuple[int, int, Any, Any]] = []
        self._seq = 0
        if callback is not None:
            self.sim.method(self._deliver, (self.event,), dont_initialize=True, name=self.name)

    def __len__(self) -> int:
        return len(self._heap)

    def notify(self, trans: Any, phase: Phase | None = None, delay: int = 0) -> None:
        """Deliver `(trans, phase)` `delay` ps from now (0: next delta cycle).

        Raises:
            ValueError / TypeError: `delay` is negative or not an int.
        """
        if delay.__class__ is not int or delay < 0:
            delay = _as_delay(delay)
        t = self.sim.now + delay
        heap = self._heap
        self._seq += 1
        heapq.heappush(heap, (t, self._seq, trans, phase))
        if heap[0][1] == self._seq:   # the new entry is now the earliest
            self.event.notify(delay)

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
        # Take the batch first: entries the callback puts with delay 0 belong
        # to the next delta cycle, as in SystemC.
        due = self._pop_due()
        cb = self.callback
        assert cb is not None
        for _, _, trans, phase in due:
            cb(trans, phase)
        self._rearm()

    async def get(self) -> tuple[Any, Phase | None]:
        """Await the next entry and return `(trans, phase)` at its time."""
        heap = self._heap
        while not heap or heap[0][0] > self.sim.now:
            await self.event
        _, _, trans, phase = heapq.heappop(heap)
        self._rearm()
        return trans, phase
