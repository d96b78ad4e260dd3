"""Workload files: every kind of bad input is an InputError naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tlm.arch import Arch, Memory
from tlm.errors import InputError
from tlm.workload import compile_workload, load_workload

FMT = "tlm-workload/1"


def conv(**kw: Any) -> dict[str, Any]:
    layer = {"name": "c", "op": "conv2d", "in_channels": 2, "out_channels": 4, "height": 6, "width": 6,
             "kernel": 3, "padding": 1}
    layer.update(kw)
    return layer


def layers(*ls: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"format": FMT, "name": "t", "seed": 1, "layers": list(ls), **top}


def tiles(*ts: dict[str, Any]) -> dict[str, Any]:
    return {"format": FMT, "name": "t", "seed": 1, "tiles": list(ts)}


def tile(i: int, deps: list[int] | None = None, **kw: Any) -> dict[str, Any]:
    t = {"id": i, "m": 2, "n": 2, "k": 8, "deps": deps or []}
    t.update(kw)
    return t


def error_of(obj: Any, arch: Arch | None = None) -> InputError:
    with pytest.raises(InputError) as e:
        compile_workload(obj, arch or Arch(), file="w.json")
    assert e.value.file == "w.json"
    return e.value


@pytest.mark.parametrize("obj, where, what", [
    ([1, 2], "top level", "JSON object"),
    ({"layers": []}, "format", "missing"),
    ({"format": "tlm-workload/3", "layers": []}, "format", "unknown format"),
    ({"format": FMT}, "top level", "exactly one"),
    ({"format": FMT, "layers": [], "tiles": []}, "top level", "exactly one"),
    ({"format": FMT, "seed": -1, "layers": [conv()]}, "seed", "must be in"),
    ({"format": FMT, "seed": "1", "layers": [conv()]}, "seed", "integer"),
    ({"format": FMT, "layers": []}, "layers", "non-empty"),
    ({"format": FMT, "layers": [conv(op="pool")]}, "layers[0].op", "must be one of"),
])
def test_top_level_errors(obj: Any, where: str, what: str) -> None:
    """Structural problems of the top-level object name the field."""
    e = error_of(obj)
    assert e.where == where
    assert what in e.what


@pytest.mark.parametrize("layer, where", [
    (conv(dilation=0), "layers[1].dilation"),
    (conv(stride=True), "layers[1].stride"),
    (conv(padding=-1), "layers[1].padding"),
    (conv(kernel=2**31), "layers[1].kernel"),
    (conv(kernel=5, dilation=2, padding=0), "layers[1].kernel"),  # dilated extent 9 > 6
    (conv(dilatoin=2), "layers[1].dilatoin"),            # unknown key inside a layer
    (conv(deformable={"max_offset": -1}), "layers[1].deformable.max_offset"),
    (conv(deformable={"max_ofset": 1}), "layers[1].deformable.max_ofset"),
    (conv(deformable=3), "layers[1].deformable"),
    (conv(shift=40), "layers[1].shift"),
    (conv(name="a"), "layers[1].name"),                  # duplicate name
    ({"name": "g", "op": "gemm", "M": 36, "N": 4}, "layers[1]"),  # missing K
    ({"name": "g", "op": "gemm", "M": 36, "N": 4, "K": 4, "deformable": {}}, "layers[1].deformable"),
])
def test_layer_field_errors(layer: dict[str, Any], where: str) -> None:
    """A bad field of the second layer is reported as layers[1].<field>."""
    e = error_of(layers(conv(name="a"), layer))
    assert e.where == where, e.what


@pytest.mark.parametrize("second", [
    conv(name="b", in_channels=3, height=6, width=6),       # channels differ
    conv(name="b", in_channels=4, height=3, width=12),      # same pixels, other shape
    {"name": "g", "op": "gemm", "M": 36, "N": 4, "K": 5},   # M x K != 36 x 4
])
def test_chain_mismatch(second: dict[str, Any]) -> None:
    """A layer that does not consume the previous output is rejected."""
    e = error_of(layers(conv(name="a"), second))
    assert e.where == "layers[1]"
    assert "previous layer" in e.what


def test_chain_accepts_flatten_and_gemm_to_conv() -> None:
    """gemm may read a previous NHWC output flattened; conv may read a gemm output."""
    prog = compile_workload(layers(conv(name="a"), {"name": "g", "op": "gemm", "M": 2, "N": 6, "K": 72},
                                   conv(name="b", in_channels=6, height=1, width=2, kernel=1, padding=0)),
                            Arch())
    assert [o.name for o in prog.outputs] == ["a", "g", "b"]


def test_memory_too_small() -> None:
    """Operands that do not fit the external memory are rejected."""
    arch = Arch(memory=Memory(bytes=1000))
    e = error_of(layers({"name": "g", "op": "gemm", "M": 20, "N": 20, "K": 20}), arch)
    assert e.where == "layers" and "external memory" in e.what
    e = error_of(tiles(*(tile(i) for i in range(20))), arch)
    assert e.where == "tiles"


def test_absurd_size() -> None:
    """Sizes above 2^31-1 are rejected."""
    e = error_of(layers({"name": "g", "op": "gemm", "M": 2**31, "N": 1, "K": 1}))
    assert e.where == "layers[0].M"


@pytest.mark.parametrize("bad, where, what", [
    (tile(1, m=5), "tiles[1].m", "rows"),
    (tile(1, n=5), "tiles[1].n", "cols"),
    (tile(1, k=100_000), "tiles[1].k", "kmax"),
    (tile(1, k=0), "tiles[1].k", "must be in"),
    (tile(0), "tiles[1].id", "duplicate id 0"),
    (tile(1, deps=[7]), "tiles[1].deps", "unknown id 7"),
    (tile(1, deps=[0, 0]), "tiles[1].deps", "twice"),
    (tile(1, deps="0"), "tiles[1].deps", "list"),
    ({**tile(1), "kk": 1}, "tiles[1].kk", "unknown key"),
    ({"id": 1, "m": 2, "n": 2}, "tiles[1]", "missing field 'k'"),
])
def test_tile_errors(bad: dict[str, Any], where: str, what: str) -> None:
    """Tiles-form problems name tiles[i].<field>."""
    e = error_of(tiles(tile(0), bad))
    assert e.where == where
    assert what in e.what


def test_cycle_is_named() -> None:
    """A dependency cycle is reported with the ids around it."""
    e = error_of(tiles(tile(3, [7]), tile(5), tile(7, [5, 3])))
    assert e.where == "tiles"
    assert e.what in ("dependency cycle 3 -> 7 -> 3", "dependency cycle 7 -> 3 -> 7")
    e = error_of(tiles(tile(4, [4])))
    assert e.what == "dependency cycle 4 -> 4"


@pytest.mark.parametrize("key, hint", [("extra", ""), ("Seed", "did you mean 'seed'?"),
                                       ("Tiles", "did you mean 'tiles'?"), ("comment", "")])
def test_unknown_top_level_keys_rejected(key: str, hint: str) -> None:
    """Unknown or wrong-case top-level keys are errors listing the known keys (a typo is not ignored)."""
    e = error_of(layers(conv(), **{key: 1}))
    assert e.where == key
    assert "unknown key (known: format, layers, name, seed, tiles)" in e.what
    assert hint in e.what


@pytest.mark.parametrize("bad_id", [-1, -(2**31), 2**31, 2**70, True, 1.0, "1", None])
def test_tile_ids_the_trace_cannot_hold_rejected(bad_id: Any) -> None:
    """Tile ids must be integers in 0..2**31-1: a trace refuses negative ids, JSON floats are not ids."""
    e = error_of(tiles(tile(0), {"id": bad_id, "m": 2, "n": 2, "k": 8}))
    assert e.where == "tiles[1].id"


@pytest.mark.parametrize("name, what", [
    ("x" * 201, "more than the limit of 200"), ("a\nb", "U+000A"), ("\ud800", "U+D800"),
    ("x $end\x1b", "U+001B"), ("", "non-empty"), (7, "non-empty"), (["a"], "a list of 1 items"),
])
def test_names_the_outputs_cannot_hold_rejected(name: Any, what: str) -> None:
    """Workload and layer names: bounded length, no control characters or lone surrogates."""
    e = error_of(layers(conv(), name=name))
    assert e.where == "name" and what in e.what
    e = error_of(layers(conv(name=name)))
    assert e.where == "layers[0].name" and what in e.what


def test_sizes_reject_bool_float_and_huge_values_with_short_messages() -> None:
    """Sizes: bool, float and huge integers are refused, and the message stays short."""
    for v, what in ((True, "True"), (4.0, "4.0"), (10**200, "an integer of 201 digits"),
                    (2**31, "2147483648"), ([1] * 1000, "a list of 1000 items")):
        e = error_of(layers(conv(out_channels=v)))
        assert e.where == "layers[0].out_channels" and what in e.what and len(e.line()) < 200


def test_files(tmp_path: Path) -> None:
    """File problems: unreadable, not JSON, not an object, NaN; a good file loads."""
    with pytest.raises(InputError) as e:
        load_workload(tmp_path / "missing.json")
    assert e.value.where == "file"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ')
    with pytest.raises(InputError) as e:
        load_workload(bad)
    assert e.value.where.startswith("line 1") and "invalid JSON" in e.value.what
    bad.write_text("[1]")
    with pytest.raises(InputError) as e:
        load_workload(bad)
    assert e.value.where == "top level"
    bad.write_text('{"seed": NaN}')
    with pytest.raises(InputError):
        load_workload(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(layers(conv())))
    prog = compile_workload(str(good), Arch())
    assert prog.name == "t" and prog.tiles == 36 // 4


def test_file_error_names_the_file(tmp_path: Path) -> None:
    """Validation errors of a file carry its path."""
    p = tmp_path / "w.json"
    p.write_text(json.dumps(layers(conv(stride=0))))
    with pytest.raises(InputError) as e:
        compile_workload(str(p), Arch())
    assert e.value.line() == f"error: {p}: layers[0].stride: must be in 1..{2**31 - 1}, got 0"


def test_unknown_builtin() -> None:
    """builtin:NAME with an unknown name lists the known ones."""
    with pytest.raises(InputError) as e:
        load_workload("builtin:nope")
    assert e.value.file == "builtin:nope" and "dilated_vgg_small" in e.value.what
