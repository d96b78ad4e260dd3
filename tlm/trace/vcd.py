"""Waveforms of a run as a VCD file (GTKWave, Surfer), written with pyvcd.

Signals, timescale 1 ps (cycles x clock period):

- ``engine<e>.busy``: 1 while the engine runs a tile (`tile` start..end);
- ``engine<e>.phase``: the name of the engine's current phase (`load_a`,
  `compute` …), ``idle`` between phases;
- ``dma.busy`` and ``dma.op``: the shared DMA from an op's grant to its end;
- ``scheduler.ready``: tiles in the ready queue (open `dispatch` records);
- ``scheduler.occupancy``: dependency-table entries in use, when the model
  reports it through `VcdWriter.occupancy(time, value)`.

Records arrive in any order but a VCD is written in time order, so changes
are buffered in packed arrays (20 bytes each) and sorted when the writer
closes. Several changes of one signal at one time collapse to the last
state, so a phase that ends when the next begins shows no glitch.
"""

from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Any

import numpy as np
from vcd import VCDWriter

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.trace.base import SinkBase, _unlink_quietly, open_temp_beside

# Change kinds; within one time, ends apply before starts, then absolute sets.
_END, _START, _SET = 0, 1, 2
IDLE = "idle"


class VcdWriter(SinkBase):
    """Buffers a run's activity and writes it as a VCD file on close.

    Args:
        path: Output file (replaced when the writer closes or aborts).
        source, workload, arch, clock_period_ps, **header_extra: as for
            `TraceWriter`; they go to the VCD's ``$comment``.

    Raises:
        InputError: The file cannot be created.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        source: str,
        workload: str,
        arch: Arch,
        clock_period_ps: int,
        **header_extra: Any,
    ) -> None:
        self.period = self._open(path, clock_period_ps)
        self.engines = arch.array.engines
        self.comment = f"tlm trace of {workload} ({source}), clock {clock_period_ps} ps"
        # Signal ids: per engine busy (2e) and phase (2e+1), then the shared ones.
        self.sig_dma_busy = 2 * self.engines
        self.sig_dma_op = self.sig_dma_busy + 1
        self.sig_ready = self.sig_dma_busy + 2
        self.sig_occupancy = self.sig_dma_busy + 3
        self._times = array("q")
        self._keys = array("i")   # signal * 4 + kind
        self._values = array("q")  # counter delta, op-name index, or set value
        self._op_names: list[str] = [IDLE]
        self._op_index: dict[str, int] = {IDLE: 0}
        self._last = 0
        try:
            self._file, self._tmp = open_temp_beside(self.path)
        except OSError as e:
            raise InputError(self.path, "file", f"cannot write: {e.strerror or e}") from None

    def _change(self, time: int, sig: int, kind: int, value: int) -> None:
        self._times.append(time)
        self._keys.append(sig * 4 + kind)
        self._values.append(value)

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        """One record; see `TraceSink.record`."""
        start, end = int(start), int(end)
        if end > self._last:
            self._last = end
        if op == "dispatch":
            self._change(start, self.sig_ready, _START, 1)
            self._change(end, self.sig_ready, _END, -1)
            return
        opi = self._op_index.get(op)
        if opi is None:
            opi = self._op_index[op] = len(self._op_names)
            self._op_names.append(op)
        engine = extra.get("engine")
        if engine is not None and 0 <= int(engine) < self.engines:
            e = int(engine)
            if op == "tile":
                self._change(start, 2 * e, _START, 1)
                self._change(end, 2 * e, _END, -1)
            elif end > start:  # a zero-length phase would leave its name behind
                self._change(start, 2 * e + 1, _START, opi)
                self._change(end, 2 * e + 1, _END, opi)
        grant = extra.get("grant")
        if grant is not None and int(grant) < end:
            g = int(grant)
            self._change(g, self.sig_dma_busy, _START, 1)
            self._change(end, self.sig_dma_busy, _END, -1)
            self._change(g, self.sig_dma_op, _START, opi)
            self._change(end, self.sig_dma_op, _END, opi)

    def occupancy(self, time: int, value: int) -> None:
        """Dependency-table entries in use from cycle `time` on."""
        self._change(int(time), self.sig_occupancy, _SET, int(value))
        self._last = max(self._last, int(time))

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        """Write the VCD, ending at `cycles`."""
        self._write(int(cycles), f"{self.comment}; {tiles} tiles, functional {functional}")

    def abort(self) -> None:
        """Write what was recorded; the comment says the run was cut short."""
        if not self.closed:
            self._write(self._last, f"{self.comment}; run cut short")

    def _write(self, end_cycle: int, comment: str) -> None:
        self.closed = True
        try:
            with self._file as f:
                vcd = VCDWriter(f, timescale="1 ps", date="", comment=comment, version="tlmsim")
                self._dump(vcd, max(end_cycle, self._last))
            os.replace(self._tmp, self.path)
        except BaseException:
            _unlink_quietly(self._tmp)
            raise

    def _dump(self, vcd: VCDWriter, end_cycle: int) -> None:
        variables: list[Any] = []
        for e in range(self.engines):
            variables.append(vcd.register_var(f"engine{e}", "busy", "wire", size=1, init=0))
            variables.append(vcd.register_var(f"engine{e}", "phase", "string", init=IDLE))
        variables.append(vcd.register_var("dma", "busy", "wire", size=1, init=0))
        variables.append(vcd.register_var("dma", "op", "string", init=IDLE))
        variables.append(vcd.register_var("scheduler", "ready", "integer", size=32, init=0))
        variables.append(vcd.register_var("scheduler", "occupancy", "integer", size=32, init=0))
        counters = {2 * e for e in range(self.engines)} | {self.sig_dma_busy, self.sig_ready}
        state = [0] * len(variables)  # counters: count; strings: op index; integers: value
        times = np.array(self._times, dtype=np.int64)
        keys = np.array(self._keys, dtype=np.int32)
        values = np.array(self._values, dtype=np.int64)
        order = np.lexsort((keys & 3, times))
        names = self._op_names
        period = self.period
        dirty: set[int] = set()

        def emit(t: int) -> None:
            for sig in sorted(dirty):
                v = state[sig]
                if sig in counters:
                    value: Any = min(v, 1) if sig != self.sig_ready else v
                elif sig == self.sig_occupancy:
                    value = v
                else:
                    value = names[v]
                vcd.change(variables[sig], t * period, value)
            dirty.clear()

        current = None
        tl, kl, vl = times[order].tolist(), keys[order].tolist(), values[order].tolist()
        for t, key, v in zip(tl, kl, vl):
            if t != current:
                if current is not None:
                    emit(current)
                current = t
            sig, kind = key >> 2, key & 3
            if sig in counters:
                state[sig] += v
            elif kind == _END:
                if state[sig] == v:  # only the phase that ends clears the name
                    state[sig] = 0
            else:
                state[sig] = v
            dirty.add(sig)
        if current is not None:
            emit(current)
        vcd.close(end_cycle * period)
