"""The common trace schema (`tlm-trace/1`) and its writers and reader.

- `TraceWriter`: streaming JSON Lines, the format both models write;
- `PerfettoWriter` / `jsonl_to_perfetto`: Chrome trace-event JSON for Perfetto;
- `VcdWriter`: waveforms for GTKWave;
- `NullWriter`, `TeeWriter`: no output, several outputs;
- `open_sinks`: the writers a list of file names asks for (by suffix);
- `read_trace`: validated reading into numpy columns per op.

All writers share the `TraceSink` interface (`record`, `close`, `abort`).
"""

from __future__ import annotations

from tlm.trace.base import NullWriter, TeeWriter, TraceSink
from tlm.trace.perfetto import PerfettoWriter, jsonl_to_perfetto
from tlm.trace.reader import Trace, read_trace
from tlm.trace.schema import FORMAT, KNOWN_OPS
from tlm.trace.sinks import open_sinks
from tlm.trace.vcd import VcdWriter
from tlm.trace.writer import TraceWriter, write_trace

__all__ = [
    "FORMAT",
    "KNOWN_OPS",
    "NullWriter",
    "PerfettoWriter",
    "TeeWriter",
    "Trace",
    "TraceSink",
    "TraceWriter",
    "VcdWriter",
    "jsonl_to_perfetto",
    "open_sinks",
    "read_trace",
    "write_trace",
]
