"""Phases, sync values and the base-protocol checker of non-blocking transport.

Each bound initiator/target socket pair is one *hop*. The `Hop` object sits
on it and checks every `nb_transport_fw`/`nb_transport_bw` call and return
against the TLM-2.0 base protocol:

- forward calls carry BEGIN_REQ or END_RESP, backward calls END_REQ or
  BEGIN_RESP; a return value of UPDATED carries the next phase;
- a transaction moves BEGIN_REQ -> END_REQ -> BEGIN_RESP -> END_RESP, where
  BEGIN_RESP also ends the request, and COMPLETED ends it at any point;
- request exclusion: a second BEGIN_REQ on the hop waits for the first
  request's END_REQ;
- response exclusion: a second BEGIN_RESP on the hop waits for the first
  response's END_RESP.

A broken rule raises `ProtocolError` naming the hop and the rule. The state
changes *before* the peer is called, so a peer may answer re-entrantly.

Extended phases (`ExtendedPhase`, DECLARE_EXTENDED_PHASE) are *ignorable*
phases: they may travel either way while a transaction is open on the hop
and change none of its state. A socket lists the extended phases its owner
understands; any other one is answered ACCEPTED by the hop without calling
the owner, which is what the base protocol asks of a component that does
not know the phase.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from tlm.transport.errors import ProtocolError

if TYPE_CHECKING:
    from tlm.transport.payload import GenericPayload

__all__ = ["ExtendedPhase", "Hop", "NbResult", "Phase", "Sync"]


class Phase(IntEnum):
    """The four phases of the base protocol (tlm_phase)."""

    BEGIN_REQ = 1
    END_REQ = 2
    BEGIN_RESP = 3
    END_RESP = 4


class ExtendedPhase:
    """A phase beyond the base four (DECLARE_EXTENDED_PHASE); ignorable on a base-protocol hop.

    Each instance is a distinct phase, compared by identity; `value` numbers
    them after the base phases in declaration order.

    Usage::

        PROBE = ExtendedPhase("PROBE")
        target = TargetSocket(dev, "t", nb_transport_fw=fw, extended_phases=(PROBE,))
    """

    __slots__ = ("name", "value")
    _count = 0

    def __init__(self, name: str) -> None:
        if not name:
            raise ValueError("an extended phase needs a name")
        ExtendedPhase._count += 1
        self.name = name
        self.value = len(Phase) + ExtendedPhase._count

    def __repr__(self) -> str:
        return f"<ExtendedPhase {self.name}>"

    def __str__(self) -> str:
        return self.name


AnyPhase = Phase | ExtendedPhase


class Sync(IntEnum):
    """What a non-blocking call returns first (tlm_sync_enum)."""

    ACCEPTED = 0
    UPDATED = 1
    COMPLETED = 2


NbResult = tuple[Sync, Any, int]
NbFunction = Callable[["GenericPayload", Any, int], NbResult]

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP
ACCEPTED, UPDATED, COMPLETED = Sync.ACCEPTED, Sync.UPDATED, Sync.COMPLETED


class Hop:
    """Protocol state of one bound socket pair; wraps its nb calls.

    Args:
        name: "initiator -> target", used in every error message.
        fw: the target's registered `nb_transport_fw`, or None.
        bw: the initiator's registered `nb_transport_bw`, or None.
    """

    __slots__ = ("name", "fw_fn", "bw_fn", "phase_of", "req_open", "resp_open", "fw_phases", "bw_phases")

    def __init__(self, name: str, fw: NbFunction | None, bw: NbFunction | None,
                 fw_phases: frozenset[ExtendedPhase] = frozenset(),
                 bw_phases: frozenset[ExtendedPhase] = frozenset()) -> None:
        self.name = name
        self.fw_fn = fw
        self.bw_fn = bw
        self.fw_phases = fw_phases   # extended phases the target understands
        self.bw_phases = bw_phases   # extended phases the initiator understands
        self.phase_of: dict[Any, Phase] = {}   # open transactions -> last phase on this hop
        self.req_open: Any = None              # transaction whose request awaits END_REQ
        self.resp_open: Any = None             # transaction whose response awaits END_RESP

    def _error(self, trans: Any, rule: str) -> ProtocolError:
        return ProtocolError(f"{self.name}: {trans!r}: {rule}")

    # -- state transitions ---------------------------------------------------------
    def _to(self, trans: Any, phase: Phase) -> None:
        """Apply `phase` to the state of `trans`, or raise the rule it breaks."""
        cur = self.phase_of.get(trans)
        if phase is BEGIN_REQ:
            if cur is not None:
                raise self._error(trans, f"BEGIN_REQ for a transaction already open here (in {cur.name})")
            if self.req_open is not None:
                raise self._error(trans, f"BEGIN_REQ before END_REQ of the previous request "
                                         f"{self.req_open!r} (request exclusion rule)")
            self.phase_of[trans] = BEGIN_REQ
            self.req_open = trans
        elif phase is END_REQ:
            if cur is not BEGIN_REQ:
                raise self._error(trans, f"END_REQ in phase {_name(cur)}; only after BEGIN_REQ")
            self.phase_of[trans] = END_REQ
            self.req_open = None
        elif phase is BEGIN_RESP:
            if cur is not BEGIN_REQ and cur is not END_REQ:
                raise self._error(trans, f"BEGIN_RESP in phase {_name(cur)}; only after BEGIN_REQ/END_REQ")
            if self.resp_open is not None:
                raise self._error(trans, f"BEGIN_RESP while the response of {self.resp_open!r} "
                                         "awaits END_RESP (response exclusion rule)")
            if self.req_open is trans:   # BEGIN_RESP implies END_REQ
                self.req_open = None
            self.phase_of[trans] = BEGIN_RESP
            self.resp_open = trans
        else:  # END_RESP
            if cur is not BEGIN_RESP:
                raise self._error(trans, f"END_RESP in phase {_name(cur)}; only after BEGIN_RESP")
            self._close(trans)

    def _close(self, trans: Any) -> None:
        self.phase_of.pop(trans, None)
        if self.req_open is trans:
            self.req_open = None
        if self.resp_open is trans:
            self.resp_open = None

    def _returned(self, trans: Any, sent: AnyPhase, result: NbResult, allowed: tuple[Phase, ...],
                  direction: str) -> None:
        sync, phase, delay = result
        if delay.__class__ is not int or delay < 0:
            raise self._error(trans, f"{direction} call returned a bad delay {delay!r} (int ps >= 0)")
        if sync is ACCEPTED:
            return
        if sync is COMPLETED:
            self._close(trans)
            return
        if sync is not UPDATED:
            raise self._error(trans, f"{direction} call returned {sync!r}, not a Sync value")
        if phase not in allowed:
            raise self._error(trans, f"{direction} call for {sent.name} returned UPDATED with "
                                     f"{_name(phase)}; allowed: {', '.join(p.name for p in allowed) or 'none'}")
        self._to(trans, phase)

    # -- the two paths ------------------------------------------------------------------
    # The common transitions are inlined (this is the AT hot path); anything
    # unusual goes through `_to`, which also words the errors.
    def fw(self, trans: GenericPayload, phase: AnyPhase, delay: int) -> NbResult:
        """Check and forward one `nb_transport_fw` call and its return."""
        phase_of = self.phase_of
        if phase is BEGIN_REQ and self.req_open is None and trans not in phase_of:
            phase_of[trans] = BEGIN_REQ
            self.req_open = trans
        elif phase is END_RESP and phase_of.get(trans) is BEGIN_RESP:
            del phase_of[trans]
            self.resp_open = None   # BEGIN_RESP made it `trans`; END_RESP ends it
        elif type(phase) is ExtendedPhase:
            return self._extended(trans, phase, delay, self.fw_fn, self.fw_phases, "forward")
        elif phase is not BEGIN_REQ and phase is not END_RESP:
            raise self._error(trans, f"{_name(phase)} on the forward path (only BEGIN_REQ, END_RESP)")
        else:
            self._to(trans, phase)   # type: ignore[arg-type]  # raises the rule that is broken
        fn = self.fw_fn
        if fn is None:
            self._close(trans)
            raise self._error(trans, "the target socket registers no nb_transport_fw")
        result = fn(trans, phase, delay)
        if result[0] is not ACCEPTED and trans in phase_of:
            cur = phase_of[trans]
            allowed = (END_REQ, BEGIN_RESP) if cur is BEGIN_REQ else (BEGIN_RESP,) if cur is END_REQ else ()
            self._returned(trans, phase, result, allowed, "forward")
        return result

    def bw(self, trans: GenericPayload, phase: AnyPhase, delay: int) -> NbResult:
        """Check and forward one `nb_transport_bw` call and its return."""
        phase_of = self.phase_of
        cur = phase_of.get(trans)
        if phase is BEGIN_RESP and (cur is END_REQ or cur is BEGIN_REQ) and self.resp_open is None:
            if self.req_open is trans:   # BEGIN_RESP implies END_REQ
                self.req_open = None
            phase_of[trans] = BEGIN_RESP
            self.resp_open = trans
        elif phase is END_REQ and cur is BEGIN_REQ:
            phase_of[trans] = END_REQ
            self.req_open = None
        elif type(phase) is ExtendedPhase:
            return self._extended(trans, phase, delay, self.bw_fn, self.bw_phases, "backward")
        elif phase is not END_REQ and phase is not BEGIN_RESP:
            raise self._error(trans, f"{_name(phase)} on the backward path (only END_REQ, BEGIN_RESP)")
        else:
            self._to(trans, phase)   # type: ignore[arg-type]  # raises the rule that is broken
        fn = self.bw_fn
        if fn is None:
            raise self._error(trans, "the initiator socket registers no nb_transport_bw")
        result = fn(trans, phase, delay)
        if result[0] is not ACCEPTED and trans in phase_of:
            allowed = (END_RESP,) if phase_of[trans] is BEGIN_RESP else ()
            self._returned(trans, phase, result, allowed, "backward")
        return result


    def _extended(self, trans: GenericPayload, phase: ExtendedPhase, delay: int, fn: NbFunction | None,
                  known: frozenset[ExtendedPhase], direction: str) -> NbResult:
        """An ignorable phase: allowed while `trans` is open here, changes no state."""
        if trans not in self.phase_of:
            raise self._error(trans, f"extended phase {phase.name} on the {direction} path outside "
                                     "an open transaction")
        if phase not in known or fn is None:
            return ACCEPTED, phase, delay   # the receiver does not know it: ignored
        result = fn(trans, phase, delay)
        if result[0] is not ACCEPTED and trans in self.phase_of:
            cur = self.phase_of[trans]
            if direction == "forward":
                allowed = (END_REQ, BEGIN_RESP) if cur is BEGIN_REQ else (BEGIN_RESP,) if cur is END_REQ else ()
            else:
                allowed = (END_RESP,) if cur is BEGIN_RESP else ()
            if result[1].__class__ is not ExtendedPhase or result[0] is COMPLETED:
                self._returned(trans, phase, result, allowed, direction)
        return result


def _name(phase: object) -> str:
    return phase.name if isinstance(phase, (Phase, ExtendedPhase)) else repr(phase)
