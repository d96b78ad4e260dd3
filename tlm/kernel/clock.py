"""Clock: a boolean signal toggled by the kernel (sc_clock)."""

from __future__ import annotations

from tlm.kernel.event import Event
from tlm.kernel.signal import Signal
from tlm.kernel.simulator import Simulator


class Clock(Signal[bool]):
    """A periodic boolean signal; the first rising edge is at `start` (default 0).

    `posedge` fires at start, start + period, ...; `negedge` half a period
    (rounded down, `duty` of the period) after each rising edge. The value is
    written like any Signal write, so edge events fire one delta after the
    edge instant's first delta, exactly like sc_clock.
    """

    __slots__ = ("period", "high", "cycles", "_tick")

    def __init__(self, sim: Simulator, period: int, name: str = "clock",
                 duty: float = 0.5, start: int = 0) -> None:
        if not isinstance(period, int) or period < 2:
            raise ValueError(f"clock period must be an int >= 2 ps, got {period!r}")
        if not 0.0 < duty < 1.0:
            raise ValueError(f"duty must be in (0, 1), got {duty}")
        super().__init__(sim, False, name)
        self.period = period
        self.high = max(1, min(period - 1, int(period * duty)))
        self.cycles = 0
        self._tick = Event(sim, f"{name}.tick")
        sim.method(self._toggle, (self._tick,), dont_initialize=True, name=f"{name}.driver")
        if start == 0:
            self.write(True)
            self._tick.notify(self.high)
        else:
            self._tick.notify(start)

    def _toggle(self) -> None:
        if self._new:
            self.write(False)
            self._tick.notify(self.period - self.high)
        else:
            self.cycles += 1
            self.write(True)
            self._tick.notify(self.high)
