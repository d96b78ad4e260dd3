"""Multi-sockets, hierarchical binding, extended phases and analysis ports."""

from __future__ import annotations

from typing import Any

import pytest

from tlm import NS, Module, Simulator
from tlm.transport import (
    AnalysisPort, ElaborationError, ExtendedPhase, GenericPayload, InitiatorSocket, MultiInitiatorSocket,
    MultiTargetSocket, Phase, ProtocolError, Sync, TargetSocket,
)

BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP
ACCEPTED, UPDATED, COMPLETED = Sync.ACCEPTED, Sync.UPDATED, Sync.COMPLETED


# -- multi-sockets ------------------------------------------------------------------------

def test_a_multi_target_tells_each_callback_which_binding_called(sim: Simulator) -> None:
    """Indices follow binding order; nb_transport_bw(index) answers that initiator only."""
    calls: list[tuple[str, int]] = []
    bw_seen: list[tuple[str, str]] = []

    def fw(i: int, trans: GenericPayload, phase: Any, delay: int) -> tuple[Sync, Any, int]:
        calls.append(("fw", i))
        return ACCEPTED, phase, delay

    dev = Module(sim, "dev")
    multi = MultiTargetSocket(dev, "bus", b_transport=lambda i, t, d: d + i, nb_transport_fw=fw,
                              transport_dbg=lambda i, t: 10 + i)
    inis = []
    for name in ("a", "b", "c"):
        def bw(trans: GenericPayload, phase: Any, delay: int, who: str = name) -> tuple[Sync, Any, int]:
            bw_seen.append((who, phase.name))
            return ACCEPTED, phase, delay
        s = InitiatorSocket(Module(sim, name), "s", nb_transport_bw=bw)
        s.bind(multi)
        inis.append(s)
    assert len(multi) == 3 and multi[2].name == "dev.bus[2]"
    assert [s.b_transport(GenericPayload(), 100) for s in inis] == [100, 101, 102]
    assert [s.transport_dbg(GenericPayload()) for s in inis] == [10, 11, 12]
    trans = GenericPayload()
    inis[1].nb_transport_fw(trans, BEGIN_REQ, 0)
    multi.nb_transport_bw(1, trans, BEGIN_RESP, 0)
    assert calls == [("fw", 1)] and bw_seen == [("b", "BEGIN_RESP")]


def test_a_multi_initiator_reaches_each_target_and_gets_indexed_callbacks(sim: Simulator) -> None:
    """sock[i] is binding i; backward and invalidation callbacks carry the index."""
    got: list[Any] = []
    ini = MultiInitiatorSocket(Module(sim, "cpu"), "m",
                               nb_transport_bw=lambda i, t, p, d: (got.append(("bw", i)), (ACCEPTED, p, d))[1],
                               invalidate_direct_mem_ptr=lambda i, s, e: got.append(("inv", i, s, e)))
    targets = [TargetSocket(Module(sim, f"t{i}"), "s", b_transport=lambda t, d, i=i: d + 10 * i,
                            nb_transport_fw=lambda t, p, d: (ACCEPTED, p, d)) for i in range(2)]
    for t in targets:
        ini.bind(t)
    assert [ini[i].b_transport(GenericPayload(), 1) for i in range(ini.size())] == [1, 11]
    trans = GenericPayload()
    ini[1].nb_transport_fw(trans, BEGIN_REQ, 0)
    targets[1].nb_transport_bw(trans, BEGIN_RESP, 0)
    targets[0].invalidate_direct_mem_ptr(0, 64)
    assert got == [("bw", 1), ("inv", 0, 0, 64)]


def test_multi_to_multi_binding_and_invalidation_to_every_initiator(sim: Simulator) -> None:
    """A multi initiator may bind a multi target; invalidation reaches every bound initiator."""
    got: list[Any] = []
    dev = MultiTargetSocket(Module(sim, "dev"), "bus", b_transport=lambda i, t, d: i)
    mi = MultiInitiatorSocket(Module(sim, "cpu"), "m", invalidate_direct_mem_ptr=lambda i, s, e: got.append(i))
    mi.bind(dev)
    other = InitiatorSocket(Module(sim, "dma"), "s", invalidate_direct_mem_ptr=lambda s, e: got.append("dma"))
    other.bind(dev)
    assert (mi[0].b_transport(GenericPayload(), 0), other.b_transport(GenericPayload(), 0)) == (0, 1)
    dev.invalidate_direct_mem_ptr(0, 1)
    assert got == [0, "dma"]


