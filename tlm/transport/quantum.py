"""Temporal decoupling: a thread runs ahead of simulated time by a local offset.

A loosely-timed initiator adds each transaction's annotated delay to its
`QuantumKeeper` instead of waiting, and yields to the kernel only when the
offset reaches the end of the current quantum (tlm_utils::tlm_quantumkeeper).
Sync points fall on multiples of the global quantum, so keepers of several
initiators meet at the same instants.

The global quantum (tlm_global_quantum) belongs to a Simulator, not to the
process, so that simulators side by side in one interpreter do not share it.
"""

from __future__ import annotations

import inspect
import weakref
from typing import ClassVar

from tlm.kernel.event import _as_delay, wait
from tlm.kernel.simulator import Simulator

__all__ = ["QuantumKeeper"]


def _delay(t: object) -> int:
    """`_as_delay`, naming the usual mistake: the delay of an async target not awaited."""
    if inspect.isawaitable(t):
        close = getattr(t, "close", None)
        if close is not None:
            close()   # it will never run: no "never awaited" warning on top of this error
        raise TypeError(f"delay must be an int number of picoseconds, got {t!r}: the target's "
                        "b_transport is async, await it (delay = await socket.b_transport(trans, delay))")
    return _as_delay(t)


class QuantumKeeper:
    """Tracks one thread's local time offset and tells it when to synchronise.

    Args:
        sim: the simulator whose time the offset is relative to.
        quantum: this keeper's quantum in ps; None follows the simulator's
            global quantum (see `set_global_quantum`), 0 means sync after
            every `inc`.

    Usage::

        qk = QuantumKeeper(sim)
        delay = socket.b_transport(trans, qk.local_time)
        qk.set(delay)
        if qk.need_sync():
            await qk.sync()
    """

    _global: ClassVar[weakref.WeakKeyDictionary[Simulator, int]] = weakref.WeakKeyDictionary()

    __slots__ = ("sim", "_quantum", "local_time", "_next_sync", "syncs")

    def __init__(self, sim: Simulator, quantum: int | None = None) -> None:
        self.sim = sim
        self._quantum = None if quantum is None else _as_delay(quantum)
        self.local_time = 0
        self.syncs = 0
        self._next_sync = 0
        self.reset()

    # -- the global quantum -------------------------------------------------------------
    @classmethod
    def set_global_quantum(cls, sim: Simulator, quantum: int) -> None:
        """Set `sim`'s global quantum in ps (0: no decoupling); keepers reset after."""
        cls._global[sim] = _as_delay(quantum)

    @classmethod
    def get_global_quantum(cls, sim: Simulator) -> int:
        """`sim`'s global quantum in ps (0 when never set)."""
        return cls._global.get(sim, 0)

    @property
    def quantum(self) -> int:
        """The quantum this keeper uses, in ps."""
        return self._quantum if self._quantum is not None else self._global.get(self.sim, 0)

    # -- local time ----------------------------------------------------------------------
    def inc(self, t: int) -> None:
        """Advance the local offset by `t` ps."""
        if t.__class__ is not int or t < 0:
            t = _delay(t)
        self.local_time += t

    def set(self, t: int) -> None:
        """Set the local offset to `t` ps (e.g. the delay a b_transport returned)."""
        self.local_time = t if t.__class__ is int and t >= 0 else _delay(t)

    def get_current_time(self) -> int:
        """The thread's own notion of now: kernel time plus the local offset."""
        return self.sim.now + self.local_time

    def need_sync(self) -> bool:
        """True when the local time has reached the end of the current quantum."""
        return self.sim.now + self.local_time >= self._next_sync

    async def sync(self) -> None:
        """Wait out the local offset (one delta cycle when it is 0), then reset."""
        offset = self.local_time
        self.local_time = 0
        self.syncs += 1
        await wait(offset)
        self.reset()

    def reset(self) -> None:
        """Drop the local offset and compute the next sync point.

        The quantum ends at the next multiple of the quantum after now, so
        that several keepers synchronise at the same instants.
        """
        self.local_time = 0
        q = self.quantum
        now = self.sim.now
        self._next_sync = now + (q - now % q) if q > 0 else now
