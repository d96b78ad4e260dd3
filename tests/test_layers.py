"""The per-layer view: layer keys in traces, per-layer figures, engine time split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.blocks import simulate
from tlm.blocks.profile import share_cycles
from tlm.cli import main
from tlm.cli.common import resolve_arch
from tlm.trace.reader import read_trace
from tlm.workload import compile_workload
from tlm.workload.builtins import builtin

LAYERED = ("builtin:gemm_small", "builtin:dilated_vgg_small", "builtin:deformable_small")


def chain(n: int, name: str = "chain") -> dict[str, Any]:
    """`n` small gemm layers in a chain (K of each = N of the one before)."""
    layers = [{"name": f"fc{i}", "op": "gemm", "M": 4, "N": 4 + 4 * (i % 3),
               "K": 8 if i == 0 else 4 + 4 * ((i - 1) % 3)} for i in range(n)]
    return {"format": "tlm-workload/1", "name": name, "seed": 1, "layers": layers}


def shape_macs(layer: dict[str, Any]) -> int:
    """MACs of a layer from its shape alone (no tiling): M*N*K, or the conv's loops."""
    if layer["op"] == "gemm":
        return layer["M"] * layer["N"] * layer["K"]
    k, d, s, p = layer["kernel"], layer.get("dilation", 1), layer.get("stride", 1), layer.get("padding", 0)
    out_h = (layer["height"] + 2 * p - d * (k - 1) - 1) // s + 1
    out_w = (layer["width"] + 2 * p - d * (k - 1) - 1) // s + 1
    return out_h * out_w * layer["out_channels"] * k * k * layer["in_channels"]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["sim", *argv, "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


# ------------------------------------------------------------- per-layer figures

@pytest.mark.parametrize("name", LAYERED)
def test_layers_cover_the_run_and_count_real_macs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Layers' cycles sum to the run; MACs per layer equal the shapes' count."""
    s = run_json(capsys, "-w", name, "--timing-only")
    spec = builtin(name.split(":")[1])
    assert spec is not None
    layers = s["layers"]
    assert [x["name"] for x in layers] == [x["name"] for x in spec["layers"]]
    assert [x["index"] for x in layers] == list(range(len(layers)))
    assert sum(x["cycles"] for x in layers) == s["cycles"]
    assert [x["macs"] for x in layers] == [shape_macs(x) for x in spec["layers"]]
    assert s["macs"] == sum(shape_macs(x) for x in spec["layers"])
    assert abs(sum(x["share"] for x in layers) - 1) < 1e-3
    for x in layers:
        assert 0 <= x["start"] < x["end"] <= s["cycles"]
        assert 0 < x["mac_utilisation"] <= 1
        assert x["bound"] in ("compute", "memory")
        e = x["engine_cycles"]
        assert x["bound"] == ("memory" if e["load"] + e["store"] > e["compute"] else "compute")
        for key in ("op", "tiles", "dma_bytes"):
            assert key in x
    # Layers run in order: each starts no earlier than the one before.
    assert [x["start"] for x in layers] == sorted(x["start"] for x in layers)


def test_dma_bytes_per_layer_add_up(capsys: pytest.CaptureFixture[str]) -> None:
    s = run_json(capsys, "-w", "builtin:dilated_vgg_small", "--timing-only")
    assert sum(x["dma_bytes"] for x in s["layers"]) == s["dma_bytes"]


def test_tiles_form_has_no_layers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A tiles-form workload: `layers` is empty, records and header carry no layer."""
    trace = tmp_path / "t.jsonl"
    s = run_json(capsys, "-w", "builtin:random_dag", "-t", str(trace))
    assert s["layers"] == [] and s["macs"] > 0
    t = read_trace(trace)
    assert "layers" not in t.header
    assert all("layer" not in (a.dtype.names or ()) for a in t.ops.values())


# ------------------------------------------------------------------ engine time

@pytest.mark.parametrize("name", ["builtin:dilated_vgg_small", "builtin:random_dag"])
def test_engine_split_sums_to_cycles_and_matches_the_trace(name: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """compute + load + store + idle = cycles per engine; each part recomputed from the trace."""
    trace = tmp_path / "t.jsonl"
    s = run_json(capsys, "-w", name, "-t", str(trace))
    t = read_trace(trace)
    tile, comp = t.ops["tile"], t.ops["compute"]
    assert (tile["tile"] == comp["tile"]).all()  # both sorted by tile
    for e, split in enumerate(s["engine_time"]):
        assert sorted(split) == ["compute", "idle", "load", "store"]
        assert all(v >= 0 for v in split.values())
        assert sum(split.values()) == s["cycles"]
        on = tile["engine"] == e
        assert split["compute"] == int((comp["end"] - comp["start"])[on].sum())
        assert split["load"] == int((comp["start"] - tile["start"])[on].sum())
        assert split["store"] == int((tile["end"] - comp["end"])[on].sum())
        assert split["idle"] == s["cycles"] - int((tile["end"] - tile["start"])[on].sum())


def test_human_summary_has_engine_time_and_layer_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "-w", "builtin:dilated_vgg_small", "--timing-only"]) == 0
    out = capsys.readouterr().out
    assert "engine time   compute   load  store   idle" in out
    for word in ("MAC util", "DMA bytes", "bound", "conv1", "conv2", "conv3"):
        assert word in out


