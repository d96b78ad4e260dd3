"""Weight-stationary MAC array (`rtl/mac_array_ws.v`) against numpy.

The pytest side draws tiles (seeded numpy and hypothesis) for several array
shapes, builds `mac_array_ws` with `tlm.rtl.runner` and runs the cocotb test
below, which plays the engine's part cycle by cycle (docs/microarch.md,
"Weight-stationary dataflow"): weight row q of each fold in fold cycle
q < R, A row s in cycle R + s, and for fold 0 the preloaded partial sum of
the row each column finishes. It checks that `done` comes exactly
ceil(k/R) * (2R + C + m - 2) cycles after `start`, once, and that the drain
shows the TILE_ROWS accumulator rows (the first m equal to numpy's
C0 + A.B, int32 wrap-around) in TILE_ROWS cycles.

Tiles travel through an .npz named by the `+spec` plusarg.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.rtl.runner import RTL_DIR, build, run_test

HERE = Path(__file__).resolve().parent
SOURCES = [RTL_DIR / "mac_array_ws.v"]


def ws_cycles(rows: int, cols: int, m: int, k: int) -> int:
    return -(-k // rows) * (2 * rows + cols + m - 2)


def pack(values: list[int], width: int) -> int:
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & ((1 << width) - 1)) << (width * i)
    return out


try:
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import ReadOnly, RisingEdge
except ImportError:  # pragma: no cover - the runner reports the missing cocotb
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def check_tiles(dut) -> None:  # type: ignore[no-untyped-def]
        spec = np.load(cocotb.plusargs["spec"])
        rows, cols, tile_rows = int(spec["rows"]), int(spec["cols"]), int(spec["tile_rows"])
        cocotb.start_soon(Clock(dut.clk, 10, units="ns").start())
        for sig in (dut.start, dut.k, dut.m, dut.w_we, dut.w_row, dut.w_in, dut.a_in, dut.c_in,
                    dut.drain_start):
            sig.value = 0
        dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(dut.clk)
        dut.rst.value = 0
        for t in range(int(spec["count"])):
            m, n, k = (int(x) for x in spec["shape"][t])
            a = spec[f"a{t}"].astype(np.int64)          # m x k
            b = spec[f"b{t}"].astype(np.int64)          # k x n
            c0 = spec[f"c{t}"].astype(np.int64)         # m x n, zeros when not preloaded
            want = (c0 + a @ b).astype(np.uint64).astype(np.uint32).view(np.int32)
            folds = -(-k // rows)
            length = 2 * rows + cols + m - 2
            total = folds * length
            done_at = []
            for cyc in range(total + 1):
                f, q = divmod(cyc, length)
                k0 = f * rows
                dut.start.value = int(cyc == 0)
                dut.k.value = k
                dut.m.value = m
                w_row = [0] * cols
                a_row = [0] * rows
                c_row = [0] * cols
                if cyc < total and q < rows:
                    if k0 + q < k:
                        w_row[:n] = b[k0 + q].tolist()
                elif cyc < total:
                    s = q - rows
                    if s < m:
                        a_row = [int(a[s, k0 + r]) if k0 + r < k else 0 for r in range(rows)]
                    if f == 0:
                        for j in range(cols):
                            i = s - (rows - 1) - j
                            if 0 <= i < m and j < n:
                                c_row[j] = int(c0[i, j])
                dut.w_we.value = int(cyc < total and q < rows)
                dut.w_row.value = q if q < rows else 0
                dut.w_in.value = pack(w_row, 8)
                dut.a_in.value = pack(a_row, 8)
                dut.c_in.value = pack(c_row, 32)
                await ReadOnly()
                if int(dut.done.value):
                    done_at.append(cyc)
                await RisingEdge(dut.clk)
            dut.start.value = 0
            await ReadOnly()
            if int(dut.done.value):
                done_at.append(total + 1)
            assert done_at == [total], f"tile {t} {m}x{n}x{k}: done in cycles {done_at}, want [{total}]"
            await RisingEdge(dut.clk)
            # drain after a gap
            for _ in range(int(spec["gap"][t])):
                await RisingEdge(dut.clk)
            got = []
            dut.drain_start.value = 1
            for d in range(tile_rows + 1):
                await ReadOnly()
                valid, last = int(dut.drain_valid.value), int(dut.drain_last.value)
                if d < tile_rows:
                    assert valid and last == int(d == tile_rows - 1), f"tile {t}: drain cycle {d}"
                    # rows >= m and columns >= n may hold anything (X before first use)
                    bits = str(dut.drain_row.value)
                    words = [bits[len(bits) - 32 * (j + 1):len(bits) - 32 * j] for j in range(cols)]
                    got.append([int(w, 2) if set(w) <= {"0", "1"} else 0 for w in words])
                else:
                    assert not valid, f"tile {t}: drain longer than {tile_rows} rows"
                await RisingEdge(dut.clk)
                dut.drain_start.value = 0
            res = np.array(got, dtype=np.uint64).astype(np.uint32).view(np.int32)
            assert np.array_equal(res[:m, :n], want), f"tile {t} {m}x{n}x{k}:\n{res[:m, :n]}\nwant\n{want}"


def run_tiles(rows: int, cols: int, tile_rows: int, tiles: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]],
              work: Path) -> None:
    """Build mac_array_ws for this shape and check `tiles` (A, B, C0, drain gap) in one run."""
    work.mkdir(parents=True, exist_ok=True)
    data: dict[str, np.ndarray] = {"rows": np.array(rows), "cols": np.array(cols),
                                   "tile_rows": np.array(tile_rows), "count": np.array(len(tiles)),
                                   "shape": np.array([(a.shape[0], b.shape[1], a.shape[1]) for a, b, _, _ in tiles]),
                                   "gap": np.array([g for *_, g in tiles])}
    for i, (a, b, c0, _) in enumerate(tiles):
        data[f"a{i}"], data[f"b{i}"], data[f"c{i}"] = a, b, c0
    spec = work / "spec.npz"
    np.savez(spec, **data)
    handle = build("mac_array_ws", SOURCES, {"ROWS": rows, "COLS": cols, "TILE_ROWS": tile_rows})
    run_test(handle, "test_mac_array_ws", HERE, plusargs=[f"+spec={spec}"], timeout_s=600,
             log_file=work / "sim.log")


def random_tile(rng: np.random.Generator, rows: int, cols: int, tile_rows: int, kmax: int,
                preload: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    m, n, k = int(rng.integers(1, tile_rows + 1)), int(rng.integers(1, cols + 1)), int(rng.integers(1, kmax + 1))
    a = rng.integers(-128, 128, (m, k), dtype=np.int64).astype(np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int64).astype(np.int8)
    c0 = rng.integers(-2**31, 2**31, (m, n), dtype=np.int64).astype(np.int32) if preload \
        else np.zeros((m, n), dtype=np.int32)
    return a, b, c0, int(rng.integers(0, 3))


SHAPES = [(4, 4, 9), (1, 1, 3), (1, 3, 2), (3, 1, 5), (2, 5, 7), (5, 2, 6)]


@pytest.mark.parametrize("rows,cols,tile_rows", SHAPES, ids=[f"{r}x{c}m{t}" for r, c, t in SHAPES])
def test_random_tiles(rows: int, cols: int, tile_rows: int, tmp_path: Path) -> None:
    """Seeded random tiles: partial m, n; k over several folds; preload or not; extremes."""
    rng = np.random.default_rng(100 * rows + 10 * cols + tile_rows)
    tiles = [random_tile(rng, rows, cols, tile_rows, 3 * rows + 2, bool(i % 2)) for i in range(8)]
    full = np.full((tile_rows, 3 * rows), -128, dtype=np.int8)
    tiles.append((full, np.full((3 * rows, cols), -128, dtype=np.int8),
                  np.full((tile_rows, cols), 2**31 - 1, dtype=np.int32), 0))  # wraps around
    tiles.append((np.ones((1, 1), dtype=np.int8), np.ones((1, 1), dtype=np.int8), np.zeros((1, 1), np.int32), 1))
    run_tiles(rows, cols, tile_rows, tiles, tmp_path)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 4), cols=st.integers(1, 4), extra=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_hypothesis_shapes(rows: int, cols: int, extra: int, seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    tile_rows = rows + extra
    tiles = [random_tile(rng, rows, cols, tile_rows, 2 * rows + 3, bool(rng.integers(0, 2))) for _ in range(4)]
    run_tiles(rows, cols, tile_rows, tiles, tmp_path / f"{rows}x{cols}m{tile_rows}_{seed}")
