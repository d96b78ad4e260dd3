"""Socket binding, elaboration checks and the base-protocol checker."""

from __future__ import annotations

import pytest

from tlm import Module, ProcessError, SimulationError, Simulator, wait
from tlm.transport import (
    DMI_MAX, Command, DmiDenied, ElaborationError, GenericPayload, InitiatorSocket, Phase, ProtocolError, Sync, TargetSocket,
)

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP


class Recorder:
    """A target whose nb_transport_fw answers from a script and records calls."""

    def __init__(self, module: Module, answers: list[tuple[Sync, Phase, int]] | None = None) -> None:
        self.calls: list[tuple[Phase, int]] = []
        self.answers = list(answers or [])
        self.socket = TargetSocket(module, "tsock", nb_transport_fw=self.fw,
                                   b_transport=lambda t, d: d + 7, transport_dbg=lambda t: 3)

    def fw(self, trans: GenericPayload, phase: Phase, delay: int) -> tuple[Sync, Phase, int]:
        self.calls.append((phase, delay))
        if self.answers:
            return self.answers.pop(0)
        return Sync.ACCEPTED, phase, delay


@pytest.fixture
def pair(sim: Simulator) -> tuple[InitiatorSocket, Recorder, list]:
    bw_calls: list = []

    def bw(trans: GenericPayload, phase: Phase, delay: int) -> tuple[Sync, Phase, int]:
        bw_calls.append((phase, delay))
        return Sync.ACCEPTED, phase, delay

    ini = InitiatorSocket(Module(sim, "cpu"), "isock", nb_transport_bw=bw)
    tgt = Recorder(Module(sim, "mem"))
    ini.bind(tgt.socket)
    return ini, tgt, bw_calls


def test_bound_socket_calls_straight_into_the_target(pair: tuple) -> None:
    """After bind, b_transport and transport_dbg are the target's functions."""
    ini, _, _ = pair
    assert ini.b_transport(GenericPayload(), 5) == 12
    assert ini.transport_dbg(GenericPayload()) == 3
    assert ini.get_direct_mem_ptr(GenericPayload()) == DmiDenied(0, DMI_MAX)


def test_binding_an_initiator_twice_names_all_sockets(sim: Simulator) -> None:
    """A second bind of the initiator is an elaboration error naming the three sockets."""
    ini = InitiatorSocket(Module(sim, "cpu"), "isock")
    a = TargetSocket(Module(sim, "a"), "t")
    b = TargetSocket(Module(sim, "b"), "t")
    ini.bind(a)
    with pytest.raises(ElaborationError, match=r"'cpu\.isock' is already bound to 'a\.t'.*'b\.t'"):
        ini.bind(b)


def test_binding_a_target_twice_names_both_initiators(sim: Simulator) -> None:
    """A target socket takes one initiator; the error names the old and the new one."""
    top = Module(sim, "top")
    i1 = InitiatorSocket(Module(top, "c1"), "s")
    i2 = InitiatorSocket(Module(top, "c2"), "s")
    t = TargetSocket(Module(top, "m"), "s")
    i1.bind(t)
    with pytest.raises(ElaborationError, match=r"'top\.m\.s' is already bound to 'top\.c1\.s'.*'top\.c2\.s'"):
        i2.bind(t)


def test_binding_to_a_non_target_is_refused(sim: Simulator) -> None:
    """bind() takes only a TargetSocket."""
    a = InitiatorSocket(Module(sim, "a"), "s")
    b = InitiatorSocket(Module(sim, "b"), "s")
    with pytest.raises(ElaborationError, match="only bind a TargetSocket"):
        a.bind(b)  # type: ignore[arg-type]


@pytest.mark.parametrize("unbound", ["initiator", "target"])
def test_running_with_an_unbound_socket_fails_before_time_zero(sim: Simulator, unbound: str) -> None:
    """run() raises an ElaborationError with the socket's full hierarchical name."""
    top = Module(sim, "top")
    ran: list[int] = []

    async def proc() -> None:
        ran.append(sim.now)

    process = sim.spawn(proc())
    if unbound == "initiator":
        InitiatorSocket(Module(top, "cpu"), "data")
        name = "initiator socket 'top.cpu.data'"
    else:
        TargetSocket(Module(top, "mem"), "port")
        name = "target socket 'top.mem.port'"
    with pytest.raises(ElaborationError, match=name.replace(".", r"\.") + " is not bound"):
        sim.run()
    assert ran == []
    process.coro.close()