@pytest.mark.parametrize("which", ["initiator", "target"])
def test_an_unbound_multi_socket_fails_before_time_zero(sim: Simulator, which: str) -> None:
    """A multi-socket must be bound at least once."""
    m = Module(sim, "m")
    if which == "initiator":
        MultiInitiatorSocket(m, "ms")
    else:
        MultiTargetSocket(m, "ms")
    with pytest.raises(ElaborationError, match=r"multi-\w+ socket 'm\.ms' is not bound"):
        sim.run()


# -- hierarchical binding -------------------------------------------------------------------

@pytest.mark.parametrize("order", ["outer first", "inner first"])
def test_hierarchical_binding_connects_innermost_sockets_in_any_order(sim: Simulator, order: str) -> None:
    """child_init -> parent_init -> parent_target -> child_target, bound in either order."""
    bw: list[str] = []
    top_i, top_t = Module(sim, "cpu"), Module(sim, "dev")
    core, bank = Module(top_i, "core"), Module(Module(top_t, "sub"), "bank")
    outer_i, outer_t = InitiatorSocket(top_i, "port"), TargetSocket(top_t, "port")
    mid_t = TargetSocket(bank.parent, "port")  # type: ignore[arg-type]
    inner_i = InitiatorSocket(core, "s", nb_transport_bw=lambda t, p, d: (bw.append(p.name), (ACCEPTED, p, d))[1])
    inner_t = TargetSocket(bank, "s", b_transport=lambda t, d: d + 7,
                           nb_transport_fw=lambda t, p, d: (ACCEPTED, p, d))
    steps = [lambda: outer_i.bind(outer_t), lambda: outer_t.bind(mid_t), lambda: mid_t.bind(inner_t),
             lambda: inner_i.bind(outer_i)]
    for step in (steps if order == "outer first" else steps[::-1]):
        step()
    assert inner_i.b_transport(GenericPayload(), 1) == 8
    assert outer_i.b_transport(GenericPayload(), 2) == 9         # the parent's socket reaches it too
    assert inner_i.peer is inner_t and inner_t.peer is inner_i
    trans = GenericPayload()
    inner_i.nb_transport_fw(trans, BEGIN_REQ, 0)
    inner_t.nb_transport_bw(trans, BEGIN_RESP, 0)
    assert bw == ["BEGIN_RESP"]
    sim.run()   # every socket counts as bound


def test_hierarchical_binding_needs_an_enclosing_module(sim: Simulator) -> None:
    """Binding to a sibling's socket of the same kind is refused, naming both."""
    a, b = InitiatorSocket(Module(sim, "a"), "s"), InitiatorSocket(Module(sim, "b"), "s")
    with pytest.raises(ElaborationError, match="enclosing module"):
        a.bind(b)
    ta, tb = TargetSocket(Module(sim, "x"), "s"), TargetSocket(Module(sim, "y"), "s")
    with pytest.raises(ElaborationError, match=r"'x\.s' can only forward to a TargetSocket of a module inside"):
        ta.bind(tb)


def test_a_parent_socket_carrying_a_child_must_itself_be_bound(sim: Simulator) -> None:
    """The outer socket is reported by name when its own binding is missing."""
    top = Module(sim, "top")
    outer = InitiatorSocket(top, "port")
    InitiatorSocket(Module(top, "core"), "s").bind(outer)
    with pytest.raises(ElaborationError, match=r"initiator socket 'top\.port' is not bound"):
        sim.run()


def test_a_parent_socket_carries_one_child_only(sim: Simulator) -> None:
    top = Module(sim, "top")
    outer = InitiatorSocket(top, "port")
    InitiatorSocket(Module(top, "c1"), "s").bind(outer)
    with pytest.raises(ElaborationError, match=r"'top\.port' already carries 'top\.c1\.s'"):
        InitiatorSocket(Module(top, "c2"), "s").bind(outer)


def test_target_bind_accepts_an_initiator(sim: Simulator) -> None:
    """target.bind(initiator) is initiator.bind(target)."""
    t = TargetSocket(Module(sim, "d"), "s", b_transport=lambda tr, d: d + 1)
    i = InitiatorSocket(Module(sim, "c"), "s")
    t.bind(i)
    assert i.b_transport(GenericPayload(), 0) == 1


# -- extended phases ----------------------------------------------------------------------------

PING = ExtendedPhase("PING")


