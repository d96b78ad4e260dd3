"""The hardware file: what the RTL's memory system is built with.

Only the RTL side reads it (`tlmsim rtl --hardware`, the cocotb regression);
the TLM (`tlm/blocks`) never imports this module, so whatever the TLM knows of
the DRAM it has to learn from RTL traces. One section, every key defaulted::

    [dram]
    banks = 8                 # power of two, 1..32
    row_bytes = 1024          # bytes per row, power of two (>= the bus width)
    mapping = "row:bank:col"  # or "row:col:bank" (beat address bits, high to low)
    t_rcd = 7                 # ACT -> RD/WR (accelerator clock cycles)
    t_rp = 7                  # PRE -> ACT
    t_cl = 9                  # RD -> first data beat
    t_cwl = 5                 # WR -> first data beat
    t_ras = 18                # ACT -> PRE, minimum
    t_wr = 8                  # last write beat -> PRE
    t_wtr = 4                 # last write beat -> RD
    t_rtw = 3                 # last read beat -> first write beat, idle bus cycles
    t_refi = 1950             # refresh interval, 0 = no refresh
    t_rfc = 60                # refresh duration
    page_policy = "open"      # open | closed
    queue_depth = 8           # controller request queue
    scheduler = "frfcfs"      # fcfs | frfcfs

`load_hardware(path)` parses and validates it (bad input raises
`tlm.errors.InputError`); `verilog_parameters(hw, arch)` gives the
`accel_top` parameter overrides (`MEM_KIND = 1` and the `DRAM_*` values; none
without a hardware file, so the fixed-latency memory is built as before).
The meaning of each constraint is in the header of `rtl/dram/dram_ctrl.v`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.limits import read_toml
from tlm.workload.program import OPS, TileProgram

MAX_FILE_BYTES = 65536
MAPPINGS = ("row:bank:col", "row:col:bank")
PAGE_POLICIES = ("open", "closed")
SCHEDULERS = ("fcfs", "frfcfs")
TIMING_MAX = 10_000
REFI_MAX = 1_000_000

# (lowest, highest) of each integer timing key; t_refi is checked apart.
_TIMING_RANGES = {
    "t_rcd": (0, TIMING_MAX), "t_rp": (0, TIMING_MAX), "t_cl": (1, TIMING_MAX),
    "t_cwl": (1, TIMING_MAX), "t_ras": (0, TIMING_MAX), "t_wr": (0, TIMING_MAX),
    "t_wtr": (0, TIMING_MAX), "t_rtw": (0, TIMING_MAX), "t_rfc": (1, TIMING_MAX),
}


@dataclass(frozen=True)
class Dram:
    """The `[dram]` section (meanings in the module docstring)."""

    banks: int = 8
    row_bytes: int = 1024
    mapping: str = "row:bank:col"
    t_rcd: int = 7
    t_rp: int = 7
    t_cl: int = 9
    t_cwl: int = 5
    t_ras: int = 18
    t_wr: int = 8
    t_wtr: int = 4
    t_rtw: int = 3
    t_refi: int = 1950
    t_rfc: int = 60
    page_policy: str = "open"
    queue_depth: int = 8
    scheduler: str = "frfcfs"


@dataclass(frozen=True)
class Hardware:
    """A hardware file: today its DRAM only."""

    dram: Dram = Dram()


def _pow2(v: int) -> bool:
    return v > 0 and v & (v - 1) == 0


def _validate(d: Dram, file: str) -> None:
    def bad(key: str, what: str) -> InputError:
        return InputError(file, f"[dram] {key}", what)

    if not _pow2(d.banks) or d.banks > 32:
        raise bad("banks", f"must be a power of two in 1..32, got {d.banks}")
    if not _pow2(d.row_bytes) or d.row_bytes > 1 << 20:
        raise bad("row_bytes", f"must be a power of two <= 1048576, got {d.row_bytes}")
    if d.mapping not in MAPPINGS:
        raise bad("mapping", f"unknown mapping {d.mapping!r} (known: {', '.join(MAPPINGS)})")
    for key, (lo, hi) in _TIMING_RANGES.items():
        v = getattr(d, key)
        if not lo <= v <= hi:
            raise bad(key, f"must be an integer in {lo}..{hi}, got {v}")
    if d.t_refi != 0 and not d.t_rfc < d.t_refi <= REFI_MAX:
        raise bad("t_refi", f"must be 0 (no refresh) or in t_rfc+1..{REFI_MAX} "
                  f"(t_rfc = {d.t_rfc}), got {d.t_refi}")
    if d.page_policy not in PAGE_POLICIES:
        raise bad("page_policy", f"unknown policy {d.page_policy!r} (known: {', '.join(PAGE_POLICIES)})")
    if not 2 <= d.queue_depth <= 64:
        raise bad("queue_depth", f"must be an integer in 2..64, got {d.queue_depth}")
    if d.scheduler not in SCHEDULERS:
        raise bad("scheduler", f"unknown scheduler {d.scheduler!r} (known: {', '.join(SCHEDULERS)})")


def hardware_from_dict(data: Any, file: str = "<hardware>") -> Hardware:
    """Build and validate a Hardware from the parsed TOML tables.

    Raises:
        InputError: unknown section or key, wrong type, value out of range.
    """
    if not isinstance(data, dict):
        raise InputError(file, "top level", "must be a table")
    dram = Dram()
    for sname, values in data.items():
        if sname != "dram":
            raise InputError(file, f"[{sname}]", "unknown section (known: dram)")
        if not isinstance(values, dict):
            raise InputError(file, "[dram]", "must be a table")
        known = {f.name: f for f in fields(Dram)}
        kwargs: dict[str, Any] = {}
        for key, v in values.items():
            if key not in known:
                raise InputError(file, f"[dram] {key}", f"unknown key (known: {', '.join(known)})")
            if known[key].type in ("str", str):
                if not isinstance(v, str):
                    raise InputError(file, f"[dram] {key}", f"must be a string, got {v!r}")
            elif isinstance(v, bool) or not isinstance(v, int):
                raise InputError(file, f"[dram] {key}", f"must be an integer, got {v!r}")
            kwargs[key] = v
        dram = replace(dram, **kwargs)
    _validate(dram, file)
    return Hardware(dram=dram)


def load_hardware(path: str | Path) -> Hardware:
    """Read and validate a hardware TOML file (at most MAX_FILE_BYTES bytes).

    Raises:
        InputError: unreadable, too large, not UTF-8, not TOML, or invalid.
    """
    return hardware_from_dict(read_toml(str(path), MAX_FILE_BYTES), str(path))


def dram_parameters(d: Dram) -> dict[str, int]:
    """The `DRAM_*` parameter values of `accel_top` for one `[dram]` section."""
    return {
        "DRAM_BANKS": d.banks,
        "DRAM_ROW_BYTES": d.row_bytes,
        "DRAM_MAPPING": MAPPINGS.index(d.mapping),
        "DRAM_T_RCD": d.t_rcd, "DRAM_T_RP": d.t_rp, "DRAM_T_CL": d.t_cl, "DRAM_T_CWL": d.t_cwl,
        "DRAM_T_RAS": d.t_ras, "DRAM_T_WR": d.t_wr, "DRAM_T_WTR": d.t_wtr, "DRAM_T_RTW": d.t_rtw,
        "DRAM_T_REFI": d.t_refi, "DRAM_T_RFC": d.t_rfc,
        "DRAM_PAGE_OPEN": 1 if d.page_policy == "open" else 0,
        "DRAM_QUEUE_DEPTH": d.queue_depth,
        "DRAM_FRFCFS": 1 if d.scheduler == "frfcfs" else 0,
    }


def verilog_parameters(hw: Hardware | None, arch: Arch, file: str = "<hardware>") -> dict[str, int]:
    """The `accel_top` overrides that select and configure its memory.

    Args:
        hw: the hardware file's contents; None keeps the fixed-latency memory
            (no override at all, so builds are the same as without hardware).
        arch: the arch the RTL is built for (the row must hold a bus beat).
        file: the hardware file's name, for messages.

    Raises:
        InputError: a row smaller than one bus beat.
    """
    if hw is None:
        return {}
    d = hw.dram
    if d.row_bytes < arch.dma.bus_bytes:
        raise InputError(file, "[dram] row_bytes",
                         f"{d.row_bytes} is smaller than one bus beat ([dma] bus_bytes = {arch.dma.bus_bytes})")
    return {"MEM_KIND": 1, **dram_parameters(d)}


def dram_cycle_bound(program: TileProgram, hw: Hardware | None) -> int:
    """Extra cycles a DRAM may cost a program, generously (0 without hardware).

    Every beat as its own row conflict and every write followed by a read
    turnaround, doubled when refresh takes a share of the time.
    """
    if hw is None:
        return 0
    d = hw.dram
    beats = sum(int(program.beats[op].sum()) for op in OPS)
    per_beat = d.t_ras + d.t_rp + d.t_rcd + d.t_wr + d.t_cl + d.t_cwl + d.t_rtw + d.t_wtr + 4
    total = beats * per_beat + 1000
    if d.t_refi:
        total += total * d.t_rfc // max(1, d.t_refi - d.t_rfc) + d.t_rfc
    return 2 * total


__all__ = ["Dram", "Hardware", "MAPPINGS", "PAGE_POLICIES", "SCHEDULERS", "dram_cycle_bound",
           "dram_parameters", "hardware_from_dict", "load_hardware", "verilog_parameters"]
