"""`tlmsim report`: one self-contained HTML page, or Markdown on stdout."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from tlm.arch import Arch
from tlm.cli import main
from tlm.compare import plots
from tlm.compare.report import SECTIONS
from tlm.trace import write_trace

GOLDEN = Path(__file__).resolve().parent.parent / "traces" / "golden"
TLM = str(GOLDEN / "two_tiles_tlm.jsonl")
RTL = str(GOLDEN / "two_tiles_rtl.jsonl")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_html_has_sections_and_embedded_images(tmp_path: Path) -> None:
    """The page has every section, five embedded PNGs and no external references."""
    out = tmp_path / "report.html"
    assert main(["report", TLM, RTL, "-o", str(out)]) == 0
    html = out.read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in html
    images = _images(html)
    assert len(images) == 5 and all(img.startswith(PNG_MAGIC) for img in images)
    assert "99.000%" in html and "golden_two_tiles" in html
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left


def test_html_is_deterministic(tmp_path: Path) -> None:
    """Same traces, same report bytes."""
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    assert main(["report", TLM, RTL, "-o", str(a)]) == 0
    assert main(["report", TLM, RTL, "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_speedup_and_gantt_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Footer sim_s gives the speed-up row; a long run shows only its start in the Gantt."""
    monkeypatch.setattr(plots, "GANTT_MAX_RECORDS", 10)
    recs = [("compute", k, 10 * k, 10 * k + 8, {"engine": k % 2}) for k in range(40)]
    for name, source, sim_s in (("t", "tlm", 0.25), ("r", "rtl", 5.0)):
        write_trace(tmp_path / f"{name}.jsonl", recs, source=source, workload="w", arch=Arch(),
                    footer={"cycles": 400, "tiles": 40, "functional": "pass", "sim_s": sim_s})
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "t.jsonl"), str(tmp_path / "r.jsonl"), "-o", str(out)]) == 0
    html = out.read_text()
    assert "20.0x" in html and "The first 100 cycles are shown" in html


def test_markdown_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """--format md prints a Markdown summary instead of writing HTML."""
    assert main(["report", TLM, RTL, "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("## TLM vs RTL: golden_two_tiles")
    assert "| accuracy | 99.000% |" in md and "### Worst mismatches" in md


def test_bad_inputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No -o for HTML, an unwritable output, or a bad trace: exit 2 with one line."""
    assert main(["report", TLM, RTL]) == 2
    assert capsys.readouterr().err.startswith("error: -o: value: an HTML report needs an output file")
    target = tmp_path / "missing" / "r.html"
    assert main(["report", TLM, RTL, "-o", str(target)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {target}: -o: folder ")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "nope"}\n')
    assert main(["report", TLM, str(bad), "-o", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: line 1: field format: unknown format 'nope'")
