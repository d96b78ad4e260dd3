"""Pipelined AT initiators: several requests in flight, slow END_RESP, through router and memory.

The initiator below sends its next BEGIN_REQ as soon as the previous request
has ended and holds each response for `hold` ps before END_RESP, so the
memory's and router's request and response queues fill up. The hops'
protocol checkers raise on any rule broken on the way.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Module, Simulator
from tlm.transport import (
    Command, GenericPayload, InitiatorSocket, Memory, Phase, PayloadEventQueue, Router, Sync,
)

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP


class PipelinedInitiator(Module):
    """Issues `payloads` back to back; logs (time, phase, index) of every phase it sees."""

    def __init__(self, parent: Module, name: str, payloads: list[GenericPayload], hold: int,
                 complete_on_resp: bool = False) -> None:
        super().__init__(parent, name)
        self.complete_on_resp = complete_on_resp   # answer BEGIN_RESP with COMPLETED (no END_RESP)
        self.payloads = payloads
        self.index = {id(t): i for i, t in enumerate(payloads)}
        self.hold = hold
        self.log: list[tuple[int, Phase, int]] = []
        self.socket = InitiatorSocket(self, "socket", nb_transport_bw=self._bw)
        self.peq = PayloadEventQueue(self, "peq", self._on_peq)
        self.req_free = self.event("req_free")
        self.req_busy = False
        self.done = 0
        self.thread(self.run)

    def _bw(self, trans: GenericPayload, phase: Phase, delay: int) -> tuple[Sync, Phase, int]:
        if phase is BEGIN_RESP and self.complete_on_resp:
            self.log.append((self.sim.now + delay, BEGIN_RESP, self.index[id(trans)]))
            self.log.append((self.sim.now + delay, END_RESP, self.index[id(trans)]))
            if self.req_busy_for(trans):
                self.req_busy = False
                self.req_free.notify(delay)
            self.done += 1
            return Sync.COMPLETED, phase, delay
        self.peq.notify(trans, phase, delay)
        return Sync.ACCEPTED, phase, delay

    def _on_peq(self, trans: GenericPayload, phase: Phase | None) -> None:
        assert phase is not None
        self.log.append((self.sim.now, phase, self.index[id(trans)]))
        if phase is END_REQ or (phase is BEGIN_RESP and self.req_busy_for(trans)):
            self.req_busy = False
            self.req_free.notify(0)
        if phase is BEGIN_RESP:
            self.peq.notify(trans, END_RESP, self.hold)
        elif phase is END_RESP:   # our own reminder: the hold is over
            self.socket.nb_transport_fw(trans, END_RESP, 0)
            self.done += 1

    def req_busy_for(self, trans: GenericPayload) -> bool:
        return self.req_busy and self.current is trans

    async def run(self) -> None:
        for trans in self.payloads:
            while self.req_busy:
                await self.req_free
            self.req_busy = True
            self.current = trans
            self.log.append((self.sim.now, BEGIN_REQ, self.index[id(trans)]))
            sync, phase, delay = self.socket.nb_transport_fw(trans, BEGIN_REQ, 0)
            if sync is Sync.UPDATED:
                self.peq.notify(trans, phase, delay)
            elif sync is Sync.COMPLETED:
                self.req_busy = False
                self.done += 1


def _system(n_ini: int, payloads: list[list[GenericPayload]], hold: int, with_router: bool,
            complete_on_resp: bool = False) -> tuple[Simulator, list[PipelinedInitiator], Memory]:
    sim = Simulator()
    top = Module(sim, "top")
    inis = [PipelinedInitiator(top, f"cpu{i}", payloads[i], hold, complete_on_resp) for i in range(n_ini)]
    mem = Memory(top, "mem", 1024, read_latency=4, write_latency=2, bytes_per_cycle=8,
                 ports=1 if with_router else n_ini)
    if with_router:
        bus = Router(top, "bus", [("mem", 0x4000, 1024)], n_initiators=n_ini)
        for i, ini in enumerate(inis):
            ini.socket.bind(bus.targets[i])
        bus.initiators["mem"].bind(mem.socket)
    else:
        for i, ini in enumerate(inis):
            ini.socket.bind(mem.sockets[i])
    return sim, inis, mem


def _payloads(base: int, sizes: list[int], tag: int) -> list[GenericPayload]:
    out = []
    for k, n in enumerate(sizes):
        out.append(GenericPayload(Command.WRITE, base + 64 * k, bytes([tag * 16 + k]) * n))
    return out


def test_memory_holds_the_next_response_until_end_resp() -> None:
    """Response exclusion on the memory's port: BEGIN_RESP k+1 never before END_RESP k."""
    payloads = _payloads(0, [8, 8, 8, 8], 1)
    sim, (ini,), mem = _system(1, [payloads], hold=10 * NS, with_router=False)
    sim.run()
    assert ini.done == 4 and all(t.is_response_ok() for t in payloads)
    resp = [t for t, p, _ in ini.log if p is BEGIN_RESP]
    # requests are accepted 1 ns apart (one beat each), done 2 ns later, but each
    # response waits for the previous END_RESP (10 ns hold)
    assert resp == [3 * NS, 13 * NS, 23 * NS, 33 * NS]
    assert [i for _, p, i in ini.log if p is BEGIN_RESP] == [0, 1, 2, 3]
    assert mem.storage[64 * 3] == 0x13


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.lists(st.integers(1, 64), min_size=1, max_size=5), min_size=2, max_size=3),
       hold=st.integers(0, 12), with_router=st.booleans(), complete_on_resp=st.booleans())
def test_pipelined_initiators_keep_the_protocol_and_the_data(sizes: list[list[int]], hold: int,
                                                             with_router: bool, complete_on_resp: bool) -> None:
    """Any mix of pipelined initiators completes every transaction, writes every byte and
    never sees a response begin before the previous one ended."""
    base = 0x4000 if with_router else 0
    payloads = [_payloads(base + 320 * i, sz, i + 1) for i, sz in enumerate(sizes)]
    sim, inis, mem = _system(len(sizes), payloads, hold * NS, with_router, complete_on_resp)
    sim.run()
    for i, ini in enumerate(inis):
        assert ini.done == len(payloads[i])
        ends = [t for t, p, _ in ini.log if p is END_RESP]
        begins = [t for t, p, _ in ini.log if p is BEGIN_RESP]
        assert all(b >= e for b, e in zip(begins[1:], ends))
        for k, t in enumerate(payloads[i]):
            assert t.is_response_ok() and t.address == base + 320 * i + 64 * k
            off = 320 * i + 64 * k
            assert mem.storage[off:off + t.length] == t.data
    total_beats = sum((n + 7) // 8 for sz in sizes for n in sz)
    assert sim.now >= total_beats * NS
