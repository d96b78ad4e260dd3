"""Run a tile program on the RTL (`accel_top` under Icarus + cocotb).

`run_rtl(program, arch, trace_path)`:

1. checks the arch against `rtl/accel_top.v` with pyverilog (before any
   build, so a mismatch costs no compile);
2. encodes the program into ROM and memory images (`tlm.rtl.image`);
3. builds `testbenches/hdl/tb_accel.v` + `rtl/*.v` (cached by content);
4. runs it: the testbench logs one line per trace strobe and dumps memory
   at the end (`tb_accel.v` header); cocotb only starts it and waits;
5. turns the log into a `tlm-trace/1` trace (`source: "rtl"`) and compares
   the program's output regions in the dumped memory with `program.expected`.

A deadlock (the RTL's own detector, or no end within a generous cycle bound)
raises `tlm.errors.DeadlockError` after writing the trace prefix (no trace
file when nothing was recorded; the message says which).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.blocks.profile import layer_header
from tlm.blocks.vector import vector_cycles
from tlm.errors import CheckFailed, DeadlockError
from tlm.rtl import image as img
from tlm.rtl import runner
from tlm.rtl.hardware import Hardware, dram_cycle_bound, verilog_parameters
from tlm.trace.dram import dram_footer
from tlm.trace.writer import TraceWriter
from tlm.rtl.vector_image import check_vector_rtl
from tlm.workload.program import OPS, EntryKind, TileProgram

TOP = "tb_accel"
RTL_SOURCES = ("accel_top.v", "tile_scheduler.v", "engine.v", "engine_db.v", "mac_array.v", "pe.v",
               "mac_array_ws.v", "dma.v", "arbiter.v", "memory.v", "dram/dram_ctrl.v", "vector_unit.v")
BENCH_MODULE = "accel_bench"
_OP_NAMES = {0: "load_a", 1: "load_b", 2: "load_c", 3: "store_c"}


@dataclass
class RtlResult:
    """What an RTL run produced.

    Attributes:
        cycles: end-to-end cycles (end of the last completion).
        tiles: tile jobs run.
        functional: "pass" or "fail" (outputs vs numpy), "skipped" when the
            program names no outputs.
        sim_s: wall time of the simulation proper (no build, no start-up).
        wall_s: wall time of the whole call.
        build_s: wall time spent building (0 when the build was cached).
        trace_path: the trace written.
        waves_path: the FST waveform (beside the trace, suffix .fst), when asked for.
        mismatches: one line per output region that differs.
    """

    cycles: int
    tiles: int
    functional: str
    sim_s: float
    wall_s: float
    build_s: float
    trace_path: Path
    waves_path: Path | None = None
    mismatches: list[str] = field(default_factory=list)

    @property
    def cycles_per_s(self) -> float:
        return self.cycles / self.sim_s if self.sim_s > 0 else 0.0


def build_parameters(program: TileProgram, arch: Arch, hardware: Hardware | None = None) -> dict[str, int]:
    """All parameters `tb_accel`/`accel_top` are built with for this program."""
    return {**arch.rtl_parameters(), **img.image_parameters(program, arch),
            **verilog_parameters(hardware, arch)}


def cycle_bound(program: TileProgram, arch: Arch) -> int:
    """A generous upper bound of the run's cycles (everything serialised, x2)."""
    r, c, lat = arch.array.rows, arch.array.cols, arch.memory.latency_cycles
    beats = sum(int(program.beats[op].sum()) for op in OPS)
    tiles = program.tiles
    per_tile = 4 * lat + r + c + 2 * r + 40 + 2 * arch.tile_rows
    edges = int(program.preds.idx.shape[0])
    k = program.k.astype("int64")
    compute = -(-k // r) * (2 * r + c + program.m.astype("int64")) if arch.array.dataflow == "ws" else k
    vector = int(vector_cycles(arch, program).sum()) + 4 * lat * (program.entries - program.tiles)
    return 2 * (1000 + beats + tiles * per_tile + int(compute.sum()) + 4 * program.entries + 4 * edges
                + vector)


def _log_lines(path: Path) -> Iterator[list[str]]:
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if parts:
                yield parts


def convert_log(log_path: Path, program: TileProgram, writer: TraceWriter,
                grants: list[tuple[int, str]] | None = None, buffers: int = 1) -> tuple[str, int]:
    """Write the trace records of an RTL event log; returns (end tag, cycle).

    `grants`, when given, receives (grant cycle, op) of every DMA op, in grant order.
    `buffers`: operand buffers per engine (2 with double buffering).
    """
    tile_id = program.tile_id
    nbytes = {op: program.bytes[op] for op in OPS}
    nbeats = {op: program.beats[op] for op in OPS}
    ready: dict[int, int] = {}
    # Per engine: the entries dispatched to it, in order, and how many of them
    # each kind of event has passed. An engine treats its tiles in dispatch
    # order at every step (a double-buffered one holds two at a time), so the
    # n-th event of a kind on an engine belongs to its n-th tile.
    order: dict[int, list[int]] = {}
    seen: dict[tuple[int, str], int] = {}
    tile_start: dict[int, int] = {}     # entry -> dispatch cycle
    req: dict[int, tuple[int, int, int]] = {}  # engine -> (op, request cycle, entry)
    grant: dict[int, int] = {}
    compute_start: dict[int, int] = {}  # entry -> cycle
    drain_start: dict[int, int] = {}    # entry -> cycle

    def nth(e: int, kind: str, advance: bool = True) -> int:
        i = seen.get((e, kind), 0)
        if advance:
            seen[e, kind] = i + 1
        return order[e][i if advance else i - 1]

    action_end = -1  # end of the completion action being walked
    # Operand reuse: the loads each tile skipped, from the blocks held per
    # engine and operand buffer (the rule of docs/microarch.md, as engine.v
    # and engine_db.v apply it).
    reuse = program.a_block is not None and program.b_block is not None
    held: dict[tuple[int, int], list[int]] = {}  # (engine, buffer) -> blocks held
    skipped: dict[int, int] = {}
    opener: dict[int, int] = {}  # engine -> op code that opens its running tile's loads
    # Double buffering: a tile's loads may follow the previous tile's, so the
    # loads are counted out per tile (in dispatch order) instead.
    load_counts: dict[int, deque[int]] = {}
    loads_left: dict[int, int] = {}
    # Records of a layers-form workload carry their layer, as the TLM's do.
    layer_of = program.layer.tolist() if program.info.get("layers") else None
    # The vector unit (graph workloads) runs one VEC entry at a time: its
    # dispatch names its requester index; V / Y bound the work of that entry.
    is_vec = (program.kind == EntryKind.VEC).tolist()
    vec_entry, vec_index, vec_start = -1, -1, -1

    def record(op: str, x: int, start: int, end: int, **extra: int) -> None:
        if layer_of is not None:
            reused = extra.pop("reused", None)
            extra["layer"] = layer_of[x]
            if reused is not None:  # after the layer, as the TLM writes it
                extra["reused"] = reused
        writer.record(op, int(tile_id[x]), start, end, **extra)

    for f in _log_lines(log_path):
        tag, c = f[0], int(f[1])
        if tag == "R":
            # The walk pushes a successor as it visits it, but only the
            # controller reads the ready queue, and it does so at the end of
            # the action: that is when the tile is ready (docs/microarch.md).
            ready[int(f[2])] = action_end if c <= action_end else c
        elif tag == "C":
            action_end = c + 1 + int(f[3])
        elif tag == "D":
            x, e = int(f[2]), int(f[3])
            order.setdefault(e, []).append(x)
            record("dispatch", x, ready.pop(x, c), c, engine=e)
            if is_vec[x]:
                vec_entry, vec_index = x, e
                continue
            tile_start[x] = c
            if reuse:
                # the n-th tile dispatched to an engine goes to buffer n mod `buffers`
                skipped[x] = s = _skipped(program, x, held, (e, (len(order[e]) - 1) % buffers))
                if buffers > 1:
                    loads = (0 if s & 1 else 1) + (0 if s & 2 else 1) + int(program.load_c[x])
                    load_counts.setdefault(e, deque()).append(loads)
                else:
                    opener[e] = 0 if not s & 1 else 1 if not s & 2 else 2  # load_a, load_b, load_c
                    if s == 3 and not program.load_c[x]:
                        nth(e, "load")  # no load at all: the tile opens none
        elif tag == "Q":
            e, op_code = int(f[2]), int(f[3])
            if _OP_NAMES[op_code] == "store_c":
                x = nth(e, "store")
            elif e in load_counts:  # double buffering with reuse: the loads counted per tile
                opens = not loads_left.get(e, 0)
                if opens:
                    loads_left[e] = load_counts[e].popleft()
                loads_left[e] -= 1
                x = nth(e, "load", advance=opens)
            else:  # load_a opens a tile's loads, or load_b when reuse skips load_a
                name = _OP_NAMES[op_code]
                opens = op_code == opener.get(e, 0) if reuse else name == "load_a"  # the vector unit: load_a
                x = nth(e, "load", advance=opens)
            req[e] = (op_code, c, x)
        elif tag == "G":
            grant[int(f[2])] = c
        elif tag == "F":
            e = int(f[2])
            op_code, requested, x = req[e]
            op = _OP_NAMES[op_code]
            start = drain_start.pop(x) if op == "store_c" and not is_vec[x] else requested
            if grants is not None:
                grants.append((grant[e], op))
            record(op, x, start, c, engine=e, grant=grant[e],
                   bytes=int(nbytes[op][x]), beats=int(nbeats[op][x]))
        elif tag == "S":
            e = int(f[2])
            compute_start[nth(e, "compute")] = c
        elif tag == "E":
            e = int(f[2])
            x = nth(e, "compute_end")
            record("compute", x, compute_start.pop(x), c, engine=e)
        elif tag == "W":
            e = int(f[2])
            drain_start[nth(e, "drain")] = c
        elif tag == "X":
            e = int(f[2])
            x = nth(e, "done")
            if reuse:
                record("tile", x, tile_start.pop(x), c, engine=e, reused=skipped.pop(x))
            else:
                record("tile", x, tile_start.pop(x), c, engine=e)
        elif tag == "V":
            vec_start = c
        elif tag == "Y":
            record("vector", vec_entry, vec_start, c, engine=vec_index)
        elif tag in ("END", "DEADLOCK"):
            return tag, c
        elif tag == "MEMERR":
            raise CheckFailed(f"{log_path}: memory model flagged an out-of-range access at cycle {c}")
    return "CUT", -1


def dram_outcomes(dram_log: Path, grants: list[tuple[int, str]], end_cycle: int, t_rfc: int,
                  writer: TraceWriter) -> dict[str, Any]:
    """Refresh records and the footer's `dram` object from the DRAM's log (tlm.trace.dram)."""
    events: list[int] = []  # cycle * 4 + outcome (tlm.trace.dram)
    refreshes: list[int] = []
    if dram_log.exists():
        for f in _log_lines(dram_log):
            if f[0] == "E" and int(f[1]) <= end_cycle:
                events.append(int(f[1]) * 4 + int(f[2]))
            elif f[0] == "REF" and int(f[1]) <= end_cycle:
                refreshes.append(int(f[1]))
    for n, c in enumerate(refreshes):
        writer.record("refresh", n, c, c + t_rfc)
    return dram_footer(events, grants, len(refreshes))


def _skipped(program: TileProgram, x: int, held: dict[tuple[int, int], list[int]],
             key: tuple[int, int]) -> int:
    """Loads tile `x` skips in `key` = (engine, buffer) (1 = A, 2 = B, 3 = both: several
    B slots only); its blocks become the held A block and its slot's B block."""
    a = int(program.a_block[x])  # type: ignore[index]
    b = int(program.b_block[x])  # type: ignore[index]
    slot = 0 if program.b_slot is None else int(program.b_slot[x])
    h = held.setdefault(key, [-1] * (2 if program.b_slot is None else 1 + int(program.b_slot.max()) + 1))
    skip = (1 if a >= 0 and a == h[0] else 0) | (2 if b >= 0 and b == h[1 + slot] else 0)
    h[0], h[1 + slot] = a, b
    return 1 if skip == 3 and program.b_slot is None else skip


def check_outputs(program: TileProgram, memory: np.ndarray) -> tuple[str, list[str]]:
    """Compare the output regions in `memory` with the numpy reference."""
    if not program.outputs:
        return "skipped", []
    bad: list[str] = []
    for region in program.outputs:
        dtype = np.dtype(region.dtype).newbyteorder("<")
        rows, cols = region.shape
        size = rows * cols * dtype.itemsize
        got = memory[region.addr: region.addr + size].view(dtype).reshape(rows, cols)
        want = program.expected.get(region.name)
        if want is None:
            bad.append(f"{region.name}: no reference")
        elif not np.array_equal(got, np.asarray(want).reshape(rows, cols)):
            diff = int(np.count_nonzero(got != np.asarray(want).reshape(rows, cols)))
            bad.append(f"{region.name}: {diff} of {rows * cols} values differ")
    return ("fail" if bad else "pass"), bad


def _keep_log(log: Path, trace_path: str | Path) -> None:
    """Copy the simulator's log beside the trace after a failed run."""
    if log.is_file():
        kept = beside_trace(trace_path, ".sim.log")
        shutil.copyfile(log, kept)
        sys.stderr.write(f"rtl: simulator log kept in {kept}\n")


def beside_trace(trace_path: str | Path, suffix: str) -> Path:
    """Where a file that goes with the trace is kept: the trace's path with `suffix`.

    When the trace is a device (``/dev/null``) or a FIFO, the file goes to
    the cache's ``kept/`` folder instead of beside it.
    """
    from tlm.outputs import is_special

    if is_special(trace_path):
        folder = runner.cache_root() / "kept"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{Path(trace_path).name}-{os.getpid()}{suffix}"
    return Path(trace_path).with_suffix(suffix)


@contextlib.contextmanager
def _run_folder() -> Iterator[Path]:
    """This run's own folder in the cache (`runs/rtl-<pid>-*`), removed afterwards.

    A folder left by a killed run (its pid no longer runs) is removed by the
    next run.
    """
    folder = runner.private_folder(runner.cache_root() / "runs", "rtl-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _say(progress: bool, text: str) -> None:
    if progress:
        sys.stderr.write(f"rtl: {text}\n")
        sys.stderr.flush()


def run_rtl(program: TileProgram, arch: Arch, trace_path: str | Path, *, waves: bool = False,
            progress: bool = True, workload: str | None = None,
            hardware: Hardware | None = None) -> RtlResult:
    """Run `program` on the RTL and write its trace.

    Args:
        program: a functional compile (segments and memory image present).
        arch: the arch config; checked against the RTL before building.
        trace_path: the `tlm-trace/1` file to write.
        waves: also record an FST waveform (path in the result).
        progress: one-line progress messages on stderr.
        workload: name in the trace header (default: the program's).
        hardware: a hardware file's contents: the DRAM memory system instead
            of the fixed-latency memory (`tlm.rtl.hardware`).

    Raises:
        tlm.errors.InputError: the arch does not match the RTL's parameters.
        ValueError: the program is timing-only.
        DeadlockError: the run never finished (the trace prefix is kept).
        tlm.rtl.runner.RtlError: Icarus missing, build or simulator failure.
    """
    from tlm.rtl.introspect import check_arch  # pyverilog, imported when needed

    t_wall = time.perf_counter()
    params = build_parameters(program, arch, hardware)
    check_arch(arch, params)
    check_vector_rtl(program, arch, workload or program.name)
    runner.require_icarus()
    with _run_folder() as tmp:
        image = img.encode_program(program, arch, tmp / "image")
        t_build = time.perf_counter()
        _say(progress, f"building {TOP} ({', '.join(f'{k}={v}' for k, v in params.items())})")
        handle = runner.build(TOP, [runner.TESTBENCH_DIR / "hdl" / "tb_accel.v",
                                    *(runner.RTL_DIR / s for s in RTL_SOURCES)],
                              params, waves=waves)
        build_s = time.perf_counter() - t_build
        log_path, dump_path, status_path = tmp / "events.log", tmp / "mem_out.hex", tmp / "status.json"
        bound = cycle_bound(program, arch) + dram_cycle_bound(program, hardware)
        _say(progress, f"simulating {program.entries} entries ({program.tiles} tiles), at most {bound} cycles")
        plus = image.plusargs() + [f"+n_entries={image.entries}", f"+trace_log={log_path}",
                                   f"+dump_mem={dump_path}"]
        dram_log = tmp / "dram.log"
        if hardware is not None:
            plus.append(f"+dram_log={dram_log}")
        try:
            runner.run_test(handle, BENCH_MODULE, Path(__file__).parent, plusargs=plus,
                            extra_env={"ACCEL_MAX_CYCLES": str(bound), "ACCEL_STATUS": str(status_path)},
                            results_xml=tmp / "results.xml", log_file=tmp / "sim.log",
                            run_dir=tmp / "run")
            status = json.loads(status_path.read_text())
        except (runner.RtlError, OSError):
            _keep_log(tmp / "sim.log", trace_path)
            raise
        waves_path = None
        if waves:
            # Recorded in this run's own folder; kept beside its trace.
            recorded = tmp / "run" / f"{TOP}.fst"
            waves_path = beside_trace(trace_path, ".fst")
            shutil.move(str(recorded), waves_path)

        layers = layer_header(program)
        writer = TraceWriter(trace_path, source="rtl", workload=workload or program.name, arch=arch,
                             clock_period_ps=arch.clock.period_ps,
                             program_hash=program.content_hash(),
                             **({"layers": layers} if layers else {}))
        with writer:
            grants: list[tuple[int, str]] = []
            end_tag, end_cycle = convert_log(log_path, program, writer, grants,
                                             2 if arch.engine.double_buffer else 1)
            footer: dict[str, Any] = {}
            if hardware is not None:
                footer["dram"] = dram_outcomes(dram_log, grants, end_cycle, hardware.dram.t_rfc, writer)
            if status["status"] != "done" or end_tag != "END":
                what = ("the RTL reports a deadlock" if end_tag == "DEADLOCK"
                        else f"no end after {status['max_cycles']} cycles")
                _keep_log(tmp / "sim.log", trace_path)
                # abort() keeps the records (no footer) or, with none, writes no file at all
                writer.abort()
                kept = (f"its {writer.records_written} records are in {trace_path} (no footer: cut short)"
                        if writer.records_written else
                        f"nothing was recorded, so no trace was written to {trace_path}")
                raise DeadlockError(f"{program.name}: {what} at cycle {status['cycles']} "
                                    f"(table_depth {arch.scheduler.table_depth}); {kept}")
            memory = img.read_memory_hex(dump_path, arch.dma.bus_bytes)
            functional, mismatches = check_outputs(program, memory)
            sim_s = float(status["sim_s"])
            wall_s = time.perf_counter() - t_wall
            writer.close(end_cycle, program.tiles, functional, sim_s=round(sim_s, 6),
                         wall_s=round(wall_s, 6), **footer)
    _say(progress, f"{end_cycle} cycles, functional {functional}, {sim_s:.2f} s simulated")
    return RtlResult(cycles=end_cycle, tiles=program.tiles, functional=functional, sim_s=sim_s,
                     wall_s=time.perf_counter() - t_wall, build_s=build_s, trace_path=Path(trace_path),
                     waves_path=waves_path, mismatches=mismatches)


__all__ = ["RtlResult", "build_parameters", "check_outputs", "convert_log", "run_rtl"]
