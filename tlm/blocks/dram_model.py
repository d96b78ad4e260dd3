"""The `dram` memory-model level: a transaction-level bank/row model of external memory.

The DMA runs one op at a time; when it grants an op, `DramModel.read_op` or
`write_op` plays the op's memory requests against the model's state and
returns the op's done cycle. Nothing runs per cycle: each request is placed
in time by the constraints below (all in `[memory_model] dram_*` cycles),
then the state (open row per bank, bus and refresh times) moves on.

- Requests: a read op issues one burst request per cycle from
  `grant + dma_setup_cycles` (bursts of at most `max_burst_beats`, never
  across a segment), a write op one beat per cycle from a cycle later; at
  most `dram_queue` requests wait for their column command.
- Address mapping of a beat address x (row of `dram_row_bytes`): row:bank:col
  puts a whole row in one bank, row:col:bank interleaves banks beat by beat.
  A request is served as one column command per (bank, row) run.
- Row buffer per bank: hit (row open) -> column command; miss (closed) ->
  activate first (`rcd`); conflict (other row open) -> precharge
  (after `ras` since the activate and `wr` after the bank's last write
  beat), `rp`, activate. With `frfcfs` a request's row commands may go
  ahead of earlier requests' column commands (bank parallelism); with `fcfs`
  they wait for the previous request's column command.
- Data bus: read beats `cl` after the column command, write beats `cwl`
  after it, one beat per cycle, in order; `wtr` after the last write beat
  before a read, `rtw` idle cycles after the last read beat before a write.
- Refresh every `refi` cycles (0 = never): every bank is precharged, then
  nothing activates for `rfc` cycles.
- Closed page: a bank is precharged as soon as allowed unless a request
  already in the queue then (arrived, one a cycle, behind free queue and
  return slots) still needs its row; such a precharge waits for that use.
- Command bus: one command per cycle. A command finds the first free cycle
  from its earliest one; a closed-page precharge, placed when the bank is
  next used, takes a cycle no other command has.

Read data returns in request order; zero-fill segments use no DRAM command
and return from the cycle after their request. The op is done
`dma_read_done_cycles` after its last beat is delivered (reads) or
`dma_write_done_cycles` after its last write beat is accepted (writes), as
in the fixed model, so the fixed and dram levels share the DMA's contract.
"""

from __future__ import annotations

import dataclasses
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from tlm.arch import Arch
from tlm.workload.program import Segments

NEVER = -(1 << 40)
NEVER_AGAIN = 1 << 62
#: The state a posted write op may have to be taken back from.
_STATE = ("row", "t_act", "t_pre", "pre_ok", "close_at", "last_beat", "last_rd", "last_wr", "ref_end",
          "next_ref", "cmd_bus")
#: Command-bus cycles kept: commands are placed at most this far before the latest one.
_BUS_WINDOW = 1024


@dataclass
class DramStats:
    """Row-buffer outcomes of the column-command runs so far."""

    hits: int = 0
    misses: int = 0
    conflicts: int = 0
    refreshes: int = 0

    @property
    def row_hit_rate(self) -> float:
        n = self.hits + self.misses + self.conflicts
        return self.hits / n if n else 0.0


def op_requests(segs: Segments, entry: int, bus: int, max_burst: int, write: bool) -> list[tuple[int, int, bool]]:
    """The memory requests of one op: (first beat, beats, zero fill), in issue order."""
    sl = segs.range(entry)
    out: list[tuple[int, int, bool]] = []
    for addr, length, zero in zip(segs.mem_addr[sl].tolist(), segs.length[sl].tolist(),
                                  segs.zero[sl].tolist()):
        first = addr // bus
        beats = (addr + length - 1) // bus - first + 1
        step = 1 if write else max_burst
        x = first
        while beats > 0:
            n = min(step, beats)
            out.append((x, n, bool(zero)))
            x += n
            beats -= n
    return out


def _users(plan: list[list[tuple[int, int, int]]]) -> dict[tuple[int, int], list[int]]:
    """Per (bank, row), the requests (indices into `plan`, ascending) with a run there."""
    uses: dict[tuple[int, int], list[int]] = {}
    for k, runs in enumerate(plan):
        for b, r, _n in runs:
            lst = uses.setdefault((b, r), [])
            if not lst or lst[-1] != k:
                lst.append(k)
    return uses


