"""SCALE-Sim topology CSVs as workloads (`--workload net.csv`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.arch import Arch
from tlm.cli import main
from tlm.errors import InputError
from tlm.importers.scalesim import topology_to_workload
from tlm.workload import compile_workload, load_workload, run_program_functionally

CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"

# Spelled the way real topology files are: padded cells, tabs, blank lines, a
# row without its trailing comma, comments after the last comma.
TOPOLOGY = CONV_HEADER + """
Conv1,  18, 18,    3, 3,      3,      4,     1,
Conv2,  16, 16,    3, 3,      4,     8,     2,
Conv3_DP,  7, 7,    3, 3,      8,     1,     1, #dw

\tConv4,  9,   9,     1, 3,      8,   10,    1, 1
FC, 1,1,1,1, 20, 5, 1
"""


def scalesim_macs(h: int, w: int, fh: int, fw: int, c: int, f: int, sh: int, sw: int) -> int:
    """SCALE-Sim's count, ofmap = ceil((ifmap - filter + stride) / stride), but only whole
    windows: the ceiling counts a partial window when the stride does not divide (ifmap - filter)."""
    oh, ow = math.ceil((h - fh + sh) / sh), math.ceil((w - fw + sw) / sw)
    oh -= (h - fh) % sh != 0
    ow -= (w - fw) % sw != 0
    return oh * ow * fh * fw * c * f


def write(tmp_path: Path, text: str, name: str = "net.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_conv_rows_map_to_layers(tmp_path: Path) -> None:
    obj = load_workload(write(tmp_path, TOPOLOGY))
    assert obj["name"] == "net" and obj["seed"] == 0
    layers = obj["layers"]
    assert [x["name"] for x in layers] == ["Conv1", "Conv2", "Conv3_DP", "Conv4", "FC"]
    assert layers[0] == {"name": "Conv1", "op": "conv2d", "in_channels": 3, "out_channels": 4, "height": 18,
                         "width": 18, "kernel": 3, "stride": 1}
    # Conv1's output 16x16x4 is exactly Conv2's input: chained; Conv2 -> 7x7x8 feeds Conv3_DP
    assert "fresh_input" not in layers[1] and "fresh_input" not in layers[2]
    assert layers[2]["groups"] == 8 and layers[2]["out_channels"] == 8
    # 1x3 filter: a gemm of the same shape, with its own input
    assert layers[3] == {"name": "Conv4", "op": "gemm", "M": 9 * 7, "N": 10, "K": 3 * 8, "fresh_input": True}
    assert layers[4]["fresh_input"] is True


def test_macs_equal_scalesim_count(tmp_path: Path) -> None:
    """Every row's MACs, depthwise as SCALE-Sim splits it (Channels single-channel convs)."""
    prog = compile_workload(write(tmp_path, TOPOLOGY), Arch(), functional=False)
    want = (scalesim_macs(18, 18, 3, 3, 3, 4, 1, 1) + scalesim_macs(16, 16, 3, 3, 4, 8, 2, 2)
            + 8 * scalesim_macs(7, 7, 3, 3, 1, 1, 1, 1) + scalesim_macs(9, 9, 1, 3, 8, 10, 1, 1)
            + scalesim_macs(1, 1, 1, 1, 20, 5, 1, 1))
    assert prog.info["macs"] == want


