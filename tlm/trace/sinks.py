"""Choosing trace outputs by file name, for command-line tools.

``open_sinks(["run.jsonl", "run.json", "run.vcd"], ...)`` gives one sink
that writes all three: the file suffix picks the writer.

========== ==============================================
suffix      writer
========== ==============================================
``.jsonl``  `TraceWriter` (`tlm-trace/1`, what compare reads)
``.json``   `PerfettoWriter` (Chrome trace events, Perfetto)
``.vcd``    `VcdWriter` (waveforms)
========== ==============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.trace.base import NullWriter, TeeWriter, TraceSink
from tlm.trace.perfetto import PerfettoWriter
from tlm.trace.vcd import VcdWriter
from tlm.trace.writer import TraceWriter

WRITERS: dict[str, type] = {".jsonl": TraceWriter, ".json": PerfettoWriter, ".vcd": VcdWriter}


def open_sinks(
    paths: Sequence[str | Path],
    *,
    source: str,
    workload: str,
    arch: Arch,
    clock_period_ps: int | None = None,
    kinds: Sequence[str] | None = None,
    **header_extra: Any,
) -> TraceSink:
    """One sink writing every file of `paths` (a `NullWriter` when there is none).

    `kinds` (one of ".jsonl", ".json", ".vcd" per path) names the writers when
    the caller knows them (e.g. from the flag given); otherwise the suffix does.

    Raises:
        InputError: A suffix names no known writer, or a file cannot be created.
    """
    period = arch.clock.period_ps if clock_period_ps is None else clock_period_ps
    kinds = [Path(p).suffix for p in paths] if kinds is None else list(kinds)
    for p, kind in zip(paths, kinds):
        if kind not in WRITERS:
            raise InputError(str(p), "file name",
                             "unknown trace kind: use .jsonl (trace), .json (Perfetto) or .vcd")
    sinks: list[Any] = []
    try:
        for p, kind in zip(paths, kinds):
            cls = WRITERS[kind]
            sinks.append(cls(p, source=source, workload=workload, arch=arch,
                             clock_period_ps=period, **header_extra))
    except BaseException:
        for s in sinks:
            s.discard()
        raise
    if not sinks:
        return NullWriter()
    return sinks[0] if len(sinks) == 1 else TeeWriter(*sinks)