def _ext_pair(sim: Simulator, knows: bool) -> tuple[InitiatorSocket, TargetSocket, list[Any]]:
    seen: list[Any] = []

    def fw(trans: GenericPayload, phase: Any, delay: int) -> tuple[Sync, Any, int]:
        seen.append(phase)
        return ACCEPTED, phase, delay

    t = TargetSocket(Module(sim, "dev"), "s", nb_transport_fw=fw, extended_phases=(PING,) if knows else ())
    i = InitiatorSocket(Module(sim, "cpu"), "s", nb_transport_bw=lambda tr, p, d: (seen.append(("bw", p)), (ACCEPTED, p, d))[1])
    i.bind(t)
    return i, t, seen


@pytest.mark.parametrize("knows", [True, False])
def test_an_extended_phase_reaches_only_a_target_that_knows_it(sim: Simulator, knows: bool) -> None:
    """Ignorable: an unknown phase is answered ACCEPTED by the hop; the state does not change."""
    i, t, seen = _ext_pair(sim, knows)
    trans = GenericPayload()
    i.nb_transport_fw(trans, BEGIN_REQ, 0)
    assert i.nb_transport_fw(trans, PING, 0) == (ACCEPTED, PING, 0)
    assert seen == ([BEGIN_REQ, PING] if knows else [BEGIN_REQ])
    assert i.hop is not None and i.hop.phase_of[trans] is BEGIN_REQ
    t.nb_transport_bw(trans, PING, 0)   # the initiator lists no extended phase: ignored
    assert ("bw", PING) not in seen
    t.nb_transport_bw(trans, BEGIN_RESP, 0)
    i.nb_transport_fw(trans, END_RESP, 0)


def test_an_extended_phase_outside_an_open_transaction_is_a_protocol_error(sim: Simulator) -> None:
    i, _, _ = _ext_pair(sim, True)
    with pytest.raises(ProtocolError, match="extended phase PING on the forward path outside an open transaction"):
        i.nb_transport_fw(GenericPayload(), PING, 0)


def test_extended_phases_are_distinct_and_named() -> None:
    a, b = ExtendedPhase("X"), ExtendedPhase("X")
    assert a is not b and a != b and str(a) == "X" and a.value > int(max(Phase)) and b.value == a.value + 1
    with pytest.raises(ValueError):
        ExtendedPhase("")


# -- analysis ports -----------------------------------------------------------------------------

def test_analysis_port_writes_to_every_subscriber_in_binding_order(sim: Simulator) -> None:
    got: list[Any] = []

    class Scoreboard:
        def write(self, v: Any) -> None:
            got.append(("sb", v))

    m = Module(sim, "mon")
    port, inner = AnalysisPort(m, "ap"), AnalysisPort(m, "inner")
    sb = Scoreboard()
    port.bind(sb)
    port.bind(inner)
    port.bind(lambda v: got.append(("fn", v)))
    inner.bind(lambda v: got.append(("inner", v)))
    port.write(1)
    assert got == [("sb", 1), ("inner", 1), ("fn", 1)] and len(port) == 3
    port.unbind(sb)
    got.clear()
    port.write(2)
    assert got == [("inner", 2), ("fn", 2)]


def test_analysis_port_refuses_bad_subscribers(sim: Simulator) -> None:
    port = AnalysisPort(Module(sim, "m"), "ap")
    with pytest.raises(TypeError, match="write"):
        port.bind(42)
    fn = print
    port.bind(fn)
    with pytest.raises(ValueError, match="already bound"):
        port.bind(fn)
    with pytest.raises(ValueError, match="itself"):
        port.bind(port)
    AnalysisPort(Module(sim, "quiet"), "ap").write("dropped")   # no subscriber: nothing happens


def test_delay_annotations_keep_working_through_multi_sockets(sim: Simulator) -> None:
    """A multi target's async b_transport is awaited like any other (index still first)."""
    from tlm import wait

    async def b(i: int, trans: GenericPayload, delay: int) -> int:
        await wait(2 * NS)
        return delay + i

    dev = MultiTargetSocket(Module(sim, "dev"), "bus", b_transport=b)
    s0, s1 = InitiatorSocket(Module(sim, "a"), "s"), InitiatorSocket(Module(sim, "b"), "s")
    s0.bind(dev)
    s1.bind(dev)
    got: list[int] = []

    async def run() -> None:
        got.append(await s1.b_transport(GenericPayload(), 5))

    sim.spawn(run())
    sim.run()
    assert s1.b_transport_is_async and got == [6] and sim.now == 2 * NS