class DramModel:
    """Bank/row state and the timing of whole DMA ops against it."""

    def __init__(self, arch: Arch) -> None:
        m = arch.memory_model
        t = arch.timing
        self.bus = arch.dma.bus_bytes
        self.max_burst = arch.dma.max_burst_beats
        self.banks = m.dram_banks
        self.cols = max(m.dram_row_bytes // self.bus, 1)   # beats per row
        self.interleave = m.dram_mapping == "row:col:bank" and self.banks > 1
        self.open_page = m.dram_page_policy == "open"
        self.frfcfs = m.dram_scheduler == "frfcfs"
        self.queue = m.dram_queue
        self.cl, self.cwl, self.rcd, self.rp = m.dram_cl_cycles, m.dram_cwl_cycles, m.dram_rcd_cycles, m.dram_rp_cycles
        self.ras, self.wr, self.wtr, self.rtw = m.dram_ras_cycles, m.dram_wr_cycles, m.dram_wtr_cycles, m.dram_rtw_cycles
        self.refi, self.rfc = m.dram_refi_cycles, m.dram_rfc_cycles
        self.setup, self.read_done, self.write_done = (t.dma_setup_cycles, t.dma_read_done_cycles,
                                                       t.dma_write_done_cycles)
        nb = self.banks
        self.row = [-1] * nb                # open row per bank, -1 closed
        self.t_act = [NEVER] * nb
        self.t_pre = [NEVER] * nb
        self.close_at: list[int | None] = [None] * nb  # closed page: a precharge waiting to happen
        self.pre_ok = [NEVER] * nb          # earliest precharge after the bank's column commands
        self.last_beat = NEVER              # last beat on the data bus
        self.last_rd = NEVER
        self.last_wr = NEVER
        self.ref_end = NEVER
        self.next_ref = self.refi if self.refi else 1 << 62
        self.cmd_bus: set[int] = set()      # cycles with a command, recent ones only
        self.stats = DramStats()
        self.posted: tuple[list[tuple[int, int, bool]], int] | None = None  # a write op not yet issued
        self._first_col = NEVER
        # For the trace footer (tlm.trace.dram): per request, its first column command's
        # cycle and outcome (0 hit, 1 miss, 2 conflict), packed as cycle * 4 + outcome
        # (8 bytes a request); per refresh, (REF cycle, end).
        self.events = array("q")
        self.refresh_log: list[tuple[int, int]] = []
        self._outcome = 0
        self._col = NEVER
        # closed page, while `_serve` runs: (request, its arrival, the requests using each (bank, row),
        # queue, col_done, done, write)
        self._queued: tuple[int, int, dict[tuple[int, int], list[int]], int, list[int], list[int], bool] | None = None

    # -- address decode --------------------------------------------------------------------
    def runs(self, x: int, n: int) -> list[tuple[int, int, int]]:
        """(bank, row, beats) runs of beats x .. x+n-1, in address order."""
        out: list[tuple[int, int, int]] = []
        cols, banks = self.cols, self.banks
        while n > 0:
            if self.interleave:
                bank, row, k = x % banks, x // (cols * banks), 1
            else:
                bank, row = (x // cols) % banks, x // (cols * banks)
                k = min(n, cols - x % cols)
            out.append((bank, row, k))
            x += k
            n -= k
        return out

    # -- device ----------------------------------------------------------------------------
    def _slot(self, t: int) -> int:
        """The first cycle from t with the command bus free; taken."""
        bus = self.cmd_bus
        while t in bus:
            t += 1
        bus.add(t)
        if len(bus) > 2 * _BUS_WINDOW:
            keep = t - _BUS_WINDOW
            self.cmd_bus = {c for c in bus if c >= keep}
        return t

    def _refresh_until(self, t: int) -> None:
        """Run every refresh due by cycle t: close all banks, block activates for rfc."""
        while self.next_ref <= t:
            due = ref = self.next_ref
            k = 0  # precharges go out one per cycle
            for b in range(self.banks):
                pending = self.close_at[b]
                self.close_at[b] = None
                if pending is not None and pending <= due:
                    self.t_pre[b] = self._slot(pending)
                    self.row[b] = -1
                elif self.row[b] >= 0:
                    self.t_pre[b] = self._slot(max(due + k, self.t_act[b] + self.ras, self.pre_ok[b]))
                    self.row[b] = -1
                    k += 1
                ref = max(ref, self.t_pre[b] + self.rp)
            ref = self._slot(ref)
            self.ref_end = ref + self.rfc
            self.next_ref = ref + self.refi
            self.stats.refreshes += 1
            self.refresh_log.append((ref, self.ref_end))

    def _open(self, bank: int, row: int, t: int, seen: int) -> int:
        """Make `row` open in `bank` from cycle t on; the earliest column command cycle.

        `seen`: when the request reached the queue (a closed-page precharge
        waits for queued requests that need the row).
        """
        self._refresh_until(t)
        pending = self.close_at[bank]
        closing = False   # another row is open, its precharge still to come: a conflict
        if pending is not None:
            self.close_at[bank] = None
            if self.row[bank] != row and min(t, seen) < pending and self._wanted(bank, pending):
                pass  # a request queued by then still needs the open row: no precharge yet
            elif self.row[bank] != row or min(t, seen) >= pending:  # the precharge went out
                closing = min(t, seen) < pending
                self.row[bank] = -1
                self.t_pre[bank] = self._slot(pending)
        cur = self.row[bank]
        if cur == row:
            self.stats.hits += 1
            self._outcome = 0
            return max(t, self.t_act[bank] + self.rcd)
        if cur >= 0:
            self.stats.conflicts += 1
            self._outcome = 2
            p = self._slot(max(t, self.t_act[bank] + self.ras, self.pre_ok[bank]))
            self.t_pre[bank] = p
            t = p + 1
        elif closing:
            self.stats.conflicts += 1
            self._outcome = 2
        else:
            self.stats.misses += 1
            self._outcome = 1
        a = max(t, self.t_pre[bank] + self.rp, self.ref_end)
        if a >= self.next_ref:   # the refresh comes first
            self._refresh_until(a)
            a = max(a, self.t_pre[bank] + self.rp, self.ref_end)
        a = self._slot(a)
        self.row[bank] = row
        self.t_act[bank] = a
        return a + self.rcd

    def _access(self, bank: int, row: int, beats: int, t: int, write: bool, seen: int) -> int:
        """Open the row and issue the column command of one run; the cycle of its last beat.

        No command issues once a refresh is due: a column command that would
        come at or after it waits for the refresh and reopens its row.
        """
        c = self._column_time(self._open(bank, row, t, seen), write)
        if c >= self.next_ref:
            self._refresh_until(c)
            # Once only: with a refresh interval barely above its duration the
            # command would never fit between two refreshes; it goes out anyway.
            c = self._column_time(self._open(bank, row, c, seen), write)
        self._col = c
        return self._column(bank, beats, c, write)

    def _column_time(self, t: int, write: bool) -> int:
        """The earliest column command cycle from t, given the data bus."""
        if write:
            return max(t, self.last_beat - self.cwl + 1, self.last_rd + 1 + self.rtw - self.cwl)
        return max(t, self.last_beat - self.cl + 1, self.last_wr + self.wtr)

    def _column(self, bank: int, beats: int, t: int, write: bool) -> int:
        """Issue a column command no earlier than t; the cycle of its last beat."""
        if write:
            c = self._slot(max(t, self.last_beat - self.cwl + 1, self.last_rd + 1 + self.rtw - self.cwl))
            last = c + self.cwl + beats - 1
            self.last_wr = last
            self.pre_ok[bank] = max(self.pre_ok[bank], last + self.wr)
        else:
            c = self._slot(max(t, self.last_beat - self.cl + 1, self.last_wr + self.wtr))
            last = c + self.cl + beats - 1
            self.last_rd = last
            self.pre_ok[bank] = max(self.pre_ok[bank], c + beats)
        self.last_beat = last
        return last

    @staticmethod
    def _queued_by(i: int, arrive: int, nxt: int, q: int, col_done: list[int], done: list[int],
                   write: bool) -> int:
        """The earliest cycle request `nxt` is in the queue, request i having arrived at `arrive`.

        Requests arrive at most one per cycle, and request k only once request
        k - q has left the queue (reads: and returned its data); for `nxt`
        within q of request i those are known. Not within: never (NEVER_AGAIN).
        """
        if not i < nxt < i + q:
            return NEVER_AGAIN
        t = arrive
        for k in range(i + 1, nxt + 1):
            t += 1
            j = k - q
            if j >= 0:
                t = max(t, col_done[j] + 1) if write else max(t, col_done[j] + 1, done[j])
        return t

    def _wanted(self, bank: int, when: int) -> bool:
        """Closed page: does a later request of the op being served, queued by `when`, use the open row?

        (`when` is a command cycle; a request can be served from the cycle after it arrives.)
        """
        cur = self._queued
        if cur is None:
            return False
        i, arrive, uses, q, col_done, done, write = cur
        users = uses.get((bank, self.row[bank]))
        if not users or users[-1] <= i:
            return False
        n = users[bisect_right(users, i)]
        return self._queued_by(i, arrive, n, q, col_done, done, write) <= when + 1

    def _close(self, bank: int) -> None:
        """Precharge `bank` as soon as allowed, unless a request for its row comes first."""
        self.close_at[bank] = max(self.t_act[bank] + self.ras, self.pre_ok[bank])

    def _serve(self, requests: list[tuple[int, int, bool]], first: int, write: bool) -> list[int]:
        """Accept and serve the requests; per request its last beat cycle (write: acceptance)."""
        done: list[int] = []
        col_done: list[int] = []  # cycle each request left the queue
        arrive = first
        prev_col = NEVER
        plan = [self.runs(x, n) if not zero else [] for x, n, zero in requests]
        uses = None if self.open_page else _users(plan)
        last_out = NEVER
        for i, (_x, n, zero) in enumerate(requests):
            # A queue slot (reads: and a return slot) must be free; reads win the last
            # slot, so writes have one less.
            q = max(self.queue - 1, 1) if write else self.queue
            if i >= q:
                arrive = max(arrive, col_done[i - q] + 1, NEVER if write else done[i - q])
            if zero:
                last_out = max(arrive + 1, last_out + 1) + n - 1
                done.append(last_out)
                col_done.append(arrive)
                arrive += 1
                continue
            if uses is not None:
                self._queued = (i, arrive, uses, q, col_done, done, write)
            t = arrive if self.frfcfs else max(arrive, prev_col + 1)
            last = arrive
            issue = arrive
            for j, (bank, row, beats) in enumerate(plan[i]):
                last = self._access(bank, row, beats, max(t, issue), write, arrive)
                if j == 0:
                    self.events.append(self._col * 4 + self._outcome)
                issue = last - (self.cwl if write else self.cl) - beats + 2
                if uses is not None and not self._wanted(bank, max(self.t_act[bank] + self.ras, self.pre_ok[bank])):
                    self._close(bank)
            prev_col = issue - 1
            col_done.append(prev_col)
            if write:
                done.append(arrive)
            else:
                last_out = max(last, last_out + n)
                done.append(last_out)
            arrive += 1
        self._queued = None
        self._first_col = col_done[0] if col_done else NEVER
        return done

    # -- posted writes (frfcfs) --------------------------------------------------------------
    def _snapshot(self) -> tuple[list[Any], DramStats, int, int]:
        return ([list(v) if isinstance(v, list) else set(v) if isinstance(v, set) else v
                 for v in (getattr(self, n) for n in _STATE)],
                dataclasses.replace(self.stats), len(self.events), len(self.refresh_log))

    def _restore(self, snap: tuple[list[Any], DramStats, int, int]) -> None:
        for n, v in zip(_STATE, snap[0]):
            setattr(self, n, v)
        self.stats = snap[1]
        del self.events[snap[2]:]
        del self.refresh_log[snap[3]:]

    def _flush(self) -> None:
        if self.posted is not None:
            reqs, first = self.posted
            self.posted = None
            self._serve(reqs, first, write=True)

    def finish(self) -> None:
        """Issue the writes still posted at the end of the run (for the counts only)."""
        self._flush()

    def read_op(self, grant: int, requests: list[tuple[int, int, bool]]) -> int:
        """Cycle a read op granted at `grant` is done.

        With frfcfs, the previous write op's beats (posted: accepted, not yet
        issued) go first only if their first column command comes before the
        read's first request; otherwise the reads, row hits, go ahead of them.
        """
        if not requests:
            return grant + self.setup + self.read_done
        start = grant + self.setup
        posted = self.posted
        if posted is not None:
            snap = self._snapshot()
            self._flush()
            if self._first_col >= start:
                self._restore(snap)
                done = self._serve(requests, start, write=False)
                self.posted = posted
                self._flush()
                return done[-1] + 1 + self.read_done
        done = self._serve(requests, start, write=False)
        return done[-1] + 1 + self.read_done

    def write_op(self, grant: int, requests: list[tuple[int, int, bool]]) -> int:
        """Cycle a write op granted at `grant` is done."""
        if not requests:
            return grant + self.setup + self.write_done
        self._flush()
        first = grant + self.setup + 1
        if self.frfcfs and len(requests) <= max(self.queue - 1, 1):
            # All beats fit the queue: accepted one per cycle, issued when `read_op` decides.
            self.posted = (requests, first)
            return first + len(requests) - 1 + self.write_done
        done = self._serve(requests, first, write=True)
        return done[-1] + self.write_done


__all__ = ["DramModel", "DramStats", "op_requests"]
