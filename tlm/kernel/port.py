"""Ports and exports (sc_port, sc_export): named access points bound at elaboration.

A `Port` stands for a channel a module uses without owning it; an `Export`
makes a channel inside a module reachable from outside. Bind either with
``port.bind(x)`` (or ``port(x)``) before the first `run()`, to a channel, an
`Export`, or (a child's port to its parent's) another `Port`. The first
`run()` resolves every binding and refuses to start while any port or export
is unbound, naming each one. A bound port forwards attribute access to its
channel: ``self.inp.read()``, ``await self.out.put(x)``.
"""

from __future__ import annotations

from typing import Any

from tlm.kernel.coro import as_simulator
from tlm.kernel.errors import SimulationError


def _conforms(obj: object, interface: type) -> bool:
    """isinstance, or for a Protocol that is not runtime-checkable, having its members."""
    try:
        return isinstance(obj, interface)
    except TypeError:
        names = [n for n in dir(interface) if not n.startswith("_")]
        names += [n for n in getattr(interface, "__annotations__", {}) if not n.startswith("_")]
        return all(hasattr(obj, n) for n in names)


class _Binding:
    """What Port and Export share: a name, an optional interface, one binding."""

    _kind = "binding"

    def __init__(self, module: Any, name: str, interface: type | None = None) -> None:
        if not name or "." in name:
            raise ValueError(f"{self._kind} name must be non-empty and without dots, got {name!r}")
        self.sim = as_simulator(module, type(self).__name__)
        self.module = module
        self.interface = interface
        owner = getattr(module, "name", "")
        full = f"{owner}.{name}" if isinstance(owner, str) and owner and module is not self.sim else name
        self.name = self.sim.register_name(full, self, rename=True)
        self._target: object = None
        self._channel: object = None
        self.sim._ports.append(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}{'' if self._target is not None else ' (unbound)'}>"

    def bind(self, target: object) -> None:
        """Bind to a channel (or an Export, or a parent's Port); once, before the first run."""
        if self.sim._elaborated:
            raise SimulationError(f"{self._kind} '{self.name}': bind() after elaboration (the first run)")
        if target is None:
            raise TypeError(f"{self._kind} '{self.name}': cannot bind to None")
        if target is self:
            raise SimulationError(f"{self._kind} '{self.name}' cannot be bound to itself")
        if self._target is not None:
            raise SimulationError(f"{self._kind} '{self.name}' is already bound to {self._target!r}")
        self._target = target
        self._channel = None

    __call__ = bind

    @property
    def bound(self) -> bool:
        return self._resolve() is not None

    def _resolve(self) -> object:
        """The channel at the end of the binding chain, or None if it ends unbound."""
        seen: set[int] = set()
        x: object = self
        while isinstance(x, _Binding):
            if id(x) in seen:
                raise SimulationError(f"{self._kind} '{self.name}': binding loop")
            seen.add(id(x))
            x = x._target
        return x

    def _elaborate(self) -> list[str]:
        """Resolve and check; the names of what is unbound (this one, if so)."""
        ch = self._resolve()
        if ch is None:
            return [self.name]
        if self.interface is not None and not _conforms(ch, self.interface):
            raise SimulationError(f"{self._kind} '{self.name}' is bound to {ch!r}, which does not provide "
                                  f"interface {getattr(self.interface, '__name__', self.interface)!r}")
        self._channel = ch
        return []

    @property
    def channel(self) -> Any:
        """The bound channel (SystemC's `operator->`).

        Raises:
            SimulationError: not bound (yet).
        """
        ch = self._channel
        if ch is None:
            ch = self._resolve()
            if ch is None:
                raise SimulationError(f"{self._kind} '{self.name}' is not bound")
        return ch

    def __getattr__(self, attr: str) -> Any:
        # Only for names the port itself lacks: forwarded to the channel.
        if attr.startswith("__") or attr in ("_target", "_channel"):
            raise AttributeError(attr)
        return getattr(self.channel, attr)


class Port(_Binding):
    """A module's access point to a channel it does not own (sc_port).

    Usage::

        class Consumer(Module):
            def __init__(self, parent, name):
                super().__init__(parent, name)
                self.inp = Port(self, "inp", Fifo)
            ...
        consumer.inp.bind(fifo)     # or bind(producer.out_export)
    """

    _kind = "port"


class Export(_Binding):
    """A channel inside a module made visible outside it (sc_export)."""

    _kind = "export"

    def bind(self, target: object) -> None:
        """Bind to a channel (or a child module's Export)."""
        if isinstance(target, Port):
            raise SimulationError(f"export '{self.name}' cannot be bound to port '{target.name}'")
        super().bind(target)