def test_calling_an_unbound_initiator_raises(sim: Simulator) -> None:
    """Transport on an unbound socket is a SimulationError naming it."""
    ini = InitiatorSocket(Module(sim, "cpu"), "s")
    with pytest.raises(SimulationError, match=r"'cpu\.s' is not bound"):
        ini.b_transport(GenericPayload(), 0)


def test_duplicate_socket_names_are_refused(sim: Simulator) -> None:
    """Two sockets with the same hierarchical name are an error."""
    m = Module(sim, "m")
    TargetSocket(m, "s")
    with pytest.raises(SimulationError, match="duplicate name 'm.s'"):
        InitiatorSocket(m, "s")


def test_missing_b_transport_is_reported_with_both_names(sim: Simulator) -> None:
    """A target that registers no b_transport says so when called."""
    ini = InitiatorSocket(Module(sim, "cpu"), "s")
    ini.bind(TargetSocket(Module(sim, "dev"), "t"))
    with pytest.raises(SimulationError, match=r"'dev\.t' \(bound to 'cpu\.s'\) registers no b_transport"):
        ini.b_transport(GenericPayload(), 0)


# -- base protocol ----------------------------------------------------------------------
def test_a_full_four_phase_handshake_passes(pair: tuple) -> None:
    """BEGIN_REQ, END_REQ (bw), BEGIN_RESP (bw), END_RESP (fw) is legal, then the hop is free."""
    ini, tgt, bw_calls = pair
    t = GenericPayload(Command.READ, 0, bytearray(4))
    assert ini.nb_transport_fw(t, BEGIN_REQ, 1)[0] is Sync.ACCEPTED
    tgt.socket.nb_transport_bw(t, END_REQ, 2)
    tgt.socket.nb_transport_bw(t, BEGIN_RESP, 3)
    ini.nb_transport_fw(t, END_RESP, 4)
    assert tgt.calls == [(BEGIN_REQ, 1), (END_RESP, 4)]
    assert bw_calls == [(END_REQ, 2), (BEGIN_RESP, 3)]
    assert ini.hop is not None and ini.hop.phase_of == {}
    ini.nb_transport_fw(t, BEGIN_REQ, 0)  # the same payload may start again


def test_second_begin_req_before_end_req_is_a_protocol_error(pair: tuple) -> None:
    """Request exclusion: one request in flight per hop until END_REQ."""
    ini, tgt, _ = pair
    a, b = GenericPayload(), GenericPayload()
    ini.nb_transport_fw(a, BEGIN_REQ, 0)
    with pytest.raises(ProtocolError, match=r"cpu\.isock -> mem\.tsock.*request exclusion"):
        ini.nb_transport_fw(b, BEGIN_REQ, 0)
    tgt.socket.nb_transport_bw(a, END_REQ, 0)
    ini.nb_transport_fw(b, BEGIN_REQ, 0)  # allowed once END_REQ was sent


def test_begin_resp_also_ends_the_request(pair: tuple) -> None:
    """BEGIN_RESP without END_REQ frees the request slot (implicit END_REQ)."""
    ini, tgt, _ = pair
    a, b = GenericPayload(), GenericPayload()
    ini.nb_transport_fw(a, BEGIN_REQ, 0)
    tgt.socket.nb_transport_bw(a, BEGIN_RESP, 0)
    ini.nb_transport_fw(b, BEGIN_REQ, 0)


def test_second_begin_resp_before_end_resp_is_a_protocol_error(pair: tuple) -> None:
    """Response exclusion: one response in flight per hop until END_RESP."""
    ini, tgt, _ = pair
    a, b = GenericPayload(), GenericPayload()
    ini.nb_transport_fw(a, BEGIN_REQ, 0)
    tgt.socket.nb_transport_bw(a, END_REQ, 0)
    ini.nb_transport_fw(b, BEGIN_REQ, 0)
    tgt.socket.nb_transport_bw(b, END_REQ, 0)
    tgt.socket.nb_transport_bw(a, BEGIN_RESP, 0)
    with pytest.raises(ProtocolError, match="response exclusion"):
        tgt.socket.nb_transport_bw(b, BEGIN_RESP, 0)
    ini.nb_transport_fw(a, END_RESP, 0)
    tgt.socket.nb_transport_bw(b, BEGIN_RESP, 0)


@pytest.mark.parametrize("phase", [END_REQ, BEGIN_RESP])
def test_target_phases_on_the_forward_path_are_refused(pair: tuple, phase: Phase) -> None:
    """Only BEGIN_REQ and END_RESP travel forward."""
    ini, _, _ = pair
    with pytest.raises(ProtocolError, match=f"{phase.name} on the forward path"):
        ini.nb_transport_fw(GenericPayload(), phase, 0)


