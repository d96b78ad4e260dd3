"""The Memory target: data path, status codes, timing, debug transport and DMI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm import NS, Module, Simulator, wait
from tlm.transport import (
    Command, DmiCache, DmiDenied, GenericPayload, InitiatorSocket, Memory, ResponseStatus, byte_view,
)

READ, WRITE, IGNORE = Command.READ, Command.WRITE, Command.IGNORE


def make(sim: Simulator, **kw: object) -> tuple[InitiatorSocket, Memory, DmiCache]:
    cache = DmiCache()
    ini = InitiatorSocket(Module(sim, "cpu"), "s", invalidate_direct_mem_ptr=cache.invalidate)
    params: dict = dict(read_latency=3, write_latency=2, bytes_per_cycle=4, clock_period=1 * NS)
    params.update(kw)
    mem = Memory(sim, "mem", params.pop("size", 256), **params)
    ini.bind(mem.socket)
    return ini, mem, cache


def test_write_then_read_returns_the_data_and_the_modelled_delay(sim: Simulator) -> None:
    """n bytes cost ceil(n / bytes_per_cycle) cycles plus the latency, after the annotated delay."""
    ini, mem, _ = make(sim)
    w = GenericPayload(WRITE, 16, b"0123456789")
    assert ini.b_transport(w, 0) == (3 + 2) * NS and w.is_response_ok()
    buf = bytearray(10)
    r = GenericPayload(READ, 16, buf)
    # asked for at 5 ns (annotated), the memory is free again at 3 ns
    assert ini.b_transport(r, 5 * NS) == 5 * NS + (3 + 3) * NS
    assert buf == b"0123456789" and r.response_status is ResponseStatus.OK
    assert mem.storage[16:26] == b"0123456789"


def test_back_to_back_requests_wait_for_busy_until(sim: Simulator) -> None:
    """A second transfer asked for while the memory is busy starts when it is free."""
    ini, mem, _ = make(sim, read_latency=10)
    t1 = GenericPayload(READ, 0, bytearray(32))
    t2 = GenericPayload(READ, 32, bytearray(32))
    assert ini.b_transport(t1, 0) == 8 * NS + 10 * NS
    assert mem.busy_until == 8 * NS
    assert ini.b_transport(t2, 0) == 16 * NS + 10 * NS   # latency overlaps, beats do not


@pytest.mark.parametrize("address,length", [(256, 1), (250, 8), (-1, 2), (1 << 40, 4)])
def test_out_of_range_access_is_an_address_error(sim: Simulator, address: int, length: int) -> None:
    """Any byte outside the storage gives ADDRESS_ERROR, no data moves, no time passes."""
    ini, mem, _ = make(sim)
    t = GenericPayload(WRITE, address, bytes(range(1, length + 1)))
    assert ini.b_transport(t, 7) == 7
    assert t.response_status is ResponseStatus.ADDRESS_ERROR
    assert not any(mem.storage) and mem.busy_until == 0


def test_base_address_shifts_the_window(sim: Simulator) -> None:
    """With base=0x1000 the memory answers [0x1000, 0x1100) and nothing below."""
    ini, _, _ = make(sim, base=0x1000)
    assert _status(ini, WRITE, 0x1000, b"ab") is ResponseStatus.OK
    assert _status(ini, WRITE, 0x10FF, b"a") is ResponseStatus.OK
    assert _status(ini, WRITE, 0x0FFF, b"ab") is ResponseStatus.ADDRESS_ERROR
    assert _status(ini, WRITE, 0x1100, b"a") is ResponseStatus.ADDRESS_ERROR


def _status(ini: InitiatorSocket, cmd: Command, address: int, data: object, **kw: object) -> ResponseStatus:
    t = GenericPayload(cmd, address, data)
    for k, v in kw.items():
        setattr(t, k, v)
    ini.b_transport(t, 0)
    return t.response_status


def test_write_to_a_read_only_memory_is_a_command_error(sim: Simulator) -> None:
    """A ROM refuses WRITE with COMMAND_ERROR but reads fine."""
    ini, mem, _ = make(sim, read_only=True)
    assert _status(ini, WRITE, 0, b"x") is ResponseStatus.COMMAND_ERROR
    assert _status(ini, READ, 0, bytearray(1)) is ResponseStatus.OK
    assert mem.storage[0] == 0


def test_an_unknown_command_is_a_command_error(sim: Simulator) -> None:
    """A command value outside READ/WRITE/IGNORE gives COMMAND_ERROR."""
    ini, _, _ = make(sim)
    assert _status(ini, 7, 0, bytearray(1)) is ResponseStatus.COMMAND_ERROR  # type: ignore[arg-type]


def test_ignore_is_ok_and_takes_no_time(sim: Simulator) -> None:
    """IGNORE is answered OK without moving data or occupying the memory."""
    ini, mem, _ = make(sim)
    t = GenericPayload(IGNORE, 4, None, length=4)
    assert ini.b_transport(t, 3) == 3 and t.is_response_ok() and mem.busy_until == 0


@pytest.mark.parametrize("be", [b"", b"\xff" * 5, b"\xff\x0f"])
def test_bad_byte_enables_are_a_byte_enable_error(sim: Simulator, be: bytes) -> None:
    """Empty, longer than the data, or values other than 0x00/0xFF: BYTE_ENABLE_ERROR."""
    ini, _, _ = make(sim)
    assert _status(ini, WRITE, 0, b"abcd", byte_enable=be) is ResponseStatus.BYTE_ENABLE_ERROR


def test_zero_streaming_width_is_a_burst_error(sim: Simulator) -> None:
    """A streaming width of 0 bytes is meaningless: BURST_ERROR."""
    ini, _, _ = make(sim)
    assert _status(ini, WRITE, 0, b"abcd", streaming_width=0) is ResponseStatus.BURST_ERROR


@pytest.mark.parametrize("cmd,data,kw", [
    (READ, b"immutable", {}),                  # cannot read into bytes
    (WRITE, b"ab", {"length": 4}),             # buffer shorter than length
    (WRITE, None, {"length": 4}),              # no buffer at all
    (WRITE, b"ab", {"length": 0}),             # empty transfer
    (WRITE, b"ab", {"address": None}),         # malformed payload
    (WRITE, b"ab", {"length": "2"}),           # wrong type
])
def test_malformed_transactions_set_a_status_and_never_raise(sim: Simulator, cmd: Command, data: object,
                                                              kw: dict) -> None:
    """Bad buffers and attribute types end as an error status, not an exception."""
    ini, _, _ = make(sim)
    t = GenericPayload(cmd, 0, data)
    for k, v in kw.items():
        setattr(t, k, v)
    assert ini.b_transport(t, 0) == 0
    assert t.is_response_error()


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=1, max_size=24), be=st.lists(st.sampled_from([0, 0xFF]), min_size=1, max_size=6),
       address=st.integers(0, 40))
def test_byte_enables_match_a_numpy_reference(data: bytes, be: list[int], address: int) -> None:
    """A write with byte enables changes exactly the enabled bytes (pattern repeats)."""
    if len(be) > len(data):
        be = be[:len(data)]
    sim = Simulator()
    ini, mem, _ = make(sim, size=64)
    mem.storage[:] = bytes(range(100, 164))
    expect = np.frombuffer(bytes(mem.storage), dtype=np.uint8).copy()
    mask = np.resize(np.array(be, dtype=np.uint8), len(data)) == 0xFF
    window = expect[address:address + len(data)]
    window[mask] = np.frombuffer(data, dtype=np.uint8)[mask]
    t = GenericPayload(WRITE, address, data, byte_enable=bytes(be))
    ini.b_transport(t, 0)
    assert t.is_response_ok()
    assert bytes(mem.storage) == expect.tobytes()
    # a read with the same enables fills only the enabled bytes of the buffer
    buf = bytearray(b"\x01" * len(data))
    ini.b_transport(GenericPayload(READ, address, buf, byte_enable=bytes(be)), 0)
    got = np.frombuffer(bytes(buf), dtype=np.uint8)
    assert (got[mask] == expect[address:address + len(data)][mask]).all() and (got[~mask] == 1).all()


def test_streaming_width_wraps_the_address(sim: Simulator) -> None:
    """With streaming width 2, an 8-byte write hits only 2 addresses; the last beat stays."""
    ini, mem, _ = make(sim)
    t = GenericPayload(WRITE, 10, b"abcdefgh", streaming_width=2)
    ini.b_transport(t, 0)
    assert t.is_response_ok() and mem.storage[9:13] == b"\x00gh\x00"
    buf = bytearray(6)
    ini.b_transport(GenericPayload(READ, 10, buf, streaming_width=2), 0)
    assert buf == b"ghghgh"


def test_numpy_buffers_are_read_and_written_in_place(sim: Simulator) -> None:
    """uint8 and wider numpy arrays serve as data without copies."""
    ini, mem, _ = make(sim)
    words = np.arange(8, dtype=np.int32)
    ini.b_transport(GenericPayload(WRITE, 0, words), 0)
    assert bytes(mem.storage[:32]) == words.tobytes()
    out = np.zeros((2, 16), dtype=np.uint8)
    t = GenericPayload(READ, 0, out)
    assert t.length == 32
    ini.b_transport(t, 0)
    assert out.tobytes() == words.tobytes()
    assert byte_view(out).obj is not None and np.shares_memory(np.asarray(byte_view(out)), out)


def test_transport_dbg_moves_data_without_time(sim: Simulator) -> None:
    """Debug access copies bytes, clips at the end, and leaves busy_until alone."""
    ini, mem, _ = make(sim)
    assert ini.transport_dbg(GenericPayload(WRITE, 250, b"0123456789")) == 6
    assert mem.storage[250:] == b"012345" and mem.busy_until == 0 and mem.transactions == 0
    buf = bytearray(4)
    assert ini.transport_dbg(GenericPayload(READ, 252, buf)) == 4 and buf == b"2345"
    assert ini.transport_dbg(GenericPayload(READ, 999, buf)) == 0
    assert ini.transport_dbg(GenericPayload(READ, 0, b"ro")) == 0   # bad buffer: 0, no raise


def test_dmi_grant_views_the_storage_with_its_latencies(sim: Simulator) -> None:
    """The granted region reads and writes the memory's own bytes."""
    ini, mem, _ = make(sim)
    region = ini.get_direct_mem_ptr(GenericPayload(READ, 0, bytearray(1)))
    assert region is not None and (region.start, region.end) == (0, 256)
    assert (region.read_latency, region.write_latency) == (3 * NS, 2 * NS)
    region.write(100, b"dmi!")
    assert mem.storage[100:104] == b"dmi!" and bytes(region.read(100, 4)) == b"dmi!"
    with pytest.raises(IndexError):
        region.read(254, 4)