def test_long_network_shows_the_slowest_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """More layers than the table holds: the slowest are listed and the rest counted."""
    w = tmp_path / "w.json"
    w.write_text(json.dumps(chain(15)))
    assert main(["sim", "-w", str(w), "--timing-only", "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)["layers"]
    assert main(["sim", "-w", str(w), "--timing-only"]) == 0
    out = capsys.readouterr().out
    assert "layers        15, the 11 slowest shown" in out
    slow = sorted(layers, key=lambda x: (-x["cycles"], x["index"]))
    rest = sum(x["cycles"] for x in slow[11:])
    assert f"... 4 more layers: {rest:,} cycles" in out
    listed = [line.split()[1] for line in out.splitlines() if line.strip().startswith(tuple("0123456789"))
              and len(line.split()) > 3 and line.split()[1].startswith("fc")]
    assert sorted(listed) == sorted(x["name"] for x in slow[:11])


# ------------------------------------------------------------- layer keys in traces

def test_every_record_carries_its_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each record's `layer` is the layer of its tile; the header names the layers."""
    trace = tmp_path / "t.jsonl"
    s = run_json(capsys, "-w", "builtin:gemm_small", "-t", str(trace))
    t = read_trace(trace)
    assert t.header["layers"] == [{"name": x["name"], "op": x["op"]} for x in s["layers"]]
    arch = resolve_arch(None)
    program = compile_workload("builtin:gemm_small", arch)
    layer_of = dict(zip(program.tile_id.tolist(), program.layer.tolist()))
    for op, a in t.ops.items():
        assert "layer" in (a.dtype.names or ()), op
        assert a["layer"].tolist() == [layer_of[x] for x in a["tile"].tolist()], op


def test_layers_from_the_trace_equal_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """compare's per-layer cycles, from the trace, are the ones `sim` prints."""
    from tlm.compare.layers import compare_layers

    trace = tmp_path / "t.jsonl"
    s = run_json(capsys, "-w", "builtin:dilated_vgg_small", "-t", str(trace))
    t = read_trace(trace)
    rows, warnings = compare_layers(t, t)
    assert warnings == []
    assert [r.cycles_tlm for r in rows] == [x["cycles"] for x in s["layers"]]
    assert [(r.start_tlm, r.end_tlm) for r in rows] == [(x["start"], x["end"]) for x in s["layers"]]


def test_layer_tagging_keeps_the_timing(capsys: pytest.CaptureFixture[str]) -> None:
    """Tracing (which tags layers) or not, the run is the same."""
    arch = resolve_arch(None)
    program = compile_workload("builtin:dilated_vgg_small", arch, functional=False)
    plain = simulate(program, arch, functional=False)

    class Keep:
        def __init__(self) -> None:
            self.n = 0

        def record(self, op: str, tile: int, start: int, end: int, **extra: Any) -> None:
            assert "layer" in extra
            self.n += 1

        def occupancy(self, time: int, value: int) -> None:
            pass

    keep = Keep()
    traced = simulate(program, arch, functional=False, trace=keep)
    assert keep.n > 0
    assert (plain.cycles, plain.engine_time, plain.layers) == (traced.cycles, traced.engine_time,
                                                               traced.layers)


# ------------------------------------------------------------- share_cycles

@settings(max_examples=150, deadline=None)
@given(data=st.data(), engines=st.integers(1, 4), groups=st.integers(1, 5))
def test_shared_cycles_sum_to_the_total(data: st.DataObject, engines: int, groups: int) -> None:
    """Per group >= busy/engines (less rounding), all groups sum to the total."""
    n = data.draw(st.integers(0, 30))
    # Intervals laid on `engines` lanes without overlap within a lane.
    start, end, group = [], [], []
    for lane in range(engines):
        t = data.draw(st.integers(0, 20))
        for _ in range(n // engines):
            d = data.draw(st.integers(1, 30))
            start.append(t)
            end.append(t + d)
            group.append(data.draw(st.integers(0, groups - 1)))
            t += d + data.draw(st.integers(0, 10))
    total = max(end, default=0) + data.draw(st.integers(0, 10))
    s, e, g = (np.array(v, dtype=np.int64) for v in (start, end, group))
    out = share_cycles(s, e, g, groups, total)
    if not start:
        assert out.tolist() == [0] * groups
        return
    assert int(out.sum()) == total and (out >= 0).all()
    busy = np.bincount(g, weights=e - s, minlength=groups)
    assert (out * engines >= busy - engines).all()
    if groups == 1:
        assert out.tolist() == [total]


def test_shared_cycles_by_hand() -> None:
    """Two engines: [0,10) layer 0 alone, [10,20) both, [20,30) idle -> next starter (1)."""
    s = np.array([0, 10, 30])
    e = np.array([20, 20, 40])
    g = np.array([0, 1, 1])
    # 0..10: layer 0; 10..20: 5 + 5; 20..30: idle, next tile is layer 1; 30..40: layer 1
    assert share_cycles(s, e, g, 2, 40).tolist() == [15, 25]
    # Tail after the last tile goes to the layer that ended last.
    assert share_cycles(s, e, g, 2, 45).tolist() == [15, 30]


# ------------------------------------------------------------------ RTL traces

def test_rtl_trace_carries_the_same_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The RTL's records carry the TLM's layer keys; per-layer cycles agree exactly."""
    w = tmp_path / "w.json"
    w.write_text(json.dumps(chain(2, "two_layers")))
    tlm, rtl = tmp_path / "tlm.jsonl", tmp_path / "rtl.jsonl"
    assert main(["sim", "-w", str(w), "-t", str(tlm), "--json"]) == 0
    assert main(["rtl", "-w", str(w), "-t", str(rtl), "--no-progress", "--json"]) == 0
    capsys.readouterr()
    a, b = read_trace(tlm), read_trace(rtl)
    assert b.header["layers"] == a.header["layers"] == [{"name": "fc0", "op": "gemm"},
                                                        {"name": "fc1", "op": "gemm"}]
    for op, arr in b.ops.items():
        assert arr["layer"].tolist() == a.ops[op]["layer"].tolist(), op
    assert main(["compare", str(tlm), str(rtl), "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert len(c["layers"]) == 2 and all(x["error"] == 0 for x in c["layers"])
    assert [x["cycles_rtl"] for x in c["layers"]] == [x["cycles_tlm"] for x in c["layers"]]
