"""Chrome trace-event JSON of a run, for Perfetto (ui.perfetto.dev) or chrome://tracing.

Tracks, all in one process named after the workload (labelled with the source):

- one thread per engine (``engine 0`` …): every record that names its
  `engine`, as a complete ("X") slice from start to end; a `tile` slice
  encloses the tile's phases, so they nest;
- ``dma``: each DMA op (a record with `grant`) from grant to end, the part
  when the shared DMA is busy with it;
- ``other``: records without an engine;
- ``ready queue``: `dispatch` records as async slices (tiles wait in the
  queue concurrently, which thread slices cannot show);
- ``table occupancy``: a counter track, when the model reports it.

Times are microseconds (cycles x clock period). `PerfettoWriter` streams
from a model with the `TraceSink` interface; `jsonl_to_perfetto` converts a
`tlm-trace/1` file. Output is written to a temporary file and renamed when
finished.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.trace.base import SinkBase, _unlink_quietly, open_temp_beside
from tlm.trace.reader import read_trace

PID = 1


class PerfettoWriter(SinkBase):
    """Writes Chrome trace-event JSON as records arrive.

    Args:
        path: Output file (replaced when the writer closes or aborts).
        source, workload, arch, clock_period_ps, **header_extra: as for
            `TraceWriter`; the header goes to the file's ``otherData``.

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
        self._period_ps = self._open(path, clock_period_ps)
        self.engines = arch.array.engines
        self.dma_tid = self.engines + 1
        self.other_tid = self.engines + 2
        self.events = 0
        self._last_end = 0
        try:
            self._file, self._tmp = open_temp_beside(self.path)
        except OSError as e:
            raise InputError(self.path, "file", f"cannot write: {e.strerror or e}") from None
        other = {"format": "chrome-trace-events", "source": source, "workload": workload,
                 "clock_period_ps": clock_period_ps, "arch": arch.to_dict(), **header_extra}
        self._file.write('{"displayTimeUnit": "ns", "otherData": '
                         + json.dumps(other, sort_keys=True) + ', "traceEvents": [\n')
        self._first = True
        self._emit({"ph": "M", "pid": PID, "name": "process_name", "args": {"name": workload}})
        self._emit({"ph": "M", "pid": PID, "name": "process_labels", "args": {"labels": source}})
        names = [(e + 1, f"engine {e}") for e in range(self.engines)]
        names += [(self.dma_tid, "dma"), (self.other_tid, "other")]
        for tid, name in names:
            self._emit({"ph": "M", "pid": PID, "tid": tid, "name": "thread_name", "args": {"name": name}})
            self._emit({"ph": "M", "pid": PID, "tid": tid, "name": "thread_sort_index",
                        "args": {"sort_index": tid}})

    def _emit(self, event: dict[str, Any]) -> None:
        self._file.write(("" if self._first else ",\n") + json.dumps(event))
        self._first = False
        self.events += 1

    def _us(self, cycles: int) -> float:
        # Integer picoseconds, one rounding: 26 cycles at 1 ns is 0.026, not 0.026000000000000002.
        return int(cycles) * self._period_ps / 1_000_000

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        """One record; see `TraceSink.record`."""
        args: dict[str, Any] = {"tile": int(tile)}
        for k in sorted(extra):  # sorted: the same file whatever the keyword order
            v = extra[k]
            args[k] = int(v) if hasattr(v, "__index__") else v
        ts = self._us(start)
        if end > self._last_end:
            self._last_end = int(end)
        if op == "dispatch":
            # Waiting in the ready queue overlaps across tiles: async slices.
            common = {"cat": "ready", "name": "ready", "id": int(tile), "pid": PID}
            self._emit({"ph": "b", "ts": ts, **common, "args": args})
            self._emit({"ph": "e", "ts": self._us(end), **common})
            return
        engine = extra.get("engine")
        tid = int(engine) + 1 if engine is not None and 0 <= int(engine) < self.engines else self.other_tid
        self._emit({"ph": "X", "name": op, "cat": op, "pid": PID, "tid": tid,
                    "ts": ts, "dur": self._us(end - start), "args": args})
        grant = extra.get("grant")
        if grant is not None:
            self._emit({"ph": "X", "name": op, "cat": "dma", "pid": PID, "tid": self.dma_tid,
                        "ts": self._us(int(grant)), "dur": self._us(end - int(grant)), "args": args})

    def occupancy(self, time: int, value: int) -> None:
        """Dependency-table entries in use from cycle `time`, as a counter track."""
        self._emit({"ph": "C", "name": "table occupancy", "pid": PID, "ts": self._us(int(time)),
                    "args": {"entries": int(value)}})

    def _finish(self, label: str, cycles: int, args: dict[str, Any]) -> None:
        self._emit({"ph": "i", "s": "g", "name": label, "pid": PID, "tid": self.other_tid,
                    "ts": self._us(cycles), "args": args})
        self._file.write("\n]}\n")
        self._file.close()
        os.replace(self._tmp, self.path)
        self.closed = True

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        """Finish the file with an ``end`` marker at `cycles`."""
        self._finish("end", cycles, {"cycles": int(cycles), "tiles": int(tiles),
                                     "functional": functional, **extra})

    def abort(self) -> None:
        """Finish the file with a ``run cut short`` marker at the last end seen."""
        if self.closed:
            return
        try:
            self._finish("run cut short", self._last_end, {})
        except BaseException:
            self._file.close()
            _unlink_quietly(self._tmp)
            self.closed = True
            raise


def jsonl_to_perfetto(in_path: str | Path, out_path: str | Path) -> int:
    """Convert a `tlm-trace/1` file to Chrome trace-event JSON.

    Returns:
        The number of trace events written.

    Raises:
        InputError: The input trace is malformed or the output cannot be written.
    """
    trace = read_trace(in_path)
    extra = {k: v for k, v in trace.header.items()
             if k not in ("format", "source", "workload", "clock_period_ps", "arch")}
    w = PerfettoWriter(out_path, source=trace.source, workload=trace.workload, arch=trace.arch,
                       clock_period_ps=trace.clock_period_ps, **extra)
    with w:
        for op, tile, start, end, ext in trace.records():
            w.record(op, tile, start, end, **ext)
        if trace.footer is not None:
            f = dict(trace.footer)
            f.pop("end", None)
            w.close(f.pop("cycles"), f.pop("tiles"), f.pop("functional"), **f)
    return w.events
