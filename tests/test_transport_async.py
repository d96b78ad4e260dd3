"""Targets that wait inside b_transport, and blocking <-> non-blocking conversion."""

from __future__ import annotations

from typing import Any

import pytest

from tlm import NS, Module, ProcessError, Simulator, wait
from tlm.transport import (
    Command, GenericPayload, InitiatorSocket, Memory, PayloadEventQueue, Phase, ProtocolError,
    ResponseStatus, Router, Sync, TargetSocket,
)

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP
ACCEPTED, UPDATED, COMPLETED = Sync.ACCEPTED, Sync.UPDATED, Sync.COMPLETED


def _async_target(module: Module, seen: list[Any], hold: int = 10 * NS) -> TargetSocket:
    async def b_transport(trans: GenericPayload, delay: int) -> int:
        seen.append(("enter", module.sim.now, trans.address, delay))
        await wait(hold)
        trans.response_status = ResponseStatus.OK
        seen.append(("leave", module.sim.now, trans.address))
        return delay + 1 * NS
    return TargetSocket(module, "t", b_transport=b_transport)


def test_an_async_target_runs_inside_the_awaiting_initiator(sim: Simulator) -> None:
    """The initiator awaits the call; time passes inside it; the delay comes back."""
    seen: list[Any] = []
    sock = InitiatorSocket(Module(sim, "cpu"), "s")
    sock.bind(_async_target(Module(sim, "dev"), seen))
    assert sock.b_transport_is_async
    got: list[Any] = []

    async def run() -> None:
        trans = GenericPayload(Command.READ, 0x40, bytearray(4))
        delay = await sock.b_transport(trans, 3 * NS)
        got.append((sim.now, delay, trans.response_status))

    sim.spawn(run())
    sim.run()
    assert seen == [("enter", 0, 0x40, 3 * NS), ("leave", 10 * NS, 0x40)]
    assert got == [(10 * NS, 4 * NS, ResponseStatus.OK)]


def test_b_transport_await_serves_plain_and_async_targets(sim: Simulator) -> None:
    """An initiator that does not know its target awaits b_transport_await."""
    plain = InitiatorSocket(Module(sim, "a"), "s")
    plain.bind(TargetSocket(Module(sim, "p"), "t", b_transport=lambda t, d: d + 5))
    asyn = InitiatorSocket(Module(sim, "b"), "s")
    asyn.bind(_async_target(Module(sim, "q"), []))
    assert not plain.b_transport_is_async and asyn.b_transport_is_async
    got: list[int] = []

    async def run() -> None:
        got.append(await plain.b_transport_await(GenericPayload(), 1))
        got.append(await asyn.b_transport_await(GenericPayload(), 1))

    sim.spawn(run())
    sim.run()
    assert got == [6, 1 + 1 * NS] and sim.now == 10 * NS


def test_an_async_target_behind_a_router_sees_its_own_address_until_it_returns(sim: Simulator) -> None:
    """The router passes the awaitable on and restores the address only when the target is done."""
    seen: list[Any] = []
    top = Module(sim, "top")
    bus = Router(top, "bus", [("dev", 0x1000, 0x100)], latency=2 * NS)
    bus.initiators["dev"].bind(_async_target(Module(top, "dev"), seen))
    sock = InitiatorSocket(Module(top, "cpu"), "s")
    sock.bind(bus.targets[0])
    trans = GenericPayload(Command.READ, 0x1010, bytearray(4))
    addresses: list[int] = []

    async def run() -> None:
        pending = sock.b_transport(trans, 0)
        addresses.append(trans.address)          # nothing ran yet
        delay = await sock.b_transport_await(GenericPayload(Command.READ, 0x1020, bytearray(4)), 0)
        delay2 = await pending
        addresses.append(trans.address)
        assert (delay, delay2) == (3 * NS, 3 * NS)

    sim.spawn(run())
    sim.run()
    assert [s[2] for s in seen] == [0x20, 0x20, 0x10, 0x10]    # translated while inside the target
    assert addresses == [0x10, 0x1010]


