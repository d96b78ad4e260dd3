"""`[array] dataflow`: the arch key, the weight-stationary tiling and its TLM timing.

docs/microarch.md, "Weight-stationary dataflow": a WS tile is m <= tile_rows
streamed rows x n <= C columns x k <= kmax (whole R-row folds), computed in
ceil(k/R) folds of 2R + C + m - 2 cycles. Outputs must equal numpy exactly.
The RTL half is testbenches/test_ws_*.py and testbenches/test_mac_array_ws.py.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlm.arch import Arch, arch_from_dict, arch_to_toml, load_arch
from tlm.blocks import simulate
from tlm.errors import InputError
from tlm.workload import compile_workload
from tlm.workload.reference import run_program_functionally

WS = {"array": {"dataflow": "ws"}}


class Recorder:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
        self.records.append({"op": op, "tile": tile, "start": start, "end": end, **extra})

    def occupancy(self, time: int, value: int) -> None:
        pass


def ws_fold_cycles(rows: int, cols: int, m: int, k: int) -> int:
    return -(-k // rows) * (2 * rows + cols + m - 2)


def test_default_is_output_stationary_and_unchanged():
    a = Arch()
    assert a.array.dataflow == "os"
    assert a.tile_rows == a.array.rows == 4
    assert a.kmax == (65536 - 64) // 8
    assert a.spad_b_base == 4 * a.kmax and a.spad_c_base == 8 * a.kmax
    assert a.rtl_parameters()["DATAFLOW"] == 0 and a.rtl_parameters()["TILE_ROWS"] == 4


@pytest.mark.parametrize("rows,cols,spad,kmax,tile_rows", [
    (4, 4, 65536, 2044, 27),       # OS kmax 8184 -> 511 folds of 4
    (32, 32, 65536, 224, 165),     # OS kmax 960 -> 7 folds of 32
    (8, 2, 200, 8, 11),            # OS kmax (200-64)/10 = 13 < 4R: one fold
    (8, 8, 300, 2, 8),             # OS kmax (300-256)/16 = 2 < R: the OS lane, tile_rows >= R
])
def test_ws_layout(rows, cols, spad, kmax, tile_rows):
    a = arch_from_dict({"array": {"rows": rows, "cols": cols, "dataflow": "ws"},
                        "scratchpad": {"bytes": spad}})
    assert (a.kmax, a.tile_rows) == (kmax, tile_rows)
    assert a.tile_rows >= rows
    assert a.spad_buffer_bytes <= spad
    assert a.spad_b_base == tile_rows * kmax and a.spad_c_base == (tile_rows + cols) * kmax
    assert a.rtl_parameters()["DATAFLOW"] == 1 and a.rtl_parameters()["TILE_ROWS"] == tile_rows


def test_key_round_trips_through_toml(tmp_path):
    arch = arch_from_dict(WS)
    path = tmp_path / "a.toml"
    path.write_text(arch_to_toml(arch))
    assert load_arch(path) == arch


@pytest.mark.parametrize("value,what", [
    ("is", "unknown dataflow 'is' (known: os, ws)"),
    ("WS", "unknown dataflow"),
    (1, "must be a string, got"),
])
def test_bad_values_are_input_errors(value, what):
    with pytest.raises(InputError) as e:
        arch_from_dict({"array": {"dataflow": value}}, "a.toml")
    assert e.value.where == "[array] dataflow" and what in str(e.value)


def test_cli_refuses_an_unknown_dataflow_with_one_line(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('[array]\ndataflow = "rs"\n')
    p = subprocess.run([sys.executable, "-m", "tlm.cli", "sim", "-w", "builtin:gemm_small", "-a", str(path),
                        "--no-progress"], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"error: {path}: [array] dataflow: unknown dataflow 'rs' (known: os, ws)"]


def test_sweep_spec_accepts_the_dataflow_axis():
    from tlm.dse.spec import parse_spec

    spec = parse_spec({"workloads": ["builtin:gemm_small"], "axes": {"array.dataflow": ["os", "ws"]}}, "s.toml")
    assert spec.axes["array.dataflow"] == ("os", "ws")
    with pytest.raises(InputError) as e:
        parse_spec({"workloads": ["builtin:gemm_small"], "axes": {"array.dataflow": ["os", "xs"]}}, "s.toml")
    assert "unknown dataflow 'xs'" in str(e.value)


def test_ws_retiles_layers_into_streamed_row_groups():
    os_arch, ws_arch = Arch(), arch_from_dict(WS)
    work = {"format": "tlm-workload/1", "name": "g", "seed": 1, "layers": [
        {"name": "fc", "op": "gemm", "M": 60, "N": 6, "K": 4100}]}
    p_os = compile_workload(work, os_arch, functional=False)
    p_ws = compile_workload(work, ws_arch, functional=False)
    assert p_os.info["layers"][0]["m_groups"] == 15
    lay = p_ws.info["layers"][0]
    assert lay["m_groups"] == 3 and lay["k_chunks"] == 3  # 27-row groups, K in chunks <= 2044
    assert int(p_ws.m.max()) == 27 and int(p_ws.k.max()) <= ws_arch.kmax
    assert p_ws.info["macs"] == p_os.info["macs"] == 60 * 6 * 4100


def test_ws_compute_records_follow_the_fold_formula():
    arch = arch_from_dict({"array": {"engines": 1, "rows": 3, "cols": 2, "dataflow": "ws"}})
    tiles = [{"id": i, "m": m, "n": n, "k": k} for i, (m, n, k) in
             enumerate([(1, 1, 1), (3, 2, 3), (4, 2, 4), (arch.tile_rows, 1, 7), (2, 2, arch.kmax)])]
    work = {"format": "tlm-workload/1", "name": "t", "seed": 0, "tiles": tiles}
    rec = Recorder()
    result = simulate(compile_workload(work, arch), arch, trace=rec)
    assert result.functional == "pass"
    comp = {r["tile"]: r["end"] - r["start"] for r in rec.records if r["op"] == "compute"}
    assert comp == {t["id"]: ws_fold_cycles(3, 2, t["m"], t["k"]) for t in tiles}
    stores = {r["tile"]: r for r in rec.records if r["op"] == "store_c"}
    ends = {r["tile"]: r["end"] for r in rec.records if r["op"] == "compute"}
    # the drain reads tile_rows accumulator rows (uncalibrated: no extra cycle)
    assert all(stores[t]["grant"] - ends[t] == arch.tile_rows for t in comp)


def test_tiles_form_checks_m_against_tile_rows():
    arch = arch_from_dict(WS)
    work = {"format": "tlm-workload/1", "name": "t", "seed": 0,
            "tiles": [{"id": 0, "m": arch.tile_rows + 1, "n": 1, "k": 1}]}
    with pytest.raises(InputError) as e:
        compile_workload(work, arch)
    assert e.value.where == "tiles[0].m"
    assert e.value.what == f"{arch.tile_rows + 1} exceeds the 27 rows a weight-stationary tile holds (tile_rows)"
    work["tiles"][0]["m"] = arch.tile_rows
    assert simulate(compile_workload(work, arch), arch).functional == "pass"


@st.composite
def layer_cases(draw: Any) -> tuple[Arch, dict[str, Any]]:
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    arch = arch_from_dict({
        "array": {"engines": draw(st.integers(1, 3)), "rows": rows, "cols": cols, "dataflow": "ws"},
        "scratchpad": {"bytes": draw(st.integers(600, 3000))},
        "engine": {"double_buffer": draw(st.booleans())},
        "dma": {"bus_bytes": draw(st.sampled_from([1, 8, 32]))},
        "memory": {"latency_cycles": draw(st.integers(1, 9))},
    })
    size = draw(st.integers(3, 9))
    cin, mid = draw(st.integers(1, 6)), draw(st.integers(1, 9))
    layers = [{"name": "c1", "op": "conv2d", "in_channels": cin, "out_channels": mid, "height": size,
               "width": size, "kernel": draw(st.sampled_from([1, 3])), "stride": draw(st.integers(1, 2)),
               "padding": 1, "dilation": 1, "shift": draw(st.integers(0, 7))}]
    if draw(st.booleans()):
        layers.append({"name": "fc", "op": "gemm", "M": draw(st.integers(1, 40)),
                       "N": draw(st.integers(1, 12)), "K": draw(st.integers(1, 400)), "fresh_input": True})
    return arch, {"format": "tlm-workload/1", "name": "w", "seed": draw(st.integers(0, 99)), "layers": layers}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=layer_cases())
def test_random_layers_equal_numpy_in_ws(case):
    arch, work = case
    program = compile_workload(work, arch)
    assert int(program.m.max()) <= arch.tile_rows and int(program.k.max()) <= arch.kmax
    result = simulate(program, arch)
    assert result.functional == "pass", result.mismatches
    ref = run_program_functionally(program, arch)
    for name, want in program.expected.items():
        assert np.array_equal(ref[name], want)
    timing = simulate(compile_workload(work, arch, functional=False), arch, functional=False)
    assert timing.cycles == result.cycles


@st.composite
def tile_cases(draw: Any) -> tuple[Arch, dict[str, Any]]:
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    arch = arch_from_dict({"array": {"engines": draw(st.integers(1, 3)), "rows": rows, "cols": cols,
                                     "dataflow": "ws"},
                           "scratchpad": {"bytes": draw(st.integers(400, 2000))},
                           "scheduler": {"table_depth": draw(st.integers(1, 6))}})
    tiles = []
    for i in range(draw(st.integers(1, 12))):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        tiles.append({"id": i, "m": draw(st.integers(1, arch.tile_rows)), "n": draw(st.integers(1, cols)),
                      "k": draw(st.integers(1, arch.kmax)), "deps": deps})
    return arch, {"format": "tlm-workload/1", "name": "dag", "seed": draw(st.integers(0, 99)), "tiles": tiles}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=tile_cases())
def test_random_dags_equal_numpy_in_ws(case):
    arch, work = case
    assert simulate(compile_workload(work, arch), arch).functional == "pass"


@pytest.mark.parametrize("name", ["gemm_small", "dilated_vgg_small", "deformable_small", "random_dag"])
def test_builtins_equal_numpy_in_ws(name):
    arch = arch_from_dict(WS)
    assert simulate(compile_workload(f"builtin:{name}", arch), arch).functional == "pass"


def test_ws_runs_are_deterministic(tmp_path):
    from tlm.trace.writer import TraceWriter

    arch = arch_from_dict({**WS, "dma": {"bus_bytes": 32}})
    program = compile_workload("builtin:dilated_vgg_small", arch)
    texts = []
    for i in range(2):
        path = tmp_path / f"t{i}.jsonl"
        with TraceWriter(path, source="tlm", workload=program.name, arch=arch,
                         clock_period_ps=arch.clock.period_ps) as w:
            r = simulate(program, arch, trace=w)
            w.close(r.cycles, r.tiles, r.functional)
        texts.append(path.read_bytes())
    assert texts[0] == texts[1]


def test_rtl_parameters_accept_double_buffered_ws():
    from tlm.rtl.introspect import check_arch

    arch = arch_from_dict({**WS, "engine": {"double_buffer": True}})
    assert (arch.kmax, arch.tile_rows) == (1020, 27)
    values = check_arch(arch, arch.rtl_parameters())
    assert (values["DATAFLOW"], values["TILE_ROWS"], values["DOUBLE_BUFFER"]) == (1, 27, 1)
    assert simulate(compile_workload("builtin:gemm_small", arch), arch).functional == "pass"


def test_contract_checker_knows_the_ws_compute_count():
    from tlm.rtl.contract import contract_violations

    arch = arch_from_dict({"array": {"engines": 1, "dataflow": "ws"}})
    work = {"format": "tlm-workload/1", "name": "t", "seed": 0, "tiles": [{"id": 0, "m": 9, "n": 3, "k": 10}]}
    program = compile_workload(work, arch)
    rec = Recorder()
    simulate(program, arch, trace=rec)
    assert contract_violations(rec.records, program, arch) == []
    for r in rec.records:
        if r["op"] == "compute":
            r["end"] += 1
    assert any("ceil(k/R)(2R + C + m - 2) = 57" in v for v in contract_violations(rec.records, program, arch))


def test_ksplit_advice_holds_in_ws():
    from tlm.workload.ksplit import spad_bytes_for

    for rows, cols, k in ((4, 4, 40), (32, 32, 4608), (3, 5, 1000)):
        arch = arch_from_dict({"array": {"rows": rows, "cols": cols, "dataflow": "ws"}})
        need = spad_bytes_for(arch, k)
        assert arch_from_dict({"array": {"rows": rows, "cols": cols, "dataflow": "ws"},
                               "scratchpad": {"bytes": need}}).kmax >= k


def test_calibration_measures_the_ws_drain_over_tile_rows():
    """Step 1 reads drain_extra_cycles from WS traces, whose drain is tile_rows long."""
    from tlm.arch import Timing
    from tlm.calibrate.fit import FitCase, measure
    from tlm.calibrate.runs import StandInReference
    from tlm.workload.calibration import calibration_set

    hidden = dict(dma_grant_cycles=2, drain_extra_cycles=1, engine_phase_cycles=1)
    ref = StandInReference(hidden)
    cases = []
    for c in calibration_set()[:3]:
        a = arch_from_dict({**c["arch"], "array": {**c["arch"].get("array", {}), "dataflow": "ws"}})
        program = compile_workload(c["workload"], a)
        cases.append(FitCase(c["name"], program, a, ref.run(c["name"], c["workload"], program, a)))
    v = measure(cases, Timing()).values
    assert (v["dma_grant_cycles"], v["drain_extra_cycles"]) == (2, 1)
