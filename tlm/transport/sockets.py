"""Initiator and target sockets: the two ends of a transport binding.

An `InitiatorSocket` is bound once to one `TargetSocket` (`init.bind(target)`).
Binding fills the initiator's `b_transport`, `nb_transport_fw`,
`transport_dbg` and `get_direct_mem_ptr` attributes with the target's
registered functions, so a blocking call costs one Python call and nothing
else; the non-blocking paths go through the hop's protocol checker
(`protocol.Hop`). Unbound sockets fail before time 0 of the first `run()`,
named by their full hierarchical names.

A target's `b_transport` may be an `async def` (it may wait, as IEEE 1666
allows): the initiator then awaits the call, ``delay = await
sock.b_transport(trans, delay)``; `b_transport_is_async` tells which kind
is bound, and `await sock.b_transport_await(trans, delay)` works with both.
A target that registers only one of `b_transport` / `nb_transport_fw` is
reached through the other as well, converted as `simple_target_socket`
does (see `tlm.transport.convert`).

Hierarchical binding: a module's socket may be bound to its parent's socket
of the same kind (``child_init.bind(parent_init)``, ``parent_target.bind(
child_target)``); calls then go from the innermost initiator straight to the
innermost target, whatever order the bindings were made in.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tlm.kernel.errors import SimulationError
from tlm.transport.convert import Converter
from tlm.transport.dmi import DmiDenied
from tlm.transport.errors import ElaborationError
from tlm.transport.protocol import ExtendedPhase, Hop, NbFunction, NbResult, Phase

if TYPE_CHECKING:
    from tlm.kernel.module import Module
    from tlm.transport.dmi import DmiRegion
    from tlm.transport.payload import GenericPayload

__all__ = ["InitiatorSocket", "TargetSocket"]

BTransport = Callable[["GenericPayload", int], Any]   # -> int, or an awaitable of int (async target)
TransportDbg = Callable[["GenericPayload"], int]
GetDmi = Callable[["GenericPayload"], "DmiRegion | DmiDenied | None"]
InvalidateDmi = Callable[[int, int], None]


class _Socket:
    """What both ends share: a hierarchical name, a peer, an elaboration check.

    `peer` is the far end a call reaches (set when the binding chain is
    complete); `bound_to` is the socket this one was bound to directly.
    """

    kind = "socket"

    def __init__(self, module: Module, name: str) -> None:
        if not name or "." in name:
            raise ValueError(f"socket name must be non-empty and without dots, got {name!r}")
        self.module = module
        self.name = f"{module.name}.{name}"
        module.sim.register_name(self.name, self)
        module.sim.at_elaboration(self._check_bound)
        self.peer: Any = None
        self.bound_to: Any = None
        self._inner: Any = None   # the child socket bound hierarchically through this one

    def __repr__(self) -> str:
        bound = f" -> {self.bound_to.name}" if self.bound_to is not None else " (unbound)"
        return f"<{type(self).__name__} {self.name}{bound}>"

    @property
    def bound(self) -> bool:
        """True once `bind` has connected this socket."""
        return self.bound_to is not None

    def _check_bound(self) -> None:
        if self.bound_to is None:
            raise ElaborationError(f"{self.kind} socket '{self.name}' is not bound "
                                   f"(module '{self.module.name}'); bind every socket before run()")

    def _already(self, other: _Socket) -> ElaborationError:
        return ElaborationError(f"{self.kind} socket '{self.name}' is already bound to "
                                f"'{self.bound_to.name}'; cannot also bind it to '{other.name}'")


class TargetSocket(_Socket):
    """The target end. The owner registers the functions it implements.

    Args:
        module: the owning module; the socket is named `module.name + '.' + name`.
        name: the socket's own name.
        b_transport: `fn(trans, delay) -> delay` (blocking, loosely timed),
            or an `async def` of the same signature that may wait.
        nb_transport_fw: `fn(trans, phase, delay) -> (sync, phase, delay)`.
        transport_dbg: `fn(trans) -> bytes transferred`; no time passes.
        get_direct_mem_ptr: `fn(trans) -> DmiRegion | DmiDenied | None`
            (None: denied over the whole address space).
        extended_phases: the `ExtendedPhase`s `nb_transport_fw` understands;
            others are answered ACCEPTED without calling it.

    Each may also be given later with the matching `register_*` method.
    The owner calls `nb_transport_bw` and `invalidate_direct_mem_ptr` on this
    socket to reach the bound initiator. `parent_target.bind(child_target)`
    makes the child serve the parent's bindings.
    """

    kind = "target"

    def __init__(self, module: Module, name: str, *, b_transport: BTransport | None = None,
                 nb_transport_fw: NbFunction | None = None, transport_dbg: TransportDbg | None = None,
                 get_direct_mem_ptr: GetDmi | None = None,
                 extended_phases: tuple[ExtendedPhase, ...] = ()) -> None:
        super().__init__(module, name)
        self.b_transport_fn = b_transport
        self.nb_transport_fw_fn = nb_transport_fw
        self.transport_dbg_fn = transport_dbg
        self.get_direct_mem_ptr_fn = get_direct_mem_ptr
        self.extended_phases = frozenset(extended_phases)
        self.hop: Hop | None = None
        self._converter: Converter | None = None

    def register_b_transport(self, fn: BTransport) -> None:
        """Register `fn(trans, delay) -> delay` (plain or async); only before binding."""
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
        """Register `fn(trans) -> DmiRegion | DmiDenied | None`; only before binding."""
        self._before_binding("get_direct_mem_ptr")
        self.get_direct_mem_ptr_fn = fn

    def _before_binding(self, what: str) -> None:
        if self.peer is not None:
            raise ElaborationError(f"target socket '{self.name}': register {what} before binding")

    @property
    def b_transport_is_async(self) -> bool:
        """True when a blocking call must be awaited (an async `b_transport`, or only nb registered)."""
        fn = self.b_transport_fn
        if fn is None:
            return self.nb_transport_fw_fn is not None
        return inspect.iscoroutinefunction(fn)

    def bind(self, other: TargetSocket | InitiatorSocket) -> None:
        """`parent.bind(child)`: the child target serves this socket's bindings.

        Binding an InitiatorSocket is the same as `initiator.bind(self)`.
        """
        if isinstance(other, InitiatorSocket):
            other.bind(self)
            return
        if not isinstance(other, TargetSocket):
            raise ElaborationError(f"target socket '{self.name}' can only bind a TargetSocket "
                                   f"(hierarchically) or an InitiatorSocket, got {other!r}")
        if not _encloses(self.module, other.module):
            raise ElaborationError(f"target socket '{self.name}' can only forward to a TargetSocket of "
                                   f"a module inside '{self.module.name}'; got {other!r}")
        if other.bound_to is not None:
            raise other._already(self)
        if self._inner is not None:
            raise ElaborationError(f"target socket '{self.name}' already forwards to "
                                   f"'{self._inner.name}'; cannot also forward to '{other.name}'")
        _same_sim(self, other)
        self._inner = other
        other.bound_to = self
        top = self
        while isinstance(top.bound_to, TargetSocket):
            top = top.bound_to
        if isinstance(top.bound_to, InitiatorSocket):
            _resolve(top.bound_to)

    # -- calls towards the initiator ---------------------------------------------------
    def nb_transport_bw(self, trans: GenericPayload, phase: Phase | ExtendedPhase, delay: int) -> NbResult:
        """Send `phase` (END_REQ or BEGIN_RESP) back to the bound initiator."""
        hop = self.hop
        if hop is None:
            raise SimulationError(f"target socket '{self.name}' is not bound")
        return hop.bw(trans, phase, delay)  # type: ignore[arg-type]

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
        extended_phases: the `ExtendedPhase`s `nb_transport_bw` understands.

    After `bind`, these attributes call straight into the target:
    `b_transport(trans, delay) -> delay` (an awaitable of it when the
    target's is async), `nb_transport_fw(trans, phase, delay) -> (sync,
    phase, delay)` (protocol-checked), `transport_dbg(trans) -> int`,
    `get_direct_mem_ptr(trans) -> DmiRegion | DmiDenied`.

    `b_transport_is_async` is True when the bound target's `b_transport` is
    async (or the target registers only `nb_transport_fw`). An interconnect
    such as `Router` registers a plain `b_transport` that passes on the
    awaitable of an async target behind it; an initiator that may meet such
    targets calls `await socket.b_transport_await(trans, delay)`.
    """

    kind = "initiator"

    def __init__(self, module: Module, name: str, *, nb_transport_bw: NbFunction | None = None,
                 invalidate_direct_mem_ptr: InvalidateDmi | None = None,
                 extended_phases: tuple[ExtendedPhase, ...] = ()) -> None:
        super().__init__(module, name)
        self.nb_transport_bw_fn = nb_transport_bw
        self.invalidate_direct_mem_ptr_fn = invalidate_direct_mem_ptr
        self.extended_phases = frozenset(extended_phases)
        self.hop: Hop | None = None
        self.b_transport_is_async = False
        # Until bound, the transport attributes explain what is missing.
        self.b_transport: BTransport = self._unbound      # type: ignore[assignment]
        self.nb_transport_fw: NbFunction = self._unbound  # type: ignore[assignment]
        self.transport_dbg: TransportDbg = self._unbound  # type: ignore[assignment]
        self.get_direct_mem_ptr: Callable[[GenericPayload], DmiRegion | DmiDenied] = self._unbound  # type: ignore[assignment]

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

    async def b_transport_await(self, trans: GenericPayload, delay: int) -> int:
        """`b_transport` for initiators that do not know whether the target waits."""
        result = self.b_transport(trans, delay)
        if result.__class__ is int:
            return result  # type: ignore[no-any-return]
        return await result  # type: ignore[no-any-return]

    def bind(self, target: Any) -> None:
        """Bind to `target`: a TargetSocket, a MultiTargetSocket, or (hierarchically)
        the parent module's InitiatorSocket. Each end may be bound once.

        Raises:
            ElaborationError: either end is already bound (names all three
                sockets) or `target` is not a socket this one can bind.
        """
        if hasattr(target, "_port_for"):   # a MultiTargetSocket: one port per initiator
            if self.bound_to is not None:
                raise self._already(target)
            _same_sim(self, target)
            target = target._port_for(self)
        if isinstance(target, InitiatorSocket):
            self._bind_outer(target)
            return
        if not isinstance(target, TargetSocket):
            raise ElaborationError(f"initiator socket '{self.name}' can only bind a TargetSocket, "
                                   f"got {target!r}")
        if self.bound_to is not None:
            raise self._already(target)
        if target.bound_to is not None:
            raise target._already(self)
        _same_sim(self, target)
        self.bound_to = target
        target.bound_to = self
        _resolve(self)

    def _bind_outer(self, outer: InitiatorSocket) -> None:
        if not _encloses(outer.module, self.module):
            raise ElaborationError(f"initiator socket '{self.name}' can only bind a TargetSocket, or "
                                   f"an InitiatorSocket of an enclosing module; got {outer!r}")
        if self.bound_to is not None:
            raise self._already(outer)
        if outer._inner is not None:
            raise ElaborationError(f"initiator socket '{outer.name}' already carries '{outer._inner.name}'; "
                                   f"cannot also carry '{self.name}'")
        _same_sim(self, outer)
        self.bound_to = outer
        outer._inner = self
        _resolve(self)

    def _connect(self, target: TargetSocket, carriers: list[InitiatorSocket]) -> None:
        """Make calls on this socket (and on the `carriers` it is bound through) reach `target`."""
        self.peer = target
        target.peer = self
        fw_fn = target.nb_transport_fw_fn
        b_fn = target.b_transport_fn
        conv = None
        if (fw_fn is None) != (b_fn is None):   # one side only: convert, as simple_target_socket
            conv = target._converter
            if conv is None:
                conv = target._converter = Converter(target)
            if fw_fn is None:
                fw_fn = conv.nb_transport_fw
        hop = Hop(f"{self.name} -> {target.name}", fw_fn, self.nb_transport_bw_fn,
                  target.extended_phases if fw_fn is target.nb_transport_fw_fn else frozenset(),
                  self.extended_phases)
        self.hop = target.hop = hop
        if conv is not None and b_fn is None:
            target.nb_transport_bw = conv.nb_transport_bw  # type: ignore[method-assign]
            b_fn = conv.b_transport
        else:
            target.nb_transport_bw = hop.bw  # type: ignore[method-assign]  # one call less on the hot path
        for s in (self, *carriers):
            s.hop = hop
            s.peer = target
            s.nb_transport_fw = hop.fw  # type: ignore[method-assign]
            s.b_transport = b_fn or self._missing("b_transport")  # type: ignore[method-assign]
            s.b_transport_is_async = target.b_transport_is_async
            s.transport_dbg = target.transport_dbg_fn or self._missing("transport_dbg")  # type: ignore[method-assign]
            s.get_direct_mem_ptr = _dmi_call(target.get_direct_mem_ptr_fn)  # type: ignore[method-assign]

    def _missing(self, what: str) -> Callable[..., Any]:
        target = self.peer.name

        def missing(*args: Any) -> Any:
            raise SimulationError(f"target socket '{target}' (bound to '{self.name}') registers no {what}")
        return missing


