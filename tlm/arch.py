"""The accelerator's architecture config: one source of truth for TLM and RTL.

A TOML file (`docs/arch.md`) names only what it changes; every key has
a default here. Unknown sections or keys are errors, because a typo would
otherwise silently change the hardware. `[timing]` holds the TLM-only timing
parameters that `tlmsim calibrate` fits; the RTL never reads them.

Derived quantities both models use (scratchpad layout, RTL parameters) are
computed here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tlm.errors import InputError
from tlm.limits import MAX_ARCH_BYTES, describe, key_name, read_toml

MAX_SIZE = 2**31 - 1
#: Largest MAC array side and scratchpad a (TLM) run accepts; the RTL accepts less.
MAX_ARRAY = 256
MAX_SCRATCHPAD = 64 << 20
#: Most B slots of `[engine] reuse_slots` (the RTL entry word's slot field holds 8 bits).
MAX_REUSE_SLOTS = 64


@dataclass(frozen=True)
class Clock:
    period_ps: int = 1000


@dataclass(frozen=True)
class Array:
    engines: int = 2
    rows: int = 4
    cols: int = 4
    dataflow: str = "os"   # "os" output stationary, "ws" weight stationary (docs/microarch.md)


#: The MAC array's dataflows (`[array] dataflow`).
DATAFLOWS = ("os", "ws")


@dataclass(frozen=True)
class Scratchpad:
    bytes: int = 65536


@dataclass(frozen=True)
class Engine:
    """Engine options (docs/microarch.md, "Double buffering")."""

    double_buffer: bool = False  # two operand buffers: load the next tile during compute
    reuse: bool = False  # skip loading an operand block the scratchpad still holds
    reuse_slots: int = 1  # B blocks resident at once (docs/microarch.md, "Several B blocks resident")
    overlap_drain: bool = False  # double buffering: the next compute starts while the array drains


@dataclass(frozen=True)
class Dma:
    bus_bytes: int = 8
    max_burst_beats: int = 16


@dataclass(frozen=True)
class Memory:
    latency_cycles: int = 20
    bytes: int = 1 << 30
    model: str = "fixed"    # TLM only: "fixed" latency + bandwidth, or the "dram" bank/row model


#: The TLM's memory-model levels (`[memory] model`).
MEMORY_MODELS = ("fixed", "dram")
DRAM_MAPPINGS = ("row:bank:col", "row:col:bank")
DRAM_PAGE_POLICIES = ("open", "closed")
DRAM_SCHEDULERS = ("fcfs", "frfcfs")


@dataclass(frozen=True)
class MemoryModel:
    """TLM-only parameters of the memory-model levels, fitted by `tlmsim calibrate --hardware`.

    `fixed_*` adjust the fixed level (effective latency and bandwidth; the
    defaults change nothing); `dram_*` are the dram level's bank/row model
    (`tlm.blocks.dram_model`), in clock cycles. The RTL never reads them and
    the TLM never reads a hardware file: these values are learned from RTL traces.
    """

    fixed_read_extra_cycles: int = 0     # added to every read op (may be < 0: a faster memory)
    fixed_write_extra_cycles: int = 0    # added to every write op (may be < 0)
    fixed_cycles_per_beat: float = 1.0   # effective bus occupancy per beat
    dram_banks: int = 8
    dram_row_bytes: int = 1024
    dram_mapping: str = "row:bank:col"
    dram_page_policy: str = "open"
    dram_scheduler: str = "frfcfs"
    dram_queue: int = 8
    dram_cl_cycles: int = 9       # column read -> first data beat
    dram_cwl_cycles: int = 5      # column write -> first data beat
    dram_rcd_cycles: int = 7      # activate -> column command
    dram_rp_cycles: int = 7       # precharge -> activate
    dram_ras_cycles: int = 18     # activate -> precharge, minimum
    dram_wr_cycles: int = 8       # last write beat -> precharge
    dram_wtr_cycles: int = 4      # last write beat -> column read
    dram_rtw_cycles: int = 3      # last read beat -> first write beat, idle bus cycles
    dram_refi_cycles: int = 1950  # refresh interval, 0 = no refresh
    dram_rfc_cycles: int = 60     # refresh duration


@dataclass(frozen=True)
class Scheduler:
    table_depth: int = 16
    policy: str = "fifo"


@dataclass(frozen=True)
class Vector:
    """The vector unit (graph workloads' elementwise, pooling, softmax ... layers)."""

    lanes: int = 16                # elements processed per cycle
    latency_cycles: int = 4        # pipeline fill per entry
    softmax_cost: int = 4          # cycles per lane-group of elements for softmax (exp, sum, divide)
    layernorm_cost: int = 3        # same for layernorm (mean, variance, normalise)


@dataclass(frozen=True)
class Timing:
    """TLM-only timing parameters, in clock cycles (see docs/microarch.md).

    The defaults are the idealisation the micro-architecture description
    alone supports: the datapath costs (memory latency, beats, the systolic
    count, the drain) are modelled exactly and every control step of the
    scheduler, engines and DMA is assumed to take no cycle. `tlmsim calibrate`
    fits the real costs against the RTL; the fitted overlay ships in
    `tlm/data/calibrated_timing.toml` and `tlmsim sim` uses it by default.
    """

    dma_grant_cycles: int = 0       # request seen -> grant, DMA idle
    dma_setup_cycles: int = 0       # grant -> first memory request
    dma_read_done_cycles: int = 0   # last read beat -> op done
    dma_write_done_cycles: int = 0  # last write beat -> op done
    engine_start_cycles: int = 0    # dispatch -> first DMA request
    engine_phase_cycles: int = 0    # one phase done -> next phase starts
    engine_done_cycles: int = 0     # store done -> engine reports done
    drain_extra_cycles: int = 0     # drain takes rows + this
    sched_complete_cycles: int = 0  # completion action, fixed part
    sched_succ_cycles: int = 0      # per successor walked
    sched_dispatch_cycles: int = 0  # dispatch action
    sched_admit_cycles: int = 0     # admission action, fixed part
    sched_pred_cycles: int = 0      # per predecessor checked
    sched_notice_cycles: int = 0    # engine done -> seen by the scheduler


@dataclass(frozen=True)
class Cost:
    """Area and energy estimates per component (docs/arch.md states each default's source).

    Only `tlm.cost` reads these; they change no cycle of either model. Values
    are at the technology node `tech_nm` (informational: nothing is scaled).
    """

    tech_nm: float = 45.0
    mac_area_um2: float = 419.0          # 8-bit multiplier + 32-bit adder
    mac_energy_pj: float = 0.3           # one 8x8 multiply + 32-bit accumulate
    sram_area_um2_per_byte: float = 4.7  # 6T bitcells + periphery
    sram_energy_pj_per_byte: float = 2.5  # per byte read or written
    dram_energy_pj_per_byte: float = 160.0
    vector_area_um2_per_lane: float = 137.0  # one 32-bit ALU per array column
    vector_energy_pj_per_elem: float = 0.1   # ReLU/shift/clip of one output element
    other_area_mm2: float = 0.0          # DMA, scheduler, control: not estimated by default


POLICIES = ("fifo",)


@dataclass(frozen=True)
class Arch:
    clock: Clock = field(default_factory=Clock)
    array: Array = field(default_factory=Array)
    scratchpad: Scratchpad = field(default_factory=Scratchpad)
    engine: Engine = field(default_factory=Engine)
    dma: Dma = field(default_factory=Dma)
    memory: Memory = field(default_factory=Memory)
    scheduler: Scheduler = field(default_factory=Scheduler)
    timing: Timing = field(default_factory=Timing)
    cost: Cost = field(default_factory=Cost)
    memory_model: MemoryModel = field(default_factory=MemoryModel)
    vector: Vector = field(default_factory=Vector)

    # -- derived: the scratchpad layout shared by the compiler, TLM and RTL --
    @property
    def _buffer_bytes(self) -> int:
        return self.scratchpad.bytes // 2 if self.engine.double_buffer else self.scratchpad.bytes

    @property
    def _os_kmax(self) -> int:
        r, c = self.array.rows, self.array.cols
        return (self._buffer_bytes - 4 * r * c) // (r + self.engine.reuse_slots * c)

    @property
    def kmax(self) -> int:
        """Bytes per A-row / B-column lane: the largest K-chunk a tile can hold.

        With `[engine] double_buffer` the scratchpad is split into two halves of
        `bytes // 2`, each laid out like a whole single-buffered scratchpad.
        Weight stationary: a quarter of the output-stationary lane in whole
        R-row weight folds (at least one fold; the OS lane when shorter), so
        that the rest of the buffer holds streamed A rows (`tile_rows`).
        """
        kos = self._os_kmax
        if self.array.dataflow != "ws":
            return kos
        r = self.array.rows
        return kos if kos < r else max(1, kos // (4 * r)) * r

    @property
    def tile_rows(self) -> int:
        """Largest m of a tile: R (output stationary) or the A rows the scratchpad holds (WS).

        WS: (buffer - C*kmax) // (kmax + 4C), A lanes plus C buffer rows; >= R
        because the WS lane is no longer than the OS one; at most 65535 (16-bit m).
        """
        if self.array.dataflow != "ws":
            return self.array.rows
        c, k = self.array.cols, self.kmax
        return min(65535, (self._buffer_bytes - self.engine.reuse_slots * c * k) // (k + 4 * c))

    @property
    def spad_buffer_bytes(self) -> int:
        """Bytes one operand buffer uses (A and B lanes, C buffer): buffer 1's offset."""
        r, c = self.tile_rows, self.array.cols
        return (r + self.engine.reuse_slots * c) * self.kmax + 4 * r * c

    @property
    def spad_a_base(self) -> int:
        return 0

    @property
    def spad_b_base(self) -> int:
        return self.tile_rows * self.kmax

    @property
    def spad_slot_bytes(self) -> int:
        """Bytes of one B slot (`[engine] reuse_slots`): slot s's lanes start at
        `spad_b_base + s * spad_slot_bytes`."""
        return self.array.cols * self.kmax

    @property
    def spad_c_base(self) -> int:
        return (self.tile_rows + self.engine.reuse_slots * self.array.cols) * self.kmax

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Nested plain dict (the trace header's `arch`)."""
        return dataclasses.asdict(self)

    def hardware_dict(self) -> dict[str, dict[str, Any]]:
        """Everything but `[timing]`: what two traces must agree on."""
        d = self.to_dict()
        d.pop("timing")
        d.pop("cost")
        d.pop("memory_model")
        d.pop("vector")  # graph workloads only; no RTL counterpart yet
        d["memory"].pop("model")  # how the TLM models the memory, not what it is
        return d

    def rtl_parameters(self) -> dict[str, int]:
        """Verilog parameters of `accel_top` derived from this config."""
        return {
            "ROWS": self.array.rows,
            "COLS": self.array.cols,
            "ENGINES": self.array.engines,
            "TABLE_DEPTH": self.scheduler.table_depth,
            "BUS_BYTES": self.dma.bus_bytes,
            "MAX_BURST_BEATS": self.dma.max_burst_beats,
            "MEM_LATENCY": self.memory.latency_cycles,
            "KMAX": self.kmax,
            "DOUBLE_BUFFER": int(self.engine.double_buffer),
            "DATAFLOW": DATAFLOWS.index(self.array.dataflow),
            "TILE_ROWS": self.tile_rows,
            "OVERLAP_DRAIN": int(self.engine.overlap_drain),
            "VEC_LANES": self.vector.lanes,
            "VEC_LATENCY": self.vector.latency_cycles,
            "REUSE_SLOTS": self.engine.reuse_slots,
        }

    def with_timing(self, **values: int) -> Arch:
        return dataclasses.replace(self, timing=dataclasses.replace(self.timing, **values))


SECTIONS: dict[str, type] = {f.name: f.type for f in fields(Arch)}  # type: ignore[misc]
_SECTION_TYPES = {
    "clock": Clock, "array": Array, "scratchpad": Scratchpad, "engine": Engine, "dma": Dma,
    "memory": Memory, "scheduler": Scheduler, "timing": Timing,
    "cost": Cost, "memory_model": MemoryModel, "vector": Vector,
}


def _validate(arch: Arch, file: str) -> None:
    def bad(where: str, what: str) -> InputError:
        return InputError(file, where, what)

    for sname, scls in _SECTION_TYPES.items():
        section = getattr(arch, sname)
        for f in fields(scls):
            v = getattr(section, f.name)
            if f.type in ("int", int):
                if sname == "memory_model":
                    continue  # `_validate_memory_model`
                if sname == "timing" or f.name == "drain_extra_cycles":
                    if v < 0 or v > 10_000:
                        raise bad(f"[{sname}] {f.name}", f"must be an integer in 0..10000, got {v}")
                elif v <= 0 or v > MAX_SIZE:
                    raise bad(f"[{sname}] {f.name}", f"must be a positive integer <= {MAX_SIZE}, got {v}")
    a = arch.array
    for name, v in (("rows", a.rows), ("cols", a.cols)):
        if v > MAX_ARRAY:
            raise bad(f"[array] {name}", f"must be <= {MAX_ARRAY}, got {v} (RTL runs: <= 64)")
    if a.engines > 64:
        raise bad("[array] engines", f"must be <= 64, got {a.engines}")
    if a.dataflow not in DATAFLOWS:
        raise bad("[array] dataflow", f"unknown dataflow {a.dataflow!r} (known: {', '.join(DATAFLOWS)})")
    bb = arch.dma.bus_bytes
    if bb & (bb - 1) or bb > 128:
        raise bad("[dma] bus_bytes", f"must be a power of two <= 128, got {bb}")
    if arch.dma.max_burst_beats > 256:
        raise bad("[dma] max_burst_beats", f"must be <= 256, got {arch.dma.max_burst_beats}")
    if arch.memory.latency_cycles > 10_000:
        raise bad("[memory] latency_cycles", f"must be <= 10000, got {arch.memory.latency_cycles}")
    if arch.scheduler.table_depth > 4096:
        raise bad("[scheduler] table_depth", f"must be <= 4096, got {arch.scheduler.table_depth}")
    if arch.scheduler.policy not in POLICIES:
        raise bad("[scheduler] policy", f"unknown policy {arch.scheduler.policy!r} (known: {', '.join(POLICIES)})")
    slots = arch.engine.reuse_slots
    if slots > MAX_REUSE_SLOTS:
        raise bad("[engine] reuse_slots", f"must be <= {MAX_REUSE_SLOTS}, got {slots}")
    if slots > 1 and not arch.engine.reuse:
        raise bad("[engine] reuse_slots", f"{slots} slots need [engine] reuse = true")
    if slots > 1 and arch.engine.double_buffer:
        raise bad("[engine] reuse_slots", f"{slots} slots cannot be combined with [engine] double_buffer "
                  "(use reuse_slots = 1)")
    need = (a.rows + slots * a.cols + 4 * a.rows * a.cols) * (2 if arch.engine.double_buffer else 1)
    if arch.scratchpad.bytes < need:
        what = "two" if arch.engine.double_buffer else "one"
        raise bad("[scratchpad] bytes", f"{arch.scratchpad.bytes} cannot hold {what} {a.rows}x{a.cols} tile{'s' if what == 'two' else ''} with k=1 (needs {need})")
    if arch.engine.overlap_drain and not arch.engine.double_buffer:
        raise bad("[engine] overlap_drain", "needs [engine] double_buffer = true")
    if arch.engine.overlap_drain and a.dataflow != "os":
        # The output registers belong to the output-stationary array (docs/microarch.md).
        raise bad("[engine] overlap_drain", 'needs [array] dataflow = "os" (the weight-stationary '
                  "array has no output registers to drain into)")
    if arch.scratchpad.bytes > MAX_SCRATCHPAD:
        raise bad("[scratchpad] bytes", f"must be <= {MAX_SCRATCHPAD} (64 MiB), got {arch.scratchpad.bytes}")
    _validate_memory_model(arch, file)
    # The RTL's own, tighter bounds (16-bit k, 64x64 arrays) are checked before
    # an RTL run (`tlm.rtl.introspect.check_rtl_limits`), not for TLM-only runs.


def _validate_memory_model(arch: Arch, file: str) -> None:
    m = arch.memory_model
    if arch.memory.model not in MEMORY_MODELS:
        raise InputError(file, "[memory] model",
                         f"unknown model {arch.memory.model!r} (known: {', '.join(MEMORY_MODELS)})")
    for f in fields(MemoryModel):
        v = getattr(m, f.name)
        where = f"[memory_model] {f.name}"
        if f.name in ("dram_banks", "dram_row_bytes"):
            top = 32 if f.name == "dram_banks" else 1 << 20
            if v <= 0 or v & (v - 1) or v > top:
                raise InputError(file, where, f"must be a power of two in 1..{top}, got {v}")
        elif f.name == "dram_queue":
            if not 1 <= v <= 64:
                raise InputError(file, where, f"must be an integer in 1..64, got {v}")
        elif f.name == "dram_refi_cycles":
            if v != 0 and not m.dram_rfc_cycles < v <= 1_000_000:
                raise InputError(file, where, f"must be 0 (no refresh) or in dram_rfc_cycles+1..1000000, "
                                 f"got {v}")
        elif f.name in ("fixed_read_extra_cycles", "fixed_write_extra_cycles"):
            if not -10_000 <= v <= 10_000:
                raise InputError(file, where, f"must be an integer in -10000..10000, got {v}")
        elif f.name == "fixed_cycles_per_beat":
            if not 0.0 < v <= 100.0:
                raise InputError(file, where, f"must be a number in (0, 100], got {v}")
        elif isinstance(v, int) and not 0 <= v <= 10_000:
            raise InputError(file, where, f"must be an integer in 0..10000, got {v}")
    for name, known in (("dram_mapping", DRAM_MAPPINGS), ("dram_page_policy", DRAM_PAGE_POLICIES),
                        ("dram_scheduler", DRAM_SCHEDULERS)):
        v = getattr(m, name)
        if v not in known:
            raise InputError(file, f"[memory_model] {name}", f"unknown value {v!r} (known: {', '.join(known)})")


def arch_from_dict(data: dict[str, Any], file: str = "<arch>", base: Arch | None = None) -> Arch:
    """Build an Arch from a nested dict, over `base` (defaults when None)."""
    arch = base or Arch()
    if not isinstance(data, dict):
        raise InputError(file, "top level", "must be a table")
    replaced: dict[str, Any] = {}
    for sname, values in data.items():
        if sname not in _SECTION_TYPES:
            raise InputError(file, f"[{key_name(sname)}]",
                             f"unknown section (known: {', '.join(_SECTION_TYPES)})")
        if not isinstance(values, dict):
            raise InputError(file, f"[{sname}]", "must be a table")
        scls = _SECTION_TYPES[sname]
        known = {f.name: f for f in fields(scls)}
        kwargs: dict[str, Any] = {}
        for key, v in values.items():
            if key not in known:
                raise InputError(file, f"[{sname}] {key_name(key)}", f"unknown key (known: {', '.join(known)})")
            ftype = known[key].type
            want = str if ftype in ("str", str) else float if ftype in ("float", float) \
                else bool if ftype in ("bool", bool) else int
            if want is bool and not isinstance(v, bool):
                raise InputError(file, f"[{sname}] {key}", f"must be true or false, got {describe(v)}")
            if want is float:
                v = _cost_value(file, f"[{sname}] {key}", v)
            if want is int and (isinstance(v, bool) or not isinstance(v, int)):
                raise InputError(file, f"[{sname}] {key}", f"must be an integer, got {describe(v)}")
            if want is str and not isinstance(v, str):
                raise InputError(file, f"[{sname}] {key}", f"must be a string, got {describe(v)}")
            kwargs[key] = v
        replaced[sname] = dataclasses.replace(getattr(arch, sname), **kwargs)
    arch = dataclasses.replace(arch, **replaced)
    _validate(arch, file)
    return arch


def _cost_value(file: str, where: str, v: Any) -> float:
    """A float key ([cost]): a finite number >= 0 (integers are accepted)."""
    import math

    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or v > 1e12:
        raise InputError(file, where, f"must be a number in 0..1e12, got {describe(v)}")
    return float(v)


def load_arch(path: str | Path | None, base: Arch | None = None) -> Arch:
    """Load an arch TOML file over `base` (or the defaults); None gives `base`/defaults."""
    if path is None:
        return base or Arch()
    return arch_from_dict(read_toml(str(path), MAX_ARCH_BYTES), str(path), base)


def arch_to_toml(arch: Arch, sections: tuple[str, ...] | None = None) -> str:
    """TOML text of the config (or of some sections, e.g. a timing overlay)."""
    out: list[str] = []
    for sname, values in arch.to_dict().items():
        if sections is not None and sname not in sections:
            continue
        out.append(f"[{sname}]")
        for k, v in values.items():
            if isinstance(v, bool):
                out.append(f"{k} = {str(v).lower()}")
            else:
                out.append(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"')
        out.append("")
    return "\n".join(out)


#: What every key means, by `section.key`: `tlmsim sim --help-arch` prints it and
#: docs/arch.md documents every key (a test checks that none is missing).
KEY_HELP: dict[str, str] = {
    "clock.period_ps": "clock period in picoseconds (1000 = 1 GHz); traces count cycles of it",
    "array.engines": "engines, each with its own MAC array and scratchpad",
    "array.rows": "R: MAC array rows (a tile's m <= R)",
    "array.cols": "C: MAC array columns (a tile's n <= C)",
    "array.dataflow": "os (output stationary: a tile's m <= R) or ws (weight stationary: R x C weights "
                      "held, up to tile_rows A rows streamed)",
    "scratchpad.bytes": "scratchpad bytes per engine; sets kmax, the largest K-chunk of a tile",
    "engine.double_buffer": "two operand buffers per engine: the next tile loads while the array "
                            "computes (halves the scratchpad per tile, so kmax)",
    "engine.reuse_slots": "with reuse: B (weight) blocks the scratchpad holds at once, one per slot; "
                          "kmax = (bytes - 4RC) / (R + slots*C) (docs/microarch.md)",
    "engine.overlap_drain": "double buffering only: the array's sums move to output registers as the "
                            "drain starts, so the next tile computes while they shift out",
    "engine.reuse": "operand reuse: a tile whose A or B block the engine's scratchpad still holds "
                    "skips that load; the compiler orders tiles for it (docs/microarch.md)",
    "dma.bus_bytes": "external memory bus width, bytes per beat (a power of two)",
    "dma.max_burst_beats": "longest burst the DMA issues, in beats",
    "memory.latency_cycles": "external memory read latency L, request to first data beat",
    "memory.bytes": "external memory size; a workload's operands and outputs must fit",
    "memory.model": "TLM memory-model level: fixed (latency + bandwidth) or dram (bank/row model)",
    "scheduler.table_depth": "dependency-table entries (tiles in flight or waiting)",
    "scheduler.policy": "dispatch order of ready tiles (fifo: in the order they became ready)",
    "timing.dma_grant_cycles": "DMA: request seen by an idle DMA -> grant",
    "timing.dma_setup_cycles": "DMA: grant -> first memory request",
    "timing.dma_read_done_cycles": "DMA: last read beat -> op done",
    "timing.dma_write_done_cycles": "DMA: last write beat -> op done",
    "timing.engine_start_cycles": "engine: dispatch -> load_a request",
    "timing.engine_phase_cycles": "engine: one phase done -> next phase starts",
    "timing.engine_done_cycles": "engine: store op done -> engine reports done",
    "timing.drain_extra_cycles": "engine: the array drain takes rows + this",
    "timing.sched_complete_cycles": "scheduler: completion action, fixed part",
    "timing.sched_succ_cycles": "scheduler: completion action, per successor walked",
    "timing.sched_dispatch_cycles": "scheduler: dispatch action",
    "timing.sched_admit_cycles": "scheduler: admission action, fixed part",
    "timing.sched_pred_cycles": "scheduler: admission action, per predecessor checked",
    "timing.sched_notice_cycles": "scheduler: engine done -> completion visible to it",
    "memory_model.fixed_read_extra_cycles": "fixed level: cycles added to every read op (effective latency)",
    "memory_model.fixed_write_extra_cycles": "fixed level: cycles added to every write op",
    "memory_model.fixed_cycles_per_beat": "fixed level: effective cycles per bus beat (bandwidth)",
    "memory_model.dram_banks": "dram level: banks (a power of two)",
    "memory_model.dram_row_bytes": "dram level: bytes per row (a power of two)",
    "memory_model.dram_mapping": "dram level: beat address bits, high to low: row:bank:col or row:col:bank",
    "memory_model.dram_page_policy": "dram level: open (rows stay open) or closed (precharge when unused)",
    "memory_model.dram_scheduler": "dram level: fcfs (in order) or frfcfs (row commands of later requests go ahead)",
    "memory_model.dram_queue": "dram level: controller queue, requests in flight",
    "memory_model.dram_cl_cycles": "dram level: column read -> first data beat",
    "memory_model.dram_cwl_cycles": "dram level: column write -> first data beat",
    "memory_model.dram_rcd_cycles": "dram level: activate -> column command",
    "memory_model.dram_rp_cycles": "dram level: precharge -> activate",
    "memory_model.dram_ras_cycles": "dram level: activate -> precharge, minimum",
    "memory_model.dram_wr_cycles": "dram level: last write beat -> precharge",
    "memory_model.dram_wtr_cycles": "dram level: last write beat -> column read",
    "memory_model.dram_rtw_cycles": "dram level: last read beat -> first write beat, idle cycles",
    "memory_model.dram_refi_cycles": "dram level: refresh interval (0 = no refresh)",
    "memory_model.dram_rfc_cycles": "dram level: refresh duration",
    "vector.lanes": "vector unit: elements processed per cycle",
    "vector.latency_cycles": "vector unit: fixed cycles per entry (pipeline fill), after its loads",
    "vector.softmax_cost": "vector unit: softmax cycles per `lanes` elements",
    "vector.layernorm_cost": "vector unit: layernorm cycles per `lanes` elements",
    "cost.tech_nm": "technology node the [cost] figures are for, in nm (informational, nothing is scaled)",
    "cost.mac_area_um2": "area of one MAC (8-bit multiplier + 32-bit adder), um^2",
    "cost.mac_energy_pj": "energy of one MAC operation, pJ",
    "cost.sram_area_um2_per_byte": "scratchpad/output-buffer SRAM area per byte, um^2",
    "cost.sram_energy_pj_per_byte": "SRAM energy per byte read or written, pJ",
    "cost.dram_energy_pj_per_byte": "external memory (DRAM) energy per byte moved, pJ",
    "cost.vector_area_um2_per_lane": "post-processing (ReLU/shift/clip) unit area per array column, um^2",
    "cost.vector_energy_pj_per_elem": "post-processing energy per output element, pJ",
    "cost.other_area_mm2": "fixed area added for DMA, scheduler and control, mm^2",
}


def arch_keys(arch: Arch) -> list[tuple[str, str, Any]]:
    """Every key as (section, key, value in `arch`), in file order."""
    return [(sname, k, v) for sname, values in arch.to_dict().items() for k, v in values.items()]
