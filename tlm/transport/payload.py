"""The generic payload: what one transaction carries (tlm_generic_payload).

Attributes are plain (`trans.address`, not `get_address()`), and the data is
whatever buffer the initiator hands over (bytes, bytearray, memoryview or a
numpy array); targets copy straight from or into it through a memoryview, so
the payload itself never copies data.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, TypeVar

__all__ = ["BYTE_DISABLED", "BYTE_ENABLED", "Command", "GenericPayload", "ResponseStatus", "byte_view"]

BYTE_ENABLED = 0xFF
BYTE_DISABLED = 0x00

E = TypeVar("E")


class Command(IntEnum):
    """What the transaction asks the target to do (tlm_command)."""

    READ = 0
    WRITE = 1
    IGNORE = 2


class ResponseStatus(IntEnum):
    """How the target answered (tlm_response_status); only OK is positive."""

    OK = 1
    INCOMPLETE = 0
    GENERIC_ERROR = -1
    ADDRESS_ERROR = -2
    COMMAND_ERROR = -3
    BURST_ERROR = -4
    BYTE_ENABLE_ERROR = -5


def byte_view(data: Any) -> memoryview:
    """A flat unsigned-byte memoryview over `data`, without copying.

    Accepts anything with the buffer protocol (bytes, bytearray, memoryview,
    C-contiguous numpy arrays of any dtype and shape).

    Raises:
        TypeError: `data` has no buffer interface or is not C-contiguous.
    """
    mv = data if data.__class__ is memoryview else memoryview(data)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


class GenericPayload:
    """One transaction: command, address, data and the target's answer.

    Args:
        command: READ, WRITE or IGNORE.
        address: the first byte's address, as seen by whoever receives the
            payload (an interconnect may translate it on the way).
        data: the initiator's buffer; READ fills it, WRITE reads from it.
        length: bytes to transfer; defaults to the buffer's size in bytes.
        byte_enable: optional mask, one byte per data byte, 0xFF = enabled,
            0x00 = disabled; shorter than `length` it repeats (TLM-2.0 rule).
        streaming_width: None for a plain burst; otherwise the address wraps
            back to `address` every `streaming_width` bytes (a FIFO port).

    `response_status` starts INCOMPLETE; a target sets it. `dmi_allowed` is
    the target's hint that `get_direct_mem_ptr` would be granted. Extensions
    are objects stored by their type: `set_extension(obj)`,
    `get_extension(Type)`.

    Usage::

        buf = bytearray(16)
        trans = GenericPayload(Command.READ, 0x100, buf)
        delay = socket.b_transport(trans, 0)
        if not trans.is_response_ok(): ...
    """

    __slots__ = ("command", "address", "data", "length", "byte_enable", "streaming_width",
                 "response_status", "dmi_allowed", "_extensions")

    def __init__(self, command: Command = Command.IGNORE, address: int = 0, data: Any = None,
                 length: int | None = None, byte_enable: bytes | None = None,
                 streaming_width: int | None = None) -> None:
        self.command = command
        self.address = address
        self.data = data
        if length is None:
            length = 0 if data is None else byte_view(data).nbytes
        self.length = length
        self.byte_enable = byte_enable
        self.streaming_width = streaming_width
        self.response_status = ResponseStatus.INCOMPLETE
        self.dmi_allowed = False
        self._extensions: dict[type, Any] | None = None

    def __repr__(self) -> str:
        return (f"<GenericPayload {self.command.name} @0x{self.address:x} len={self.length} "
                f"{self.response_status.name}>")

    def set(self, command: Command, address: int, data: Any, length: int | None = None) -> None:
        """Reuse the payload for a new transaction: reset status and hints, keep extensions."""
        self.command = command
        self.address = address
        self.data = data
        self.length = byte_view(data).nbytes if length is None else length
        self.byte_enable = None
        self.streaming_width = None
        self.response_status = ResponseStatus.INCOMPLETE
        self.dmi_allowed = False

    def is_response_ok(self) -> bool:
        """True when the target answered OK."""
        return self.response_status is ResponseStatus.OK

    def is_response_error(self) -> bool:
        """True when the target answered with an error status (not INCOMPLETE)."""
        return self.response_status < ResponseStatus.INCOMPLETE

    # -- typed extensions --------------------------------------------------------
    def set_extension(self, ext: object) -> object | None:
        """Attach `ext` under its type; returns the extension it replaces, if any."""
        if self._extensions is None:
            self._extensions = {}
        old = self._extensions.get(type(ext))
        self._extensions[type(ext)] = ext
        return old

    def get_extension(self, ext_type: type[E]) -> E | None:
        """The extension of exactly type `ext_type`, or None."""
        if self._extensions is None:
            return None
        return self._extensions.get(ext_type)

    def clear_extension(self, ext_type: type) -> None:
        """Remove the extension of type `ext_type` (no error when absent)."""
        if self._extensions is not None:
            self._extensions.pop(ext_type, None)