def _encloses(outer: Any, inner: Any) -> bool:
    """True when module `outer` is a proper ancestor of module `inner`."""
    m = getattr(inner, "parent", None)
    while m is not None:
        if m is outer:
            return True
        m = getattr(m, "parent", None)
    return False


def _same_sim(a: Any, b: Any) -> None:
    if b.module.sim is not a.module.sim:
        raise ElaborationError(f"sockets '{a.name}' and '{b.name}' belong to different simulators")


def _resolve(init: InitiatorSocket) -> None:
    """Connect the innermost initiator of `init`'s chain to the innermost target, once both are known."""
    top = init
    while isinstance(top.bound_to, InitiatorSocket):
        top = top.bound_to
    target = top.bound_to
    if target is None:
        return
    while target._inner is not None:
        target = target._inner
    chain = [top]
    while chain[-1]._inner is not None:
        chain.append(chain[-1]._inner)
    leaf = chain.pop()
    leaf._connect(target, chain)


def _dmi_call(fn: GetDmi | None) -> Callable[[GenericPayload], DmiRegion | DmiDenied]:
    """The initiator's `get_direct_mem_ptr`: a refusal always comes back as a `DmiDenied`."""
    if fn is None:
        return _no_dmi

    def get_direct_mem_ptr(trans: GenericPayload) -> DmiRegion | DmiDenied:
        region = fn(trans)
        return DmiDenied() if region is None else region
    return get_direct_mem_ptr


def _no_dmi(trans: GenericPayload) -> DmiDenied:
    """A target without DMI support denies it over the whole address space."""
    return DmiDenied()