def test_imported_topology_runs_functionally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TOPOLOGY)
    prog = compile_workload(path, Arch())
    got = run_program_functionally(prog)
    for name, want in prog.expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert main(["sim", "--workload", path, "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["functional"] == "pass" and summary["workload"] == "net"


def test_gemm_form() -> None:
    obj = topology_to_workload("Layer,M,N,K\nQKT,16,16,8\nQKTV,16,8,16\nLin, 16, 4, 6,\n", "g.csv")
    assert [(x["M"], x["N"], x["K"], x.get("fresh_input", False)) for x in obj["layers"]] == [
        (16, 16, 8, False), (16, 8, 16, False), (16, 4, 6, True)]
    prog = compile_workload(obj, Arch(), functional=False)
    assert prog.info["macs"] == 16 * 16 * 8 + 16 * 8 * 16 + 16 * 4 * 6


def test_repeated_names_are_made_unique() -> None:
    obj = topology_to_workload("Layer,M,N,K\nfc,2,2,2\nfc,2,2,2\n", "g.csv")
    assert [x["name"] for x in obj["layers"]] == ["fc", "fc@line3"]


@pytest.mark.parametrize("text, where, what", [
    ("", "file", "has no layer rows"),
    (CONV_HEADER, "file", "has no layer rows"),
    ("name,a,b\nx,1,2\n", "line 1", "unrecognised header"),
    (CONV_HEADER + "c1, 8, 8, 3, 3, x, 4, 1,\n", "line 2 column 'Channels'", "must be a positive integer"),
    (CONV_HEADER + "c1, 8, 8, 3, 3, 0, 4, 1,\n", "line 2 column 'Channels'", "must be in 1.."),
    (CONV_HEADER + "c1, 8, 8, 3, 3, 2,\n", "line 2", "has 6 cells, expected 8"),
    (CONV_HEADER + "c1, 8, 8, 3, 3, 2, 4, 1, 1, 7,\n", "line 2", "has 10 cells"),
    (CONV_HEADER + "c1, 2, 8, 3, 3, 2, 4, 1,\n", "line 2 column 'Filter Height'", "larger than the IFMAP"),
    (CONV_HEADER + "c1_DP, 8, 8, 1, 3, 2, 1, 1,\n", "line 2", "depthwise (DP) row needs a square"),
    ("Layer, M, N, K,\nfc, 2, 3\n", "line 2", "has 3 cells, expected 4"),
    ("Layer, M, N, K,\nfc, 2, 3, -1\n", "line 2 column 'K'", "must be in 1.."),
    ("Layer, M, N, K,\nf\x07c, 2, 3, 1\n", "line 2 column 'Layer name'", "U+0007"),
])
def test_bad_topologies_name_line_and_column(text: str, where: str, what: str) -> None:
    with pytest.raises(InputError) as e:
        topology_to_workload(text, "t.csv")
    assert e.value.where == where and what in e.value.what, e.value


def test_cli_bad_csv_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, CONV_HEADER + "c1, 8, 8, 3, 3, 3.5, 4, 1,\n")
    assert main(["sim", "--workload", path, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: line 2 column 'Channels': must be a positive integer, got '3.5'\n"
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"\xff\xfe\x00junk")
    assert main(["sim", "--workload", str(bad), "--no-progress"]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err


def test_csv_size_is_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "Layer,M,N,K\n" + "fc,2,2,2\n" * 200)
    assert main(["sim", "--workload", path, "--max-workload-bytes", "1K", "--no-progress"]) == 2
    assert "--max-workload-bytes raises it" in capsys.readouterr().err


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(b"\xef\xbb\xbfLayer,M,N,K\r\nfc,2,3,4\r\n")
    assert load_workload(str(path))["layers"] == [{"name": "fc", "op": "gemm", "M": 2, "N": 3, "K": 4}]


@st.composite
def topologies(draw: st.DrawFn) -> tuple[str, int]:
    """A conv-form topology and its MACs by SCALE-Sim's formula (whole windows)."""
    lines, macs = [CONV_HEADER], 0
    for i in range(draw(st.integers(1, 4))):
        h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
        fh, fw = draw(st.integers(1, h)), draw(st.integers(1, w))
        c, f, sh = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
        sw = draw(st.sampled_from([sh, draw(st.integers(1, 3))]))
        dp = fh == fw and sh == sw and draw(st.booleans())
        lines.append(f"{'DP' if dp else 'L'}{i}, {h}, {w}, {fh}, {fw}, {c}, {f}, {sh}, {sw},\n")
        macs += (c if dp else 1) * scalesim_macs(h, w, fh, fw, 1 if dp else c, f, sh, sw)
    return "".join(lines), macs


@settings(max_examples=40, deadline=None)
@given(topologies())
def test_random_topologies_keep_scalesim_macs(case: tuple[str, int]) -> None:
    text, macs = case
    prog = compile_workload(topology_to_workload(text, "r.csv"), Arch(), functional=False)
    assert prog.info["macs"] == macs


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("LayerM,NK 0123456789#\t\n-x.DP")), max_size=120))
def test_any_text_is_a_workload_or_one_input_error(text: str) -> None:
    """Never anything but InputError, and whatever is returned compiles or is refused by the spec."""
    try:
        obj = topology_to_workload("Layer, M, N, K,\n" + text, "f.csv")
    except InputError:
        return
    try:
        compile_workload(obj, Arch(), functional=False)
    except InputError:
        pass


def test_rtl_runs_an_imported_topology(tmp_path: Path) -> None:
    """A depthwise row and an unchained (fresh input) row compute numpy's results on the RTL."""
    pytest.importorskip("cocotb")
    text = CONV_HEADER + "c1, 5, 5, 3, 3, 2, 2, 1,\nc2_DP, 3, 3, 3, 3, 2, 1, 1,\nc3, 4, 4, 1, 1, 3, 2, 1,\n"
    path = write(tmp_path, text)
    assert [x.get("fresh_input", False) for x in load_workload(path)["layers"]] == [False, False, True]
    assert main(["rtl", "--workload", path, "--trace", str(tmp_path / "t.jsonl"), "--no-progress"]) == 0


def test_import_command_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "Layer,M,N,K\nfc,2,3,4\n")
    assert main(["import", path, "-o", path]) == 2
    assert "refusing to overwrite it" in capsys.readouterr().err
    assert (tmp_path / "net.csv").read_text() == "Layer,M,N,K\nfc,2,3,4\n"
    other = write(tmp_path, "{}", "w.json")
    assert main(["import", other]) == 2
    assert capsys.readouterr().err == f"error: {other}: file: unknown kind: expected a .onnx model or a .csv topology\n"
    bad = write(tmp_path, "Layer,M,N,K\nfc,2,3\n", "bad.csv")
    out = tmp_path / "out.json"
    assert main(["import", bad, "-o", str(out)]) == 2
    assert not out.exists()
    assert main(["import", path, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{out}: 1 layer (1 gemm), 24 MACs" in err
