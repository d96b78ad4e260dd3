"""Waveforms of a run as a VCD file (GTKWave, Surfer).

Signals, timescale 1 ps (cycles x clock period):

- ``engine<e>.busy``: 1 while the engine runs a tile (`tile` start..end);
- ``engine<e>.phase``: the name of the engine's current phase (`load_a`,
  `compute` …), ``idle`` between phases;
- ``dma.busy`` and ``dma.op``: the shared DMA from an op's grant to its end;
- ``scheduler.ready``: tiles in the ready queue (open `dispatch` records);
- ``scheduler.occupancy``: dependency-table entries in use, when the model
  reports it through `VcdWriter.occupancy(time, value)`.

Records arrive in any order but a VCD is written in time order, so changes
are buffered in packed arrays (20 bytes each) and sorted: every
`SPILL_CHANGES` changes the buffer is sorted and spilled to a scratch file
beside the output, and at close the sorted runs are merged, reading
`MERGE_BLOCK` changes of each at a time. Memory stays bounded (tens of MB)
whatever the length of the run; the scratch files take 20 bytes per change
on disk until the writer closes. Several
changes of one signal at one time collapse to the last state, so a phase
that ends when the next begins shows no glitch; a value that does not change
is not repeated. The file follows IEEE 1364 VCD (the format pyvcd reads); the
workload name only reaches the ``$comment``, escaped so it cannot end it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.outputs import AtomicOutput, safe_text
from tlm.trace.base import SinkBase

# Change kinds; within one time, ends apply before starts, then absolute sets.
_END, _START, _SET = 0, 1, 2
IDLE = "idle"

#: Changes buffered in memory before a sorted run is spilled to disk (20 bytes each).
SPILL_CHANGES = 1 << 21
#: Changes per run read into one merge window.
MERGE_BLOCK = 1 << 15
#: VCD lines buffered between two writes.
WRITE_LINES = 1 << 16

# Signal kinds in the VCD.
_WIRE, _STRING, _COUNT, _VALUE = 0, 1, 2, 3


class _Run:
    """One sorted run of changes: arrays in memory, or a spilled file read a block at a time."""

    def __init__(self, t: np.ndarray, k: np.ndarray, v: np.ndarray, name: str | None = None,
                 n: int = 0) -> None:
        self.arrays = (t, k, v)
        self.name = name
        self.n = len(t) if name is None else n

    @classmethod
    def from_file(cls, name: str, n: int) -> _Run:
        empty = np.empty(0, dtype=np.int64)
        return cls(empty, empty, empty, name, n)

    def _column(self, col: int, lo: int, hi: int) -> np.ndarray:
        if self.name is None:
            return self.arrays[col][lo:hi]
        # File layout: n times (int64), n keys (int32), n values (int64).
        dtype, base, size = ((np.int64, 0, 8), (np.int32, 8 * self.n, 4), (np.int64, 12 * self.n, 8))[col]
        return np.fromfile(self.name, dtype=dtype, count=hi - lo, offset=base + size * lo)

    def times(self, lo: int, hi: int) -> np.ndarray:
        return self._column(0, lo, hi)

    def read(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._column(0, lo, hi), self._column(1, lo, hi), self._column(2, lo, hi)


def _ident(i: int) -> str:
    """The VCD identifier code of variable `i`: base 94 over the printable ASCII."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 94)
        out += chr(33 + r)
    return out


