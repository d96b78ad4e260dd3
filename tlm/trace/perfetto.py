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
from a model with the `TraceSink` interface, in bounded memory: events are
formatted from cached per-(op, keys) templates and written a block at a time;
`jsonl_to_perfetto` converts a `tlm-trace/1` file. Output goes through
`tlm.outputs.AtomicOutput` (temporary file renamed when finished; a run cut
short still gives a valid file, with a ``run cut short`` marker).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.outputs import AtomicOutput, safe_text
from tlm.trace.base import SinkBase
from tlm.trace.reader import read_trace

PID = 1

#: Events buffered between two writes of the file.
FLUSH_EVERY = 8192


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
        self._chunks: list[str] = []
        self._formats: dict[tuple[Any, ...], tuple[list[str], str, str]] = {}
        self._out = AtomicOutput(self.path)
        other = {"format": "chrome-trace-events", "source": source, "workload": workload,
                 "clock_period_ps": clock_period_ps, "arch": arch.to_dict(), **header_extra}
        self._out.write(('{"displayTimeUnit": "ns", "otherData": '
                         + json.dumps(other, sort_keys=True) + ', "traceEvents": [\n').encode())
        self._first = True
        self._emit({"ph": "M", "pid": PID, "name": "process_name",
                    "args": {"name": safe_text(workload)}})
        self._emit({"ph": "M", "pid": PID, "name": "process_labels",
                    "args": {"labels": safe_text(source)}})
        names = [(e + 1, f"engine {e}") for e in range(self.engines)]
        names += [(self.dma_tid, "dma"), (self.other_tid, "other")]
        for tid, name in names:
            self._emit({"ph": "M", "pid": PID, "tid": tid, "name": "thread_name", "args": {"name": name}})
            self._emit({"ph": "M", "pid": PID, "tid": tid, "name": "thread_sort_index",
                        "args": {"sort_index": tid}})
        self._flush()

    def _emit(self, event: dict[str, Any]) -> None:
        self._add(json.dumps(event))

    def _add(self, text: str) -> None:
        chunks = self._chunks
        chunks.append(text if self._first else ",\n" + text)
        self._first = False
        self.events += 1
        if len(chunks) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        # Whole events only, then a checkpoint an interrupted write is rolled back to.
        self._out.write("".join(self._chunks).encode())
        self._out.checkpoint()
        self._chunks.clear()

    def _us(self, cycles: int) -> float:
        # Integer picoseconds, one rounding: 26 cycles at 1 ns is 0.026, not 0.026000000000000002.
        return int(cycles) * self._period_ps / 1_000_000

    def _templates(self, key: tuple[Any, ...]) -> tuple[list[str], str, str]:
        """(extra keys sorted, event template, DMA-slice template) of (op, extra keys).

        The templates write what ``json.dumps`` of the event dict would, with
        ``%d`` for integers; a non-integer value falls back to `_record_slow`.
        """
        op, names = key[0], sorted(key[1:])
        args = '"args": {"tile": %d' + "".join(f", {json.dumps(n)}: %d" for n in names) + "}"
        if op == "dispatch":
            # Waiting in the ready queue overlaps across tiles: async slices.
            x = ('{"ph": "b", "ts": %r, "cat": "ready", "name": "ready", "id": %d, "pid": ' + str(PID)
                 + ", " + args + '},\n{"ph": "e", "ts": %r, "cat": "ready", "name": "ready", '
                 '"id": %d, "pid": ' + str(PID) + "}")
            dma = ""
        else:
            name = json.dumps(op)
            x = (f'{{"ph": "X", "name": {name}, "cat": {name}, "pid": {PID}, "tid": %d, '
                 f'"ts": %r, "dur": %r, {args}}}')
            dma = (f'{{"ph": "X", "name": {name}, "cat": "dma", "pid": {PID}, "tid": {self.dma_tid}, '
                   f'"ts": %r, "dur": %r, {args}}}')
        self._formats[key] = (names, x, dma)
        return names, x, dma

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        """One record; see `TraceSink.record`."""
        start, end, tile = int(start), int(end), int(tile)
        if end > self._last_end:
            self._last_end = end
        key = (op, *extra)
        names, x, dma = self._formats.get(key) or self._templates(key)
        period = self._period_ps
        try:
            vals = [extra[k] for k in names]
            if op == "dispatch":
                text = x % (start * period / 1_000_000, tile, tile, *vals, end * period / 1_000_000, tile)
                n = 2
            else:
                engine = extra.get("engine")
                tid = (int(engine) + 1 if engine is not None and 0 <= int(engine) < self.engines
                       else self.other_tid)
                text = x % (tid, start * period / 1_000_000, (end - start) * period / 1_000_000,
                            tile, *vals)
                n = 1
                grant = extra.get("grant")
                if grant is not None:
                    g = int(grant)
                    text += ",\n" + dma % (g * period / 1_000_000, (end - g) * period / 1_000_000,
                                           tile, *vals)
                    n = 2
        except TypeError:  # a value that is not an integer
            self._record_slow(op, tile, start, end, extra)
            return
        chunks = self._chunks
        chunks.append(",\n" + text)
        self.events += n
        if len(chunks) >= FLUSH_EVERY:
            self._flush()

    def _record_slow(self, op: str, tile: int, start: int, end: int, extra: dict[str, Any]) -> None:
        args: dict[str, Any] = {"tile": tile}
        for k in sorted(extra):  # sorted: the same file whatever the keyword order
            v = extra[k]
            args[k] = int(v) if hasattr(v, "__index__") else v
        if op == "dispatch":
            common = {"cat": "ready", "name": "ready", "id": tile, "pid": PID}
            self._emit({"ph": "b", "ts": self._us(start), **common, "args": args})
            self._emit({"ph": "e", "ts": self._us(end), **common})
            return
        engine = extra.get("engine")
        tid = int(engine) + 1 if engine is not None and 0 <= int(engine) < self.engines else self.other_tid
        self._emit({"ph": "X", "name": op, "cat": op, "pid": PID, "tid": tid,
                    "ts": self._us(start), "dur": self._us(end - start), "args": args})
        grant = extra.get("grant")
        if grant is not None:
            self._emit({"ph": "X", "name": op, "cat": "dma", "pid": PID, "tid": self.dma_tid,
                        "ts": self._us(int(grant)), "dur": self._us(end - int(grant)), "args": args})

    def occupancy(self, time: int, value: int) -> None:
        """Dependency-table entries in use from cycle `time`, as a counter track."""
        self._chunks.append(',\n{"ph": "C", "name": "table occupancy", "pid": %d, "ts": %r, '
                            '"args": {"entries": %d}}' % (PID, int(time) * self._period_ps / 1_000_000,
                                                         int(value)))
        self.events += 1
        if len(self._chunks) >= FLUSH_EVERY:
            self._flush()

    def _finish(self, label: str, cycles: int, args: dict[str, Any]) -> None:
        self._emit({"ph": "i", "s": "g", "name": label, "pid": PID, "tid": self.other_tid,
                    "ts": self._us(cycles), "args": args})
        self._chunks.append("\n]}\n")
        self._flush()
        self._out.commit()
        self.closed = True

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        """Finish the file with an ``end`` marker at `cycles`."""
        self._finish("end", cycles, {"cycles": int(cycles), "tiles": int(tiles),
                                     "functional": functional, **extra})

    def abort(self) -> None:
        """Finish the file with a ``run cut short`` marker at the last end seen."""
        if self.closed:
            return
        self.closed = True
        if self._out.done:
            return
        try:
            self._out.rollback()  # a write cut by a signal must not leave half an event
            self._finish("run cut short", self._last_end, {})
        except BaseException:
            self._out.discard()
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
