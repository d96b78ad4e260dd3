"""GenericPayload attributes, status helpers, extensions and byte views."""

from __future__ import annotations

import numpy as np
import pytest

from tlm.transport import Command, GenericPayload, ResponseStatus, byte_view


class Priority:
    def __init__(self, level: int) -> None:
        self.level = level


class Tag:
    pass


def test_defaults_follow_the_buffer() -> None:
    """length defaults to the buffer's size in bytes; status starts INCOMPLETE."""
    t = GenericPayload(Command.WRITE, 0x40, np.zeros(3, dtype=np.uint32))
    assert (t.command, t.address, t.length) == (Command.WRITE, 0x40, 12)
    assert t.response_status is ResponseStatus.INCOMPLETE
    assert not t.is_response_ok() and not t.is_response_error()
    assert GenericPayload().length == 0


@pytest.mark.parametrize("status,ok,error", [
    (ResponseStatus.OK, True, False), (ResponseStatus.INCOMPLETE, False, False),
    (ResponseStatus.ADDRESS_ERROR, False, True), (ResponseStatus.BYTE_ENABLE_ERROR, False, True),
])
def test_status_helpers(status: ResponseStatus, ok: bool, error: bool) -> None:
    """is_response_ok is OK only; every *_ERROR is an error, INCOMPLETE is neither."""
    t = GenericPayload()
    t.response_status = status
    assert (t.is_response_ok(), t.is_response_error()) == (ok, error)


def test_extensions_are_stored_by_type() -> None:
    """set_extension replaces by type and returns the old one; get/clear by type."""
    t = GenericPayload()
    assert t.get_extension(Priority) is None
    first = Priority(1)
    assert t.set_extension(first) is None
    assert t.set_extension(Tag()) is None
    assert t.set_extension(Priority(2)) is first
    ext = t.get_extension(Priority)
    assert ext is not None and ext.level == 2
    t.clear_extension(Priority)
    assert t.get_extension(Priority) is None and isinstance(t.get_extension(Tag), Tag)


def test_set_reuses_a_payload_and_resets_the_answer() -> None:
    """set() starts a new transaction on the same object, keeping extensions."""
    t = GenericPayload(Command.READ, 1, bytearray(2), byte_enable=b"\xff")
    t.response_status = ResponseStatus.OK
    t.set_extension(Tag())
    t.set(Command.WRITE, 8, b"abcd")
    assert (t.command, t.address, t.length, t.byte_enable) == (Command.WRITE, 8, 4, None)
    assert t.response_status is ResponseStatus.INCOMPLETE and t.get_extension(Tag) is not None


def test_payload_has_slots_and_a_readable_repr() -> None:
    """No per-instance dict (hot path); repr names command, address and status."""
    t = GenericPayload(Command.READ, 0x10, bytearray(4))
    with pytest.raises(AttributeError):
        t.adress = 3  # type: ignore[attr-defined]
    assert repr(t) == "<GenericPayload READ @0x10 len=4 INCOMPLETE>"


def test_byte_view_never_copies() -> None:
    """byte_view flattens any contiguous buffer to unsigned bytes over the same memory."""
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    v = byte_view(a)
    assert v.format == "B" and v.nbytes == 12
    v[0] = 0xFF
    assert a[0, 0] == 0xFF
    b = bytearray(b"xy")
    byte_view(b)[1] = ord("z")
    assert b == b"xz"
    strided = np.zeros(8, dtype=np.uint8)
    byte_view(strided[::2])[1] = 7        # a strided byte view still writes in place
    assert strided.tolist() == [0, 0, 7, 0, 0, 0, 0, 0]
    with pytest.raises(TypeError):
        byte_view(np.arange(8, dtype=np.int16)[::2])
