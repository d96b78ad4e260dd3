"""The DRAM memory system (rtl/dram/dram_ctrl.v) on its own.

The cocotb side (`dram_traffic`) drives the read-request and write channels
of `tb_dram` from a JSON list (each request no earlier than its `at` cycle,
held until ready) and waits for every read beat; the testbench logs requests,
commands and returned beats. The pytest side checks the log:

- every run: no command earlier than the timing constraints allow
  (`dram_check.command_violations`, written apart from the RTL), read data
  and final storage equal to a byte model replayed in acceptance order;
- row hit / miss / conflict latencies, refresh collision, write->read and
  read->write turnaround, FR-FCFS reordering against FCFS, closed page,
  queue-full back-pressure, and random traffic drawn by hypothesis on
  configurations that differ in every parameter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge

CLOCK_NS = 10


@cocotb.test()
async def dram_traffic(dut) -> None:
    """Drive $DRAM_CASES' reads and writes; wait for every read beat."""
    cases = json.loads(Path(os.environ["DRAM_CASES"]).read_text())
    reads, writes = cases["reads"], cases["writes"]
    dut.rst.value = 1
    for name in ("rd_req_valid", "rd_req_beat", "rd_req_beats", "rd_req_zero", "wr_valid",
                 "wr_beat", "wr_strb", "wr_data", "dump"):
        getattr(dut, name).value = 0
    for _ in range(3):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    want = sum(r["beats"] for r in reads)
    got = ri = wi = 0
    limit = cases["max_cycles"]
    while (ri < len(reads) or wi < len(writes) or got < want) and int(dut.cycle.value) < limit:
        await FallingEdge(dut.clk)
        now = int(dut.cycle.value)
        got += int(dut.rd_valid.value)
        # Ready only changes at the clock edge, so a request driven now with
        # ready high is taken at the coming edge.
        if ri < len(reads) and reads[ri]["at"] <= now:
            r = reads[ri]
            dut.rd_req_valid.value = 1
            dut.rd_req_beat.value = r["beat"]
            dut.rd_req_beats.value = r["beats"]
            dut.rd_req_zero.value = int(r.get("zero", False))
            ri += int(dut.rd_req_ready.value)
        else:
            dut.rd_req_valid.value = 0
        if wi < len(writes) and writes[wi]["at"] <= now:
            w = writes[wi]
            dut.wr_valid.value = 1
            dut.wr_beat.value = w["beat"]
            dut.wr_strb.value = w["strb"]
            dut.wr_data.value = w["data"]
            wi += int(dut.wr_ready.value)
        else:
            dut.wr_valid.value = 0
    assert got >= want, f"{got} of {want} read beats by cycle {limit}"
    await FallingEdge(dut.clk)  # the edge that takes the last request driven
    dut.rd_req_valid.value = 0
    dut.wr_valid.value = 0
    for _ in range(cases.get("tail", 2)):
        await FallingEdge(dut.clk)
    dut.dump.value = 1
    await FallingEdge(dut.clk)
    dut.dump.value = 0
    await FallingEdge(dut.clk)


# ---------------------------------------------------------------- pytest side

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dram_check import ACT, PRE, RD, REF, WR, DramLog, command_violations, decode, expected_reads, read_log  # noqa: E402
from tlm.rtl import runner  # noqa: E402
from tlm.rtl.image import memory_hex, read_memory_hex  # noqa: E402

BASE = {"BUS_BYTES": 8, "MAX_BURST_BEATS": 8, "MEM_BYTES": 16384, "BANKS": 4, "ROW_BYTES": 256,
        "MAPPING": 0, "T_RCD": 7, "T_RP": 7, "T_CL": 9, "T_CWL": 5, "T_RAS": 18, "T_WR": 8,
        "T_WTR": 4, "T_RTW": 3, "T_REFI": 0, "T_RFC": 60, "PAGE_OPEN": 1, "QUEUE_DEPTH": 8,
        "FRFCFS": 1}


def _params(**over: int) -> dict[str, int]:
    return {**BASE, **over}


def _beat(p: dict[str, int], bank: int, row: int, col: int = 0) -> int:
    """Beat address of (bank, row, col) under row:bank:col."""
    cols = p["ROW_BYTES"] // p["BUS_BYTES"]
    return (row * p["BANKS"] + bank) * cols + col


