"""The generic payload: what one transaction carries (tlm_generic_payload).

Attributes are plain (`trans.address`, not `get_address()`), and the data is
whatever buffer the initiator hands over (bytes, bytearray, memoryview or a
numpy array); targets copy straight from or into it through a memoryview, so
the payload itself never copies data.

Extensions derive from `Extension` when they need `clone()`/`copy_from()`
(used by `GenericPayload.deep_copy_from` and `update_extensions_from`). A
payload may belong to a memory manager (`tlm.transport.mm.MemoryManager`):
`acquire()`/`release()` count its users and the last release hands it back.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Protocol, TypeVar

__all__ = ["BYTE_DISABLED", "BYTE_ENABLED", "Command", "Extension", "GenericPayload", "ResponseStatus",
           "byte_view"]

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


class Extension:
    """Base of payload extensions that can be duplicated (tlm_extension).

    `clone()` returns an independent copy (default: a shallow copy of the
    attributes); `copy_from(other)` overwrites this one with `other`'s
    attributes (default: all of them). Override both for deep state.
    """

    def clone(self) -> Extension:
        """A new extension equal to this one."""
        new = object.__new__(type(self))
        new.copy_from(self)
        return new

    def copy_from(self, other: Extension) -> None:
        """Take over `other`'s attributes (`other` is of the same type)."""
        for cls in type(other).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(other, slot):
                    setattr(self, slot, getattr(other, slot))
        if hasattr(other, "__dict__"):
            self.__dict__.update(other.__dict__)


class _MemoryManager(Protocol):
    def free(self, trans: GenericPayload) -> None: ...


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
                 "response_status", "dmi_allowed", "_extensions", "_mm", "_refs")

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
        self._mm: _MemoryManager | None = None
        self._refs = 0

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

    def clear_extensions(self) -> None:
        """Remove every extension (a MemoryManager does it when a payload comes back)."""
        self._extensions = None

    @property
    def extensions(self) -> dict[type, Any]:
        """The attached extensions by type (a copy)."""
        return dict(self._extensions or {})

    # -- copies ------------------------------------------------------------------
    def update_extensions_from(self, other: GenericPayload) -> None:
        """For each of `other`'s extensions that this payload also has, `copy_from` it."""
        if other._extensions is None or self._extensions is None:
            return
        for cls, ext in other._extensions.items():
            mine = self._extensions.get(cls)
            if mine is not None and mine is not ext:
                _copy_ext(mine, ext)

    def deep_copy_from(self, other: GenericPayload) -> None:
        """Copy every attribute, the data bytes and the extensions of `other` into this payload.

        The data goes into this payload's own buffer when it has one of the
        same size (else into a new bytearray); the byte enables are copied
        too. An extension this payload already has is updated with
        `copy_from`, a missing one is added with `clone()`.
        """
        self.command = other.command
        self.address = other.address
        self.length = other.length
        self.streaming_width = other.streaming_width
        self.response_status = other.response_status
        self.dmi_allowed = other.dmi_allowed
        if other.data is None:
            self.data = None
        else:
            src = byte_view(other.data)
            if self.data is not None and byte_view(self.data).nbytes == src.nbytes \
                    and not byte_view(self.data).readonly:
                byte_view(self.data)[:] = src
            else:
                self.data = bytearray(src)
        self.byte_enable = None if other.byte_enable is None else bytes(other.byte_enable)
        for cls, ext in (other._extensions or {}).items():
            mine = self.get_extension(cls)
            if mine is None:
                self.set_extension(ext.clone() if isinstance(ext, Extension) else _copy(ext))
            elif mine is not ext:
                _copy_ext(mine, ext)

    def update_original_from(self, other: GenericPayload, use_byte_enable_on_read: bool = True) -> None:
        """After forwarding a deep copy `other`: take back its status, hints, extensions
        and, for a READ, its data (only the enabled bytes when asked)."""
        self.response_status = other.response_status
        self.dmi_allowed = other.dmi_allowed
        self.update_extensions_from(other)
        if self.command is Command.READ and self.data is not None and other.data is not None:
            dst, src = byte_view(self.data), byte_view(other.data)
            n = min(self.length, dst.nbytes, src.nbytes)
            be = self.byte_enable
            if use_byte_enable_on_read and be:
                for i in range(n):
                    if be[i % len(be)] == BYTE_ENABLED:
                        dst[i] = src[i]
            else:
                dst[:n] = src[:n]

    # -- memory management ------------------------------------------------------------
    def set_mm(self, mm: _MemoryManager | None) -> None:
        """Hand this payload to a memory manager (or take it back with None)."""
        self._mm = mm

    def has_mm(self) -> bool:
        """True when a memory manager owns this payload."""
        return self._mm is not None

    def get_ref_count(self) -> int:
        """How many users hold the payload (acquire minus release)."""
        return self._refs

    def acquire(self) -> None:
        """One more user holds the payload.

        Raises:
            RuntimeError: the payload has no memory manager.
        """
        if self._mm is None:
            raise RuntimeError(f"acquire() on {self!r}, which has no memory manager")
        self._refs += 1

    def release(self) -> None:
        """One user less; the last release hands the payload back to its manager.

        Raises:
            RuntimeError: no memory manager, or released more often than acquired.
        """
        if self._mm is None:
            raise RuntimeError(f"release() on {self!r}, which has no memory manager")
        if self._refs <= 0:
            raise RuntimeError(f"release() on {self!r} more often than acquire()")
        self._refs -= 1
        if self._refs == 0:
            self._mm.free(self)


def _copy(ext: Any) -> Any:
    import copy
    return copy.copy(ext)


def _copy_ext(mine: Any, ext: Any) -> None:
    if isinstance(mine, Extension):
        mine.copy_from(ext)
    elif hasattr(mine, "__dict__"):
        mine.__dict__.update(ext.__dict__)
