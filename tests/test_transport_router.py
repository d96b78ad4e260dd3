"""Router: decoding, translation, LT and AT round trips into two memories, arbitration, DMI."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Module, Simulator, wait
from tlm.transport import (
    DMI_MAX, AtInitiator, Command, DmiCache, DmiDenied, ElaborationError, GenericPayload, InitiatorSocket, Memory,
    ResponseStatus, Router,
)

READ, WRITE = Command.READ, Command.WRITE
MEM_SIZE = 0x100


@dataclass
class System:
    sim: Simulator
    lt: list[InitiatorSocket]
    at: list[AtInitiator]
    caches: list[DmiCache]
    router: Router
    mems: list[Memory]


def build(n_initiators: int = 1, *, latency: int = 0, bytes_per_cycle: int = 4) -> System:
    """Initiators (each with an LT socket and an AT port) -> router -> mem0 @0x1000, mem1 @0x2000."""
    sim = Simulator()
    top = Module(sim, "top")
    router = Router(top, "bus", [("mem0", 0x1000, MEM_SIZE), ("mem1", 0x2000, MEM_SIZE, 0x400)],
                    n_initiators=2 * n_initiators, latency=latency)
    mems = [Memory(top, "mem0", MEM_SIZE, read_latency=3, write_latency=1, bytes_per_cycle=bytes_per_cycle),
            Memory(top, "mem1", MEM_SIZE, base=0x400, read_latency=5, write_latency=2,
                   bytes_per_cycle=bytes_per_cycle)]
    router.initiators["mem0"].bind(mems[0].socket)
    router.initiators["mem1"].bind(mems[1].socket)
    lt, at, caches = [], [], []
    for i in range(n_initiators):
        cpu = Module(top, f"cpu{i}")
        cache = DmiCache()
        s = InitiatorSocket(cpu, "lt", invalidate_direct_mem_ptr=cache.invalidate)
        s.bind(router.targets[2 * i])
        a = AtInitiator(cpu, "at")
        a.socket.bind(router.targets[2 * i + 1])
        lt.append(s)
        at.append(a)
        caches.append(cache)
    return System(sim, lt, at, caches, router, mems)


def test_overlapping_ranges_are_an_elaboration_error_naming_both() -> None:
    """Two ranges sharing an address cannot be decoded."""
    sim = Simulator()
    with pytest.raises(ElaborationError, match=r"range 'a' \[0x0, 0x100\) overlaps range 'b' \[0xff, 0x1ff\)"):
        Router(sim, "bus", [("b", 0xFF, 0x100), ("a", 0, 0x100)])


def test_repeated_or_empty_ranges_are_refused() -> None:
    """Range names are unique and sizes positive."""
    sim = Simulator()
    with pytest.raises(ElaborationError, match="'a' repeats"):
        Router(sim, "bus", [("a", 0, 1), ("a", 8, 1)])
    with pytest.raises(ElaborationError, match="empty"):
        Router(sim, "bus2", [("a", 0, 0)])


def test_address_map_may_be_a_mapping() -> None:
    """{name: (start, size[, offset])} is the same map as the tuple form."""
    r = Router(Simulator(), "bus", {"hi": (0x100, 0x10, 4), "lo": (0x0, 0x10)})
    assert [(x.name, x.start, x.size, x.offset) for x in r.ranges] == [("lo", 0, 0x10, 0), ("hi", 0x100, 0x10, 4)]
    assert set(r.initiators) == {"lo", "hi"} and r.initiators["hi"].name == "bus.to_hi"


def test_decode_finds_the_range_and_refuses_crossings() -> None:
    """decode() returns the range index only when every byte falls inside it."""
    r = build().router
    assert r.decode(0x1000) == 0 and r.decode(0x10FF) == 0 and r.decode(0x2000, 0x100) == 1
    assert r.decode(0xFFF) is None and r.decode(0x1100) is None and r.decode(0x10FF, 2) is None


def test_lt_round_trip_translates_and_restores_the_address() -> None:
    """Data lands at the local offset (+ the range offset); the initiator sees its own address."""
    s = build()
    t = GenericPayload(WRITE, 0x2010, b"wxyz")
    delay = s.lt[0].b_transport(t, 0)
    assert t.is_response_ok() and t.address == 0x2010 and delay == (1 + 2) * NS
    assert s.mems[1].storage[0x10:0x14] == b"wxyz"
    buf = bytearray(4)
    # annotated at 3 ns, when the write's beats are long over: 1 beat + 5 cycles latency
    assert s.lt[0].b_transport(GenericPayload(READ, 0x2010, buf), delay) == delay + (1 + 5) * NS
    assert buf == b"wxyz"


@pytest.mark.parametrize("address", [0x0, 0x0FFF, 0x1100, 0x20FE, 0x9000])
def test_unmapped_addresses_are_address_errors_in_both_styles(address: int) -> None:
    """LT and AT both answer ADDRESS_ERROR for unmapped or boundary-crossing bursts."""
    s = build()
    t = GenericPayload(READ, address, bytearray(4))
    assert s.lt[0].b_transport(t, 5) == 5 and t.response_status is ResponseStatus.ADDRESS_ERROR
    t2 = GenericPayload(READ, address, bytearray(4))

    async def at() -> None:
        await s.at[0].transport(t2)

    s.sim.spawn(at())
    s.sim.run()
    assert t2.response_status is ResponseStatus.ADDRESS_ERROR and s.sim.now == 0


def test_memory_errors_travel_back_through_the_router() -> None:
    """A status set by a memory behind the router reaches the initiator (AT)."""
    s = build()
    t = GenericPayload(7, 0x1000, bytearray(4))  # type: ignore[arg-type]
    box: list[ResponseStatus] = []

    async def at() -> None:
        await s.at[0].transport(t)
        box.append(t.response_status)

    s.sim.spawn(at())
    s.sim.run()
    assert box == [ResponseStatus.COMMAND_ERROR] and t.address == 0x1000


def _script(s: System) -> list[tuple[Command, int, bytes]]:
    return [(WRITE, 0x1000, b"hello"), (WRITE, 0x2080, bytes(range(32))), (READ, 0x1000, b"\0" * 5),
            (READ, 0x2080, b"\0" * 32), (WRITE, 0x10F0, b"end of mem0 ...!"), (READ, 0x10F0, b"\0" * 16)]


def _run_style(style: str) -> tuple[list[bytes], list[int], System]:
    s = build()
    results: list[bytes] = []
    times: list[int] = []

    async def initiator() -> None:
        for cmd, address, data in _script(s):
            buf = bytearray(data)
            t = GenericPayload(cmd, address, buf)
            if style == "lt":
                await wait(s.lt[0].b_transport(t, 0))
            else:
                await s.at[0].transport(t)
            assert t.is_response_ok()
            results.append(bytes(buf))
            times.append(s.sim.now)

    s.sim.spawn(initiator())
    s.sim.run()
    return results, times, s


def test_lt_and_at_give_the_same_data_and_times() -> None:
    """The same script through the router gives equal data and equal completion times in LT and AT."""
    lt_data, lt_times, lt_sys = _run_style("lt")
    at_data, at_times, at_sys = _run_style("at")
    assert lt_data == at_data
    assert lt_data[2] == b"hello" and lt_data[3] == bytes(range(32)) and lt_data[5] == b"end of mem0 ...!"
    # write 5 B: 2 beats + 1; write 32 B to mem1: 8 + 2; read 5: 2 + 3; read 32: 8 + 5; write 16: 4 + 1; read: 4 + 3
    expect = [3, 13, 18, 31, 36, 43]
    assert lt_times == [n * NS for n in expect]
    assert at_times == lt_times
    assert lt_sys.mems[0].storage == at_sys.mems[0].storage


def test_router_latency_is_added_per_request() -> None:
    """A router latency delays every request by that much in LT and AT alike."""
    s = build(latency=2 * NS)
    assert s.lt[0].b_transport(GenericPayload(WRITE, 0x1000, b"ab"), 0) == (2 + 1 + 1) * NS
    s = build(latency=2 * NS)   # a fresh system: the LT write above kept mem0 busy until 3 ns
    done: list[int] = []

    async def at() -> None:
        await s.at[0].transport(GenericPayload(WRITE, 0x1000, b"ab"))
        done.append(s.sim.now)

    s.sim.spawn(at())
    s.sim.run()
    assert done == [4 * NS]


def test_at_initiators_contend_and_the_router_serialises_requests() -> None:
    """Two AT initiators hammering one memory: protocol holds, total time >= bytes / bandwidth."""
    s = build(n_initiators=2, bytes_per_cycle=8)
    finish: list[int] = []
    n, size = 12, 64

    async def worker(i: int) -> None:
        for k in range(n):
            buf = bytearray(size)
            t = GenericPayload(WRITE if k % 2 else READ, 0x1000 + 64 * ((i + k) % 4), buf)
            await s.at[i].transport(t)
            assert t.is_response_ok()
        finish.append(s.sim.now)

    s.sim.spawn(worker(0))
    s.sim.spawn(worker(1))
    s.sim.run()
    assert len(finish) == 2
    assert max(finish) >= math.ceil(2 * n * size / 8) * NS
    assert s.mems[0].transactions == 2 * n
    hops = [sock.hop for sock in s.router.targets + list(s.router.initiators.values())]
    assert all(h is not None and not h.phase_of and h.req_open is None and h.resp_open is None for h in hops)


def test_two_lt_initiators_contend_for_bandwidth() -> None:
    """LT threads through the router share the memory's beats too."""
    s = build(n_initiators=2, bytes_per_cycle=8)
    finish: list[int] = []

    async def worker(i: int) -> None:
        for k in range(8):
            await wait(s.lt[i].b_transport(GenericPayload(READ, 0x1000 + 32 * k, bytearray(32)), 0))
        finish.append(s.sim.now)

    s.sim.spawn(worker(0))
    s.sim.spawn(worker(1))
    s.sim.run()
    assert max(finish) >= math.ceil(2 * 8 * 32 / 8) * NS


