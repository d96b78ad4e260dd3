"""tlm.api.simulate, the [cost] arch section and the area/energy estimates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.api import Result, resolve_arch, simulate, workload_digest
from tlm.arch import Arch, arch_from_dict, load_arch
from tlm.cli import main
from tlm.cost import area_mm2, energy_uj
from tlm.errors import InputError
from tlm.workload import load_workload

VOLATILE = ("sim_s", "cycles_per_s", "wall_s")


def test_api_result_has_the_fields_of_sim_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "-w", "builtin:gemm_small", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    r = simulate("builtin:gemm_small")
    api = r.to_json()
    assert set(cli) <= set(api)
    for k in cli:
        if k not in VOLATILE:
            assert api[k] == cli[k], k
    assert r.cycles == cli["cycles"] and r.area == cli["area"] and r.functional == "pass"
    assert json.loads(json.dumps(api)) == api


def test_arch_sources_agree(tmp_path: Path) -> None:
    f = tmp_path / "a.toml"
    f.write_text("[array]\nrows = 8\n")
    by_dict = simulate("builtin:gemm_small", {"array": {"rows": 8}}, timing_only=True)
    by_path = simulate("builtin:gemm_small", str(f), timing_only=True)
    by_arch = simulate(load_workload("builtin:gemm_small"), resolve_arch(f), timing_only=True)
    assert by_dict.cycles == by_path.cycles == by_arch.cycles
    assert by_dict.arch.array.rows == 8 and by_dict.functional == "skipped"
    assert by_dict.cycles != simulate("builtin:gemm_small", timing_only=True).cycles


def test_layers_add_up_to_the_run() -> None:
    r = simulate("builtin:dilated_vgg_small", timing_only=True)
    assert [lay["name"] for lay in r.layers] == ["conv1", "conv2", "conv3"]
    assert sum(lay["cycles"] for lay in r.layers) == r.cycles
    assert sum(lay["incr"] for lay in r.layers) == r.cycles
    assert sum(lay["macs"] for lay in r.layers) == r.macs
    assert all(0 <= lay["start"] < lay["end"] <= r.cycles for lay in r.layers)


def test_bad_input_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown section"):
        simulate("builtin:gemm_small", {"arry": {"rows": 8}})
    with pytest.raises(InputError):
        simulate("builtin:nope")
    with pytest.raises(AttributeError):
        Result(summary={}, arch=Arch()).cycles  # noqa: B018


def test_workload_digest_is_content_based(tmp_path: Path) -> None:
    f = tmp_path / "w.json"
    f.write_text(json.dumps(load_workload("builtin:gemm_small"), indent=3))
    assert workload_digest(str(f)) == workload_digest("builtin:gemm_small")
    assert workload_digest("builtin:gemm_small") != workload_digest("builtin:dilated_vgg_small")


def test_cost_keys_accept_floats_and_reject_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = arch_from_dict({"cost": {"mac_energy_pj": 1, "sram_area_um2_per_byte": 2.5}})
    assert a.cost.mac_energy_pj == 1.0 and isinstance(a.cost.mac_energy_pj, float)
    assert "cost" not in a.hardware_dict()
    for bad in ("true", '"x"', "-1.0", "nan", "inf"):
        f = tmp_path / "a.toml"
        f.write_text(f"[cost]\nmac_energy_pj = {bad}\n")
        with pytest.raises(InputError, match=r"\[cost\] mac_energy_pj"):
            load_arch(f)
        assert main(["sim", "-w", "builtin:gemm_small", "--arch", str(f)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "[cost] mac_energy_pj: must be a number" in err


def test_estimates_follow_the_cost_formula() -> None:
    r = simulate("builtin:gemm_small", {"array": {"engines": 3}}, timing_only=True)
    c = r.arch.cost
    area = 3 * (16 * c.mac_area_um2 + 65536 * c.sram_area_um2_per_byte + 4 * c.vector_area_um2_per_lane) / 1e6
    assert r.area == pytest.approx(area, abs=1e-5)
    assert r.cost["estimate"] is True
    e = r.cost["energy_uj"]
    assert e["mac"] == pytest.approx(r.macs * 0.3e-6, abs=1e-6)
    assert e["dram"] == pytest.approx(r.dram_bytes * 160e-6, abs=1e-6)
    assert r.energy == pytest.approx(sum(v for k, v in e.items() if k != "total"), abs=1e-5)


@settings(max_examples=40, deadline=None)
@given(engines=st.integers(1, 8), rows=st.integers(1, 16), macs=st.integers(0, 10**9),
       dma=st.integers(0, 10**9))
def test_estimates_grow_with_the_hardware_and_the_work(engines: int, rows: int, macs: int, dma: int) -> None:
    a = arch_from_dict({"array": {"engines": engines, "rows": rows}})
    b = arch_from_dict({"array": {"engines": engines + 1, "rows": rows}})
    assert area_mm2(b)["total"] > area_mm2(a)["total"]
    e1 = energy_uj(a, macs=macs, dma_bytes=dma, out_elems=0)["total"]
    e2 = energy_uj(a, macs=macs + 1000, dma_bytes=dma + 1000, out_elems=0)["total"]
    assert e2 > e1 >= 0


def test_sim_start_up_imports_no_dse_dependency() -> None:
    """`tlmsim sim` (and the API) load neither dask, pandas, pyarrow, optuna nor scikit-learn."""
    import subprocess
    import sys

    code = ("import sys; from tlm.cli import main; from tlm.api import simulate; "
            "main(['sim', '-w', 'builtin:gemm_small', '--json']); simulate('builtin:gemm_small'); "
            "heavy = [m for m in ('distributed', 'dask', 'pandas', 'pyarrow', 'optuna', 'sklearn') "
            "if m in sys.modules]; print(heavy, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip().splitlines()[-1] == "[]"
