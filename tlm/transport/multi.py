"""Multi-sockets: one socket bound many times (tlm_utils multi_passthrough_*_socket).

A `MultiInitiatorSocket` binds to any number of targets; `sock[i]` is the
plain InitiatorSocket of the i-th binding, so `sock[i].b_transport(...)`
reaches target i. A `MultiTargetSocket` is bound by any number of
initiators; its callbacks receive the index of the binding the call came
in on as their first argument, and `sock.nb_transport_bw(i, ...)` answers
initiator i. Indices follow binding order, from 0. Each must be bound at
least once before the run.

Usage::

    bus = MultiTargetSocket(dev, "bus", b_transport=lambda i, t, d: d + 10 * NS)
    cpu0.socket.bind(bus)
    cpu1.socket.bind(bus)        # the callback sees i == 1 for cpu1's calls
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from tlm.transport.errors import ElaborationError
from tlm.transport.protocol import ExtendedPhase, NbResult
from tlm.transport.sockets import InitiatorSocket, TargetSocket

if TYPE_CHECKING:
    from tlm.kernel.module import Module
    from tlm.transport.payload import GenericPayload

__all__ = ["MultiInitiatorSocket", "MultiTargetSocket"]


class _Multi:
    kind = "multi"

    def __init__(self, module: Module, name: str) -> None:
        if not name or "." in name:
            raise ValueError(f"socket name must be non-empty and without dots, got {name!r}")
        self.module = module
        self.name = f"{module.name}.{name}"
        self._base = name
        module.sim.register_name(self.name, self)
        module.sim.at_elaboration(self._check_bound)
        self.ports: list[Any] = []

    def __len__(self) -> int:
        return len(self.ports)

    def size(self) -> int:
        """How many bindings (multi_passthrough_*_socket::size)."""
        return len(self.ports)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({len(self.ports)} bindings)>"

    @property
    def bound(self) -> bool:
        return bool(self.ports)

    def _check_bound(self) -> None:
        if not self.ports:
            raise ElaborationError(f"{self.kind} socket '{self.name}' is not bound "
                                   f"(module '{self.module.name}'); bind it at least once before run()")


class MultiInitiatorSocket(_Multi):
    """An initiator socket bound to several targets.

    Args:
        module: the owning module.
        name: the socket's own name; binding i is `name[i]`.
        nb_transport_bw: `fn(index, trans, phase, delay) -> (sync, phase, delay)`.
        invalidate_direct_mem_ptr: `fn(index, start, end)`.
        extended_phases: the `ExtendedPhase`s `nb_transport_bw` understands.
    """

    kind = "multi-initiator"

    def __init__(self, module: Module, name: str, *,
                 nb_transport_bw: Callable[[int, GenericPayload, Any, int], NbResult] | None = None,
                 invalidate_direct_mem_ptr: Callable[[int, int, int], None] | None = None,
                 extended_phases: tuple[ExtendedPhase, ...] = ()) -> None:
        super().__init__(module, name)
        self.nb_transport_bw_fn = nb_transport_bw
        self.invalidate_direct_mem_ptr_fn = invalidate_direct_mem_ptr
        self.extended_phases = extended_phases

    def __getitem__(self, index: int) -> InitiatorSocket:
        return self.ports[index]  # type: ignore[no-any-return]

    def bind(self, target: Any) -> InitiatorSocket:
        """Add a binding to `target` (a TargetSocket or MultiTargetSocket); returns its socket."""
        i = len(self.ports)
        bw, inv = self.nb_transport_bw_fn, self.invalidate_direct_mem_ptr_fn
        port = InitiatorSocket(self.module, f"{self._base}[{i}]",
                               nb_transport_bw=None if bw is None else partial(bw, i),
                               invalidate_direct_mem_ptr=None if inv is None else partial(inv, i),
                               extended_phases=self.extended_phases)
        port.bind(target)
        self.ports.append(port)
        return port


class MultiTargetSocket(_Multi):
    """A target socket bound by several initiators; callbacks get the binding's index first.

    Args:
        module: the owning module.
        name: the socket's own name; binding i is `name[i]`.
        b_transport: `fn(index, trans, delay) -> delay` (plain or async).
        nb_transport_fw: `fn(index, trans, phase, delay) -> (sync, phase, delay)`.
        transport_dbg: `fn(index, trans) -> int`.
        get_direct_mem_ptr: `fn(index, trans) -> DmiRegion | DmiDenied | None`.
        extended_phases: the `ExtendedPhase`s `nb_transport_fw` understands.
    """

    kind = "multi-target"

    def __init__(self, module: Module, name: str, *, b_transport: Callable[..., Any] | None = None,
                 nb_transport_fw: Callable[..., NbResult] | None = None,
                 transport_dbg: Callable[..., int] | None = None,
                 get_direct_mem_ptr: Callable[..., Any] | None = None,
                 extended_phases: tuple[ExtendedPhase, ...] = ()) -> None:
        super().__init__(module, name)
        self.b_transport_fn = b_transport
        self.nb_transport_fw_fn = nb_transport_fw
        self.transport_dbg_fn = transport_dbg
        self.get_direct_mem_ptr_fn = get_direct_mem_ptr
        self.extended_phases = extended_phases
        self._by_initiator: dict[int, TargetSocket] = {}

    def __getitem__(self, index: int) -> TargetSocket:
        return self.ports[index]  # type: ignore[no-any-return]

    def _port_for(self, initiator: InitiatorSocket) -> TargetSocket:
        """The target socket of `initiator`'s binding, made on its first bind."""
        port = self._by_initiator.get(id(initiator))
        if port is not None:
            return port
        i = len(self.ports)

        def bound(fn: Callable[..., Any] | None) -> Any:
            return None if fn is None else partial(fn, i)
        port = TargetSocket(self.module, f"{self._base}[{i}]", b_transport=bound(self.b_transport_fn),
                            nb_transport_fw=bound(self.nb_transport_fw_fn),
                            transport_dbg=bound(self.transport_dbg_fn),
                            get_direct_mem_ptr=bound(self.get_direct_mem_ptr_fn),
                            extended_phases=self.extended_phases)
        self.ports.append(port)
        self._by_initiator[id(initiator)] = port
        return port

    def nb_transport_bw(self, index: int, trans: GenericPayload, phase: Any, delay: int) -> NbResult:
        """Send `phase` back to the initiator of binding `index`."""
        return self.ports[index].nb_transport_bw(trans, phase, delay)  # type: ignore[no-any-return]

    def invalidate_direct_mem_ptr(self, start: int, end: int) -> None:
        """Void DMI regions overlapping [start, end) in every bound initiator."""
        for port in self.ports:
            port.invalidate_direct_mem_ptr(start, end)
