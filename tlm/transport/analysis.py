"""Analysis ports: broadcast a value to any number of subscribers (tlm_analysis_port).

A monitor `write`s what it sees once; every subscriber bound to the port gets
it, in the order they were bound, within the same call (no time passes). A
subscriber is anything with a `write(value)` method, a plain callable, or
another `AnalysisPort` (hierarchical: the parent's port forwards to its own
subscribers). Binding is allowed at any time; a port without subscribers
drops the value.

Usage::

    port = AnalysisPort(monitor, "observed")
    port.bind(scoreboard)           # has write(trans)
    port.bind(lambda t: log.append(t))
    port.write(trans)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlm.kernel.module import Module

__all__ = ["AnalysisPort"]


class AnalysisPort:
    """One-to-many, zero-time broadcast.

    Args:
        module: the owning module; the port is named `module.name + '.' + name`.
        name: the port's own name.
    """

    __slots__ = ("name", "_writes", "_subscribers")

    def __init__(self, module: Module, name: str) -> None:
        if not name or "." in name:
            raise ValueError(f"analysis port name must be non-empty and without dots, got {name!r}")
        self.name = f"{module.name}.{name}"
        module.sim.register_name(self.name, self)
        self._writes: list[Callable[[Any], object]] = []
        self._subscribers: list[object] = []

    def __repr__(self) -> str:
        return f"<AnalysisPort {self.name} ({len(self._writes)} subscribers)>"

    def __len__(self) -> int:
        return len(self._writes)

    def bind(self, subscriber: object) -> None:
        """Add a subscriber: an object with `write(value)`, a callable, or an AnalysisPort.

        Raises:
            TypeError: `subscriber` has no `write` and is not callable.
            ValueError: it is already bound to this port, or is the port itself.
        """
        if subscriber is self:
            raise ValueError(f"analysis port '{self.name}' cannot subscribe to itself")
        if any(s is subscriber for s in self._subscribers):
            raise ValueError(f"{subscriber!r} is already bound to analysis port '{self.name}'")
        write = getattr(subscriber, "write", None)
        if write is None:
            if not callable(subscriber):
                raise TypeError(f"analysis port '{self.name}': a subscriber needs a write(value) "
                                f"method or must be callable, got {subscriber!r}")
            write = subscriber
        self._subscribers.append(subscriber)
        self._writes.append(write)

    def unbind(self, subscriber: object) -> None:
        """Remove a subscriber (no error when it is not bound)."""
        for i, s in enumerate(self._subscribers):
            if s is subscriber:
                del self._subscribers[i], self._writes[i]
                return

    def write(self, value: Any) -> None:
        """Give `value` to every subscriber, in binding order."""
        for write in self._writes:
            write(value)
