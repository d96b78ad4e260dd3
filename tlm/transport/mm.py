"""A memory manager: a pool of reusable payloads (tlm_mm_interface).

Models that start many transactions can reuse payload objects instead of
making new ones. `acquire_payload()` takes one from the pool (or makes one)
and counts one user; whoever holds it for longer calls `trans.acquire()`,
and each user calls `trans.release()` when done. The last release calls the
manager's `free(trans)`, which runs the optional `free` callback, drops the
payload's extensions (unless told to keep them) and puts it back into the
pool; the other attributes are left for the next user to set.

Usage::

    mm = MemoryManager(free=lambda t: print("freed", t))
    trans = mm.acquire_payload()        # ref count 1
    trans.set(Command.READ, 0x40, buf)
    await sock.b_transport_await(trans, 0)
    trans.release()                     # back into the pool
"""

from __future__ import annotations

from collections.abc import Callable

from tlm.transport.payload import GenericPayload

__all__ = ["MemoryManager"]


class MemoryManager:
    """A pool of `GenericPayload`s with reference counting.

    Args:
        free: optional `fn(trans)`, called when a payload's last user
            releases it, before it goes back to the pool.
        keep_extensions: keep a freed payload's extensions (sticky
            extensions); by default they are dropped.

    Attributes:
        allocated: payloads made so far (the pool never shrinks).
        freed: how many times a payload came back.
    """

    __slots__ = ("_pool", "_free_cb", "_keep", "allocated", "freed")

    def __init__(self, free: Callable[[GenericPayload], object] | None = None, *,
                 keep_extensions: bool = False) -> None:
        self._pool: list[GenericPayload] = []
        self._free_cb = free
        self._keep = keep_extensions
        self.allocated = 0
        self.freed = 0

    def __len__(self) -> int:
        """Payloads waiting in the pool."""
        return len(self._pool)

    def allocate(self) -> GenericPayload:
        """A payload owned by this manager with no user yet (tlm_mm_interface::allocate)."""
        if self._pool:
            return self._pool.pop()
        self.allocated += 1
        trans = GenericPayload()
        trans.set_mm(self)
        return trans

    def acquire_payload(self) -> GenericPayload:
        """A payload from the pool with one user (the caller)."""
        trans = self.allocate()
        trans.acquire()
        return trans

    def free(self, trans: GenericPayload) -> None:
        """Called by the payload's last `release()`: drop its extensions and pool it."""
        if self._free_cb is not None:
            self._free_cb(trans)
        self.freed += 1
        if not self._keep:
            trans.clear_extensions()
        self._pool.append(trans)
