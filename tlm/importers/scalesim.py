"""SCALE-Sim topology CSV -> `tlm-workload/1` layers (docs/workload.md, "SCALE-Sim topologies").

Two forms, told apart by the header (the first non-blank line):

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
    Layer, M, N, K,

A convolution row becomes a `conv2d` layer with padding 0 and dilation 1
(what SCALE-Sim assumes); an optional ninth column splits the stride into
height and width. A row whose name contains `DP` is depthwise, as SCALE-Sim
reads it (one single-channel convolution per input channel): a grouped conv
with `groups = Channels` and `Channels * Num Filter` outputs. A row with a
non-square filter or stride becomes a `gemm` of the same M x N x K (the
im2col gather is then not modelled). An M, N, K row becomes a `gemm`.

SCALE-Sim's layers are independent: a row is chained to the previous one
only when it reads exactly the previous output (conv: height, width and
channels; gemm: M and K = the previous M and N); any other row gets
`"fresh_input": true`, an input of its own drawn from the seed.

Cells are trimmed; blank lines and trailing empty cells (the usual trailing
comma) are ignored, and a cell starting with `#` ends the row (a comment).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from tlm.arch import MAX_SIZE
from tlm.errors import InputError
from tlm.limits import describe, read_capped
from tlm.workload.spec import FORMAT, MAX_NAME, conv_out_size

CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                "Num Filter", "Strides", "Stride Width")
GEMM_COLUMNS = ("Layer", "M", "N", "K")


def _cells(line: str) -> list[str]:
    cells: list[str] = []
    for cell in line.split(","):
        cell = cell.strip()
        if cell.startswith("#"):
            break
        cells.append(cell)
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _form(file: str, header: list[str], lineno: int) -> str:
    norm = [c.lower().replace(" ", "") for c in header]
    if norm[1:4] == ["m", "n", "k"]:
        return "gemm"
    if len(norm) > 1 and norm[1].startswith("ifmap"):
        return "conv"
    raise InputError(file, f"line {lineno}", "unrecognised header (expected 'Layer name, IFMAP Height, "
                                             "IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                                             "Strides,' or 'Layer, M, N, K,')")


def _name(file: str, where: str, raw: str, index: int, seen: set[str], lineno: int) -> str:
    name = raw or f"layer{index}"
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise InputError(file, f"{where} column 'Layer name'", f"must not contain the character U+{ord(bad):04X}")
    if name in seen:
        name = f"{name}@line{lineno}"  # SCALE-Sim allows repeated names; ours are unique
    if len(name) > MAX_NAME:
        raise InputError(file, f"{where} column 'Layer name'", f"is {len(name)} characters long, more than "
                                                                f"the limit of {MAX_NAME}")
    seen.add(name)
    return name


def _ints(file: str, where: str, cells: list[str], columns: tuple[str, ...]) -> list[int]:
    values = []
    for cell, column in zip(cells, columns):
        try:
            v = int(cell)
        except ValueError:
            raise InputError(file, f"{where} column '{column}'",
                             f"must be a positive integer, got {describe(cell)}") from None
        if not 1 <= v <= MAX_SIZE:
            raise InputError(file, f"{where} column '{column}'", f"must be in 1..{MAX_SIZE}, got {v}")
        values.append(v)
    return values


def _conv_layer(file: str, where: str, name: str, cells: list[str]) -> dict[str, Any]:
    if len(cells) not in (8, 9):
        raise InputError(file, where, f"has {len(cells)} cells, expected 8 (name, IFMAP height and width, "
                                      "filter height and width, channels, filters, stride) or 9 (two strides)")
    h, w, fh, fw, c, f, sh, *rest = _ints(file, where, cells[1:], CONV_COLUMNS[1:])
    sw = rest[0] if rest else sh
    for column, filt, size in (("Filter Height", fh, h), ("Filter Width", fw, w)):
        if filt > size:
            raise InputError(file, f"{where} column '{column}'", f"filter {filt} is larger than the IFMAP's {size}")
    depthwise = "DP" in cells[0]
    groups, cout = (c, c * f) if depthwise else (1, f)
    if fh != fw or sh != sw:
        # no rectangular kernels in tlm-workload/1: keep the GEMM shape (and MACs)
        oh, ow = conv_out_size(h, fh, sh, 0, 1), conv_out_size(w, fw, sw, 0, 1)
        if depthwise:
            raise InputError(file, where, "a depthwise (DP) row needs a square filter and stride")
        return {"name": name, "op": "gemm", "M": oh * ow, "N": f, "K": fh * fw * c}
    layer: dict[str, Any] = {"name": name, "op": "conv2d", "in_channels": c, "out_channels": cout,
                             "height": h, "width": w, "kernel": fh, "stride": sh}
    if groups > 1:
        layer["groups"] = groups
    return layer


def _gemm_layer(file: str, where: str, name: str, cells: list[str]) -> dict[str, Any]:
    if len(cells) != 4:
        raise InputError(file, where, f"has {len(cells)} cells, expected 4 (name, M, N, K)")
    M, N, K = _ints(file, where, cells[1:], GEMM_COLUMNS[1:])
    return {"name": name, "op": "gemm", "M": M, "N": N, "K": K}


def _chains(prev: dict[str, Any], layer: dict[str, Any]) -> bool:
    """Does `layer` read exactly `prev`'s output (as tlm-workload/1 chains layers)?"""
    if prev["op"] == "conv2d":
        out = (conv_out_size(prev["height"], prev["kernel"], prev["stride"], 0, 1),
               conv_out_size(prev["width"], prev["kernel"], prev["stride"], 0, 1), prev["out_channels"])
        pixels = out[0] * out[1]
    else:
        out, pixels = (prev["M"], 1, prev["N"]), prev["M"]
    if layer["op"] == "conv2d":
        if prev["op"] == "conv2d":
            return (layer["height"], layer["width"], layer["in_channels"]) == out
        return layer["height"] * layer["width"] == pixels and layer["in_channels"] == out[2]
    return (layer["M"], layer["K"]) == (pixels, out[2])


def topology_to_workload(text: str, file: str, name: str = "topology") -> dict[str, Any]:
    """The workload object of a SCALE-Sim topology (see the module docstring).

    Raises:
        InputError: naming the line (and column) of the first problem.
    """
    form = ""
    layers: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        cells = _cells(line)
        if not cells:
            continue
        if not form:
            form = _form(file, cells, lineno)
            continue
        where = f"line {lineno}"
        layer_name = _name(file, where, cells[0], len(layers), seen, lineno)
        layer = _conv_layer(file, where, layer_name, cells) if form == "conv" else \
            _gemm_layer(file, where, layer_name, cells)
        if layers and not _chains(layers[-1], layer):
            layer["fresh_input"] = True
        layers.append(layer)
    if not layers:
        raise InputError(file, "file", "has no layer rows (a header line, then one line per layer)")
    return {"format": FORMAT, "name": name, "seed": 0, "layers": layers}


def load_topology(path: str, max_bytes: int) -> dict[str, Any]:
    """Read a topology CSV (at most `max_bytes`) into a workload object."""
    raw = read_capped(path, max_bytes, "--max-workload-bytes raises it")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "file", "not UTF-8 text") from None
    stem = Path(path).stem or "topology"
    return topology_to_workload(text, path, stem[:MAX_NAME])
