"""Direct memory interface: a granted window onto a target's storage (tlm_dmi).

An initiator that holds a `DmiRegion` reads and writes the target's bytes
directly, without a transaction, and accounts the region's latencies itself.
The target (or an interconnect on its behalf) voids regions with
`invalidate_direct_mem_ptr(start, end)`; an initiator must then drop every
region overlapping that range. `DmiCache` does that bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DmiCache", "DmiRegion"]


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


class DmiCache:
    """The regions an initiator holds; `invalidate` is its invalidation callback."""

    __slots__ = ("regions", "invalidations")

    def __init__(self) -> None:
        self.regions: list[DmiRegion] = []
        self.invalidations = 0

    def add(self, region: DmiRegion) -> None:
        """Keep a granted region."""
        self.regions.append(region)

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
