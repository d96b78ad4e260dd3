"""The router against targets that use every legal shape of the base protocol.

`ScriptedTarget` answers BEGIN_REQ in one of four ways (ACCEPTED then END_REQ
and BEGIN_RESP on the backward path; ACCEPTED then BEGIN_RESP alone;
UPDATED/BEGIN_RESP at once; COMPLETED at once). Pipelined initiators talk to
two such targets through one router, so requests queue per target and
responses from both targets queue per initiator. Every hop checks the
protocol; the data must come out as written.
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Module, Simulator
from tlm.transport import Command, GenericPayload, PayloadEventQueue, Phase, ResponseStatus, Router, Sync, TargetSocket

from test_transport_pipelined import PipelinedInitiator

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP
STYLES = ("accepted", "implicit", "updated_resp", "completed")


class ScriptedTarget(Module):
    """A byte store answering in a fixed protocol style with fixed delays."""

    def __init__(self, parent: Module, name: str, style: str, size: int = 1024) -> None:
        super().__init__(parent, name)
        self.style = style
        self.storage = bytearray(size)
        self.socket = TargetSocket(self, "socket", nb_transport_fw=self._fw)
        self.peq = PayloadEventQueue(self, "peq", self._on_peq)
        self.resp_queue: deque[GenericPayload] = deque()
        self.resp_busy: GenericPayload | None = None
        self.served = 0

    def _apply(self, trans: GenericPayload) -> None:
        a, n = trans.address, trans.length
        if a < 0 or a + n > len(self.storage):
            trans.response_status = ResponseStatus.ADDRESS_ERROR
            return
        if trans.command is Command.WRITE:
            self.storage[a:a + n] = trans.data[:n]
        else:
            trans.data[:n] = self.storage[a:a + n]
        trans.response_status = ResponseStatus.OK
        self.served += 1

    def _fw(self, trans: GenericPayload, phase: Phase, delay: int) -> tuple[Sync, Phase, int]:
        if phase is END_RESP:
            self.peq.notify(trans, END_RESP, delay)
            return Sync.COMPLETED, phase, delay
        self._apply(trans)
        if self.style == "completed":
            return Sync.COMPLETED, phase, delay + 2 * NS
        if self.style == "updated_resp" and self.resp_busy is None and not self.resp_queue:
            self.resp_busy = trans
            return Sync.UPDATED, BEGIN_RESP, delay + 3 * NS
        if self.style == "accepted":
            self.peq.notify(trans, END_REQ, delay + 1 * NS)
        self.peq.notify(trans, BEGIN_RESP, delay + 4 * NS)
        return Sync.ACCEPTED, phase, delay

    def _on_peq(self, trans: GenericPayload, phase: Phase | None) -> None:
        if phase is END_REQ:
            self.socket.nb_transport_bw(trans, END_REQ, 0)
        elif phase is BEGIN_RESP:
            self.resp_queue.append(trans)
        else:  # END_RESP time reached
            self.resp_busy = None
        self._send_response()

    def _send_response(self) -> None:
        while self.resp_busy is None and self.resp_queue:
            trans = self.resp_queue.popleft()
            self.resp_busy = trans
            sync, phase, delay = self.socket.nb_transport_bw(trans, BEGIN_RESP, 0)
            if sync is Sync.COMPLETED or (sync is Sync.UPDATED and phase is END_RESP):
                self.resp_busy = None


def _run(styles: tuple[str, str], sizes: list[list[int]], hold: int, latency: int, complete_on_resp: bool = False
         ) -> tuple[Simulator, list[PipelinedInitiator], list[ScriptedTarget], list[list[GenericPayload]]]:
    sim = Simulator()
    top = Module(sim, "top")
    bus = Router(top, "bus", [("t0", 0x0000, 1024), ("t1", 0x8000, 1024)], n_initiators=len(sizes),
                 latency=latency)
    targets = [ScriptedTarget(top, f"t{i}", s) for i, s in enumerate(styles)]
    bus.initiators["t0"].bind(targets[0].socket)
    bus.initiators["t1"].bind(targets[1].socket)
    payloads: list[list[GenericPayload]] = []
    inis = []
    for i, sz in enumerate(sizes):
        mine = []
        for k, n in enumerate(sz):
            base = 0x8000 if k % 2 else 0x0000       # alternate between the two targets
            mine.append(GenericPayload(Command.WRITE, base + 128 * i + 16 * k, bytes([16 * i + k + 1]) * n))
        payloads.append(mine)
        ini = PipelinedInitiator(top, f"cpu{i}", mine, hold, complete_on_resp)
        ini.socket.bind(bus.targets[i])
        inis.append(ini)
    sim.run()
    return sim, inis, targets, payloads


@pytest.mark.parametrize("style", STYLES)
def test_each_protocol_style_round_trips(style: str) -> None:
    """One initiator, four writes alternating between two targets of the same style."""
    _, inis, targets, payloads = _run((style, style), [[4, 4, 4, 4]], hold=2 * NS, latency=0)
    assert inis[0].done == 4
    assert all(t.is_response_ok() for t in payloads[0])
    assert [t.address for t in payloads[0]] == [0x0000, 0x8010, 0x0020, 0x8030]
    assert targets[0].storage[0x20:0x24] == b"\x03" * 4 and targets[1].storage[0x30:0x34] == b"\x04" * 4


@settings(max_examples=30, deadline=None)
@given(styles=st.tuples(st.sampled_from(STYLES), st.sampled_from(STYLES)),
       sizes=st.lists(st.lists(st.integers(1, 16), min_size=1, max_size=6), min_size=1, max_size=3),
       hold=st.integers(0, 6), latency=st.integers(0, 3), complete_on_resp=st.booleans())
def test_mixed_styles_and_initiators_complete_with_the_right_data(styles: tuple[str, str], sizes: list[list[int]],
                                                                  hold: int, latency: int,
                                                                  complete_on_resp: bool) -> None:
    """Every transaction completes OK, addresses are restored, each byte lands in its target,
    and no initiator sees a response begin before its previous response ended."""
    _, inis, targets, payloads = _run(styles, sizes, hold * NS, latency * NS, complete_on_resp)
    for i, ini in enumerate(inis):
        assert ini.done == len(payloads[i])
        ends = [t for t, p, _ in ini.log if p is END_RESP]
        begins = [t for t, p, _ in ini.log if p is BEGIN_RESP]
        assert all(b >= e for b, e in zip(begins[1:], ends))
        for k, t in enumerate(payloads[i]):
            assert t.is_response_ok()
            target = targets[1] if t.address >= 0x8000 else targets[0]
            off = t.address & 0x7FFF
            assert target.storage[off:off + t.length] == t.data
    assert sum(t.served for t in targets) == sum(len(p) for p in payloads)
