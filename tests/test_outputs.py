"""Output files: never destroy a good file, never replace a device, refuse clashes."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
import sys
from pathlib import Path

import pytest

from tlm import outputs
from tlm.arch import Arch
from tlm.cli import main
from tlm.errors import InputError
from tlm.outputs import AtomicOutput, refuse_clashes, safe_text, sweep_stale_temps
from tlm.trace import PerfettoWriter, TraceWriter, VcdWriter, read_trace
from tlm.trace import vcd as vcd_mod

ARCH = Arch()
KW = dict(source="tlm", workload="w", arch=ARCH, clock_period_ps=1000)
SMALL = "builtin:gemm_small"


def _sim(tmp_path: Path, *flags: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["sim", "-w", SMALL, "--no-progress", *flags])
    out, err = capsys.readouterr()
    return code, out, err


def _only_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("flag", ["--trace", "--perfetto", "--vcd"])
def test_output_that_is_a_folder_is_bad_input(tmp_path: Path, flag: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _sim(tmp_path, flag, str(tmp_path), capsys=capsys)
    assert code == 2
    assert "is a folder" in _only_error_line(err)


def test_empty_output_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _sim(tmp_path, "--trace", "", capsys=capsys)
    assert code == 2 and "empty output path" in _only_error_line(err)


def test_same_file_for_two_outputs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = tmp_path / "t.out"
    code, _, err = _sim(tmp_path, "--trace", str(t), "--vcd", str(t), capsys=capsys)
    assert code == 2 and "--trace" in _only_error_line(err)
    assert not t.exists()
    # The same file through a symlink and through a hard link.
    t.write_text("keep")
    (tmp_path / "link").symlink_to(t)
    os.link(t, tmp_path / "hard")
    for other in ("link", "hard"):
        code, _, err = _sim(tmp_path, "--trace", str(t), "--perfetto", str(tmp_path / other), capsys=capsys)
        assert code == 2, other
        _only_error_line(err)
    assert t.read_text() == "keep"


def test_output_over_the_input_workload_or_arch_is_refused(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    wl = tmp_path / "w.json"
    wl.write_text(json.dumps({"format": "tlm-workload/1", "name": "w",
                              "layers": [{"op": "gemm", "M": 4, "N": 4, "K": 4}]}))
    before = wl.read_bytes()
    code = main(["sim", "-w", str(wl), "--no-progress", "--trace", str(wl)])
    err = capsys.readouterr().err
    assert code == 2 and "input file of --workload" in _only_error_line(err)
    arch = tmp_path / "a.toml"
    arch.write_text("")
    code = main(["sim", "-w", str(wl), "--no-progress", "--arch", str(arch), "--vcd", str(tmp_path / "." / "a.toml")])
    err = capsys.readouterr().err
    assert code == 2 and "--arch" in _only_error_line(err)
    assert wl.read_bytes() == before and arch.read_text() == ""


def test_device_is_written_directly_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A symlink to /dev/null stays a symlink to the device (the device is written, not replaced)."""
    link = tmp_path / "null.jsonl"
    link.symlink_to(os.devnull)
    code, _, _ = _sim(tmp_path, "--trace", str(link), "--vcd", os.devnull, capsys=capsys)
    assert code == 0
    assert link.is_symlink() and os.readlink(link) == os.devnull
    assert not Path(os.devnull).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null.jsonl"]


def test_fifo_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    with AtomicOutput(fifo) as out:
        out.write(b"hello\n")
    assert reader.communicate(timeout=10)[0] == b"hello\n"
    assert fifo.is_fifo()


def test_symlink_to_a_file_replaces_the_target_not_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    with AtomicOutput(link) as out:
        out.write(b"new")
    assert link.is_symlink() and real.read_text() == "new"
    assert (real.stat().st_mode & 0o777) == 0o640  # an existing file keeps its mode


def test_disk_full_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """ENOSPC mid-run: exit 2, one line, the earlier complete trace intact, no temp file left."""
    t = tmp_path / "t.jsonl"
    assert _sim(tmp_path, "--trace", str(t), capsys=capsys)[0] == 0
    good = t.read_bytes()
    real_write = AtomicOutput.write

    def full(self: AtomicOutput, data: bytes) -> None:
        if len(data) > 0 and self.temp_name is not None and b'"op"' in data:
            raise_in = OSError(errno.ENOSPC, "No space left on device")
            self._fail(raise_in)
        real_write(self, data)

    monkeypatch.setattr(AtomicOutput, "write", full)
    code, _, err = _sim(tmp_path, "--trace", str(t), capsys=capsys)
    assert code == 2 and "disk full" in _only_error_line(err)
    assert t.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]


def test_dev_full_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    code = main(["sim", "-w", SMALL, "--no-progress", "--trace", "/dev/full"])
    err = capsys.readouterr().err
    assert code == 2 and "disk full" in _only_error_line(err)


