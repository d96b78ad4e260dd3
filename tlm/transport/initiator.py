"""A ready-made approximately-timed initiator port for thread processes.

`AtInitiator` owns an `InitiatorSocket` and runs one transaction at a time
through the four-phase base protocol: BEGIN_REQ, then END_REQ and BEGIN_RESP
from the target (by return value or on the backward path), then END_RESP.
`await port.transport(trans)` returns at the time the response began, so
the awaiting thread sees the target's timing as kernel time. Loosely timed
initiators need no helper: they call `socket.b_transport` directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlm.kernel.event import Event, wait
from tlm.transport.payload import GenericPayload
from tlm.transport.protocol import NbResult, Phase, Sync
from tlm.transport.sockets import InitiatorSocket

if TYPE_CHECKING:
    from tlm.kernel.module import Module

__all__ = ["AtInitiator"]

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP


class AtInitiator:
    """An initiator socket plus the four-phase handshake, one transaction at a time.

    Args:
        module: the owning module.
        name: the socket's name (`self.socket`).

    Attributes:
        socket: the InitiatorSocket to bind.
        end_req_time / begin_resp_time: when the last transaction's request
            was accepted and its response began (ps), for timing checks.

    Usage::

        port = AtInitiator(self, "bus")
        ...
        await port.transport(GenericPayload(Command.READ, 0x40, buf))
    """

    __slots__ = ("socket", "sim", "_trans", "_resp", "_resp_at", "_req_ended", "end_req_time",
                 "begin_resp_time")

    def __init__(self, module: Module, name: str = "socket") -> None:
        self.socket = InitiatorSocket(module, name, nb_transport_bw=self._nb_transport_bw)
        self.sim = module.sim
        self._trans: GenericPayload | None = None
        self._resp = Event(self.sim, f"{self.socket.name}.response")
        self._resp_at: int | None = None
        self._req_ended = False
        self.end_req_time = 0
        self.begin_resp_time = 0

    def _nb_transport_bw(self, trans: GenericPayload, phase: Phase, delay: int) -> NbResult:
        if trans is not self._trans:
            raise RuntimeError(f"{self.socket.name}: backward call for {trans!r}, which is not in flight")
        if phase is END_REQ:
            self._req_ended = True
            self.end_req_time = self.sim.now + delay
        else:
            self._got_response(delay)
        return Sync.ACCEPTED, phase, delay

    def _got_response(self, delay: int) -> None:
        if not self._req_ended:   # BEGIN_RESP without END_REQ: the request ended too
            self._req_ended = True
            self.end_req_time = self.sim.now + delay
        self._resp_at = self.sim.now + delay
        self._resp.notify(delay)

    async def transport(self, trans: GenericPayload, delay: int = 0) -> None:
        """Run `trans` through BEGIN_REQ ... END_RESP; returns when the response has begun.

        `delay` postpones BEGIN_REQ by that many ps (an annotated start).
        Check `trans.response_status` afterwards.
        """
        if self._trans is not None:
            raise RuntimeError(f"{self.socket.name}: transport() while {self._trans!r} is in flight")
        self._trans = trans
        self._resp_at = None
        self._req_ended = False
        start = self.sim.now + delay
        self.end_req_time = start
        try:
            sync, phase, d = self.socket.nb_transport_fw(trans, BEGIN_REQ, delay)
            if sync is Sync.COMPLETED:
                self.end_req_time = self.begin_resp_time = self.sim.now + d
                await wait(d)
                return
            if sync is Sync.UPDATED:
                if phase is END_REQ:
                    self._req_ended = True
                    self.end_req_time = self.sim.now + d
                elif phase is BEGIN_RESP and self._resp_at is None:
                    self._got_response(d)
            while self._resp_at is None or self._resp_at > self.sim.now:
                await self._resp
            self.begin_resp_time = self.sim.now
            sync, phase, d = self.socket.nb_transport_fw(trans, END_RESP, 0)
            if d:
                await wait(d)
        finally:
            self._trans = None