def test_a_plain_target_behind_a_router_still_returns_an_int(sim: Simulator) -> None:
    """The LT hot path is unchanged: no awaitable for plain targets."""
    top = Module(sim, "top")
    bus = Router(top, "bus", [("mem", 0, 0x100)])
    bus.initiators["mem"].bind(Memory(top, "mem", 0x100).socket)
    sock = InitiatorSocket(Module(top, "cpu"), "s")
    sock.bind(bus.targets[0])
    assert sock.b_transport(GenericPayload(Command.READ, 0, bytearray(8)), 0).__class__ is int


# -- nb -> b ----------------------------------------------------------------------------


class NbInitiator:
    """Sends BEGIN_REQs from a script; answers BEGIN_RESP after `end_resp_after` ps."""

    def __init__(self, sim: Simulator, end_resp_after: int = 0) -> None:
        self.sim = sim
        self.module = Module(sim, "ini")
        self.socket = InitiatorSocket(self.module, "s", nb_transport_bw=self.bw)
        self.log: list[tuple[str, int, int]] = []
        self.end_resp_after = end_resp_after
        self.peq = PayloadEventQueue(self.module, "peq", self._end_resp)

    def bw(self, trans: GenericPayload, phase: Any, delay: int) -> tuple[Sync, Any, int]:
        self.log.append((phase.name, trans.address, self.sim.now))
        if phase is BEGIN_RESP:
            self.peq.notify(trans, END_RESP, self.end_resp_after)
        return ACCEPTED, phase, delay

    def _end_resp(self, trans: GenericPayload, phase: Any) -> None:
        sync, _, _ = self.socket.nb_transport_fw(trans, END_RESP, 0)
        self.log.append((f"END_RESP->{sync.name}", trans.address, self.sim.now))


def test_nb_calls_reach_a_b_only_target_and_responses_respect_end_resp(sim: Simulator) -> None:
    """A second response waits for the first one's END_RESP (response exclusion), as in
    simple_target_socket; the hop's checker would raise otherwise."""
    calls: list[tuple[int, int]] = []

    def b_transport(trans: GenericPayload, delay: int) -> int:
        calls.append((trans.address, sim.now))
        return delay + 2 * NS

    ini = NbInitiator(sim, end_resp_after=10 * NS)
    ini.socket.bind(TargetSocket(Module(sim, "dev"), "t", b_transport=b_transport))
    t1, t2 = GenericPayload(address=1), GenericPayload(address=2)

    async def run() -> None:
        assert ini.socket.nb_transport_fw(t1, BEGIN_REQ, 1 * NS)[0] is ACCEPTED
        while not any(e[0] == "BEGIN_RESP" for e in ini.log):
            await wait(1 * NS)
        assert ini.socket.nb_transport_fw(t2, BEGIN_REQ, 0)[0] is ACCEPTED

    sim.spawn(run())
    sim.run()
    assert calls == [(1, 1 * NS), (2, 3 * NS)]
    assert ini.log == [("BEGIN_RESP", 1, 3 * NS), ("END_RESP->COMPLETED", 1, 13 * NS),
                       ("BEGIN_RESP", 2, 13 * NS), ("END_RESP->COMPLETED", 2, 23 * NS)]


# -- b -> nb ----------------------------------------------------------------------------