def _comment(text: str) -> str:
    # A `$` in a name could write `$end` and declare variables: escape it.
    return safe_text(text).replace("$", "\\x24")


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
        self._runs: list[tuple[str, int]] = []  # spilled sorted runs: (file, changes)
        self._op_names: list[str] = [IDLE]
        self._op_index: dict[str, int] = {IDLE: 0}
        self._last = 0
        self._out = AtomicOutput(self.path)

    def _change(self, time: int, sig: int, kind: int, value: int) -> None:
        self._times.append(time)
        self._keys.append(sig * 4 + kind)
        self._values.append(value)
        if len(self._times) >= SPILL_CHANGES:
            self._spill()

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        """One record; see `TraceSink.record`."""
        start, end = int(start), int(end)
        if end > self._last:
            self._last = end
        times, keys, values = self._times.append, self._keys.append, self._values.append
        if op == "dispatch":
            s = self.sig_ready * 4
            times(start), keys(s + _START), values(1)
            times(end), keys(s + _END), values(-1)
        else:
            opi = self._op_index.get(op)
            if opi is None:
                opi = self._op_index[op] = len(self._op_names)
                self._op_names.append(op)
            engine = extra.get("engine")
            if engine is not None and 0 <= int(engine) < self.engines:
                e = int(engine)
                if op == "tile":
                    times(start), keys(8 * e + _START), values(1)
                    times(end), keys(8 * e + _END), values(-1)
                elif end > start:  # a zero-length phase would leave its name behind
                    times(start), keys(8 * e + 4 + _START), values(opi)
                    times(end), keys(8 * e + 4 + _END), values(opi)
            grant = extra.get("grant")
            if grant is not None and int(grant) < end:
                g = int(grant)
                busy, name = self.sig_dma_busy * 4, self.sig_dma_op * 4
                times(g), keys(busy + _START), values(1)
                times(end), keys(busy + _END), values(-1)
                times(g), keys(name + _START), values(opi)
                times(end), keys(name + _END), values(opi)
        if len(self._times) >= SPILL_CHANGES:
            self._spill()

    def occupancy(self, time: int, value: int) -> None:
        """Dependency-table entries in use from cycle `time` on."""
        self._change(int(time), self.sig_occupancy, _SET, int(value))
        self._last = max(self._last, int(time))

    def close(self, cycles: int, tiles: int, functional: str, **extra: Any) -> None:
        """Write the VCD, ending at `cycles`."""
        self._write(int(cycles), f"{self.comment}; {tiles} tiles, functional {functional}")

    def abort(self) -> None:
        """Write what was recorded; the comment says the run was cut short."""
        if not self.closed and not self._out.done:
            self._write(self._last, f"{self.comment}; run cut short")
        self.closed = True

    # -- sorting ---------------------------------------------------------------
    def _sorted_buffer(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # A signal (SIGTERM) can cut a record between its three appends: drop the partial change.
        n = min(len(self._times), len(self._keys), len(self._values))
        times = np.frombuffer(self._times, dtype=np.int64)[:n]
        keys = np.frombuffer(self._keys, dtype=np.int32)[:n]
        values = np.frombuffer(self._values, dtype=np.int64)[:n]
        order = np.lexsort((keys & 3, times))  # stable: ties keep the order of arrival
        return times[order], keys[order], values[order]

    def _spill(self) -> None:
        t, k, v = self._sorted_buffer()
        name = self._out.scratch()
        with open(name, "wb") as f:
            f.write(t.tobytes())
            f.write(k.tobytes())
            f.write(v.tobytes())
        self._runs.append((name, len(t)))
        self._times, self._keys, self._values = array("q"), array("i"), array("q")

    def _sorted_runs(self) -> list[_Run]:
        runs = [_Run.from_file(name, n) for name, n in self._runs]
        if len(self._times):
            runs.append(_Run(*self._sorted_buffer()))
            self._times, self._keys, self._values = array("q"), array("i"), array("q")
        return runs

    def _windows(self) -> Iterator[tuple[list[int], list[int], list[int]]]:
        """Merge the sorted runs: blocks of (times, keys, values) lists, in time order.

        A block holds every change up to a bound time, so no time is split
        between two blocks; ties keep run order, as one stable sort would.
        Only blocks are read from the spilled runs, so memory stays bounded.
        """
        runs = self._sorted_runs()
        pos = [0] * len(runs)
        while True:
            active = [r for r in range(len(runs)) if pos[r] < runs[r].n]
            if not active:
                return
            heads = {r: runs[r].times(pos[r], min(pos[r] + MERGE_BLOCK, runs[r].n)) for r in active}
            bound = min(int(h[-1]) for h in heads.values())
            parts = []
            for r in active:
                run, t = runs[r], heads[r]
                count = int(np.searchsorted(t, bound, side="right"))
                hi = pos[r] + count
                while count == len(t) and hi < run.n:  # ties at `bound` beyond this block
                    t = run.times(hi, min(hi + MERGE_BLOCK, run.n))
                    count = int(np.searchsorted(t, bound, side="right"))
                    hi += count
                parts.append(run.read(pos[r], hi))
                pos[r] = hi
            if len(parts) == 1:
                t, k, v = parts[0]
            else:
                t = np.concatenate([p[0] for p in parts])
                k = np.concatenate([p[1] for p in parts])
                v = np.concatenate([p[2] for p in parts])
                order = np.lexsort((k & 3, t))
                t, k, v = t[order], k[order], v[order]
            yield t.tolist(), k.tolist(), v.tolist()

    # -- writing ---------------------------------------------------------------
    def _signals(self) -> list[tuple[str, str, str, int, int]]:
        """(scope, name, VCD type, size, kind) per signal id."""
        sigs: list[tuple[str, str, str, int, int]] = []
        for e in range(self.engines):
            sigs.append((f"engine{e}", "busy", "wire", 1, _WIRE))
            sigs.append((f"engine{e}", "phase", "string", 1, _STRING))
        sigs.append(("dma", "busy", "wire", 1, _WIRE))
        sigs.append(("dma", "op", "string", 1, _STRING))
        sigs.append(("scheduler", "ready", "integer", 32, _COUNT))
        sigs.append(("scheduler", "occupancy", "integer", 32, _VALUE))
        return sigs

    def _write(self, end_cycle: int, comment: str) -> None:
        self.closed = True
        out = self._out
        try:
            out.rollback()
            self._dump(out, max(end_cycle, self._last), comment)
            out.commit()
        except BaseException:
            out.discard()
            raise

    def _dump(self, out: AtomicOutput, end_cycle: int, comment: str) -> None:
        sigs = self._signals()
        ids = [_ident(i) for i in range(len(sigs))]
        head = [f"$comment {_comment(comment)} $end", "$timescale 1 ps $end", "$version tlmsim $end"]
        scope = None
        for (sc, name, kind, size, _), ident in zip(sigs, ids):
            if sc != scope:
                if scope is not None:
                    head.append("$upscope $end")
                head.append(f"$scope module {sc} $end")
                scope = sc
            head.append(f"$var {kind} {size} {ident} {name} $end")
        head += ["$upscope $end", "$enddefinitions $end"]
        out.write(("\n".join(head) + "\n").encode())

        kinds = [k for *_, k in sigs]
        counter = [k in (_WIRE, _COUNT) for k in kinds]
        wire = [k == _WIRE for k in kinds]
        names = self._op_names
        state = [0] * len(sigs)  # counters: count; strings: op index; integers: value
        texts: list[dict[int, str]] = [{} for _ in sigs]  # per signal: shown value -> VCD line

        def text(sig: int, v: int) -> str:
            kind = kinds[sig]
            if kind == _WIRE:
                line = f"{v}{ids[sig]}"
            elif kind == _STRING:
                line = f"s{names[v]} {ids[sig]}"
            else:
                line = f"b{v & 0xFFFFFFFF:b} {ids[sig]}"
            texts[sig][v] = line
            return line

        last = [0] * len(sigs)  # value last written per signal (wires as 0/1)
        lines: list[str] = []
        dumped = False
        period = self.period
        limit = WRITE_LINES

        def emit(t: int, dirty: set[int]) -> None:
            nonlocal dumped
            if not dumped:
                if t == 0:  # time-0 values go to $dumpvars
                    for sig in dirty:
                        v = state[sig]
                        last[sig] = (1 if v > 0 else 0) if wire[sig] else v
                    return
                lines.extend(["#0", "$dumpvars",
                              *(texts[s].get(last[s]) or text(s, last[s]) for s in range(len(sigs))),
                              "$end"])
                dumped = True
            stamp = False
            for sig in sorted(dirty) if len(dirty) > 1 else dirty:
                v = state[sig]
                if wire[sig]:
                    v = 1 if v > 0 else 0
                if v != last[sig]:
                    last[sig] = v
                    if not stamp:
                        lines.append(f"#{t * period}")
                        stamp = True
                    lines.append(texts[sig].get(v) or text(sig, v))
            if len(lines) >= limit:
                out.write(("\n".join(lines) + "\n").encode())
                lines.clear()

        current: int | None = None
        dirty: set[int] = set()
        for tl, kl, vl in self._windows():
            for t, key, v in zip(tl, kl, vl):
                if t != current:
                    if current is not None:
                        emit(current, dirty)
                        dirty = set()
                    current = t
                sig = key >> 2
                if counter[sig]:
                    state[sig] += v
                elif key & 3 == _END:
                    if state[sig] == v:  # only the phase that ends clears the name
                        state[sig] = 0
                else:
                    state[sig] = v
                dirty.add(sig)
        if current is not None:
            emit(current, dirty)
        if not dumped:
            emit(1, set())  # writes $dumpvars
        if end_cycle * period > (current or 0) * period and end_cycle > 0:
            lines.append(f"#{end_cycle * period}")
        out.write(("\n".join(lines) + "\n").encode())
