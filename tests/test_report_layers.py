"""Per-layer comparison in `compare` and `report`, and the whole-run timeline."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tlm.arch import Arch
from tlm.cli import main
from tlm.compare import plots
from tlm.trace import write_trace

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _images(html: str) -> dict[str, bytes]:
    return {alt: base64.b64decode(data) for alt, data in
            re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A TLM trace of a layered workload and an 'RTL' one whose layer 1 tiles end later."""
    d = tmp_path_factory.mktemp("pair")
    tlm = d / "tlm.jsonl"
    assert main(["sim", "-w", "builtin:gemm_small", "-t", str(tlm), "--json"]) == 0
    lines = tlm.read_text().splitlines()
    header = json.loads(lines[0])
    header["source"] = "rtl"
    out = [json.dumps(header)]
    for line in lines[1:]:
        r = json.loads(line)
        if r.get("op") == "tile" and r["layer"] == 1:
            r["end"] += 30  # layer 1 slower in the "RTL"
        if r.get("end") is True:
            r["cycles"] += 30
        out.append(json.dumps(r))
    rtl = d / "rtl.jsonl"
    rtl.write_text("\n".join(out) + "\n")
    return tlm, rtl


def test_compare_reports_cycles_per_layer(pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    tlm, rtl = pair
    assert main(["compare", str(tlm), str(rtl), "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    layers = c["layers"]
    assert [x["name"] for x in layers] == ["fc1", "fc2", "fc3"]
    assert sum(x["cycles_tlm"] for x in layers) == c["cycles_tlm"]
    assert sum(x["cycles_rtl"] for x in layers) == c["cycles_rtl"]
    for x in layers:
        assert x["error"] == pytest.approx(abs(x["cycles_tlm"] - x["cycles_rtl"]) / x["cycles_rtl"], abs=1e-6)
    assert layers[1]["error"] > 0
    assert main(["compare", str(tlm), str(rtl)]) == 0
    text = capsys.readouterr().out
    assert "cycles per layer" in text and "fc2" in text


def test_report_has_the_layer_chart_and_a_whole_run_timeline(pair: tuple[Path, Path], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The layers section has its table and bar chart; the timeline reaches the last record."""
    monkeypatch.setattr(plots, "GANTT_MAX_RECORDS", 20)  # the detailed Gantt shows only the start
    tlm, rtl = pair
    out = tmp_path / "r.html"
    assert main(["report", str(tlm), str(rtl), "-o", str(out)]) == 0
    html = out.read_text()
    assert 'id="layers"' in html
    images = _images(html)
    assert images["cycles per layer"].startswith(PNG_MAGIC)
    assert images["whole-run timelines"].startswith(PNG_MAGIC)
    section = html[html.index('id="layers"'):html.index('id="timelines"')]
    for name in ("fc1", "fc2", "fc3"):
        assert f"<td>{name}</td>" in section
    last = max(json.loads(x)["end"] for x in rtl.read_text().splitlines()[1:] if '"op"' in x)
    cycles = json.loads(rtl.read_text().splitlines()[-1])["cycles"]
    assert f"The whole run: cycles 0 to {max(last, cycles)}," in html
    assert "The first" in html  # the detail view is cut, the whole-run one is not


def test_activity_covers_each_interval_once() -> None:
    """Binned coverage adds up to the intervals' lengths, whatever the bins."""
    rng = np.random.default_rng(3)
    start = rng.integers(0, 1000, 200)
    end = start + rng.integers(0, 50, 200)
    for bins in (1, 7, 300):
        edges = np.linspace(0, 1100, bins + 1)
        got = plots.covered(start, end, edges)
        assert got.sum() == pytest.approx(float((end - start).sum()))
        assert (got >= -1e-9).all()
    edges = np.array([0.0, 10.0, 20.0])
    assert plots.covered(np.array([5]), np.array([15]), edges).tolist() == [5.0, 5.0]


def test_report_without_layers_says_so(tmp_path: Path) -> None:
    recs = [("compute", k, 10 * k, 10 * k + 8, {"engine": k % 2}) for k in range(4)]
    for name, source in (("t", "tlm"), ("r", "rtl")):
        write_trace(tmp_path / f"{name}.jsonl", recs, source=source, workload="w", arch=Arch(),
                    footer={"cycles": 40, "tiles": 4, "functional": "pass"})
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "t.jsonl"), str(tmp_path / "r.jsonl"), "-o", str(out)]) == 0
    html = out.read_text()
    assert "The traces name no layers" in html and "cycles per layer" not in _images(html)
    assert "The whole run: cycles 0 to 40," in html


def test_hostile_layer_names_in_the_report(tmp_path: Path) -> None:
    """Layer names are data: escaped in HTML, plain text in the chart, printable in text."""
    names = ["<script>x</script>", "$\\frac{a", "\ud800bad"]
    recs = [("tile", k, 10 * k, 10 * k + 8, {"engine": 0, "layer": k}) for k in range(3)]
    layers = [{"name": n, "op": "gemm"} for n in names]
    for name, source in (("t", "tlm"), ("r", "rtl")):
        write_trace(tmp_path / f"{name}.jsonl", recs, source=source, workload="w", arch=Arch(),
                    footer={"cycles": 30, "tiles": 3, "functional": "pass"}, layers=layers)
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "t.jsonl"), str(tmp_path / "r.jsonl"), "-o", str(out)]) == 0
    html = out.read_text()
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert main(["compare", str(tmp_path / "t.jsonl"), str(tmp_path / "r.jsonl")]) == 0


def test_engine_time_from_a_trace_equals_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report's engine split (from the trace) is the one `sim --json` prints."""
    from tlm.compare.layers import engine_time
    from tlm.trace.reader import read_trace

    trace = tmp_path / "t.jsonl"
    assert main(["sim", "-w", "builtin:dilated_vgg_small", "-t", str(trace), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert engine_time(read_trace(trace)) == s["engine_time"]
    part = tmp_path / "p.jsonl"
    assert main(["sim", "-w", "builtin:dilated_vgg_small", "-t", str(part), "--trace-window", ":100"]) == 0
    assert engine_time(read_trace(part)) is None  # a filtered trace cannot say


def test_report_shows_the_engine_split(pair: tuple[Path, Path], tmp_path: Path) -> None:
    from tlm.compare.layers import engine_time
    from tlm.trace.reader import read_trace

    tlm, rtl = pair
    out = tmp_path / "r.html"
    assert main(["report", str(tlm), str(rtl), "-o", str(out)]) == 0
    html = out.read_text()
    section = html[html.index('id="engines"'):html.index('id="timelines"')]
    a, b = engine_time(read_trace(tlm)), engine_time(read_trace(rtl))
    assert a is not None and b is not None
    assert f"<td>{a[0]['compute']} / {b[0]['compute']}</td>" in section
    assert f"<td>{a[1]['idle']} / {b[1]['idle']}</td>" in section
