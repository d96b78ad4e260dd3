"""Initiator and target sockets: the two ends of a transport binding.

An `InitiatorSocket` is bound once to one `TargetSocket` (`init.bind(target)`).
Binding fills the initiator's `b_transport`, `nb_transport_fw`,
`transport_dbg` and `get_direct_mem_ptr` attributes with the target's
registered functions, so a blocking call costs one Python call and nothing
else; the non-blocking paths go through the hop's protocol checker
(`protocol.Hop`). Unbound sockets fail before time 0 of the first `run()`,
named by their full hierarchical names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tlm.kernel.errors import SimulationError
from tlm.transport.errors import ElaborationError
from tlm.transport.protocol import Hop, NbFunction, NbResult, Phase

if TYPE_CHECKING:
    from tlm.kernel.module import Module
    from tlm.transport.dmi import DmiRegion
    from tlm.transport.payload import GenericPayload

__all__ = ["InitiatorSocket", "TargetSocket"]

BTransport = Callable[["GenericPayload", int], int]
TransportDbg = Callable[["GenericPayload"], int]
GetDmi = Callable[["GenericPayload"], "DmiRegion | None"]
InvalidateDmi = Callable[[int, int], None]


class _Socket:
    """What both ends share: a hierarchical name, a peer, an elaboration check."""

    kind = "socket"

    def __init__(self, module: Module, name: str) -> None:
        if not name or "." in name:
            raise ValueError(f"socket name must be non-empty and without dots, got {name!r}")
        self.module = module
        self.name = f"{module.name}.{name}"
        module.sim.register_name(self.name, self)
        module.sim.at_elaboration(self._check_bound)
        self.peer: Any = None

    def __repr__(self) -> str:
        bound = f" -> {self.peer.name}" if self.peer is not None else " (unbound)"
        return f"<{type(self).__name__} {self.name}{bound}>"

    @property
    def bound(self) -> bool:
        """True once `bind` has connected this socket."""
        return self.peer is not None

    def _check_bound(self) -> None:
        if self.peer is None:
            raise ElaborationError(f"{self.kind} socket '{self.name}' is not bound "
                                   f"(module '{self.module.name}'); bind every socket before run()")


class TargetSocket(_Socket):
    """The target end. The owner registers the functions it implements.

    Args:
        module: the owning module; the socket is named `module.name + '.' + name`.
        name: the socket's own name.
        b_transport: `fn(trans, delay) -> delay` (blocking, loosely timed).
        nb_transport_fw: `fn(trans, phase, delay) -> (sync, phase, delay)`.
        transport_dbg: `fn(trans) -> bytes transferred`; no time passes.
        get_direct_mem_ptr: `fn(trans) -> DmiRegion | None`.

    Each may also be given later with the matching `register_*` method.
    The owner calls `nb_transport_bw` and `invalidate_direct_mem_ptr` on this
    socket to reach the bound initiator.
    """

    kind = "target"

    def __init__(self, module: Module, name: str, *, b_transport: BTransport | None = None,
                 nb_transport_fw: NbFunction | None = None, transport_dbg: TransportDbg | None = None,
                 get_direct_mem_ptr: GetDmi | None = None) -> None:
        super().__init__(module, name)
        self.b_transport_fn = b_transport
        self.nb_transport_fw_fn = nb_transport_fw
        self.transport_dbg_fn = transport_dbg
        self.get_direct_mem_ptr_fn = get_direct_mem_ptr
        self.hop: Hop | None = None

    def register_b_transport(self, fn: BTransport) -> None:
        """Register `fn(trans, delay) -> delay`; only before binding."""
        self._before_binding("b_transport")
        self.b_transport_fn = fn

    def register_nb_transport_fw(self, fn: NbFunction) -> None:
        """Register `fn(trans, phase, delay) -> (sync, phase, delay)`; only before binding."""
        self._before_binding("nb_transport_fw")
        self.nb_transport_fw_fn = fn

    def register_transport_dbg(self, fn: TransportDbg) -> None:
        """Register `fn(trans) -> bytes transferred`; only before binding."""
        self._before_binding("transport_dbg")
        self.transport_dbg_fn = fn

    def register_get_direct_mem_ptr(self, fn: GetDmi) -> None:
        """Register `fn(trans) -> DmiRegion | None`; only before binding."""
        self._before_binding("get_direct_mem_ptr")
        self.get_direct_mem_ptr_fn = fn

    def _before_binding(self, what: str) -> None:
        if self.peer is not None:
            raise ElaborationError(f"target socket '{self.name}': register {what} before binding")

    # -- calls towards the initiator ---------------------------------------------------
    def nb_transport_bw(self, trans: GenericPayload, phase: Phase, delay: int) -> NbResult:
        """Send `phase` (END_REQ or BEGIN_RESP) back to the bound initiator."""
        hop = self.hop
        if hop is None:
            raise SimulationError(f"target socket '{self.name}' is not bound")
        return hop.bw(trans, phase, delay)

    def invalidate_direct_mem_ptr(self, start: int, end: int) -> None:
        """Tell the bound initiator that DMI regions overlapping [start, end) are void."""
        if self.peer is not None and self.peer.invalidate_direct_mem_ptr_fn is not None:
            self.peer.invalidate_direct_mem_ptr_fn(start, end)


class InitiatorSocket(_Socket):
    """The initiator end; call the transport functions on it once bound.

    Args:
        module: the owning module; the socket is named `module.name + '.' + name`.
        name: the socket's own name.
        nb_transport_bw: `fn(trans, phase, delay) -> (sync, phase, delay)`,
            needed only for non-blocking transport.
        invalidate_direct_mem_ptr: `fn(start, end)` (end exclusive), needed
            only by initiators that hold DMI regions.

    After `bind`, these attributes call straight into the target:
    `b_transport(trans, delay) -> delay`, `nb_transport_fw(trans, phase,
    delay) -> (sync, phase, delay)` (protocol-checked),
    `transport_dbg(trans) -> int`, `get_direct_mem_ptr(trans) -> DmiRegion | None`.
    """

    kind = "initiator"

    def __init__(self, module: Module, name: str, *, nb_transport_bw: NbFunction | None = None,
                 invalidate_direct_mem_ptr: InvalidateDmi | None = None) -> None:
        super().__init__(module, name)
        self.nb_transport_bw_fn = nb_transport_bw
        self.invalidate_direct_mem_ptr_fn = invalidate_direct_mem_ptr
        self.hop: Hop | None = None
        # Until bound, the transport attributes explain what is missing.
        self.b_transport: BTransport = self._unbound      # type: ignore[assignment]
        self.nb_transport_fw: NbFunction = self._unbound  # type: ignore[assignment]
        self.transport_dbg: TransportDbg = self._unbound  # type: ignore[assignment]
        self.get_direct_mem_ptr: GetDmi = self._unbound   # type: ignore[assignment]

    def _unbound(self, *args: Any) -> Any:
        raise SimulationError(f"initiator socket '{self.name}' is not bound")

    def register_nb_transport_bw(self, fn: NbFunction) -> None:
        """Register `fn(trans, phase, delay) -> (sync, phase, delay)` for the backward path."""
        if self.hop is not None:
            self.hop.bw_fn = fn
        self.nb_transport_bw_fn = fn

    def register_invalidate_direct_mem_ptr(self, fn: InvalidateDmi) -> None:
        """Register `fn(start, end)`, called when the target voids DMI regions in [start, end)."""
        self.invalidate_direct_mem_ptr_fn = fn

    def bind(self, target: TargetSocket) -> None:
        """Bind to `target`; each end may be bound once.

        Raises:
            ElaborationError: either end is already bound (names all three
                sockets) or `target` is not a TargetSocket.
        """
        if not isinstance(target, TargetSocket):
            raise ElaborationError(f"initiator socket '{self.name}' can only bind a TargetSocket, "
                                   f"got {target!r}")
        if self.peer is not None:
            raise ElaborationError(f"initiator socket '{self.name}' is already bound to "
                                   f"'{self.peer.name}'; cannot also bind it to '{target.name}'")
        if target.peer is not None:
            raise ElaborationError(f"target socket '{target.name}' is already bound to "
                                   f"'{target.peer.name}'; cannot also bind it to '{self.name}'")
        if target.module.sim is not self.module.sim:
            raise ElaborationError(f"sockets '{self.name}' and '{target.name}' belong to "
                                   "different simulators")
        self.peer = target
        target.peer = self
        hop = Hop(f"{self.name} -> {target.name}", target.nb_transport_fw_fn, self.nb_transport_bw_fn)
        self.hop = target.hop = hop
        self.nb_transport_fw = hop.fw  # type: ignore[method-assign]
        target.nb_transport_bw = hop.bw  # type: ignore[method-assign]  # one call less on the hot path
        self.b_transport = target.b_transport_fn or self._missing("b_transport")  # type: ignore[method-assign]
        self.transport_dbg = target.transport_dbg_fn or self._missing("transport_dbg")  # type: ignore[method-assign]
        self.get_direct_mem_ptr = target.get_direct_mem_ptr_fn or _no_dmi  # type: ignore[method-assign]

    def _missing(self, what: str) -> Callable[..., Any]:
        target = self.peer.name

        def missing(*args: Any) -> Any:
            raise SimulationError(f"target socket '{target}' (bound to '{self.name}') registers no {what}")
        return missing


def _no_dmi(trans: GenericPayload) -> None:
    """A target without DMI support never grants a region."""
    return None
