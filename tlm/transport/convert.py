"""Blocking <-> non-blocking conversion for targets that implement only one side.

As `tlm_utils::simple_target_socket` does, following the base protocol:

- nb -> b (the target registers only `b_transport`): BEGIN_REQ is answered
  ACCEPTED; a helper thread runs `b_transport` at the annotated time, waits
  the delay it returns, then sends BEGIN_RESP on the backward path (which
  also ends the request) once the previous response has had its END_RESP.
  END_RESP is answered COMPLETED. Threads are reused between transactions.
- b -> nb (the target registers only `nb_transport_fw`): the blocking call
  becomes awaitable. The transaction enters a queue at the annotated time;
  one helper thread sends it BEGIN_REQ, waits for END_REQ (or the
  annotated time of an UPDATED END_REQ), and the call returns when the
  response begins (END_RESP is sent for the target when it answered
  BEGIN_RESP by return). Backward calls for such a transaction are taken
  by the converter; others reach the initiator as usual.

The target's own calls are protocol-checked on a hop of their own, named
`... (b->nb)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tlm.kernel.event import Event, wait
from tlm.transport.peq import PayloadEventQueue
from tlm.transport.protocol import Hop, NbResult, Phase, Sync

if TYPE_CHECKING:
    from tlm.transport.payload import GenericPayload
    from tlm.transport.sockets import TargetSocket

__all__ = ["Converter"]

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP
ACCEPTED, UPDATED, COMPLETED = Sync.ACCEPTED, Sync.UPDATED, Sync.COMPLETED


class _Handle:
    """One reusable nb -> b thread and the transaction it serves."""

    __slots__ = ("event", "trans")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.trans: Any = None


class Converter:
    """The conversion state of one target socket (see the module docstring)."""

    def __init__(self, target: TargetSocket) -> None:
        self.target = target
        self.sim = target.module.sim
        # nb -> b
        self._idle: list[_Handle] = []
        self._threads = 0
        self._response_in_progress = False
        self._end_response = Event(self.sim, f"{target.name}.end_response")
        # b -> nb
        self._pending: dict[Any, Event] = {}
        self._current: Any = None
        self._end_request: Event | None = None
        self._peq: PayloadEventQueue | None = None
        self._hop: Hop | None = None
        if target.b_transport_fn is None:
            self._end_request = Event(self.sim, f"{target.name}.end_request")
            leaf = target.name.rsplit(".", 1)[-1]
            self._peq = PayloadEventQueue(target.module, f"{leaf}_b2nb_peq")
            self._hop = Hop(f"{target.name} (b->nb)", target.nb_transport_fw_fn, self._bw_pending,
                            target.extended_phases)
        self._b2nb_started = False

    # -- nb -> b ------------------------------------------------------------------------
    def nb_transport_fw(self, trans: GenericPayload, phase: Phase, delay: int) -> NbResult:
        """The target's `nb_transport_fw`, served by its `b_transport`."""
        if phase is BEGIN_REQ:
            if self._idle:
                h = self._idle.pop()
            else:
                h = _Handle(Event(self.sim, f"{self.target.name}.nb2b_{self._threads}.wake"))
                self.sim.spawn(self._nb2b_thread(h), name=f"{self.target.name}.nb2b_thread_{self._threads}")
                self._threads += 1
            h.trans = trans
            h.event.notify(delay)
            return ACCEPTED, phase, delay
        # END_RESP (the hop lets nothing else through on the forward path)
        self._response_in_progress = False
        self._end_response.notify(delay)
        return COMPLETED, phase, delay

    async def _nb2b_thread(self, h: _Handle) -> None:
        target = self.target
        while True:
            await h.event
            trans = h.trans
            b_fn = target.b_transport_fn
            assert b_fn is not None
            t = b_fn(trans, 0)
            if t.__class__ is not int:
                t = await t
            await wait(t)
            while self._response_in_progress:
                await self._end_response
            sync, phase, _ = target.nb_transport_bw(trans, BEGIN_RESP, 0)
            if not (sync is COMPLETED or (sync is UPDATED and phase is END_RESP)):
                self._response_in_progress = True
            h.trans = None
            self._idle.append(h)

    # -- b -> nb ------------------------------------------------------------------------
    async def b_transport(self, trans: GenericPayload, delay: int) -> int:
        """The target's blocking transport, served by its `nb_transport_fw`; returns 0
        (the annotated delay has been waited for)."""
        assert self._peq is not None
        if not self._b2nb_started:   # started by the first call: it waits for the entry put next
            self._b2nb_started = True
            self.sim.spawn(self._b2nb_thread(), name=f"{self.target.name}.b2nb_thread")
        self._peq.notify(trans, None, delay)
        end = Event(self.sim, f"{self.target.name}.b2nb_end")
        self._pending[trans] = end
        await end
        return 0

    def nb_transport_bw(self, trans: GenericPayload, phase: Any, delay: int) -> NbResult:
        """The target's backward calls: those of converted transactions end here."""
        hop = self._hop
        assert hop is not None
        if trans in self._pending:
            return hop.bw(trans, phase, delay)
        outer = self.target.hop
        assert outer is not None
        return outer.bw(trans, phase, delay)

    def _bw_pending(self, trans: GenericPayload, phase: Phase, delay: int) -> NbResult:
        assert self._end_request is not None
        if phase is END_REQ:
            self._end_request.notify(0)
            return ACCEPTED, phase, delay
        # BEGIN_RESP
        if self._current is trans:
            self._end_request.notify(0)
        self._pending.pop(trans).notify(delay)
        return COMPLETED, phase, delay

    async def _b2nb_thread(self) -> None:
        peq, hop, end_request = self._peq, self._hop, self._end_request
        assert peq is not None and hop is not None and end_request is not None
        await peq.get_event()
        while True:
            while (trans := peq.get_next_transaction()) is not None:
                sync, phase, t = hop.fw(trans, BEGIN_REQ, 0)
                if sync is COMPLETED:
                    self._pending.pop(trans).notify(t)
                elif phase is BEGIN_REQ:
                    self._current = trans
                    await end_request
                    self._current = None
                elif phase is END_REQ:
                    await wait(t)
                elif phase is BEGIN_RESP:
                    await wait(t)
                    hop.fw(trans, END_RESP, 0)
                    self._pending.pop(trans).notify(0)
            await peq.get_event()
