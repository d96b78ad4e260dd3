"""Host memory a compile + run needs, estimated before it is allocated.

A hundred bytes of workload can ask for billions of tiles or bytes. The
compiler therefore sizes the run from the layout alone (entries, A-row
pieces, operand bytes: closed forms, no big arrays), refuses it when the
estimate exceeds `RunLimits.memory` or the tile count exceeds
`RunLimits.tiles`, and checks again while lowering, where the dependency
edges become known, before allocating them.

The per-item costs are measured on this implementation (peak RSS of VGG-16
and DilatedVGG timing-only, small functional runs) and rounded up:

| item                    | bytes | what holds it                                          |
|-------------------------|-------|--------------------------------------------------------|
| entry                   | 720   | program arrays (~110) + the simulator's per-entry lists |
| entry, functional       | 250   | engines' per-tile operand shapes, DMA byte pointers    |
| dependency edge         | 48    | preds + succs (16) + the lists that walk them          |
| segment (functional)    | 80    | segment arrays and their collection                    |
| DMA byte (functional)   | 16    | the DMA's byte-index copy plans (int64 source + dest)  |
| external memory byte    | 3     | initial image, the copy simulated, the drawn data      |
| A-row piece (transient) | 160   | one layer's lowering temporaries                       |
| tile (transient)        | 300   | one layer's per-tile temporaries                       |
"""

from __future__ import annotations

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.limits import MIB, RunLimits, human
from tlm.workload.layout import LayerPlan, Layout
from tlm.workload.spec import TileSpec

BASE = 96 * MIB
PER_ENTRY = 720
PER_ENTRY_FUNCTIONAL = 250
PER_EDGE = 48
PER_SEGMENT = 80
PER_DMA_BYTE = 16
PER_MEMORY_BYTE = 3
PER_PIECE = 160
PER_TILE_LOWERING = 300
#: The reference matmul works in blocks of at most this many float64 elements.
REFERENCE_BLOCK = 4 * MIB


class Budget:
    """A running estimate of a run's host memory, checked against the limit."""

    def __init__(self, file: str, limits: RunLimits, functional: bool) -> None:
        self.file = file
        self.limits = limits
        self.functional = functional
        self.total = BASE
        self.parts: dict[str, int] = {}

    def add(self, nbytes: int, label: str) -> None:
        """Charge `nbytes` held for the rest of the run, under `label` (named when it dominates)."""
        self.total += nbytes
        self.parts[label] = self.parts.get(label, 0) + nbytes

    def add_scratchpads(self, arch: Arch) -> None:
        """A functional run holds every engine's scratchpad (as bytes), whatever the workload."""
        if self.functional:
            self.add(arch.array.engines * arch.scratchpad.bytes, "the engines' scratchpads")

    def check(self, where: str, what: str, transient: int = 0) -> None:
        """Raise when what is held plus `transient` exceeds the memory limit."""
        need = self.total + transient
        if need > self.limits.memory:
            mode = "" if self.functional else ", timing-only"
            label, most = max(self.parts.items(), key=lambda kv: kv[1], default=("", 0))
            if transient > most:
                label, most = what, transient
            raise InputError(self.file, where,
                             f"needs about {human(need)} of host memory ({what}{mode}; the most: "
                             f"{human(most)} for {label}), more than the limit of "
                             f"{human(self.limits.memory)} (--max-memory raises it)")

    def check_tiles(self, where: str, tiles: int) -> None:
        if tiles > self.limits.tiles:
            raise InputError(self.file, where, f"lowers to {tiles:,} tiles, more than the limit of "
                                               f"{self.limits.tiles:,} (--max-tiles raises it)")


def layer_pieces(plan: LayerPlan) -> int:
    """A-row pieces the lowering of a layer handles at once (rows x taps per K-chunk)."""
    spec = plan.spec
    if not spec.is_conv:
        return spec.M * plan.k_chunks
    cin, taps = spec.group_in, 0
    for c in range(plan.k_chunks):
        k0 = c * plan.chunk
        k1 = min(spec.K, k0 + plan.chunk)
        taps += (k1 - 1) // cin - k0 // cin + 1
    return spec.M * taps * spec.groups