def test_debug_transport_is_forwarded_and_clipped_to_the_range() -> None:
    """transport_dbg through the router reaches the right memory and stops at the range end."""
    s = build()
    assert s.lt[0].transport_dbg(GenericPayload(WRITE, 0x20FE, b"abcd")) == 2
    assert s.mems[1].storage[0xFE:] == b"ab" and s.mems[1].busy_until == 0
    assert s.lt[0].transport_dbg(GenericPayload(READ, 0x3000, bytearray(4))) == 0


def test_dmi_through_the_router_is_translated() -> None:
    """The grant is expressed in the initiator's addresses and views the target's bytes."""
    s = build()
    region = s.lt[0].get_direct_mem_ptr(GenericPayload(READ, 0x2004, bytearray(1)))
    assert region is not None and (region.start, region.end) == (0x2000, 0x2100)
    region.write(0x2004, b"via dmi")
    assert s.mems[1].storage[4:11] == b"via dmi"
    # An unmapped address is denied over the hole it falls in (here up to the top).
    assert s.lt[0].get_direct_mem_ptr(GenericPayload(READ, 0x3000, bytearray(1))) == DmiDenied(0x2100, DMI_MAX)
    assert s.lt[0].get_direct_mem_ptr(GenericPayload(READ, 0x10, bytearray(1))) == DmiDenied(0, 0x1000)
    assert s.lt[0].get_direct_mem_ptr(GenericPayload(READ, 0x1100, bytearray(1))) == DmiDenied(0x1100, 0x2000)


