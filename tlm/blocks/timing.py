"""Per-entry service times of the accelerator's operations, in clock cycles.

The formulas are the timing contract of docs/microarch.md; the constants
are `arch.timing` (fitted by `tlmsim calibrate`) plus the hardware sizes.
Computed once per run, vectorised over all entries, so that the simulation
itself only looks numbers up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tlm.arch import Arch
from tlm.workload.program import EntryKind, TileProgram

READ_OPS = ("load_a", "load_b", "load_c")


@dataclass
class OpTimes:
    """Service cycles per entry: DMA ops from grant to done, compute, drain."""

    service: dict[str, np.ndarray]   # op -> int64 [N]
    compute: np.ndarray              # int64 [N] `compute_cycles`
    drain: int                       # tile_rows + drain_extra_cycles

    def __post_init__(self) -> None:
        # `compute` as a list, shared by all engines: per-tile look-ups in a
        # list are several times cheaper than numpy scalar indexing.
        self.compute_list: list[int] = self.compute.tolist()

    def standalone_tile(self, arch: Arch, program: TileProgram) -> np.ndarray:
        """Cycles a tile takes from dispatch to done with the DMA all to itself."""
        t = arch.timing
        g = t.dma_grant_cycles
        total = (t.engine_start_cycles + g + self.service["load_a"]
                 + t.engine_phase_cycles + g + self.service["load_b"]
                 + np.where(program.load_c, t.engine_phase_cycles + g + self.service["load_c"], 0)
                 + t.engine_phase_cycles + self.compute
                 + t.engine_phase_cycles + self.drain + g + self.service["store_c"]
                 + t.engine_done_cycles)
        return np.where(program.kind == EntryKind.TILE, total, 0).astype(np.int64)


def read_service(arch: Arch, beats: np.ndarray | int) -> np.ndarray | int:
    """Cycles from grant to done of a read op moving `beats` bus beats."""
    t = arch.timing
    return t.dma_setup_cycles + arch.memory.latency_cycles + beats + t.dma_read_done_cycles


def write_service(arch: Arch, beats: np.ndarray | int) -> np.ndarray | int:
    """Cycles from grant to done of a write op moving `beats` bus beats."""
    t = arch.timing
    return t.dma_setup_cycles + beats + t.dma_write_done_cycles


def compute_cycles(arch: Arch, k: np.ndarray | int, m: np.ndarray | int = 1) -> np.ndarray | int:
    """The systolic count of a tile (SCALE-Sim's, per dataflow).

    Output stationary: R + C + k - 2 for any m <= R, n <= C. Weight
    stationary: ceil(k / R) weight folds of 2R + C + m - 2 cycles each (R to
    load the fold's weights, then m rows streamed through R + C - 2 stages).
    """
    r, c = arch.array.rows, arch.array.cols
    if arch.array.dataflow == "ws":
        return (-(-k // r)) * (2 * r + c + m - 2)
    return r + c + k - 2


def op_times(arch: Arch, program: TileProgram) -> OpTimes:
    service = {op: np.asarray(read_service(arch, program.beats[op].astype(np.int64)))
               for op in READ_OPS}
    service["store_c"] = np.asarray(write_service(arch, program.beats["store_c"].astype(np.int64)))
    return OpTimes(service=service,
                   compute=np.asarray(compute_cycles(arch, program.k.astype(np.int64),
                                                     program.m.astype(np.int64))),
                   drain=arch.tile_rows + arch.timing.drain_extra_cycles)
