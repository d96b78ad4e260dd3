"""QuantumKeeper: local time, sync points on quantum multiples, per-simulator global quantum."""

from __future__ import annotations

from tlm import NS, Module, Simulator, wait
from tlm.transport import Command, GenericPayload, InitiatorSocket, Memory, QuantumKeeper


def test_local_time_and_need_sync(sim: Simulator) -> None:
    """inc() adds to the offset; need_sync turns true at the end of the quantum."""
    qk = QuantumKeeper(sim, quantum=100 * NS)
    qk.inc(60 * NS)
    assert qk.get_current_time() == 60 * NS and not qk.need_sync()
    qk.inc(40 * NS)
    assert qk.need_sync()
    qk.set(5 * NS)
    assert qk.local_time == 5 * NS and not qk.need_sync()


def test_sync_points_fall_on_quantum_multiples(sim: Simulator) -> None:
    """An LT loop with 30 ns transactions syncs at 120, 210, 300... (first time past each 100 ns)."""
    QuantumKeeper.set_global_quantum(sim, 100 * NS)
    cpu = Module(sim, "cpu")
    sock = InitiatorSocket(cpu, "s")
    mem = Memory(sim, "mem", 1024, read_latency=0, write_latency=26, bytes_per_cycle=8, clock_period=NS)
    sock.bind(mem.socket)
    syncs: list[int] = []
    qk = QuantumKeeper(sim)

    async def initiator() -> None:
        for k in range(10):
            # 32 bytes = 4 beats + 26 latency = 30 ns each, annotated on the local time
            delay = sock.b_transport(GenericPayload(Command.WRITE, 32 * k, bytes(32)), qk.local_time)
            qk.set(delay)
            if qk.need_sync():
                await qk.sync()
                syncs.append(sim.now)
        if qk.local_time:
            await qk.sync()
            syncs.append(sim.now)

    sim.spawn(initiator())
    sim.run()
    assert syncs == [120 * NS, 210 * NS, 300 * NS]
    assert qk.syncs == 3 and qk.quantum == 100 * NS


def test_a_quantum_of_zero_syncs_after_every_increment(sim: Simulator) -> None:
    """With no decoupling every inc needs a sync, and sync waits the offset exactly."""
    qk = QuantumKeeper(sim)
    times: list[int] = []

    async def run() -> None:
        for d in (3, 0, 7):
            qk.inc(d * NS)
            assert qk.need_sync()
            await qk.sync()
            times.append(sim.now)

    sim.spawn(run())
    sim.run()
    assert times == [3 * NS, 3 * NS, 10 * NS]


def test_global_quantum_belongs_to_one_simulator() -> None:
    """Two simulators side by side keep separate global quanta; a keeper may override it."""
    a, b = Simulator("a"), Simulator("b")
    QuantumKeeper.set_global_quantum(a, 50 * NS)
    assert QuantumKeeper.get_global_quantum(a) == 50 * NS
    assert QuantumKeeper.get_global_quantum(b) == 0
    assert QuantumKeeper(b, quantum=7).quantum == 7


def test_sync_realigns_after_time_moved_on(sim: Simulator) -> None:
    """After kernel time passes by other means, reset() targets the next quantum multiple."""
    qk = QuantumKeeper(sim, quantum=100 * NS)
    seen: list[bool] = []

    async def run() -> None:
        await wait(250 * NS)
        qk.reset()
        qk.inc(40 * NS)
        seen.append(qk.need_sync())      # 290 < 300
        qk.inc(10 * NS)
        seen.append(qk.need_sync())      # 300

    sim.spawn(run())
    sim.run()
    assert seen == [False, True]
