"""Signal: a value with evaluate/update semantics (sc_signal)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from tlm.kernel.coro import as_simulator, scoped_name
from tlm.kernel.event import Event
from tlm.kernel.simulator import Simulator

T = TypeVar("T")


class Signal(Generic[T]):
    """A value whose writes take effect in the update phase.

    `read()` returns the value committed before this evaluation phase; a
    `write()` is seen after the update phase, and `value_changed` (and, on
    rising/falling truthiness, `posedge`/`negedge`) fire in the following
    delta-notification phase, so waiters run one delta later.
    """

    __slots__ = ("sim", "name", "_cur", "_new", "_pending", "value_changed", "posedge", "negedge")

    def __init__(self, sim: Simulator, init: T = 0, name: str = "signal") -> None:  # type: ignore[assignment]
        if not isinstance(sim, Simulator):
            name = scoped_name(sim, name)
            sim = as_simulator(sim, type(self).__name__)
        self.sim = sim
        self.name = name
        self._cur: T = init
        self._new: T = init
        self._pending = False
        self.value_changed = Event(sim, f"{name}.value_changed")
        self.posedge = Event(sim, f"{name}.posedge")
        self.negedge = Event(sim, f"{name}.negedge")

    def __repr__(self) -> str:
        return f"<Signal {self.name}={self._cur!r}>"

    def read(self) -> T:
        return self._cur

    @property
    def value(self) -> T:
        return self._cur

    def write(self, value: T) -> None:
        self._new = value
        if not self._pending:
            self._pending = True
            self.sim._updates.append(self)

    def _update(self) -> None:
        self._pending = False
        new = self._new
        old = self._cur
        if new != old:
            self._cur = new
            self.value_changed._notify_from_update()
            if bool(new) != bool(old):
                (self.posedge if new else self.negedge)._notify_from_update()

    def __bool__(self) -> bool:
        return bool(self._cur)

    def __eq__(self, other: Any) -> bool:
        return self.read() == (other.read() if isinstance(other, Signal) else other)

    __hash__ = object.__hash__
