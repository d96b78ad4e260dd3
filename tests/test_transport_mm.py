"""Payload extensions (clone/copy_from, deep copies), the memory manager and DMI denials."""

from __future__ import annotations

from typing import Any

import pytest

from tlm import Module, Simulator
from tlm.transport import (
    BYTE_DISABLED, BYTE_ENABLED, DMI_MAX, Command, DmiCache, DmiDenied, DmiRegion, Extension, GenericPayload,
    InitiatorSocket, Memory, MemoryManager, ResponseStatus,
)


class Tag(Extension):
    def __init__(self, value: int) -> None:
        self.value = value


class Slotted(Extension):
    __slots__ = ("a", "b")

    def __init__(self, a: int, b: list[int]) -> None:
        self.a, self.b = a, b


class Plain:
    """An extension that does not derive from Extension: copied with copy.copy."""

    def __init__(self, x: int) -> None:
        self.x = x


def test_extension_clone_and_copy_from_work_for_dict_and_slots_classes() -> None:
    t = Tag(3)
    c = t.clone()
    assert isinstance(c, Tag) and c is not t and c.value == 3
    s = Slotted(1, [2])
    s2 = s.clone()
    assert isinstance(s2, Slotted) and (s2.a, s2.b) == (1, [2])
    s2.copy_from(Slotted(5, [6]))
    assert (s2.a, s2.b) == (5, [6])


def test_deep_copy_from_copies_attributes_data_and_clones_extensions() -> None:
    src = GenericPayload(Command.WRITE, 0x40, bytearray(b"abcd"), byte_enable=b"\xff\x00")
    src.streaming_width = 4
    src.response_status = ResponseStatus.OK
    src.set_extension(Tag(7))
    src.set_extension(Plain(1))
    own = bytearray(4)
    dst = GenericPayload(data=own)
    dst.deep_copy_from(src)
    assert (dst.command, dst.address, dst.length, dst.streaming_width, dst.response_status) == \
        (Command.WRITE, 0x40, 4, 4, ResponseStatus.OK)
    assert dst.data is own and own == b"abcd" and dst.byte_enable == b"\xff\x00"
    tag, plain = dst.get_extension(Tag), dst.get_extension(Plain)
    assert tag is not None and tag is not src.get_extension(Tag) and tag.value == 7
    assert plain is not None and plain is not src.get_extension(Plain) and plain.x == 1
    other = GenericPayload()
    other.deep_copy_from(GenericPayload(data=b"xy"))
    assert other.data == bytearray(b"xy") and isinstance(other.data, bytearray)   # a new buffer


def test_update_extensions_and_original_from_a_forwarded_copy() -> None:
    orig = GenericPayload(Command.READ, 0, bytearray(4), byte_enable=bytes([BYTE_ENABLED, BYTE_DISABLED]))
    orig.set_extension(Tag(1))
    fwd = GenericPayload()
    fwd.deep_copy_from(orig)
    fwd.data[:] = b"WXYZ"
    fwd.response_status = ResponseStatus.OK
    ext = fwd.get_extension(Tag)
    assert ext is not None
    ext.value = 9
    orig.update_original_from(fwd)
    assert orig.response_status is ResponseStatus.OK and orig.data == bytearray(b"W\x00Y\x00")
    tag = orig.get_extension(Tag)
    assert tag is not None and tag.value == 9 and tag is not ext


def test_memory_manager_pools_payloads_and_calls_free_on_the_last_release() -> None:
    freed: list[int] = []
    mm = MemoryManager(free=lambda t: freed.append(t.get_ref_count()))
    a = mm.acquire_payload()
    a.set_extension(Tag(1))
    a.acquire()
    a.release()
    assert freed == [] and a.get_ref_count() == 1 and a.has_mm()
    a.release()
    assert freed == [0] and len(mm) == 1 and a.get_extension(Tag) is None
    b = mm.acquire_payload()
    assert b is a and mm.allocated == 1 and mm.freed == 1
    c = mm.acquire_payload()
    assert c is not a and mm.allocated == 2


def test_memory_manager_can_keep_sticky_extensions() -> None:
    mm = MemoryManager(keep_extensions=True)
    a = mm.acquire_payload()
    a.set_extension(Tag(4))
    a.release()
    again = mm.acquire_payload()
    tag = again.get_extension(Tag)
    assert again is a and tag is not None and tag.value == 4


def test_reference_counting_errors_are_reported() -> None:
    plain = GenericPayload()
    assert not plain.has_mm()
    with pytest.raises(RuntimeError, match="no memory manager"):
        plain.acquire()
    with pytest.raises(RuntimeError, match="no memory manager"):
        plain.release()
    t = MemoryManager().allocate()
    with pytest.raises(RuntimeError, match="more often than acquire"):
        t.release()


# -- DMI denial --------------------------------------------------------------------------------

def test_a_denial_is_falsy_and_carries_its_range() -> None:
    d = DmiDenied(0x100, 0x200)
    assert not d and not d.granted and not d.read_allowed and not d.write_allowed
    assert d.contains(0x100, 0x100) and not d.contains(0xFF) and d.overlaps(0x1FF, 0x300)
    assert DmiDenied() == DmiDenied(0, DMI_MAX)
    assert d.translated(0x1000, 0x1080, 0x2000) == DmiDenied(0x1100, 0x1200)
    assert d.translated(0, 0x300, 0x400) is None
    with pytest.raises(ValueError):
        DmiDenied(5, 5)


def test_dmi_cache_remembers_denials_until_an_invalidation_covers_them(sim: Simulator) -> None:
    """An initiator stops asking inside a denied range, and asks again after invalidation."""
    mem = Memory(sim, "mem", 256, dmi=False)
    cache = DmiCache()
    asked: list[int] = []
    ini = InitiatorSocket(Module(sim, "cpu"), "s", invalidate_direct_mem_ptr=cache.invalidate)
    ini.bind(mem.socket)

    def access(address: int) -> Any:
        region = cache.find(address)
        if region is None and not cache.is_denied(address):
            asked.append(address)
            region = ini.get_direct_mem_ptr(GenericPayload(Command.READ, address, bytearray(1)))
            cache.add(region)
        return region

    for a in (0, 8, 255):
        assert not access(a)
    assert asked == [0] and cache.denied == [DmiDenied(0, 256)]
    mem.invalidate_dmi(0x200, 0x300)    # elsewhere: the denial still stands
    assert not access(16) and asked == [0]
    mem.set_dmi_enabled(True)           # a change invalidates: the initiator asks again
    region = access(16)
    assert isinstance(region, DmiRegion) and region and asked == [0, 16] and cache.denied == []
