"""Fifo: a bounded channel with sc_fifo visibility rules."""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any, Generic, TypeVar

from tlm.kernel.coro import as_simulator, native_coroutine, scoped_name
from tlm.kernel.event import Event
from tlm.kernel.simulator import Simulator

T = TypeVar("T")


class _ReadEvent(Event):
    """`Fifo.data_read`: a wait on it makes the fifo's unnoted reads notify it."""

    __slots__ = ("_fifo",)

    def __init__(self, fifo: Fifo[Any], name: str) -> None:
        super().__init__(fifo.sim, name)
        self._fifo = fifo

    def _register_hook(self) -> None:
        fifo = self._fifo
        fifo._settle()
        if fifo._num_read:  # read in this delta without an update request
            fifo._request()


class Fifo(Generic[T]):
    """A FIFO of `depth` items between processes.

    As sc_fifo: an item written is readable only after the update phase, and
    a slot freed by a read is writable only after the update phase; the
    `data_written` / `data_read` events fire one delta later.

    A read that nothing observes before the next delta (no process waits on
    `data_read`, no method is sensitive to it) skips the update phase: the
    fifo commits it itself when next used in a later delta (`_settle`). If
    the update is wanted after all in the same delta (a write, or a wait on
    `data_read`), it is requested at the place in the update order where
    the read would have requested it, so every wake-up keeps its order.

    Usage::

        await fifo.put(x); y = await fifo.get()
        ok = fifo.nb_put(x); ok, y = fifo.nb_get()
    """

    __slots__ = ("sim", "name", "depth", "_items", "_readable", "_num_read", "_num_written",
                 "_read_at", "_read_pos", "_pending", "_updates", "data_written", "data_read")

    def __init__(self, sim: Simulator, depth: int = 1, name: str = "fifo") -> None:
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"fifo depth must be a positive int, got {depth!r}")
        if not isinstance(sim, Simulator):
            name = scoped_name(sim, name)
            sim = as_simulator(sim, "Fifo")
        self.sim = sim
        self.name = name
        self.depth = depth
        self._items: deque[T] = deque()
        self._readable = 0      # items visible to readers (committed before this phase)
        self._num_read = 0      # reads not yet committed, all in delta cycle `_read_at`
        self._num_written = 0   # writes in this evaluation phase (not yet readable)
        self._read_at = -1      # Simulator.delta_count of those reads
        self._read_pos = 0      # where the first of them would have queued the update
        self._pending = False   # in the simulator's update list
        self._updates = sim._updates
        self.data_written = Event(sim, f"{name}.data_written")
        self.data_read: Event = _ReadEvent(self, f"{name}.data_read")

    def __repr__(self) -> str:
        return f"<Fifo {self.name} {len(self._items)}/{self.depth}>"

    @property
    def num_available(self) -> int:
        """Items a reader can take now."""
        return self._readable - self._num_read

    @property
    def num_free(self) -> int:
        """Slots a writer can fill now (reads free slots only after the update)."""
        self._settle()
        return self.depth - self._readable - self._num_written

    def _settle(self) -> None:
        """Commit reads of an earlier delta cycle that skipped the update phase."""
        if self._num_read and self._read_at != self.sim.delta_count:
            self._readable -= self._num_read
            self._num_read = 0

    def _request(self) -> None:
        """Queue the update (after `_settle`), where the first read of this delta would have."""
        if not self._pending:
            self._pending = True
            if self._num_read:
                self._updates.insert(self._read_pos, self)
            else:
                self._updates.append(self)

    def _note_read(self) -> None:
        """Count one read (after `_settle`): queue the update if anything observes it."""
        sim = self.sim
        if not self._num_read:
            self._read_at = sim.delta_count
            self._read_pos = len(self._updates)
        self._num_read += 1
        ev = self.data_read
        if ev._waiters or not ev._plain:
            self._request()

    def nb_put(self, item: T) -> bool:
        """Write if there is room; False otherwise."""
        self._settle()
        if self.depth - self._readable - self._num_written <= 0:
            return False
        self._items.append(item)
        self._num_written += 1
        self._request()
        return True

    def nb_get(self) -> tuple[bool, T | None]:
        """(True, item) if an item is available, else (False, None)."""
        if self._readable - self._num_read <= 0:
            return False, None
        self._settle()
        self._note_read()
        return True, self._items.popleft()

    @native_coroutine
    def put(self, item: T) -> Generator[Any, None, None]:
        """Write, waiting for a free slot (``await fifo.put(x)``).

        Nothing happens until the call is awaited: a forgotten `await` writes
        nothing and Python warns that the coroutine was never awaited.
        """
        n = self._num_read
        if n and self._read_at != self.sim.delta_count:  # _settle, inlined
            self._readable -= n
            self._num_read = n = 0
        if self.depth - self._readable - self._num_written > 0:
            self._items.append(item)
            self._num_written += 1
            if not self._pending:
                if n:
                    self._request()
                else:  # _request, inlined for the hot case
                    self._pending = True
                    self._updates.append(self)
            return
        # The waiting part yields the kernel's Event directly: cheaper than
        # an `async def` plus `await event`.
        while self.depth - self._readable - self._num_written <= 0:
            yield self.data_read
            self._settle()
        self._items.append(item)
        self._num_written += 1
        self._request()

    @native_coroutine
    def get(self) -> Generator[Any, None, T]:
        """Read, waiting for an item (``x = await fifo.get()``)."""
        while self._readable - self._num_read <= 0:
            yield self.data_written
        sim = self.sim
        n = self._num_read
        if n and self._read_at != sim.delta_count:  # _settle, inlined
            self._readable -= n
            self._num_read = n = 0
        # _note_read, inlined
        if not n:
            self._read_at = sim.delta_count
            self._read_pos = len(self._updates)
        self._num_read = n + 1
        ev = self.data_read
        if ev._waiters or not ev._plain:
            self._request()
        return self._items.popleft()

    def _update(self) -> None:
        self._pending = False
        if self._num_read:
            self._readable -= self._num_read
            self._num_read = 0
            self.data_read._notify_from_update()
        if self._num_written:
            self._readable += self._num_written
            self._num_written = 0
            ev = self.data_written
            if ev._plain and ev._at is None and not ev._delta:
                # Event._notify_from_update's hot case, inlined: a call here
                # costs ~5% of a producer/consumer item.
                ws = ev._waiters
                ev._runnable.extend(ws)
                ws.clear()
            else:
                ev._notify_from_update()

    def __len__(self) -> int:
        return len(self._items)

    def peek(self) -> Any:
        """The next readable item without removing it (None if none)."""
        return self._items[0] if self._readable - self._num_read > 0 else None
