"""The accelerator top: scheduler, engines, shared DMA, external memory.

`simulate(program, arch)` elaborates a fresh `Simulator`, runs the tile
program to completion and returns a `SimResult`. In functional mode the
outputs in memory are compared with the numpy reference afterwards.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.blocks.dma import Dma, MemoryPort
from tlm.blocks.engine import Engine
from tlm.blocks.engine_db import DoubleBufferedEngine
from tlm.blocks.memory import check_outputs, initial_image
from tlm.blocks.scheduler import TileScheduler
from tlm.blocks.profile import RunProfile, TileTimes, layer_header
from tlm.blocks.sink import NullTrace, TraceRecorder, is_null
from tlm.blocks.timing import OpTimes, op_times
from tlm.blocks.vector import VectorUnit
from tlm.kernel import Module, Simulator
from tlm.transport import Command, GenericPayload, InitiatorSocket, Memory, ResponseStatus
from tlm.workload.dag import critical_path
from tlm.workload.program import EntryKind, TileProgram


#: Programs with at least this many entries free the model before the end-of-run figures.
FREE_BEFORE_PROFILE = 100_000


class SocketMemoryPort(MemoryPort):
    """The DMA's memory accesses through its TLM-2.0 socket.

    With a DMI grant (the external memory offers its whole array) the DMA
    gathers or scatters an op's segments in one vectorised copy; without one,
    or after an invalidation, each segment is a blocking READ/WRITE whose
    payload carries a numpy view (no copies but the target's). Annotated
    delays are not used: the memory is pipelined (one beat per cycle,
    latency overlapped across requests), which the DMA's op-level model
    (`timing.read_service`) expresses exactly and per-access loosely-timed
    annotations cannot.
    """

    def __init__(self, socket: InitiatorSocket) -> None:
        self.socket = socket
        self.trans = GenericPayload()
        self.dmi: np.ndarray | None = None
        region = socket.get_direct_mem_ptr(GenericPayload(Command.READ, 0))
        if region and region.start == 0 and region.write_allowed:
            self.dmi = np.frombuffer(region.data, dtype=np.uint8)

    def _go(self, command: Command, addr: int, view: np.ndarray) -> None:
        t = self.trans
        t.command, t.address, t.data, t.length = command, addr, view, view.shape[0]
        t.response_status = ResponseStatus.INCOMPLETE
        self.socket.b_transport(t, 0)
        if t.response_status != ResponseStatus.OK:
            raise RuntimeError(f"memory access {command.name} 0x{addr:x}+{view.shape[0]} failed: "
                               f"{t.response_status.name}")

    def read(self, addr: int, into: np.ndarray) -> None:
        self._go(Command.READ, addr, into)

    def write(self, addr: int, data: np.ndarray) -> None:
        self._go(Command.WRITE, addr, data)


class Accelerator(Module):
    """accel_top as a TLM module tree: npu.scheduler, npu.dma, npu.engine<i>."""

    def __init__(self, parent: Simulator | Module, name: str, arch: Arch, program: TileProgram,
                 *, functional: bool, trace: TraceRecorder | None = None,
                 port: MemoryPort | None = None, dmi: bool = True) -> None:
        super().__init__(parent, name)
        self.arch = arch
        self.program = program
        self.trace = trace if trace is not None else NullTrace()
        self.times: OpTimes = op_times(arch, program)
        self.functional = functional
        self.memory = initial_image(program) if functional else None
        self.dma = Dma(self, "dma", arch, program, self.times, self.memory)
        if functional:
            assert self.memory is not None
            self.external = Memory(self, "memory", int(self.memory.shape[0]), storage=self.memory,
                                   read_latency=0, write_latency=0,
                                   bytes_per_cycle=arch.dma.bus_bytes,
                                   clock_period=arch.clock.period_ps, dmi=dmi)
            self.dma_socket = InitiatorSocket(
                self.dma, "mem", invalidate_direct_mem_ptr=self._invalidate_dmi)
            self.dma_socket.bind(self.external.socket)
            self.dma.port = port or SocketMemoryPort(self.dma_socket)
        self.tile_times = TileTimes(program.entries)
        layered = bool(layer_header(program)) and not is_null(self.trace)
        layer_of = program.layer.tolist() if layered else None
        engine_cls = DoubleBufferedEngine if arch.engine.double_buffer else Engine
        self.engines = [engine_cls(self, f"engine{i}", i, arch, program, self.times, self.dma,
                               self.trace, functional, self.tile_times, layer_of)
                        for i in range(arch.array.engines)]
        self.scheduler = TileScheduler(self, "scheduler", arch, program, self.engines, self.trace)
        self.vector: VectorUnit | None = None
        if program.vector_ops:
            self.vector = VectorUnit(self, "vector", len(self.engines), arch, program, self.dma, self.trace,
                                     functional, self.tile_times, layer_of)
            self.vector.scheduler = self.scheduler
            self.scheduler.vector = self.vector

    def _invalidate_dmi(self, start: int, end: int) -> None:
        """The memory revoked DMI: the DMA's port falls back to transactions."""
        if self.dma.port is not None:
            self.dma.port.invalidate(start, end)


@dataclass
class SimResult:
    workload: str
    cycles: int
    tiles: int
    entries: int
    functional: str                    # "pass" | "fail" | "skipped"
    mismatches: list[str]
    sim_s: float
    engine_busy: list[int]
    engine_tiles: list[int]
    dma_busy: int
    dma_bytes: int
    dma_ops: int
    macs: int
    critical_path: int
    max_occupancy: int
    info: dict[str, object] = field(default_factory=dict)
    dram: dict[str, Any] | None = None  # dram level: the trace footer's `dram` (tlm.trace.dram)
    # Engine time split and per-layer figures, computed when first asked for.
    profile: RunProfile | None = field(default=None, repr=False, compare=False)
    bytes_saved: int = 0               # `[engine] reuse`: load bytes not moved (resident blocks)

    @property
    def engine_time(self) -> list[dict[str, int]]:
        """Per engine {"compute", "load", "store", "idle"} cycles (tlm.blocks.profile)."""
        return [] if self.profile is None else self.profile.engine_time

    @property
    def layers(self) -> list[dict[str, Any]]:
        """Per layer, in layer order (empty for a tiles-form workload)."""
        return [] if self.profile is None else self.profile.layers

    def summary(self, arch: Arch) -> dict[str, object]:
        """The `--json` summary of docs/cli.md plus the model's own figures."""
        cyc = max(self.cycles, 1)
        peak = cyc * arch.array.engines * arch.array.rows * arch.array.cols
        return {
            "workload": self.workload, "source": "tlm", "cycles": self.cycles,
            "tiles": self.tiles, "functional": self.functional,
            "sim_s": round(self.sim_s, 4),
            "cycles_per_s": round(self.cycles / self.sim_s) if self.sim_s > 0 else None,
            "time_s": self.cycles * arch.clock.period_ps * 1e-12,
            "engine_utilisation": [round(b / cyc, 4) for b in self.engine_busy],
            "engine_time": self.engine_time,
            "dma_bytes": self.dma_bytes, "dma_busy": round(self.dma_busy / cyc, 4),
            "macs": self.macs,
            "mac_utilisation": round(self.macs / peak, 4),
            "critical_path": self.critical_path,
            "max_table_occupancy": self.max_occupancy,
            "dag": {k: self.info[k] for k in ("entries", "edges", "depth") if k in self.info},
            "layers": self.layers,
            **({"dram": self.dram} if self.dram is not None else {}),
            **({"bytes_saved": self.bytes_saved} if arch.engine.reuse else {}),
        }


def simulate(program: TileProgram, arch: Arch, *, functional: bool = True,
             trace: TraceRecorder | None = None,
             progress: Callable[[int, int], None] | None = None, dmi: bool = True) -> SimResult:
    """Run `program` on the TLM accelerator; raises DeadlockError if it cannot finish.

    `dmi=False` makes the DMA move data with one blocking transaction per
    segment instead of through a DMI grant (same results, slower).
    """
    functional = functional and program.functional
    sim = Simulator(f"tlm:{program.name}")
    top = Accelerator(sim, "npu", arch, program, functional=functional, trace=trace, dmi=dmi)
    if progress is not None:
        top.scheduler.on_progress = lambda done: progress(done, program.entries)
    occ = getattr(trace, "occupancy", None)
    if occ is not None:
        top.scheduler.on_occupancy = occ
    t0 = time.perf_counter()
    sim.run()
    sim_s = time.perf_counter() - t0
    sched = top.scheduler
    if sched.completed < program.entries:
        raise sched.deadlock()
    mismatches: list[str] = []
    status = "skipped"
    if functional:
        assert top.memory is not None
        mismatches = check_outputs(top.memory, program)
        status = "fail" if mismatches else "pass"
    times, tile_times, cycles = top.times, top.tile_times, sched.end_cycle
    dram = _dram_outcomes(top, cycles, trace)
    tiles = program.kind == EntryKind.TILE
    macs = int(np.sum(program.m[tiles].astype(np.int64) * program.n[tiles] * program.k[tiles]))
    result = SimResult(
        workload=program.name, cycles=cycles, tiles=program.tiles,
        entries=program.entries, functional=status, mismatches=mismatches, sim_s=sim_s,
        engine_busy=[e.busy_cycles for e in top.engines],
        engine_tiles=[e.tiles_done for e in top.engines],
        dma_busy=top.dma.busy_cycles, dma_bytes=top.dma.bytes_moved, dma_ops=top.dma.ops,
        macs=macs, critical_path=0, max_occupancy=sched.max_occupancy, info=dict(program.info),
        profile=RunProfile(program, arch, times, tile_times, cycles), dram=dram,
        bytes_saved=sum(e.bytes_saved for e in top.engines))
    # The model's per-entry Python lists are no longer needed: on a large
    # program, free them (the module tree holds reference cycles) before the
    # end-of-run numpy work, so that its arrays do not add to the peak memory.
    # (A collection costs milliseconds: too much for small runs in a loop.)
    del top, sched, sim
    if program.entries >= FREE_BEFORE_PROFILE:
        gc.collect()
    weight = times.standalone_tile(arch, program)
    if program.vector_ops:
        from tlm.blocks.vector import vector_standalone

        weight = weight + vector_standalone(arch, program, times)
    result.critical_path = critical_path(program, weight)
    return result


def _dram_outcomes(top: Accelerator, cycles: int, trace: TraceRecorder | None) -> dict[str, Any] | None:
    """The dram level's row outcomes (footer) and refresh windows (trace records) up to `cycles`."""
    model = top.dma.dram
    if model is None:
        return None
    from tlm.trace.dram import dram_footer

    model.finish()
    refreshes = [(s, e) for s, e in model.refresh_log if s <= cycles]
    if trace is not None and not is_null(trace):
        for n, (s, e) in enumerate(refreshes):
            trace.record("refresh", n, s, e)
    return dram_footer([ev for ev in model.events if ev >> 2 <= cycles], top.dma.grants, len(refreshes))
