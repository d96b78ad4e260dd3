"""Reference checks of the DRAM memory system's logs (`tb_dram.v` format).

Written from the timing rules in the header of `rtl/dram/dram_ctrl.v`, apart
from the RTL: `command_violations` replays the command log against a device
that only knows the constraints and returns one line per command issued
earlier than they allow (or on a bank in the wrong state); `expected_reads`
replays the accepted requests on a byte model of the storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ACT, RD, WR, PRE, REF = 1, 2, 3, 4, 5
NAMES = {ACT: "ACT", RD: "RD", WR: "WR", PRE: "PRE", REF: "REF"}
FAR = -(10**9)


@dataclass
class DramLog:
    """What one run logged (cycles as in tb_dram.v)."""

    reads: list[tuple[int, int, int, bool]] = field(default_factory=list)   # cycle, beat, beats, zero
    writes: list[tuple[int, int]] = field(default_factory=list)             # cycle, beat
    beats: list[tuple[int, int]] = field(default_factory=list)              # cycle, data
    commands: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # cycle, kind, bank, row, n
    events: list[tuple[int, int]] = field(default_factory=list)             # cycle, 0 hit 1 miss 2 conflict
    errors: list[int] = field(default_factory=list)


def read_log(path: Path) -> DramLog:
    log = DramLog()
    for line in path.read_text().splitlines():
        f = line.split()
        if not f:
            continue
        tag = f[0]
        if tag == "A":
            log.reads.append((int(f[1]), int(f[2]), int(f[3]), f[4] == "1"))
        elif tag == "W":
            log.writes.append((int(f[1]), int(f[2])))
        elif tag == "B":
            log.beats.append((int(f[1]), int(f[2], 16)))
        elif tag == "K":
            log.commands.append((int(f[1]), int(f[2]), int(f[3]), int(f[4]), int(f[5])))
        elif tag == "E":
            log.events.append((int(f[1]), int(f[2])))
        elif tag == "ERR":
            log.errors.append(int(f[1]))
    return log


def decode(beat: int, p: dict[str, int]) -> tuple[int, int]:
    """(bank, row) of a beat address under the build parameters `p`."""
    cols = p["ROW_BYTES"] // p["BUS_BYTES"]
    banks = p["BANKS"]
    bank = (beat // cols) % banks if p["MAPPING"] == 0 else beat % banks
    return bank, beat // (cols * banks)


def command_violations(log: DramLog, p: dict[str, int]) -> list[str]:
    """Every command of the log that breaks a timing or state rule."""
    banks = p["BANKS"]
    is_open = [False] * banks
    row = [0] * banks
    t_act, t_pre, pre_ok = [FAR] * banks, [FAR] * banks, [FAR] * banks
    last_beat = last_rd = last_wr = ref_end = FAR
    last_ref = 0
    prev = None
    bad: list[str] = []
    for c, kind, b, r, n in log.commands:
        what = f"cycle {c}: {NAMES.get(kind, kind)} bank {b} row {r}"
        if prev is not None and c <= prev:
            bad.append(f"{what}: second command in cycle {c}")
        prev = c
        due = p["T_REFI"] > 0 and c >= last_ref + p["T_REFI"]
        if kind in (ACT, RD, WR) and due:
            bad.append(f"{what}: refresh was due at {last_ref + p['T_REFI']}")
        if kind == ACT:
            if is_open[b]:
                bad.append(f"{what}: bank already open")
            if c < t_pre[b] + p["T_RP"]:
                bad.append(f"{what}: t_rp after PRE at {t_pre[b]}")
            if c < ref_end:
                bad.append(f"{what}: refresh busy until {ref_end}")
            is_open[b], row[b], t_act[b] = True, r, c
        elif kind in (RD, WR):
            if not is_open[b] or row[b] != r:
                bad.append(f"{what}: row not open")
            if c < t_act[b] + p["T_RCD"]:
                bad.append(f"{what}: t_rcd after ACT at {t_act[b]}")
            first = c + (p["T_CL"] if kind == RD else p["T_CWL"])
            if first <= last_beat:
                bad.append(f"{what}: data bus busy until {last_beat}")
            if kind == RD and c < last_wr + p["T_WTR"]:
                bad.append(f"{what}: t_wtr after the write beat at {last_wr}")
            if kind == WR and first < last_rd + 1 + p["T_RTW"]:
                bad.append(f"{what}: t_rtw after the read beat at {last_rd}")
            last_beat = first + n - 1
            if kind == RD:
                last_rd = last_beat
                pre_ok[b] = max(pre_ok[b], c + n)
            else:
                last_wr = last_beat
                pre_ok[b] = max(pre_ok[b], last_beat + p["T_WR"])
        elif kind == PRE:
            if not is_open[b]:
                bad.append(f"{what}: bank not open")
            if c < t_act[b] + p["T_RAS"]:
                bad.append(f"{what}: t_ras after ACT at {t_act[b]}")
            if c < pre_ok[b]:
                bad.append(f"{what}: read burst / t_wr not over until {pre_ok[b]}")
            is_open[b], t_pre[b] = False, c
        elif kind == REF:
            if any(is_open):
                bad.append(f"{what}: banks open")
            if any(c < t + p["T_RP"] for t in t_pre):
                bad.append(f"{what}: t_rp after a PRE")
            ref_end, last_ref = c + p["T_RFC"], c
        else:
            bad.append(f"{what}: unknown command")
    return bad


def expected_reads(log: DramLog, mem: np.ndarray, writes: list[tuple[int, int]],
                   bus: int) -> tuple[list[int], np.ndarray]:
    """Read beats in return order and the final storage, from acceptance order.

    Args:
        log: the run's log (acceptance cycles of reads and writes).
        mem: the initial storage, one uint8 per byte.
        writes: (strobes, data) of each write beat, in the order driven (which
            is the order of acceptance).
        bus: bytes per beat.
    """
    mem = mem.copy()
    events = [(c, 0, i) for i, (c, _) in enumerate(log.writes)]
    events += [(c, 1, i) for i, (c, *_) in enumerate(log.reads)]
    out: list[int] = []
    for _, is_read, i in sorted(events):   # a write before a read of the same cycle
        if is_read:
            _, beat, n, zero = log.reads[i]
            for j in range(n):
                word = 0 if zero else int.from_bytes(mem[(beat + j) * bus:(beat + j + 1) * bus].tobytes(), "little")
                out.append(word)
        else:
            beat = log.writes[i][1]
            strb, data = writes[i]
            raw = data.to_bytes(bus, "little")
            for k in range(bus):
                if strb >> k & 1:
                    mem[beat * bus + k] = raw[k]
    return out, mem