@pytest.mark.parametrize("phase", [BEGIN_REQ, END_RESP])
def test_initiator_phases_on_the_backward_path_are_refused(pair: tuple, phase: Phase) -> None:
    """Only END_REQ and BEGIN_RESP travel backward."""
    _, tgt, _ = pair
    with pytest.raises(ProtocolError, match=f"{phase.name} on the backward path"):
        tgt.socket.nb_transport_bw(GenericPayload(), phase, 0)


def test_end_resp_before_begin_resp_is_a_protocol_error(pair: tuple) -> None:
    """END_RESP is legal only after BEGIN_RESP."""
    ini, tgt, _ = pair
    t = GenericPayload()
    ini.nb_transport_fw(t, BEGIN_REQ, 0)
    tgt.socket.nb_transport_bw(t, END_REQ, 0)
    with pytest.raises(ProtocolError, match="END_RESP in phase END_REQ"):
        ini.nb_transport_fw(t, END_RESP, 0)


def test_end_req_for_an_unknown_transaction_is_a_protocol_error(pair: tuple) -> None:
    """The target cannot end a request that never began."""
    _, tgt, _ = pair
    with pytest.raises(ProtocolError, match="END_REQ in phase None"):
        tgt.socket.nb_transport_bw(GenericPayload(), END_REQ, 0)


def test_reusing_an_open_transaction_is_a_protocol_error(pair: tuple) -> None:
    """BEGIN_REQ for a payload still in flight on the hop is refused."""
    ini, tgt, _ = pair
    t = GenericPayload()
    ini.nb_transport_fw(t, BEGIN_REQ, 0)
    tgt.socket.nb_transport_bw(t, END_REQ, 0)
    with pytest.raises(ProtocolError, match="already open"):
        ini.nb_transport_fw(t, BEGIN_REQ, 0)


def test_updated_return_with_a_wrong_phase_is_a_protocol_error(sim: Simulator) -> None:
    """A target answering BEGIN_REQ with UPDATED/END_RESP breaks the protocol."""
    ini = InitiatorSocket(Module(sim, "cpu"), "s")
    tgt = Recorder(Module(sim, "mem"), [(Sync.UPDATED, END_RESP, 0)])
    ini.bind(tgt.socket)
    with pytest.raises(ProtocolError, match="returned UPDATED with END_RESP"):
        ini.nb_transport_fw(GenericPayload(), BEGIN_REQ, 0)


def test_updated_and_completed_returns_move_the_state(sim: Simulator) -> None:
    """UPDATED/END_REQ frees the request slot; COMPLETED closes the transaction."""
    ini = InitiatorSocket(Module(sim, "cpu"), "s")
    tgt = Recorder(Module(sim, "mem"), [(Sync.UPDATED, END_REQ, 5), (Sync.COMPLETED, BEGIN_REQ, 0)])
    ini.bind(tgt.socket)
    a, b = GenericPayload(), GenericPayload()
    assert ini.nb_transport_fw(a, BEGIN_REQ, 0) == (Sync.UPDATED, END_REQ, 5)
    assert ini.nb_transport_fw(b, BEGIN_REQ, 0)[0] is Sync.COMPLETED
    assert ini.hop is not None and set(ini.hop.phase_of) == {a}


def test_a_negative_returned_delay_is_a_protocol_error(sim: Simulator) -> None:
    """Returned delays are int ps >= 0."""
    ini = InitiatorSocket(Module(sim, "cpu"), "s")
    ini.bind(Recorder(Module(sim, "mem"), [(Sync.UPDATED, END_REQ, -1)]).socket)
    with pytest.raises(ProtocolError, match="bad delay -1"):
        ini.nb_transport_fw(GenericPayload(), BEGIN_REQ, 0)


def test_a_protocol_error_inside_a_process_names_the_process(sim: Simulator) -> None:
    """Raised in a thread, the error reaches run() as a ProcessError caused by ProtocolError."""
    ini = InitiatorSocket(Module(sim, "cpu"), "s", nb_transport_bw=lambda t, p, d: (Sync.ACCEPTED, p, d))
    ini.bind(Recorder(Module(sim, "mem")).socket)

    async def bad() -> None:
        await wait(3)
        ini.nb_transport_fw(GenericPayload(), BEGIN_REQ, 0)
        ini.nb_transport_fw(GenericPayload(), BEGIN_REQ, 0)

    sim.spawn(bad(), name="bad")
    with pytest.raises(ProcessError, match="'bad'") as info:
        sim.run()
    assert isinstance(info.value.__cause__, ProtocolError)