def test_dmi_invalidation_reaches_every_initiator_that_holds_a_region() -> None:
    """Invalidating mem1 voids mem1 regions in both initiators and keeps mem0 regions."""
    s = build(n_initiators=2)
    for i in range(2):
        for address in (0x1000, 0x2000):
            region = s.lt[i].get_direct_mem_ptr(GenericPayload(READ, address, bytearray(1)))
            assert region is not None
            s.caches[i].add(region)
    s.mems[1].invalidate_dmi(0x410, 0x420)   # mem1's own addresses (base 0x400)
    for cache in s.caches:
        assert [(r.start, r.end) for r in cache.regions] == [(0x1000, 0x1100)]
        assert cache.find(0x1010, 4) is not None and cache.find(0x2010) is None
        assert cache.invalidations == 1


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, int, bytes | int]]:
    ops = []
    for _ in range(draw(st.integers(1, 25))):
        address = draw(st.integers(0x0FF0, 0x2110))
        if draw(st.booleans()):
            ops.append(("w", address, draw(st.binary(min_size=1, max_size=20))))
        else:
            ops.append(("r", address, draw(st.integers(1, 20))))
    return ops


@settings(max_examples=40, deadline=None)
@given(ops=operations(), style=st.sampled_from(["lt", "at"]))
def test_random_reads_and_writes_behave_like_a_flat_bytearray(ops: list, style: str) -> None:
    """Through the router, the two memories behave as one flat byte space with holes (ADDRESS_ERROR)."""
    s = build()
    flat = bytearray(0x3000)
    mapped = [range(0x1000, 0x1100), range(0x2000, 0x2100)]

    def inside(address: int, n: int) -> bool:
        return any(address in r and address + n - 1 in r for r in mapped)

    async def run() -> None:
        for op, address, arg in ops:
            if op == "w":
                t = GenericPayload(WRITE, address, arg)
                n = len(arg)
            else:
                t = GenericPayload(READ, address, bytearray(arg))
                n = arg
            if style == "lt":
                await wait(s.lt[0].b_transport(t, 0))
            else:
                await s.at[0].transport(t)
            if not inside(address, n):
                assert t.response_status is ResponseStatus.ADDRESS_ERROR
                continue
            assert t.is_response_ok()
            if op == "w":
                flat[address:address + n] = arg
            else:
                assert t.data == flat[address:address + n]

    s.sim.spawn(run())
    s.sim.run()
    assert s.mems[0].storage == flat[0x1000:0x1100] and s.mems[1].storage == flat[0x2000:0x2100]


