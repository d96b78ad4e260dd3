"""An interconnect: decodes addresses and forwards transactions to targets.

The address map is a list of `AddressRange(name, start, size, offset)`; a
transaction whose bytes lie inside one range goes to the initiator socket
`initiators[name]` with its address translated to `address - start +
offset` (restored before the initiator sees the answer). Anything else is
answered ADDRESS_ERROR by the router itself.

Loosely timed calls pass straight through. Approximately timed calls go
through the router's payload event queue, so the router arbitrates like a
bus: it keeps one request in flight per target until that target's END_REQ
(queueing the others, first come first served) and one response in flight
per initiator until its END_RESP, which is exactly what the base protocol
asks of each hop. Debug transport and DMI are forwarded; DMI regions are
translated into the initiators' address space and invalidations go to every
initiator.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from tlm.kernel.module import Module
from tlm.kernel.simulator import Simulator
from tlm.transport.dmi import DMI_MAX, DmiDenied, DmiRegion
from tlm.transport.errors import ElaborationError
from tlm.transport.payload import GenericPayload, ResponseStatus
from tlm.transport.peq import PayloadEventQueue
from tlm.transport.protocol import NbResult, Phase, Sync
from tlm.transport.sockets import InitiatorSocket, TargetSocket

__all__ = ["AddressRange", "Router"]

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP
ACCEPTED, UPDATED, COMPLETED = Sync.ACCEPTED, Sync.UPDATED, Sync.COMPLETED


@dataclass(frozen=True)
class AddressRange:
    """One region of the address map: [start, start + size) -> target `name`.

    `offset` is added to the address within the region, e.g. the `base` of a
    Memory that expects its own absolute addresses.
    """

    name: str
    start: int
    size: int
    offset: int = 0

    @property
    def end(self) -> int:
        return self.start + self.size


class _Route:
    """Where one in-flight AT transaction came from and how far it has got.

    The router's queue carries these records rather than the payloads, because
    an initiator may start a new transaction with the same payload object
    while entries of the old one are still queued.
    """

    __slots__ = ("trans", "port", "target", "address", "req_ended", "end_req_passed", "target_done")

    def __init__(self, trans: GenericPayload, port: int, target: int, address: int) -> None:
        self.trans = trans
        self.port = port            # index of the router's target socket it came in on
        self.target = target        # index of the range / initiator socket it goes out on
        self.address = address      # the initiator's address, restored on the way back
        self.req_ended = False      # the target ended the request (END_REQ queued)
        self.end_req_passed = False  # the initiator has been told END_REQ
        self.target_done = False    # the target hop is closed (COMPLETED or END_RESP sent)


class Router(Module):
    """Address decoder with `n_initiators` target sockets and one initiator socket per range.

    Args:
        parent: the owning Module or the Simulator.
        name: the module's own name.
        address_map: `AddressRange`s or `(name, start, size)` / `(name, start,
            size, offset)` tuples, or a mapping `{name: (start, size[, offset])}`;
            names unique and ranges disjoint.
        n_initiators: how many initiators connect (`targets[i]`).
        latency: ps added to every request passing through.

    Raises:
        ElaborationError: two ranges overlap (both are named), a name repeats,
            or a range is empty.

    Usage::

        router = Router(top, "bus", [("mem0", 0x0000, 0x1000), ("mem1", 0x1000, 0x1000)])
        cpu.socket.bind(router.targets[0])
        router.initiators["mem0"].bind(mem0.socket)
    """

    def __init__(self, parent: Simulator | Module, name: str,
                 address_map: Iterable[AddressRange | tuple[str, int, int] | tuple[str, int, int, int]]
                 | Mapping[str, tuple[int, int] | tuple[int, int, int]],
                 *, n_initiators: int = 1, latency: int = 0) -> None:
        for label, value, low in (("n_initiators", n_initiators, 1), ("latency", latency, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"Router {name!r}: {label} must be an int >= {low}, got {value!r}")
        super().__init__(parent, name)
        if isinstance(address_map, Mapping):   # {"name": (start, size[, offset])}
            address_map = [(k, *v) for k, v in address_map.items()]
        ranges = [r if isinstance(r, AddressRange) else AddressRange(*r) for r in address_map]
        self._check_map(ranges)
        ranges.sort(key=lambda r: r.start)
        self.ranges = ranges
        self._starts = [r.start for r in ranges]
        self.latency = latency
        self.targets = [TargetSocket(self, f"target{i}", b_transport=self.b_transport,
                                     nb_transport_fw=partial(self._nb_transport_fw, i),
                                     transport_dbg=self.transport_dbg,
                                     get_direct_mem_ptr=self.get_direct_mem_ptr)
                        for i in range(n_initiators)]
        self._out = [InitiatorSocket(self, f"to_{r.name}", nb_transport_bw=partial(self._nb_transport_bw, i),
                                     invalidate_direct_mem_ptr=partial(self._invalidate, i))
                     for i, r in enumerate(ranges)]
        self.initiators = {r.name: s for r, s in zip(ranges, self._out)}
        self._peq = PayloadEventQueue(self, "peq", self._on_peq)
        self._routes: dict[GenericPayload, _Route] = {}
        self._req_busy = [False] * len(ranges)
        self._req_pending = [0] * len(ranges)   # BEGIN_REQs still in the queue, per target
        self._req_queue: list[deque[_Route]] = [deque() for _ in ranges]
        self._resp_busy: list[_Route | None] = [None] * n_initiators
        self._resp_queue: list[deque[_Route]] = [deque() for _ in range(n_initiators)]

    def _check_map(self, ranges: list[AddressRange]) -> None:
        seen: set[str] = set()
        for r in ranges:
            if r.name in seen:
                raise ElaborationError(f"router '{self.name}': address range name '{r.name}' repeats")
            seen.add(r.name)
            if r.size <= 0 or r.start < 0:
                raise ElaborationError(f"router '{self.name}': range '{r.name}' "
                                       f"[{r.start:#x}, +{r.size:#x}) is empty or negative")
        ordered = sorted(ranges, key=lambda r: r.start)
        for a, b in zip(ordered, ordered[1:]):
            if b.start < a.end:
                raise ElaborationError(
                    f"router '{self.name}': range '{a.name}' [{a.start:#x}, {a.end:#x}) overlaps "
                    f"range '{b.name}' [{b.start:#x}, {b.end:#x})")

    def decode(self, address: int, length: int = 1) -> int | None:
        """Index of the range holding [address, address + length), or None."""
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0:
            return None
        r = self.ranges[i]
        if address + length > r.start + r.size:
            return None
        return i

    def _decode_trans(self, trans: GenericPayload) -> int | None:
        try:
            n = trans.length
            sw = trans.streaming_width
            if sw is not None and 0 < sw < n:
                n = sw
            return self.decode(trans.address, max(n, 1))
        except TypeError:
            return None

    # -- blocking transport and debug ------------------------------------------------------
    def b_transport(self, trans: GenericPayload, delay: int) -> int:
        """Forward to the decoded target; ADDRESS_ERROR when nothing is mapped there.

        When the target's `b_transport` is async, this returns an awaitable
        too (the caller awaits it, see `InitiatorSocket.b_transport`).
        """
        # Decoding is inlined from `_decode_trans`: this is the LT hot path.
        address = trans.address
        try:
            n = trans.length
            sw = trans.streaming_width
            if sw is not None and 0 < sw < n:
                n = sw
            i = bisect.bisect_right(self._starts, address) - 1
            r = self.ranges[i] if i >= 0 else None
            if r is None or address + (n if n > 0 else 1) > r.start + r.size:
                r = None
        except TypeError:
            r = None
        if r is None:
            trans.response_status = ResponseStatus.ADDRESS_ERROR
            return delay
        trans.address = address - r.start + r.offset
        try:
            result = self._out[i].b_transport(trans, delay + self.latency)
        except BaseException:
            trans.address = address
            raise
        if result.__class__ is int:
            trans.address = address
            return result  # type: ignore[no-any-return]
        # An async target: the caller awaits; the address is restored when it is done.
        return self._await_target(result, trans, address)  # type: ignore[return-value]

    @staticmethod
    async def _await_target(pending: Any, trans: GenericPayload, address: int) -> int:
        try:
            return await pending  # type: ignore[no-any-return]
        finally:
            trans.address = address

    def transport_dbg(self, trans: GenericPayload) -> int:
        """Forward a debug access, clipped to the range of its first byte; 0 when unmapped."""
        address, length = trans.address, trans.length
        try:
            i = self.decode(address)
            if i is None:
                return 0
            r = self.ranges[i]
            trans.address = address - r.start + r.offset
            trans.length = min(length, r.end - address)
            return self._out[i].transport_dbg(trans)
        except TypeError:   # a malformed payload moves nothing
            return 0
        finally:
            trans.address, trans.length = address, length

    # -- DMI ----------------------------------------------------------------------------
    def get_direct_mem_ptr(self, trans: GenericPayload) -> DmiRegion | DmiDenied:
        """Forward the request; the answer is moved into this side's addresses and clipped
        to the range. An unmapped address is denied over the hole it falls in."""
        try:
            i = self.decode(trans.address)
        except TypeError:
            return DmiDenied()
        if i is None:
            return self._hole(trans.address)
        r = self.ranges[i]
        address = trans.address
        trans.address = address - r.start + r.offset
        try:
            region = self._out[i].get_direct_mem_ptr(trans)
        finally:
            trans.address = address
        moved = region.translated(r.start - r.offset, r.start, r.end)
        return DmiDenied(r.start, r.end) if moved is None else moved

    def _hole(self, address: int) -> DmiDenied:
        """The unmapped gap around `address`, between its neighbouring ranges."""
        if address < 0:
            return DmiDenied()
        i = bisect.bisect_right(self._starts, address)
        lo = self.ranges[i - 1].end if i > 0 else 0
        hi = self.ranges[i].start if i < len(self.ranges) else DMI_MAX
        return DmiDenied(lo, hi)

    def _invalidate(self, i: int, start: int, end: int) -> None:
        r = self.ranges[i]
        shift = r.start - r.offset
        lo, hi = max(start + shift, r.start), min(end + shift, r.end)
        if lo < hi:
            for s in self.targets:
                s.invalidate_direct_mem_ptr(lo, hi)

    # -- approximately timed: forward path ----------------------------------------------------
    def _nb_transport_fw(self, port: int, trans: GenericPayload, phase: Phase, delay: int) -> NbResult:
        if phase is BEGIN_REQ:
            i = self._decode_trans(trans)
            if i is None:
                trans.response_status = ResponseStatus.ADDRESS_ERROR
                return COMPLETED, phase, delay
            r = self.ranges[i]
            route = _Route(trans, port, i, trans.address)
            self._routes[trans] = route
            trans.address = trans.address - r.start + r.offset
            if self._req_busy[i] or self._req_pending[i]:
                # Arbitrate at the annotated time, first come first served.
                self._req_pending[i] += 1
                self._peq.notify(route, BEGIN_REQ, delay + self.latency)
                return ACCEPTED, phase, delay
            return self._forward_request(route, delay + self.latency)
        # END_RESP from the initiator: its response slot frees at the annotated time.
        self._end_response(trans, delay)
        return COMPLETED, phase, delay

    def _forward_request(self, route: _Route, delay: int) -> NbResult:
        """Fast path: the target is free, so the request goes on now with its annotation,
        and what the target returns is passed back as the return value."""
        trans = route.trans
        self._req_busy[route.target] = True
        sync, phase, d = self._out[route.target].nb_transport_fw(trans, BEGIN_REQ, delay)
        if sync is ACCEPTED:
            return ACCEPTED, BEGIN_REQ, delay
        route.req_ended = route.end_req_passed = True
        if d == 0:
            self._req_busy[route.target] = False   # nothing can be queued behind it yet
        else:
            self._peq.notify(route, END_REQ, d)    # frees the target's request slot at d
        if sync is COMPLETED:
            route.target_done = True
            self._peq.notify(route, BEGIN_RESP, d)
        elif phase is BEGIN_RESP:
            self._peq.notify(route, BEGIN_RESP, d)
        return UPDATED, END_REQ, d

    def _end_response(self, trans: GenericPayload, delay: int) -> None:
        route = self._routes.pop(trans)
        if not route.target_done:
            route.target_done = True
            self._out[route.target].nb_transport_fw(trans, END_RESP, delay)
        if delay == 0 and not self._resp_queue[route.port]:
            self._resp_busy[route.port] = None   # nothing waits for the slot: skip the queue round
        else:
            self._peq.notify(route, END_RESP, delay)

    # -- approximately timed: backward path ---------------------------------------------------
    def _nb_transport_bw(self, target: int, trans: GenericPayload, phase: Phase, delay: int) -> NbResult:
        route = self._routes[trans]
        port = route.port
        if (phase is BEGIN_RESP and delay == 0 and route.req_ended and self._resp_busy[port] is None
                and not self._resp_queue[port]):
            # Fast path: the initiator's response slot is free, pass BEGIN_RESP on now
            # (it implies END_REQ on the initiator's hop if that was still due).
            route.end_req_passed = True
            trans.address = route.address
            self._resp_busy[port] = route
            sync, ph, d = self.targets[port].nb_transport_bw(trans, BEGIN_RESP, 0)
            if sync is COMPLETED or (sync is UPDATED and ph is END_RESP):
                route.target_done = True   # the target learns it from our COMPLETED
                self._end_response(trans, d)
                return COMPLETED, phase, d
            return ACCEPTED, phase, delay
        if not route.req_ended:
            route.req_ended = True
            self._peq.notify(route, END_REQ, delay)
        if phase is BEGIN_RESP:
            self._peq.notify(route, BEGIN_RESP, delay)
        return ACCEPTED, phase, delay

    # -- the queue: everything happens at its annotated time ------------------------------------
    def _on_peq(self, route: _Route, phase: Phase | None) -> None:
        if phase is BEGIN_REQ:
            self._req_pending[route.target] -= 1
            self._req_queue[route.target].append(route)
            self._send_request(route.target)
        elif phase is END_REQ:
            self._req_busy[route.target] = False
            if not route.end_req_passed:
                route.end_req_passed = True
                self.targets[route.port].nb_transport_bw(route.trans, END_REQ, 0)
            self._send_request(route.target)
        elif phase is BEGIN_RESP:
            self._resp_queue[route.port].append(route)
            self._send_response(route.port)
        else:  # END_RESP has reached its time: the initiator's response slot is free
            self._resp_busy[route.port] = None
            self._send_response(route.port)

    def _send_request(self, target: int) -> None:
        queue = self._req_queue[target]
        if self._req_busy[target] or not queue:
            return
        route = queue.popleft()
        self._req_busy[target] = True
        sync, phase, delay = self._out[target].nb_transport_fw(route.trans, BEGIN_REQ, 0)
        if sync is ACCEPTED:
            return
        if not route.req_ended:
            route.req_ended = True
            self._peq.notify(route, END_REQ, delay)
        if sync is COMPLETED:
            route.target_done = True
            self._peq.notify(route, BEGIN_RESP, delay)
        elif phase is BEGIN_RESP:
            self._peq.notify(route, BEGIN_RESP, delay)

    def _send_response(self, port: int) -> None:
        queue = self._resp_queue[port]
        if self._resp_busy[port] is not None or not queue:
            return
        route = queue.popleft()
        trans = route.trans
        trans.address = route.address
        self._resp_busy[port] = route
        sync, phase, delay = self.targets[port].nb_transport_bw(trans, BEGIN_RESP, 0)
        if sync is COMPLETED or (sync is UPDATED and phase is END_RESP):
            self._end_response(trans, delay)