def test_stale_temp_of_a_dead_process_is_swept(tmp_path: Path) -> None:
    """A SIGKILLed run's temp file goes at the next write; a live process's stays."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".t.jsonl.{dead.pid}.abc123.tmp"
    stale.write_text("{}")
    live = tmp_path / f".t.jsonl.{os.getppid()}.abc123.tmp"
    live.write_text("{}")
    other = tmp_path / f".u.jsonl.{dead.pid}.abc123.tmp"
    other.write_text("{}")
    with AtomicOutput(tmp_path / "t.jsonl") as out:
        out.write(b"x")
    assert not stale.exists() and live.exists() and other.exists()
    assert sweep_stale_temps(tmp_path / "u.jsonl") == [other.name]


def test_exception_discards_and_interrupt_publishes_whole_lines(tmp_path: Path) -> None:
    """A write cut half-way by a signal is rolled back to the last whole block."""
    path = tmp_path / "t.jsonl"
    path.write_text("old\n")
    w = TraceWriter(path, **KW)
    w.record("tile", 0, 0, 5, engine=0)
    w._flush()
    w._out.write(b'{"op": "tile", "ti')  # what a signal may leave behind
    w.abort()
    trace = read_trace(path)
    assert len(trace) == 1 and not trace.complete and trace.warnings == ["no footer: the run was cut short"]


_LONG_RUN = """
import sys, time
from tlm.arch import Arch
from tlm.cli import main
from tlm.outputs import install_signal_handlers
from tlm.trace import open_sinks
install_signal_handlers()
paths = sys.argv[1:]
with open_sinks(paths, source="tlm", workload="w", arch=Arch()) as sink:
    i = 0
    while True:
        sink.record("tile", i, i, i + 1, engine=0)
        i += 1
        if i == 5000:
            print("ready", flush=True)
        if i % 1000 == 0:
            time.sleep(0.001)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_leaves_valid_incomplete_files_and_no_temps(tmp_path: Path, sig: int) -> None:
    paths = [tmp_path / "t.jsonl", tmp_path / "t.json", tmp_path / "t.vcd"]
    for p in paths:
        p.write_text("old")
    proc = subprocess.Popen([sys.executable, "-c", _LONG_RUN, *map(str, paths)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(sig)
    proc.wait(timeout=60)
    trace = read_trace(paths[0])
    assert not trace.complete and len(trace) >= 5000
    assert json.loads(paths[1].read_text())["traceEvents"][-1]["name"] == "run cut short"
    assert "run cut short" in paths[2].read_text().splitlines()[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.jsonl", "t.vcd"]


def test_sigkill_keeps_the_old_file_and_the_next_run_sweeps(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("old")
    proc = subprocess.Popen([sys.executable, "-c", _LONG_RUN, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.kill()
    proc.wait(timeout=60)
    assert path.read_text() == "old"
    assert len(list(tmp_path.glob(".t.jsonl.*.tmp"))) == 1
    with TraceWriter(path, **KW) as w:
        w.close(0, 0, "skipped")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]


def test_refuse_clashes_allows_devices_twice() -> None:
    refuse_clashes([("--trace", os.devnull), ("--vcd", os.devnull)], [])
    with pytest.raises(InputError):
        refuse_clashes([("--trace", "")], [])


# -- names are data ------------------------------------------------------------------

EVIL = "x $end $var wire 1 ! evil $end \ud800\n\x1b[2J"


def test_safe_text_escapes_surrogates_and_controls() -> None:
    assert safe_text("plain név") == "plain név"
    s = safe_text(EVIL)
    s.encode("utf-8")  # no lone surrogate left
    assert "\\ud800" in s and "\\x0a" in s and "\\x1b" in s


def test_vcd_comment_cannot_declare_variables(tmp_path: Path) -> None:
    from vcd.reader import TokenKind, tokenize

    path = tmp_path / "t.vcd"
    with VcdWriter(path, **{**KW, "workload": EVIL}) as w:
        w.record("tile", 0, 0, 5, engine=0)
        w.close(6, 1, "pass")
    with open(path, "rb") as f:
        refs = [t.var.reference for t in tokenize(f) if t.kind is TokenKind.VAR]
    assert "evil" not in refs and len(refs) == 2 * ARCH.array.engines + 4


def test_writers_and_summary_survive_a_hostile_name(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    wl = tmp_path / "w.json"
    # Control characters are refused in names (test_hostile_inputs); what is left
    # must still not break a VCD header, HTML or a terminal.
    evil = "x $end $var wire 1 ! evil $end <b>&amp;</b> \u202e"
    wl.write_text(json.dumps({"format": "tlm-workload/1", "name": evil,
                              "layers": [{"op": "gemm", "M": 4, "N": 4, "K": 4}]}))
    outs = [tmp_path / "t.jsonl", tmp_path / "t.json", tmp_path / "t.vcd"]
    code = main(["sim", "-w", str(wl), "--no-progress", "--trace", str(outs[0]),
                 "--perfetto", str(outs[1]), "--vcd", str(outs[2])])
    out = capsys.readouterr().out
    assert code == 0
    out.encode("utf-8")
    assert "\x1b" not in out
    assert read_trace(outs[0]).workload == evil  # the JSON trace keeps the name exactly
    json.loads(outs[1].read_text())
    from vcd.reader import TokenKind, tokenize

    with open(outs[2], "rb") as f:
        refs = [t.var.reference for t in tokenize(f) if t.kind is TokenKind.VAR]
    assert "evil" not in refs


@pytest.mark.parametrize("spill,block", [(97, 13), (50, 1), (5000, 7)])
def test_vcd_spilled_runs_merge_to_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 spill: int, block: int) -> None:
    """Sorted runs spilled to disk and merged give the bytes of one in-memory sort."""
    import random

    rng = random.Random(5)
    records = []
    for i in range(400):
        s = rng.randrange(0, 300)
        records.append(("tile", i, s, s + rng.randrange(0, 30), {"engine": rng.randrange(2)}))
        records.append(("load_a", i, s, s + rng.randrange(1, 9), {"engine": rng.randrange(2), "grant": s}))
        records.append(("dispatch", i, max(0, s - 3), s, {}))
    occupancy = [(rng.randrange(0, 300), rng.randrange(8)) for _ in range(100)]

    def write(path: Path) -> None:
        with VcdWriter(path, **KW) as w:
            for op, tile, s, e, extra in records:
                w.record(op, tile, s, e, **extra)
            for t, v in occupancy:
                w.occupancy(t, v)
            w.close(400, 400, "pass")

    write(tmp_path / "a.vcd")
    monkeypatch.setattr(vcd_mod, "SPILL_CHANGES", spill)
    monkeypatch.setattr(vcd_mod, "MERGE_BLOCK", block)
    write(tmp_path / "b.vcd")
    assert (tmp_path / "a.vcd").read_bytes() == (tmp_path / "b.vcd").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.vcd", "b.vcd"]  # spills removed


def test_perfetto_and_vcd_memory_does_not_grow_with_records(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Buffers stay below their block sizes however many records arrive."""
    monkeypatch.setattr(vcd_mod, "SPILL_CHANGES", 1000)
    from tlm.trace import perfetto as perf_mod

    with VcdWriter(tmp_path / "t.vcd", **KW) as v, PerfettoWriter(tmp_path / "t.json", **KW) as p:
        for i in range(5000):
            for w in (v, p):
                w.record("tile", i, i, i + 3, engine=i % 2)
                w.record("load_a", i, i, i + 2, engine=i % 2, grant=i + 1)
            assert len(v._times) < 1000 and len(p._chunks) < perf_mod.FLUSH_EVERY
        v.close(6000, 5000, "pass")
        p.close(6000, 5000, "pass")
    assert len(json.loads((tmp_path / "t.json").read_text())["traceEvents"]) > 15000


def test_time_zero_values_are_the_dumpvars(tmp_path: Path) -> None:
    path = tmp_path / "t.vcd"
    with VcdWriter(path, **KW) as w:
        w.record("dispatch", 0, 0, 2)
        w.close(3, 1, "pass")
    text = path.read_text()
    assert "$dumpvars" in text and text.count("#0") == 1
    assert outputs._LIVE == set()


GOLDEN = Path(__file__).resolve().parent.parent / "traces" / "golden"


@pytest.mark.parametrize("argv", [
    ["report", str(GOLDEN / "two_tiles_tlm.jsonl"), str(GOLDEN / "two_tiles_rtl.jsonl"), "-o", "{d}"],
    ["calibrate", "--out", "{d}", "--no-progress"],
    ["rtl", "-w", "builtin:gemm_small", "--trace", "{d}", "--no-progress"],
])
def test_every_command_refuses_a_folder_as_output(tmp_path: Path, argv: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main([a.replace("{d}", str(tmp_path)) for a in argv])
    assert code == 2 and "is a folder" in _only_error_line(capsys.readouterr().err)


def test_report_cannot_overwrite_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rtl = tmp_path / "r.jsonl"
    rtl.write_bytes((GOLDEN / "two_tiles_rtl.jsonl").read_bytes())
    code = main(["report", str(GOLDEN / "two_tiles_tlm.jsonl"), str(rtl), "-o", str(rtl)])
    assert code == 2 and "input file of RTL" in _only_error_line(capsys.readouterr().err)
    assert rtl.read_bytes() == (GOLDEN / "two_tiles_rtl.jsonl").read_bytes()


def test_sigterm_during_a_cli_run_exits_cleanly(tmp_path: Path) -> None:
    """SIGTERM inside the simulation kernel: exit 143, one line, a valid incomplete trace, no temps."""
    t = tmp_path / "t.jsonl"
    t.write_text("old")
    proc = subprocess.Popen([sys.executable, "-m", "tlm.cli", "sim", "-w", "builtin:dilated_vgg",
                             "--timing-only", "--no-progress", "--trace", str(t), "--vcd", str(tmp_path / "t.vcd")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(600):  # until the outputs are open and recording
        temps = list(tmp_path.glob(".t.jsonl.*.tmp"))
        if temps and temps[0].stat().st_size > 100_000:
            break
        assert proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.decode().strip() == "terminated by SIGTERM"
    trace = read_trace(t)
    assert not trace.complete and len(trace) > 0
    assert "run cut short" in (tmp_path / "t.vcd").read_text().splitlines()[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl", "t.vcd"]
