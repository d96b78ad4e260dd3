"""`tlmsim calibrate` against the RTL on the smallest legal arch: a 1x1 array, a one-entry table.

rows = 1 and cols = 1 used to make the calibration's own workloads fail as
bad input (tiles wider than the array), and table_depth = 1 deadlocked on
the irregular DAGs that list a tile before one it waits for. The fast suite
checks every case on many archs against the stand-in
(tests/test_calibrate_archs.py); this runs the real thing once, RTL
included (about two minutes: the held-out built-ins lower to a few thousand
1x1 tiles). The search budget is small: the point is that every case runs
on the RTL and that the fit reaches the RTL's cycles on the held-out cases.
"""

from __future__ import annotations

import json

from tlm.cli import main


def test_calibrate_on_a_1x1_array_with_a_one_entry_table(tmp_path, capsys):
    arch = tmp_path / "tiny.toml"
    arch.write_text("[array]\nrows = 1\ncols = 1\n[scheduler]\ntable_depth = 1\n")
    out = tmp_path / "cal.toml"
    rc = main(["calibrate", "--arch", str(arch), "--out", str(out), "--cache", str(tmp_path / "cache"),
               "--max-evaluations", "20", "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    s = json.loads(captured.out)
    assert s["source"] == "rtl" and s["passed"]
    assert len(s["cases"]) == 15 and all(c["functional_ref"] == "pass" for c in s["cases"])
    assert s["held_out"]["min_accuracy"] >= 0.99
    assert out.is_file()