def run_traffic(p: dict[str, int], reads: list[dict], writes: list[dict], tmp: Path,
                seed: int = 1) -> DramLog:
    """Run one traffic list; check commands, data and storage; return the log."""
    bus = p["BUS_BYTES"]
    mem = np.random.default_rng(seed).integers(0, 256, p["MEM_BYTES"], dtype=np.uint8)
    (tmp / "mem.hex").write_text(memory_hex(mem, bus, p["MEM_BYTES"] // bus))
    busy = sum(r["beats"] for r in reads) + len(writes) + len(reads)
    last = max([r["at"] for r in reads] + [w["at"] for w in writes] + [0])
    bound = last + busy * 80 + 2000
    (tmp / "cases.json").write_text(json.dumps({"reads": reads, "writes": writes, "max_cycles": bound}))
    handle = runner.build("tb_dram", [runner.TESTBENCH_DIR / "hdl" / "tb_dram.v",
                                      runner.RTL_DIR / "dram" / "dram_ctrl.v"], p)
    runner.run_test(handle, "test_dram", Path(__file__).parent, timeout_s=300,
                    plusargs=[f"+mem={tmp / 'mem.hex'}", f"+dram_log={tmp / 'dram.log'}",
                              f"+dump_mem={tmp / 'mem_out.hex'}"],
                    extra_env={"DRAM_CASES": str(tmp / "cases.json")}, log_file=tmp / "sim.log")
    log = read_log(tmp / "dram.log")
    assert log.errors == [], f"controller error flag at cycles {log.errors[:5]}"
    assert command_violations(log, p) == []
    want, final = expected_reads(log, mem, [(w["strb"], w["data"]) for w in writes], bus)
    assert [d for _, d in log.beats] == want, "read data differs from the storage model"
    np.testing.assert_array_equal(read_memory_hex(tmp / "mem_out.hex", bus), final)
    assert len(log.reads) == len(reads) and len(log.writes) == len(writes)
    return log


def _first_beat(log: DramLog, i: int) -> int:
    """Cycle of read request i's first returned beat."""
    skip = sum(n for _, _, n, _ in log.reads[:i])
    return log.beats[skip][0]


def _latency(log: DramLog, i: int) -> int:
    return _first_beat(log, i) - log.reads[i][0]


def test_row_hit_miss_conflict_latencies(tmp_path: Path) -> None:
    """Closed bank t_rcd+t_cl, open row t_cl, other row open t_rp+t_rcd+t_cl."""
    p = _params()
    reads = [{"at": 5, "beat": _beat(p, 1, 3), "beats": 4},
             {"at": 60, "beat": _beat(p, 1, 3, 8), "beats": 2},
             {"at": 120, "beat": _beat(p, 1, 5), "beats": 1}]
    log = run_traffic(p, reads, [], tmp_path)
    assert [_latency(log, i) for i in range(3)] == [
        p["T_RCD"] + p["T_CL"], p["T_CL"], p["T_RP"] + p["T_RCD"] + p["T_CL"]]
    assert [k for _, k in log.events] == [1, 0, 2]
    beats = [c for c, _ in log.beats]
    assert beats[:4] == list(range(beats[0], beats[0] + 4)), "a burst streams one beat per cycle"


def test_closed_page_turns_hits_into_misses(tmp_path: Path) -> None:
    """Closed page: the row is precharged after its access, so the next access is a miss."""
    p = _params(PAGE_OPEN=0)
    reads = [{"at": 5, "beat": _beat(p, 2, 1), "beats": 2},
             {"at": 80, "beat": _beat(p, 2, 1, 4), "beats": 2}]
    log = run_traffic(p, reads, [], tmp_path)
    assert [_latency(log, i) for i in range(2)] == [p["T_RCD"] + p["T_CL"]] * 2
    assert [k for _, k, *_ in log.commands][:5] == [ACT, RD, PRE, ACT, RD]
    assert [k for _, k in log.events] == [1, 1]


def test_refresh_collision(tmp_path: Path) -> None:
    """Refresh falls due with a row open: PRE, then REF after t_rp; the waiting read
    (a hit before) pays t_rp + t_rfc and finds its row closed (a miss)."""
    p = _params(T_REFI=300, T_RFC=60)
    row = _beat(p, 0, 2)
    reads = [{"at": 100, "beat": row, "beats": 1},
             {"at": 300, "beat": row + 1, "beats": 1},
             {"at": 700, "beat": row + 2, "beats": 1}]
    log = run_traffic(p, reads, [], tmp_path)
    # Each REF: due T_REFI after the previous one, the open row precharged, t_rp later.
    assert [c for c, k, *_ in log.commands if k == REF] == [300 + p["T_RP"], 607 + p["T_RP"]]
    assert [c for c, k, *_ in log.commands if k == PRE] == [300, 607]
    assert _latency(log, 1) == p["T_RP"] + p["T_RFC"] + p["T_RCD"] + p["T_CL"]
    assert _latency(log, 2) == p["T_RCD"] + p["T_CL"]
    assert [k for _, k in log.events] == [1, 1, 1]


def test_refresh_collision_exact(tmp_path: Path) -> None:
    """All banks closed: a read accepted in the cycle refresh is due waits t_rfc + t_rcd + t_cl."""
    p = _params(T_REFI=200, T_RFC=60)
    log = run_traffic(p, [{"at": 200, "beat": _beat(p, 2, 7), "beats": 2}], [], tmp_path)
    assert [c for c, k, *_ in log.commands if k == REF][0] == 200
    assert _latency(log, 0) == p["T_RFC"] + p["T_RCD"] + p["T_CL"]


def test_write_read_turnaround(tmp_path: Path) -> None:
    """W->R waits t_wtr after the last write beat; R->W leaves t_rtw idle bus cycles."""
    p = _params()
    row = _beat(p, 0, 4)
    reads = [{"at": 5, "beat": row, "beats": 1},            # opens the row
             {"at": 51, "beat": row + 2, "beats": 1},       # right after a write
             {"at": 100, "beat": row + 3, "beats": 4}]      # then a write right after it
    writes = [{"at": 50, "beat": row + 1, "strb": 0xFF, "data": 0x1122334455667788},
              {"at": 101, "beat": row + 9, "strb": 0x0F, "data": 0xAABBCCDD}]
    log = run_traffic(p, reads, writes, tmp_path)
    cmds = [(c, k) for c, k, *_ in log.commands if k in (RD, WR)]
    wr0 = next(c for c, k in cmds if k == WR)
    rd1 = next(c for c, k in cmds if k == RD and c > wr0)
    assert rd1 == wr0 + p["T_CWL"] + p["T_WTR"], cmds
    rd2 = next(c for c, k in cmds if k == RD and c >= 100)
    wr1 = next(c for c, k in cmds if k == WR and c > rd2)
    last_read_beat = rd2 + p["T_CL"] + 4 - 1
    assert wr1 + p["T_CWL"] == last_read_beat + 1 + p["T_RTW"], cmds


def _reorder_case(p: dict[str, int], tmp: Path) -> DramLog:
    tmp.mkdir()
    hit_row, other = _beat(p, 0, 1), _beat(p, 0, 6)
    # The first read opens the row at cycle 5 (t_ras keeps it open until 23).
    reads = [{"at": 5, "beat": hit_row, "beats": 1},
             {"at": 15, "beat": other, "beats": 1},          # conflict, older
             {"at": 16, "beat": hit_row + 3, "beats": 2}]    # hit, younger
    return run_traffic(p, reads, [], tmp)


def test_frfcfs_serves_row_hits_first(tmp_path: Path) -> None:
    """FR-FCFS issues the younger row hit before closing the row for the older conflict;
    FCFS closes it first. Data still returns in request order."""
    fr = _reorder_case(_params(FRFCFS=1), tmp_path / "fr")
    fc = _reorder_case(_params(FRFCFS=0), tmp_path / "fc")
    kinds_fr = [k for c, k, *_ in fr.commands if c >= 15]
    kinds_fc = [k for c, k, *_ in fc.commands if c >= 15]
    assert kinds_fr == [RD, PRE, ACT, RD], kinds_fr
    assert kinds_fc == [PRE, ACT, RD, PRE, ACT, RD], kinds_fc
    assert [k for _, k in sorted(fr.events)] == [1, 0, 2]   # first command order: read 0, 2, 1
    assert [k for _, k in sorted(fc.events)] == [1, 2, 2]
    # the younger hit finished first in the DRAM but its beats follow the older request's
    assert _first_beat(fr, 2) > _first_beat(fr, 1)
    assert _latency(fr, 2) < _latency(fc, 2)


def test_queue_full_back_pressure(tmp_path: Path) -> None:
    """With queue_depth 2 and conflicting rows, ready falls and requests wait; data stays right."""
    p = _params(QUEUE_DEPTH=2)
    reads = [{"at": 2, "beat": _beat(p, 0, r), "beats": 2} for r in range(6)]
    writes = [{"at": 2, "beat": _beat(p, 1, r), "strb": 0xF0, "data": 0x0102030405060708 + r}
              for r in range(4)]
    log = run_traffic(p, reads, writes, tmp_path)
    accepted = [c for c, *_ in log.reads]
    assert accepted[1] > accepted[0] + 1 and accepted[2] > accepted[1] + 1, \
        f"ready never fell: reads accepted at {accepted}"
    # Never more than QUEUE_DEPTH reads accepted whose last beat is still to come.
    last_beat = [_first_beat(log, i) + 1 for i in range(len(reads))]  # beats = 2
    for i, c in enumerate(accepted):
        assert sum(1 for j in range(i) if last_beat[j] > c) < p["QUEUE_DEPTH"], (i, accepted, last_beat)


CONFIGS = {
    "4banks-open-frfcfs": _params(),
    "2banks-interleaved-closed-fcfs-refresh": _params(
        BANKS=2, ROW_BYTES=64, MAPPING=1, T_RCD=3, T_RP=4, T_CL=5, T_CWL=2, T_RAS=9, T_WR=5,
        T_WTR=2, T_RTW=1, T_REFI=150, T_RFC=25, PAGE_OPEN=0, QUEUE_DEPTH=3, FRFCFS=0, BUS_BYTES=4,
        MAX_BURST_BEATS=5, MEM_BYTES=4096),
    "32banks-bigrows-frfcfs-refresh": _params(
        BANKS=32, ROW_BYTES=128, T_REFI=400, T_RFC=30, QUEUE_DEPTH=16, MEM_BYTES=65536,
        T_RAS=11, T_RCD=2, T_CL=12, T_WTR=7, T_RTW=0, MAX_BURST_BEATS=16),
}


@st.composite
def _traffic(draw, p: dict[str, int]) -> tuple[list[dict], list[dict]]:
    words = p["MEM_BYTES"] // p["BUS_BYTES"]
    # a few hot rows, so that hits, misses and conflicts all happen
    hot = draw(st.lists(st.integers(0, words - 1), min_size=1, max_size=6))
    def addr(n: int) -> int:
        base = draw(st.sampled_from(hot))
        return min(words - n, base + draw(st.integers(0, 20)))
    reads, writes, at = [], [], 0
    for _ in range(draw(st.integers(1, 25))):
        at += draw(st.integers(0, 12))
        if draw(st.booleans()):
            n = draw(st.integers(1, p["MAX_BURST_BEATS"]))
            reads.append({"at": at, "beat": addr(n), "beats": n, "zero": draw(st.integers(0, 9)) == 0})
        else:
            writes.append({"at": at, "beat": addr(1), "strb": draw(st.integers(0, 2 ** p["BUS_BYTES"] - 1)),
                           "data": draw(st.integers(0, 2 ** (8 * p["BUS_BYTES"]) - 1))})
    return reads, writes


@pytest.mark.parametrize("name", list(CONFIGS))
def test_random_traffic(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random reads/writes: data equals the storage model, no command breaks a constraint."""
    p = CONFIGS[name]

    @settings(max_examples=2, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: each run builds
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(traffic=_traffic(p), seed=st.integers(0, 999))
    def check(traffic, seed: int) -> None:
        reads, writes = traffic
        log = run_traffic(p, reads, writes, tmp_path_factory.mktemp("dram"), seed)
        for c, k, b, r, _ in log.commands:
            if k in (RD, WR):
                assert 0 <= b < p["BANKS"], (c, b)

    check()


def test_checker_catches_early_commands() -> None:
    """The command checker flags each rule it knows (so the checks above can fail)."""
    p = _params(T_REFI=100)
    early = {
        "t_rcd": [(0, ACT, 0, 1, 0), (3, RD, 0, 1, 1)],
        "t_rp": [(0, ACT, 0, 1, 0), (30, PRE, 0, 1, 0), (32, ACT, 0, 2, 0)],
        "t_ras": [(0, ACT, 0, 1, 0), (5, PRE, 0, 1, 0)],
        "row not open": [(0, ACT, 0, 1, 0), (10, RD, 0, 2, 1)],
        "data bus": [(0, ACT, 0, 1, 0), (10, RD, 0, 1, 4), (11, RD, 0, 1, 1)],
        "t_wtr": [(0, ACT, 0, 1, 0), (10, WR, 0, 1, 1), (16, RD, 0, 1, 1)],
        "t_rtw": [(0, ACT, 0, 1, 0), (10, RD, 0, 1, 1), (15, WR, 0, 1, 1)],
        "t_wr": [(0, ACT, 0, 1, 0), (10, WR, 0, 1, 1), (20, PRE, 0, 1, 0)],
        "banks open": [(0, ACT, 0, 1, 0), (20, REF, 0, 0, 0)],
        "refresh was due": [(100, ACT, 0, 1, 0)],
        "refresh busy": [(100, REF, 0, 0, 0), (120, ACT, 0, 1, 0)],
        "second command": [(0, ACT, 0, 1, 0), (0, ACT, 1, 1, 0)],
    }
    for rule, cmds in early.items():
        bad = command_violations(DramLog(commands=cmds), p)
        assert any(rule in b for b in bad), (rule, bad)
    ok = [(0, ACT, 0, 1, 0), (7, RD, 0, 1, 2), (18, PRE, 0, 1, 0), (25, ACT, 0, 2, 0)]
    assert command_violations(DramLog(commands=ok), p) == []
    assert decode(_beat(p, 3, 9, 5), p) == (3, 9)
