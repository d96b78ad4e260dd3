"""Clock: a boolean signal toggled by the kernel (sc_clock)."""

from __future__ import annotations

from heapq import heappush

from tlm.kernel.event import _DELTA, _as_delay
from tlm.kernel.signal import Signal
from tlm.kernel.simulator import Simulator


class Clock(Signal[bool]):
    """A periodic boolean signal; the first rising edge is at `start` (default 0).

    `posedge` fires at start, start + period, ...; `negedge` half a period
    (rounded down, `duty` of the period) after each rising edge. The value is
    written like any Signal write, so edge events fire one delta after the
    edge instant's first delta, exactly like sc_clock.

    The clock sits in the timed queue itself. An edge writes the next level
    when it is due, before the evaluation phase of that instant: an
    sc_clock's edge method would write it during that phase, and as the
    write is seen only after the update phase, the two are alike to every
    process. No process or event per edge is needed.
    """

    __slots__ = ("period", "high", "low", "cycles")

    def __init__(self, sim: Simulator, period: int, name: str = "clock",
                 duty: float = 0.5, start: int = 0) -> None:
        if not isinstance(period, int) or period < 2:
            raise ValueError(f"clock period must be an int >= 2 ps, got {period!r}")
        if not 0.0 < duty < 1.0:
            raise ValueError(f"duty must be in (0, 1), got {duty}")
        start = _as_delay(start)
        super().__init__(sim, False, name)
        self.period = period
        self.high = max(1, min(period - 1, int(period * duty)))
        self.low = period - self.high
        self.cycles = 0
        if start == 0:
            self.write(True)
            sim._schedule_other(sim.now + self.high, self)
        else:
            sim._schedule_other(sim.now + start, self)

    def _fire_timed(self) -> None:
        """An edge is due: write the next level and queue the edge after it."""
        sim = self.sim
        if self._new:
            self._new = False
            t = sim.now + self.low
        else:
            self.cycles += 1
            self._new = True
            t = sim.now + self.high
        if not self._pending:
            self._pending = True
            sim._updates.append(self)
        # Simulator._schedule_other, inlined (this runs twice per period).
        bucket = sim._timed_other.get(t)
        if bucket is None:
            sim._timed_other[t] = [self]
            heappush(sim._times, t)
        else:
            bucket.append(self)

    def _fire_alone(self) -> None:
        """An edge is due and nothing else is: no process runs at this instant.

        A falling edge nobody is sensitive to then commits at once, with no
        update phase; nothing can tell it from one committed by the update.
        """
        if self._new:
            neg, changed = self.negedge, self.value_changed
            if not (neg._waiters or neg._has_static or changed._waiters or changed._has_static):
                self._cur = self._new = False
                sim = self.sim
                t = sim.now + self.low
                bucket = sim._timed_other.get(t)
                if bucket is None:
                    sim._timed_other[t] = [self]
                    heappush(sim._times, t)
                else:
                    bucket.append(self)
                return
        self._fire_timed()

    def _update(self) -> None:
        self._pending = False
        new = self._new
        if new == self._cur:
            return
        self._cur = new
        # Signal._update for a bool, with Event.notify(0) inlined for the
        # common case of no pending notification; an edge event nobody is
        # sensitive to is skipped.
        ev = self.value_changed
        if ev._waiters or ev._has_static:
            if ev._at is None:
                ev._at = _DELTA
                ev._delta.append(ev)
            else:
                ev.notify(0)
        ev = self.posedge if new else self.negedge
        if ev._waiters or ev._has_static:
            if ev._at is None:
                ev._at = _DELTA
                ev._delta.append(ev)
            else:
                ev.notify(0)