def test_dmi_of_a_rom_is_read_only_and_can_be_switched_off(sim: Simulator) -> None:
    """A ROM grants read-only DMI; disabling DMI invalidates held regions."""
    ini, mem, cache = make(sim, read_only=True)
    region = ini.get_direct_mem_ptr(GenericPayload(READ, 0, bytearray(1)))
    assert region is not None and not region.write_allowed
    with pytest.raises(PermissionError):
        region.write(0, b"x")
    cache.add(region)
    mem.set_dmi_enabled(False)
    assert cache.regions == [] and cache.invalidations == 1
    denied = ini.get_direct_mem_ptr(GenericPayload(READ, 0, bytearray(1)))
    assert not denied and denied == DmiDenied(0, 256)   # denied over the whole memory


def test_bandwidth_contention_between_two_lt_threads(sim: Simulator) -> None:
    """Two threads sharing one port finish no earlier than total bytes / bandwidth."""
    mem = Memory(sim, "mem", 4096, read_latency=0, write_latency=0, bytes_per_cycle=8, clock_period=NS, ports=2)
    sockets = []
    for i in range(2):
        s = InitiatorSocket(Module(sim, f"cpu{i}"), "s")
        s.bind(mem.sockets[i])
        sockets.append(s)
    done: list[int] = []

    async def worker(s: InitiatorSocket, base: int) -> None:
        for k in range(10):
            delay = s.b_transport(GenericPayload(READ, base + 64 * k, bytearray(64)), 0)
            await wait(delay)
        done.append(sim.now)

    sim.spawn(worker(sockets[0], 0))
    sim.spawn(worker(sockets[1], 2048))
    sim.run()
    total_bytes = 2 * 10 * 64
    assert max(done) >= math.ceil(total_bytes / 8) * NS
    assert max(done) == 160 * NS   # the memory never idles while both wait


