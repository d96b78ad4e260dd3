"""A reusable memory target: byte storage behind one or more target sockets.

Timing model: the memory moves `bytes_per_cycle` bytes per clock cycle and
serves one transfer at a time. `busy_until` is when the current transfer's
last beat leaves; a transfer of n bytes asked for at time t starts at
max(t, busy_until), occupies the memory for ceil(n / bytes_per_cycle)
cycles, and its data is ready `read_latency` (or `write_latency`) cycles
after the last beat. So concurrent initiators contend for bandwidth while
latency overlaps (a pipelined memory).

Both styles are served: `b_transport` (loosely timed; data moves at the call,
the returned delay says when it is done) and `nb_transport_fw` (approximately
timed; END_REQ when the transfer starts, BEGIN_RESP when it is done, data
moves at BEGIN_RESP). A bad transaction never raises: its response status
says what was wrong.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import Any

from tlm.kernel.module import Module
from tlm.kernel.simulator import Simulator
from tlm.transport.dmi import DmiDenied, DmiRegion
from tlm.transport.payload import BYTE_DISABLED, BYTE_ENABLED, Command, GenericPayload, ResponseStatus, byte_view
from tlm.transport.peq import PayloadEventQueue
from tlm.transport.protocol import NbResult, Phase, Sync
from tlm.transport.sockets import TargetSocket

__all__ = ["Memory", "check_access"]


class _Job:
    """One AT transaction inside the memory: the payload and the port it came in on.

    The memory's queue carries jobs, not payloads, because an initiator may
    reuse a payload object for its next transaction before the old one's
    END_RESP entry has come out of the queue.
    """

    __slots__ = ("trans", "port")

    def __init__(self, trans: GenericPayload, port: int) -> None:
        self.trans = trans
        self.port = port

READ, WRITE, IGNORE = Command.READ, Command.WRITE, Command.IGNORE
OK = ResponseStatus.OK
BEGIN_REQ, END_REQ, BEGIN_RESP, END_RESP = Phase.BEGIN_REQ, Phase.END_REQ, Phase.BEGIN_RESP, Phase.END_RESP
_BAD_DATA = (TypeError, ValueError, BufferError, IndexError, AttributeError)


def check_access(trans: GenericPayload, offset: int, size: int, writable: bool = True) -> ResponseStatus:
    """The status a target of `size` bytes gives `trans`, whose first byte is at `offset`.

    Checks, in this order: the command (READ, WRITE, IGNORE; WRITE only when
    `writable`) -> COMMAND_ERROR; the length (an int > 0) -> GENERIC_ERROR;
    the streaming width (None or an int > 0) -> BURST_ERROR; the touched range
    inside [0, size) -> ADDRESS_ERROR; the byte enables (1 to `length` bytes,
    each 0x00 or 0xFF) -> BYTE_ENABLE_ERROR. The data buffer is checked when
    the data moves.
    """
    cmd = trans.command
    if cmd is not READ and cmd is not WRITE:
        if cmd is not IGNORE:
            return ResponseStatus.COMMAND_ERROR
    elif cmd is WRITE and not writable:
        return ResponseStatus.COMMAND_ERROR
    n = trans.length
    if n.__class__ is not int or n <= 0:
        return ResponseStatus.GENERIC_ERROR
    span = n
    sw = trans.streaming_width
    if sw is not None:
        if sw.__class__ is not int or sw <= 0:
            return ResponseStatus.BURST_ERROR
        if sw < n:
            span = sw
    if offset.__class__ is not int or offset < 0 or offset + span > size:
        return ResponseStatus.ADDRESS_ERROR
    be = trans.byte_enable
    if be is not None:
        if not 0 < len(be) <= n:
            return ResponseStatus.BYTE_ENABLE_ERROR
        for b in be:
            if b != BYTE_ENABLED and b != BYTE_DISABLED:
                return ResponseStatus.BYTE_ENABLE_ERROR
    return OK


class Memory(Module):
    """Byte-addressed storage with latency, bandwidth and contention.

    Args:
        parent: the owning Module or the Simulator.
        name: the module's own name.
        size: bytes of storage (> 0), zero-initialised.
        base: the address of the first byte. Behind a `Router` the addresses
            arrive as offsets into the router's region; map the region with
            `offset=base` (see `AddressRange`) or keep base 0.
        read_latency / write_latency: clock cycles from the last beat to done.
        bytes_per_cycle: bandwidth (> 0).
        clock_period: ps per cycle (> 0).
        ports: number of target sockets (`sockets`; `socket` is the first).
        read_only: WRITE answers COMMAND_ERROR (debug writes still work).
        dmi: grant direct memory access to the whole storage.
        storage: an existing writable buffer of exactly `size` bytes to serve
            (e.g. a numpy uint8 memory image), used in place without a copy;
            default a new zeroed bytearray.

    Attributes:
        storage: the buffer itself (tests and loaders may use it).
        busy_until: ps at which the memory can start the next transfer.
    """

    def __init__(self, parent: Simulator | Module, name: str, size: int, *, base: int = 0,
                 read_latency: int = 1, write_latency: int = 1, bytes_per_cycle: int = 8,
                 clock_period: int = 1000, ports: int = 1, read_only: bool = False,
                 dmi: bool = True, storage: Any = None) -> None:
        for label, value, low in (("size", size, 1), ("base", base, 0), ("read_latency", read_latency, 0),
                                  ("write_latency", write_latency, 0), ("bytes_per_cycle", bytes_per_cycle, 1),
                                  ("clock_period", clock_period, 1), ("ports", ports, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"Memory {name!r}: {label} must be an int >= {low}, got {value!r}")
        if storage is None:
            storage = bytearray(size)
        mv = byte_view(storage)
        if mv.readonly or mv.nbytes != size:
            raise ValueError(f"Memory {name!r}: storage must be a writable buffer of {size} bytes, "
                             f"got {mv.nbytes} bytes{' (read-only)' if mv.readonly else ''}")
        super().__init__(parent, name)
        self.size = size
        self.base = base
        self.read_latency = read_latency
        self.write_latency = write_latency
        self.bytes_per_cycle = bytes_per_cycle
        self.clock_period = clock_period
        self.read_only = read_only
        self.dmi_enabled = dmi
        self.storage = storage
        self._mv = mv
        self.busy_until = 0
        self.transactions = 0
        self.bytes_moved = 0
        names = ["socket"] if ports == 1 else [f"socket{i}" for i in range(ports)]
        self.sockets = [TargetSocket(self, n, b_transport=self.b_transport,
                                     nb_transport_fw=partial(self._nb_transport_fw, i),
                                     transport_dbg=self.transport_dbg,
                                     get_direct_mem_ptr=self.get_direct_mem_ptr)
                        for i, n in enumerate(names)]
        self.socket = self.sockets[0]
        self._peq = PayloadEventQueue(self, "peq", self._on_peq)
        self._open: dict[GenericPayload, _Job] = {}
        self._resp_open: list[_Job | None] = [None] * ports
        self._resp_queue: list[deque[_Job]] = [deque() for _ in range(ports)]

    # -- data path (shared by all styles) ------------------------------------------
    def _move(self, trans: GenericPayload) -> ResponseStatus:
        """Copy the data of an already checked READ or WRITE; GENERIC_ERROR on a bad buffer."""
        try:
            buf = trans.data
            buf = buf if buf.__class__ is memoryview else memoryview(buf)
            if buf.format != "B" or buf.ndim != 1:
                buf = buf.cast("B")   # byte_view(), inlined for the hot path
            n = trans.length
            if buf.nbytes < n:
                return ResponseStatus.GENERIC_ERROR
            off = trans.address - self.base
            be = trans.byte_enable
            sw = trans.streaming_width
            if be is None and (sw is None or sw >= n):
                if trans.command is READ:
                    buf[:n] = self._mv[off:off + n]
                else:
                    self._mv[off:off + n] = buf[:n]
            else:
                self._move_bytewise(buf, n, off, be, n if sw is None else min(sw, n), trans.command is READ)
        except _BAD_DATA:
            return ResponseStatus.GENERIC_ERROR
        self.bytes_moved += n
        return OK

    def _move_bytewise(self, buf: memoryview, n: int, off: int, be: Any, sw: int, read: bool) -> None:
        """Byte enables and streaming: byte i goes to off + i % sw when enabled."""
        mem = self._mv
        bl = len(be) if be is not None else 0
        for i in range(n):
            if bl and be[i % bl] != BYTE_ENABLED:
                continue
            if read:
                buf[i] = mem[off + i % sw]
            else:
                mem[off + i % sw] = buf[i]

    def _occupy(self, start: int, n: int, latency: int) -> tuple[int, int]:
        """Book the memory for n bytes asked for at `start`; (transfer start, done) in ps."""
        busy = self.busy_until
        if busy > start:
            start = busy
        end = start + (n + self.bytes_per_cycle - 1) // self.bytes_per_cycle * self.clock_period
        self.busy_until = end
        self.transactions += 1
        return start, end + latency * self.clock_period

    # -- blocking transport -------------------------------------------------------------
    def b_transport(self, trans: GenericPayload, delay: int) -> int:
        """Serve `trans` now; return the delay until it is done (never raises)."""
        try:
            status = check_access(trans, trans.address - self.base, self.size, not self.read_only)
            if status is OK and trans.command is not IGNORE:
                status = self._move(trans)
        except Exception:  # a malformed payload (e.g. address None) is a bad transaction
            status = ResponseStatus.GENERIC_ERROR
        trans.response_status = status
        if status is not OK or trans.command is IGNORE:
            return delay
        trans.dmi_allowed = self.dmi_enabled
        # `_occupy`, inlined: this is the LT hot path.
        now = self.sim.now
        start = now + delay
        if self.busy_until > start:
            start = self.busy_until
        end = start + (trans.length + self.bytes_per_cycle - 1) // self.bytes_per_cycle * self.clock_period
        self.busy_until = end
        self.transactions += 1
        lat = self.read_latency if trans.command is READ else self.write_latency
        return end + lat * self.clock_period - now

    # -- non-blocking transport -----------------------------------------------------------
    def _nb_transport_fw(self, port: int, trans: GenericPayload, phase: Phase, delay: int) -> NbResult:
        if phase is BEGIN_REQ:
            try:
                status = check_access(trans, trans.address - self.base, self.size, not self.read_only)
            except Exception:
                status = ResponseStatus.GENERIC_ERROR
            if status is not OK or trans.command is IGNORE:
                trans.response_status = status
                return Sync.COMPLETED, phase, delay
            now = self.sim.now
            lat = self.read_latency if trans.command is READ else self.write_latency
            start, done = self._occupy(now + delay, trans.length, lat)
            job = _Job(trans, port)
            self._open[trans] = job
            self._peq.notify(job, BEGIN_RESP, done - now)
            return Sync.UPDATED, END_REQ, start - now
        # END_RESP (the socket's protocol checker lets nothing else through)
        self._end_response(self._open.pop(trans), delay)
        return Sync.COMPLETED, phase, delay

    def _end_response(self, job: _Job, delay: int) -> None:
        """The port's response slot frees `delay` ps from now."""
        if delay == 0 and not self._resp_queue[job.port]:
            self._resp_open[job.port] = None   # nothing waits for the slot: skip the queue round
        else:
            self._peq.notify(job, END_RESP, delay)

    def _on_peq(self, job: _Job, phase: Phase | None) -> None:
        if phase is BEGIN_RESP:
            trans = job.trans
            trans.response_status = self._move(trans)
            if trans.response_status is OK:
                trans.dmi_allowed = self.dmi_enabled
            self._resp_queue[job.port].append(job)
        else:  # END_RESP has reached its time: the port may answer again
            self._resp_open[job.port] = None
        self._send_response(job.port)

    def _send_response(self, port: int) -> None:
        """BEGIN_RESP for the next finished transaction if the port's response slot is free."""
        queue = self._resp_queue[port]
        if self._resp_open[port] is not None or not queue:
            return
        job = queue.popleft()
        self._resp_open[port] = job
        sync, phase, delay = self.sockets[port].nb_transport_bw(job.trans, BEGIN_RESP, 0)
        if sync is Sync.COMPLETED or (sync is Sync.UPDATED and phase is END_RESP):
            self._end_response(self._open.pop(job.trans), delay)

    # -- debug and DMI ----------------------------------------------------------------------
    def transport_dbg(self, trans: GenericPayload) -> int:
        """Copy without time or timing side effects; returns the bytes copied (0 on any error)."""
        try:
            off = trans.address - self.base
            if off < 0 or off >= self.size or trans.command is IGNORE:
                return 0
            buf = byte_view(trans.data)
            n = min(trans.length, self.size - off, buf.nbytes)
            if n <= 0:
                return 0
            if trans.command is READ:
                buf[:n] = self._mv[off:off + n]
            elif trans.command is WRITE:
                self._mv[off:off + n] = buf[:n]
            else:
                return 0
            return n
        except Exception:
            return 0

    def get_direct_mem_ptr(self, trans: GenericPayload) -> DmiRegion | DmiDenied:
        """Grant the whole storage (read-only for a read-only memory); with DMI off,
        deny it over the whole storage."""
        if not self.dmi_enabled:
            return DmiDenied(self.base, self.base + self.size)
        p = self.clock_period
        return DmiRegion(self.base, self.base + self.size, self._mv, self.read_latency * p,
                         self.write_latency * p, True, not self.read_only)

    def invalidate_dmi(self, start: int | None = None, end: int | None = None) -> None:
        """Void granted regions overlapping [start, end) (default: all) on every port."""
        lo = self.base if start is None else start
        hi = self.base + self.size if end is None else end
        for s in self.sockets:
            s.invalidate_direct_mem_ptr(lo, hi)

    def set_dmi_enabled(self, enabled: bool) -> None:
        """Switch DMI grants on or off. A change invalidates the whole storage: switching
        off voids every held region, switching on voids the denials initiators hold."""
        changed = enabled != self.dmi_enabled
        self.dmi_enabled = enabled
        if changed:
            self.invalidate_dmi()