def layer_dma_bytes(plan: LayerPlan) -> int:
    """Bytes every tile of the layer moves (padding included): A, B, partial sums, C."""
    s = plan.spec
    partial = 4 * s.M * s.N * (plan.k_chunks - 1)
    return s.M * s.K * plan.n_groups + s.N * s.K * plan.m_groups + 2 * partial + s.M * s.N * plan.out_elem


def layer_segments(plan: LayerPlan, pieces: int) -> int:
    """Upper bound of the layer's segments: A pieces per n-group of their conv group,
    B columns and C rows per tile."""
    s = plan.spec
    return (pieces * (plan.n_groups // s.groups) + s.N * plan.k_chunks * plan.m_groups
            + s.M * plan.n_groups * (2 * plan.k_chunks - 1))


def _reference_bytes(plan: LayerPlan) -> int:
    """The numpy reference of one layer: im2col A, blocked products, the int64 accumulator."""
    s = plan.spec
    return s.M * s.K + 2 * 8 * REFERENCE_BLOCK + 8 * s.M * s.N


def layers_budget(file: str, layout: Layout, arch: Arch, limits: RunLimits, functional: bool) -> Budget:
    """Estimate a layers-form run from its layout; refuse it when over a limit.

    Raises:
        InputError: too many tiles, or too much memory (naming the layer when
            one layer's lowering alone is too big).
    """
    b = Budget(file, limits, functional)
    b.add_scratchpads(arch)
    b.check_tiles("layers", sum(p.tiles for p in layout.plans))
    b.add(layout.entries * (PER_ENTRY + (PER_ENTRY_FUNCTIONAL if functional else 0)),
          f"{layout.entries:,} program entries")
    pieces = [layer_pieces(p) for p in layout.plans]
    if functional:
        b.add(PER_MEMORY_BYTE * layout.memory_size, f"{layout.memory_size:,} bytes of operands")
        moved = sum(layer_dma_bytes(p) for p in layout.plans)
        b.add(PER_DMA_BYTE * moved, f"the DMA's copy plans of {moved:,} bytes moved")
        segments = sum(layer_segments(p, n) for p, n in zip(layout.plans, pieces))
        b.add(PER_SEGMENT * segments, f"{segments:,} DMA segments")
        b.add(sum(p.spec.M * p.spec.N * p.out_elem for p in layout.plans), "the expected outputs")
    b.check("layers", "the whole program")
    for p, n in zip(layout.plans, pieces):
        transient = n * PER_PIECE + p.entries * PER_TILE_LOWERING
        if functional:
            transient = max(transient, _reference_bytes(p))
        b.check(f"layers[{p.index}]", f"lowering layer {p.spec.name!r}", transient)
    return b


def tiles_budget(file: str, tiles: tuple[TileSpec, ...], arch: Arch, limits: RunLimits,
                 functional: bool) -> Budget:
    """Estimate a tiles-form run; refuse it when over a limit.

    Raises:
        InputError: too many tiles or too much memory.
    """
    b = Budget(file, limits, functional)
    b.add_scratchpads(arch)
    b.check_tiles("tiles", len(tiles))
    b.add(len(tiles) * (PER_ENTRY + (PER_ENTRY_FUNCTIONAL if functional else 0)),
          f"{len(tiles):,} program entries")
    edges = sum(len(t.deps) for t in tiles)
    b.add(edges * PER_EDGE, f"{edges:,} dependencies")
    if functional:
        moved = sum((t.m + t.n) * t.k + 4 * t.m * t.n for t in tiles)
        segments = sum(2 * t.m + t.n for t in tiles)
        # memory: A, B and C of every tile, each region 64-byte aligned
        b.add(PER_MEMORY_BYTE * (moved + 192 * len(tiles)), "the operands")
        b.add(PER_SEGMENT * segments, f"{segments:,} DMA segments")
        b.add(PER_DMA_BYTE * moved, f"the DMA's copy plans of {moved:,} bytes moved")
    b.check("tiles", "the whole program")
    return b