@pytest.mark.parametrize("through_router", [True, False])
def test_one_payload_object_reused_back_to_back(through_router: bool) -> None:
    """Reusing a payload for the next AT transaction at once (before queued END_RESP entries
    come out) works through the router and straight into a memory."""
    sim = Simulator()
    top = Module(sim, "top")
    port = AtInitiator(Module(top, "cpu"), "at")
    mem = Memory(top, "mem", 256, read_latency=2, write_latency=1, bytes_per_cycle=8)
    if through_router:
        bus = Router(top, "bus", [("mem", 0, 256)])
        port.socket.bind(bus.targets[0])
        bus.initiators["mem"].bind(mem.socket)
    else:
        port.socket.bind(mem.socket)
    mem.storage[:] = bytes(range(256))
    seen: list[tuple[int, bytes]] = []

    async def run() -> None:
        trans = GenericPayload(READ, 0, bytearray(8))
        for k in range(5):
            trans.set(READ, 8 * k, trans.data)
            await port.transport(trans)
            assert trans.is_response_ok()
            seen.append((sim.now, bytes(trans.data)))

    sim.spawn(run())
    sim.run()
    assert [d for _, d in seen] == [bytes(range(8 * k, 8 * k + 8)) for k in range(5)]
    assert [t for t, _ in seen] == [3 * NS * (k + 1) for k in range(5)]


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.lists(st.integers(1, 64), min_size=1, max_size=8), min_size=2, max_size=2),
       styles=st.lists(st.sampled_from(["lt", "at"]), min_size=2, max_size=2),
       starts=st.lists(st.integers(0, 20), min_size=2, max_size=2))
def test_contention_never_beats_the_bandwidth(sizes: list[list[int]], styles: list[str], starts: list[int]) -> None:
    """Two initiators (LT or AT) sharing mem0: the last one finishes no earlier than
    first start + total beats / bandwidth, and each finishes no earlier than its own beats."""
    s = build(n_initiators=2, bytes_per_cycle=8)
    finish: list[int] = [0, 0]

    async def worker(i: int) -> None:
        await wait(starts[i] * NS)
        for k, n in enumerate(sizes[i]):
            t = GenericPayload(READ if k % 2 else WRITE, 0x1000 + 64 * (k % 3), bytearray(n))
            if styles[i] == "lt":
                await wait(s.lt[i].b_transport(t, 0))
            else:
                await s.at[i].transport(t)
            assert t.is_response_ok()
        finish[i] = s.sim.now

    s.sim.spawn(worker(0))
    s.sim.spawn(worker(1))
    s.sim.run()
    beats = [sum(math.ceil(n / 8) for n in sz) for sz in sizes]
    assert max(finish) >= min(starts) * NS + sum(beats) * NS
    for i in range(2):
        assert finish[i] >= starts[i] * NS + beats[i] * NS


def test_at_transport_honours_an_annotated_start_delay() -> None:
    """AtInitiator.transport(trans, delay) starts the request `delay` later."""
    s = build()
    done: list[int] = []

    async def run() -> None:
        await s.at[0].transport(GenericPayload(WRITE, 0x1000, b"abcd"), 5 * NS)
        done.append(s.sim.now)

    s.sim.spawn(run())
    s.sim.run()
    assert done == [(5 + 1 + 1) * NS] and s.at[0].end_req_time == 5 * NS


def test_malformed_payloads_never_raise_out_of_the_router() -> None:
    """Bad attribute types end as ADDRESS_ERROR / 0 bytes / no DMI, never as an exception."""
    s = build()
    t = GenericPayload(READ, None, bytearray(4))  # type: ignore[arg-type]
    assert s.lt[0].b_transport(t, 0) == 0 and t.response_status is ResponseStatus.ADDRESS_ERROR
    t2 = GenericPayload(READ, 0x1000, bytearray(4))
    t2.length = "4"  # type: ignore[assignment]
    assert s.lt[0].transport_dbg(t2) == 0 and t2.address == 0x1000 and t2.length == "4"
    assert s.lt[0].get_direct_mem_ptr(t) == DmiDenied()