def test_memory_serves_a_numpy_image_in_place(sim: Simulator) -> None:
    """storage= uses the caller's buffer: writes show up in the numpy array, byte enables too."""
    image = np.arange(64, dtype=np.uint8)
    ini = InitiatorSocket(Module(sim, "cpu"), "s")
    mem = Memory(sim, "mem", 64, storage=image)
    ini.bind(mem.socket)
    buf = bytearray(4)
    ini.b_transport(GenericPayload(READ, 8, buf), 0)
    assert buf == bytes([8, 9, 10, 11])
    ini.b_transport(GenericPayload(WRITE, 0, b"\xaa\xbb", byte_enable=b"\x00\xff"), 0)
    assert image[:3].tolist() == [0, 0xBB, 2] and mem.storage is image


@pytest.mark.parametrize("kw,match", [
    ({"size": 0}, "size must be an int >= 1"),
    ({"bytes_per_cycle": 0}, "bytes_per_cycle must be"),
    ({"clock_period": 1.5}, "clock_period must be"),
    ({"storage": bytearray(10)}, "storage must be a writable buffer of 16 bytes, got 10"),
    ({"storage": bytes(16)}, "read-only"),
])
def test_bad_memory_parameters_are_refused(sim: Simulator, kw: dict, match: str) -> None:
    """Construction checks every parameter and names the bad one."""
    params: dict = {"size": 16}
    params.update(kw)
    with pytest.raises(ValueError, match=match):
        Memory(sim, "mem", params.pop("size"), **params)
