"""The Icarus/cocotb runner: build cache, failures as exceptions, env, timeout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tlm.errors import CheckFailed
from tlm.rtl.runner import (
    IcarusMissingError,
    RtlBuildError,
    RtlTestFailed,
    RtlTimeout,
    build,
    build_key,
    icarus_available,
    run_test,
)

COUNTER = """
module counter #(parameter W = 8) (input wire clk, input wire rst, output reg [W-1:0] q);
    always @(posedge clk) if (rst) q <= 0; else q <= q + 1'b1;
endmodule
"""

# The cocotb module these tests run; it reads what to expect from the env.
BENCH = '''
import os
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer


@cocotb.test()
async def counts(dut):
    Clock(dut.clk, 10, unit="ns", impl="gpi").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 5)
    assert int(dut.q.value) == int(os.environ["RUNNER_EXPECT"]), f"q = {int(dut.q.value)}"


@cocotb.test(skip=os.environ.get("RUNNER_HANG") != "1")
async def hangs(dut):
    while True:
        await Timer(1, unit="us")
'''


@pytest.fixture
def design(tmp_path: Path) -> tuple[Path, Path, Path]:
    src = tmp_path / "counter.v"
    src.write_text(COUNTER)
    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    (bench_dir / "runner_bench.py").write_text(BENCH)
    return src, bench_dir, tmp_path / "sim_build"


def test_icarus_is_installed() -> None:
    """The RTL flow needs Icarus; its absence fails here rather than skipping."""
    assert icarus_available(), "install Icarus Verilog: apt-get install iverilog"


def test_build_is_cached_by_content(design: tuple[Path, Path, Path]) -> None:
    """Same inputs reuse the build; new parameters or new source text rebuild."""
    src, _, root = design
    h1 = build("counter", [src], {"W": 8}, build_root=root)
    stamp = h1.sim_file.stat().st_mtime_ns
    h2 = build("counter", [src], {"W": 8}, build_root=root)
    assert h2 == h1 and h2.sim_file.stat().st_mtime_ns == stamp
    assert build("counter", [src], {"W": 4}, build_root=root).build_dir != h1.build_dir
    src.write_text(COUNTER + "\n// edited\n")
    assert build_key("counter", [src], {"W": 8}, False) != h1.key


def test_passing_and_failing_runs(design: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass returns the results file; a failure raises RtlTestFailed naming the test.

    The parent environment holds a wrong value: extra_env must win over it.
    """
    src, bench_dir, root = design
    monkeypatch.setenv("RUNNER_EXPECT", "999")
    handle = build("counter", [src], {"W": 8}, build_root=root)
    xml = run_test(handle, "runner_bench", bench_dir, extra_env={"RUNNER_EXPECT": "4"},
                   log_file=root / "pass.log")
    assert xml.is_file()
    assert os.environ["RUNNER_EXPECT"] == "999"  # restored
    with pytest.raises(RtlTestFailed) as info:
        run_test(handle, "runner_bench", bench_dir, extra_env={"RUNNER_EXPECT": "5"},
                 log_file=root / "fail.log")
    assert info.value.failed == ["counts"]
    assert "q = 4" in str(info.value)
    assert isinstance(info.value, CheckFailed)


def test_timeout(design: tuple[Path, Path, Path]) -> None:
    """A simulation past its wall-clock limit raises RtlTimeout."""
    src, bench_dir, root = design
    handle = build("counter", [src], {"W": 8}, build_root=root)
    with pytest.raises(RtlTimeout):
        run_test(handle, "runner_bench", bench_dir, extra_env={"RUNNER_HANG": "1", "RUNNER_EXPECT": "4"},
                 timeout_s=3, log_file=root / "hang.log")


def test_compile_error(tmp_path: Path) -> None:
    """iverilog's complaint is in the exception."""
    src = tmp_path / "bad.v"
    src.write_text("module bad(; endmodule\n")
    with pytest.raises(RtlBuildError, match="syntax error"):
        build("bad", [src], {}, build_root=tmp_path / "sim_build")


def test_missing_icarus(design: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without iverilog/vvp on PATH: one line saying how to install it."""
    src, _, root = design
    monkeypatch.setenv("PATH", str(root))
    assert not icarus_available()
    with pytest.raises(IcarusMissingError, match="apt-get install iverilog"):
        build("counter", [src], {}, build_root=root)
