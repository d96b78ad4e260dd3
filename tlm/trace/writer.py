"""Streaming JSON Lines trace writer (`tlm-trace/1`).

The writer is on the model's hot path (about five calls per tile, up to a
million tiles), so a record is one `%`-format of a cached per-(op, keys)
template appended to a list, and the list is written every `FLUSH_EVERY`
records, always as whole lines.

Replacing an earlier trace (`tlm.outputs.AtomicOutput`): the trace is written
to a temporary file beside the target (``.<name>.<pid>.<random>.tmp``) and
renamed over the target when the writer closes, so the target keeps its
earlier content for the whole run. A run that ends early (deadlock, error,
SIGINT/SIGTERM) publishes what it recorded without a footer, which readers
report as "cut short"; one that recorded nothing, or whose disk filled up,
leaves the earlier file untouched. A killed process (SIGKILL) leaves the
earlier file intact and its temporary file behind, which the next run writing
the same path removes. A path that is a device or a FIFO (``/dev/null``) is
written directly.

Record key order is ``op, tile, start, end`` then the extra keys in the order
the caller passes them (fixed at a call site), so the same run gives
byte-identical files. Values are integers, formatted with ``%d`` (Python or
numpy ints; a float would be truncated, so pass ints); a value that is not a
number (a string, say) is JSON-encoded on a slower path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.outputs import AtomicOutput
from tlm.trace.base import SinkBase
from tlm.trace.schema import FORMAT

#: Records buffered between two writes + flushes of the file.
FLUSH_EVERY = 4096


class TraceWriter(SinkBase):
    """Writes one run's trace as JSON Lines.

    Args:
        path: Output file; an existing file is replaced when the writer
            closes or aborts after recording (see the module docstring).
        source: Which model produced the trace (``"tlm"`` or ``"rtl"``).
        workload: Workload name; `compare` refuses traces of different ones.
        arch: The architecture config, written in full to the header.
        clock_period_ps: Clock period, picoseconds per cycle (> 0).
        **header_extra: More header keys (e.g. ``perf={"sim_s": 1.2}``),
            written after the standard ones in sorted order.

    Raises:
        InputError: The file cannot be created (named by `path`).

    Usage::

        with TraceWriter("t.jsonl", source="tlm", workload="w", arch=arch,
                         clock_period_ps=1000) as tw:
            tw.record("compute", 12, 164, 190, engine=0)
            tw.close(cycles=230, tiles=1, functional="pass")
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
        self._open(path, clock_period_ps)
        self.records_written = 0
        header: dict[str, Any] = {
            "format": FORMAT,
            "source": source,
            "workload": workload,
            "clock_period_ps": int(clock_period_ps),
            "arch": arch.to_dict(),
        }
        for key in sorted(header_extra):
            header[key] = header_extra[key]
        self._out = AtomicOutput(self.path)
        self._out.write(json.dumps(header).encode() + b"\n")
        self._out.checkpoint()
        self._lines: list[str] = []
        # Line template per (op, extra keys in call order).
        self._formats: dict[str | tuple[str, ...], str] = {}

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        """Record one activity: `op` of `tile` from cycle `start` to `end`.

        Args:
            op: Op name, an identifier (``load_a``, ``compute`` …).
            tile: Tile id (``TileProgram`` entry id), >= 0.
            start, end: Clock cycles, ``start <= end``.
            **extra: Extra integer keys (``engine``, ``grant``, ``bytes`` …).

        Raises:
            ValueError: ``end < start`` or a bad op name (a model bug).
        """
        # One %-template per (op, extra keys): a dict hit and one `%` per record.
        key = (op, *extra) if extra else op
        fmt = self._formats.get(key) or self._new_format(key, op, tuple(extra))
        if end < start:
            raise ValueError(f"trace record {op} tile {tile}: end {end} < start {start}")
        try:
            line = fmt % (tile, start, end, *extra.values())
        except TypeError:  # a non-integer extra value (a string, say)
            line = self._slow_line(op, tile, start, end, extra)
        lines = self._lines
        lines.append(line)
        if len(lines) >= FLUSH_EVERY:
            self._flush()

    def _new_format(self, key: str | tuple[str, ...], op: str, names: tuple[str, ...]) -> str:
        if not isinstance(op, str) or not op.isidentifier():
            raise ValueError(f"trace op name must be an identifier, got {op!r}")
        for name in names:
            if not name.isidentifier():
                raise ValueError(f"trace key must be an identifier, got {name!r}")
        fmt = f'{{"op": "{op}", "tile": %d, "start": %d, "end": %d'
        fmt += "".join(f', "{name}": %d' for name in names) + "}\n"
        self._formats[key] = fmt
        return fmt

    @staticmethod
    def _slow_line(op: str, tile: int, start: int, end: int, extra: dict[str, Any]) -> str:
        obj: dict[str, Any] = {"op": op, "tile": int(tile), "start": int(start), "end": int(end)}
        for name, v in extra.items():
            obj[name] = int(v) if hasattr(v, "__index__") and not isinstance(v, bool) else v
        return json.dumps(obj) + "\n"

    # -- file handling -------------------------------------------------------
    def _flush(self) -> None:
        # Whole lines only, then a checkpoint: an interrupted write is rolled back to it.
        self._out.write("".join(self._lines).encode())
        self._out.checkpoint()
        self.records_written += len(self._lines)
        self._lines.clear()

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        """Write the footer: the run completed after `cycles` clock cycles.

        Args:
            cycles: End-to-end processing time in clock cycles.
            tiles: Tile jobs run.
            functional: ``"pass"``, ``"fail"`` or ``"skipped"``.
            **extra: More footer keys (e.g. ``sim_s``, ``wall_s``), sorted.
        """
        if self.closed:
            raise ValueError(f"trace {self.path} is already closed")
        footer: dict[str, Any] = {"end": True, "cycles": int(cycles), "tiles": int(tiles),
                                  "functional": functional}
        for key in sorted(extra):
            footer[key] = extra[key]
        self._flush()
        self._out.write(json.dumps(footer).encode() + b"\n")
        self._out.commit()
        self.closed = True

    def abort(self) -> None:
        """End a run that was cut short: keep what was recorded, write no footer.

        The file is published without a footer (whole lines only, even when a
        signal interrupted a write). If nothing was recorded, or a write
        failed, the temporary file is removed and an earlier trace at the
        path is left as it was.
        """
        if self.closed:
            return
        self.closed = True
        out = self._out
        if out.done:
            return
        if self.records_written + len(self._lines) == 0:
            out.discard()
            return
        try:
            out.rollback()
            self._flush()
            out.commit()
        except BaseException:
            out.discard()
            raise

    def discard(self) -> None:
        """Drop the output: no file is created or replaced."""
        self.closed = True
        self._out.discard()


def write_trace(
    path: str | Path,
    records: Iterable[tuple[str, int, int, int, dict[str, Any]]],
    *,
    source: str,
    workload: str,
    arch: Arch,
    clock_period_ps: int | None = None,
    footer: dict[str, Any] | None = None,
    **header_extra: Any,
) -> None:
    """Write a whole trace from ``(op, tile, start, end, extra)`` tuples.

    `footer` holds ``cycles``, ``tiles``, ``functional`` and any extra keys;
    None writes no footer (a run cut short). The clock period defaults to
    the arch's. Handy for tests and converters.
    """
    period = arch.clock.period_ps if clock_period_ps is None else clock_period_ps
    w = TraceWriter(path, source=source, workload=workload, arch=arch,
                    clock_period_ps=period, **header_extra)
    with w:
        for op, tile, start, end, extra in records:
            w.record(op, tile, start, end, **extra)
        if footer is not None:
            f = dict(footer)
            w.close(f.pop("cycles"), f.pop("tiles"), f.pop("functional"), **f)
        else:
            w.abort()  # keep the records even though the run has no footer
