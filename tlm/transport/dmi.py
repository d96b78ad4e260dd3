"""Direct memory interface: a granted window onto a target's storage (tlm_dmi).

An initiator that holds a `DmiRegion` reads and writes the target's bytes
directly, without a transaction, and accounts the region's latencies itself.
The target (or an interconnect on its behalf) voids regions with
`invalidate_direct_mem_ptr(start, end)`; an initiator must then drop every
region overlapping that range. `DmiCache` does that bookkeeping.

A refused request answers a `DmiDenied` carrying the range over which DMI
is denied (by default the whole address space, [0, DMI_MAX)), so that an
initiator stops asking for addresses in it until an invalidation covering
them arrives. It is falsy, and its access flags are False.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DMI_MAX", "DmiCache", "DmiDenied", "DmiRegion"]

# One past the highest address (tlm_dmi's default end is 2**64 - 1, inclusive).
DMI_MAX = 1 << 64


@dataclass(frozen=True, slots=True)
class DmiRegion:
    """A granted address range [start, end) and the memory behind it.

    Attributes:
        start: first address of the region, in the initiator's address space.
        end: one past the last address (exclusive, unlike tlm_dmi's end).
        data: a memoryview of exactly `end - start` bytes; `data[i]` is the
            byte at `start + i`.
        read_latency: ps one read access costs.
        write_latency: ps one write access costs.
        read_allowed / write_allowed: the granted access kinds.
    """

    start: int
    end: int
    data: memoryview
    read_latency: int
    write_latency: int
    read_allowed: bool = True
    write_allowed: bool = True
    granted = True

    def __post_init__(self) -> None:
        if self.end - self.start != self.data.nbytes:
            raise ValueError(f"DMI region [{self.start:#x}, {self.end:#x}) does not match its "
                             f"data view of {self.data.nbytes} bytes")

    def contains(self, address: int, length: int = 1) -> bool:
        """True when [address, address + length) lies inside the region."""
        return self.start <= address and address + length <= self.end

    def overlaps(self, start: int, end: int) -> bool:
        """True when [start, end) overlaps the region."""
        return start < self.end and self.start < end

    def read(self, address: int, length: int) -> memoryview:
        """A view of `length` bytes at `address` (no copy, no time passes)."""
        if not self.read_allowed:
            raise PermissionError(f"DMI region [{self.start:#x}, {self.end:#x}) does not allow reads")
        off = address - self.start
        if off < 0 or off + length > self.end - self.start:
            raise IndexError(f"[{address:#x}, +{length}) is outside DMI region "
                             f"[{self.start:#x}, {self.end:#x})")
        return self.data[off:off + length]

    def write(self, address: int, data: bytes | bytearray | memoryview) -> None:
        """Copy `data` into the region at `address` (no time passes)."""
        if not self.write_allowed:
            raise PermissionError(f"DMI region [{self.start:#x}, {self.end:#x}) does not allow writes")
        n = len(data)
        off = address - self.start
        if off < 0 or off + n > self.end - self.start:
            raise IndexError(f"[{address:#x}, +{n}) is outside DMI region "
                             f"[{self.start:#x}, {self.end:#x})")
        self.data[off:off + n] = data

    def translated(self, shift: int, lo: int, hi: int) -> DmiRegion | None:
        """The region moved by `shift` and clipped to [lo, hi), or None if empty.

        An interconnect uses it to express a target's region in its own
        initiators' address space.
        """
        start = max(self.start + shift, lo)
        end = min(self.end + shift, hi)
        if start >= end:
            return None
        first = start - (self.start + shift)
        return DmiRegion(start, end, self.data[first:first + end - start], self.read_latency,
                         self.write_latency, self.read_allowed, self.write_allowed)


@dataclass(frozen=True, slots=True)
class DmiDenied:
    """A refused DMI request and the range [start, end) the refusal covers.

    Usage::

        region = socket.get_direct_mem_ptr(trans)
        if not region:      # DmiDenied: no access in [region.start, region.end)
            ...
    """

    start: int = 0
    end: int = DMI_MAX
    granted = False
    read_allowed = False
    write_allowed = False

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"DMI denial range [{self.start:#x}, {self.end:#x}) is empty or negative")

    def __bool__(self) -> Literal[False]:
        return False

    def contains(self, address: int, length: int = 1) -> bool:
        """True when [address, address + length) lies inside the denied range."""
        return self.start <= address and address + length <= self.end

    def overlaps(self, start: int, end: int) -> bool:
        """True when [start, end) overlaps the denied range."""
        return start < self.end and self.start < end

    def translated(self, shift: int, lo: int, hi: int) -> DmiDenied | None:
        """The range moved by `shift` and clipped to [lo, hi), or None if empty."""
        start, end = max(self.start + shift, lo), min(self.end + shift, hi)
        return DmiDenied(start, end) if start < end else None


class DmiCache:
    """The regions an initiator holds and the ranges it was refused.

    `invalidate` is its invalidation callback: it drops granted regions and
    denials overlapping the range, so the initiator asks again there.
    """

    __slots__ = ("regions", "denied", "invalidations")

    def __init__(self) -> None:
        self.regions: list[DmiRegion] = []
        self.denied: list[DmiDenied] = []
        self.invalidations = 0

    def add(self, region: DmiRegion | DmiDenied) -> None:
        """Keep a granted region, or remember a refusal's range."""
        if region.granted:
            self.regions.append(region)  # type: ignore[arg-type]
        else:
            self.denied.append(region)  # type: ignore[arg-type]

    def is_denied(self, address: int, length: int = 1) -> bool:
        """True when a refusal covers [address, address + length): do not ask again."""
        return any(d.contains(address, length) for d in self.denied)

    def find(self, address: int, length: int = 1) -> DmiRegion | None:
        """A held region covering [address, address + length), or None."""
        for r in self.regions:
            if r.start <= address and address + length <= r.end:
                return r
        return None

    def invalidate(self, start: int, end: int) -> None:
        """Drop every region overlapping [start, end)."""
        self.invalidations += 1
        self.regions = [r for r in self.regions if not r.overlaps(start, end)]
        self.denied = [d for d in self.denied if not d.overlaps(start, end)]