@pytest.mark.parametrize("answer, done_at", [
    ((COMPLETED, BEGIN_REQ, 6 * NS), 8 * NS),          # early completion, annotated
    ((UPDATED, BEGIN_RESP, 4 * NS), 6 * NS),           # response by return: END_RESP sent for us
    ((UPDATED, END_REQ, 1 * NS), 2 * NS + 5 * NS),     # response later on the backward path
])
def test_b_transport_reaches_an_nb_only_target(sim: Simulator, answer: tuple, done_at: int) -> None:
    """Every way the target may answer BEGIN_REQ ends the blocking call at the right time."""
    fw_log: list[tuple[str, int]] = []
    sock_holder: list[TargetSocket] = []
    dev = Module(sim, "dev")

    def later(trans: GenericPayload, phase: Any) -> None:
        assert sock_holder[0].nb_transport_bw(trans, BEGIN_RESP, 0)[0] is COMPLETED

    peq = PayloadEventQueue(dev, "peq", later)

    def fw(trans: GenericPayload, phase: Any, delay: int) -> tuple[Sync, Any, int]:
        fw_log.append((phase.name, sim.now))
        if phase is BEGIN_REQ:
            trans.response_status = ResponseStatus.OK
            if answer[1] is END_REQ:
                peq.notify(trans, BEGIN_RESP, 5 * NS)
            return answer
        return COMPLETED, phase, delay

    tsock = TargetSocket(dev, "t", nb_transport_fw=fw)
    sock_holder.append(tsock)
    sock = InitiatorSocket(Module(sim, "cpu"), "s")
    sock.bind(tsock)
    assert sock.b_transport_is_async
    got: list[tuple[int, int]] = []

    async def run() -> None:
        trans = GenericPayload(Command.READ, 0, bytearray(4))
        got.append((await sock.b_transport(trans, 2 * NS), sim.now))
        assert trans.is_response_ok()

    sim.spawn(run())
    sim.run()
    assert got == [(0, done_at)]
    assert fw_log[0] == ("BEGIN_REQ", 2 * NS)
    assert [p for p, _ in fw_log[1:]] == (["END_RESP"] if answer[1] is BEGIN_RESP else [])


def test_an_nb_only_target_still_answers_nb_initiators_on_the_backward_path(sim: Simulator) -> None:
    """Backward calls for transactions that did not come through b_transport reach the initiator."""
    ini = NbInitiator(sim)
    holder: list[TargetSocket] = []
    dev = Module(sim, "dev")
    peq = PayloadEventQueue(dev, "peq", lambda tr, ph: holder[0].nb_transport_bw(tr, ph, 0))

    def fw(trans: GenericPayload, phase: Any, delay: int) -> tuple[Sync, Any, int]:
        if phase is BEGIN_REQ:
            peq.notify(trans, BEGIN_RESP, 3 * NS)
            return ACCEPTED, phase, delay
        return COMPLETED, phase, delay

    holder.append(TargetSocket(dev, "t", nb_transport_fw=fw))
    ini.socket.bind(holder[0])
    sim.spawn(_begin(ini.socket, GenericPayload(address=9)))
    sim.run()
    assert ini.log == [("BEGIN_RESP", 9, 3 * NS), ("END_RESP->COMPLETED", 9, 3 * NS)]


async def _begin(sock: InitiatorSocket, trans: GenericPayload) -> None:
    sock.nb_transport_fw(trans, BEGIN_REQ, 0)


def test_the_converted_hop_checks_the_target_too(sim: Simulator) -> None:
    """A target answering a converted BEGIN_REQ with a forward-only phase breaks the protocol."""
    tsock = TargetSocket(Module(sim, "dev"), "t", nb_transport_fw=lambda t, p, d: (UPDATED, END_RESP, d))
    sock = InitiatorSocket(Module(sim, "cpu"), "s")
    sock.bind(tsock)

    async def run() -> None:
        await sock.b_transport(GenericPayload(), 0)

    sim.spawn(run())
    with pytest.raises(ProcessError, match=r"dev\.t \(b->nb\).*returned UPDATED with END_RESP") as info:
        sim.run()
    assert isinstance(info.value.__cause__, ProtocolError)


def test_a_forgotten_await_is_named_when_the_delay_reaches_a_quantum_keeper(sim: Simulator) -> None:
    """Calling an async target without await gives an awaitable, not a delay; the keeper says so."""
    from tlm.transport import QuantumKeeper

    sock = InitiatorSocket(Module(sim, "cpu"), "s")
    sock.bind(_async_target(Module(sim, "dev"), []))
    qk = QuantumKeeper(sim, 10 * NS)
    with pytest.raises(TypeError, match=r"b_transport is async, await it"):
        qk.set(sock.b_transport(GenericPayload(), 0))
    with pytest.raises(TypeError, match=r"b_transport is async, await it"):
        qk.inc(sock.b_transport(GenericPayload(), 0))
    qk.set(5)
    assert qk.local_time == 5
