"""Reading and validating a `tlm-workload/1` object (docs/workload.md).

`parse_workload` turns the JSON object into a `WorkloadSpec` of plain
dataclasses, or raises `InputError(file, where, what)` with `where` naming the
field (`layers[2].dilation`, `tiles[5].deps`). Everything that can be checked
without lowering is checked here: types, bounds, the layer chain, ids and the
acyclicity of an explicit tile DAG. Whether the operands fit the external
memory is checked by the compiler, which knows the memory layout.

Layer chaining: a conv layer's `height x width x in_channels` must equal the
previous output (a gemm output of M x N counts as M pixels of N channels when
`height * width == M`). A gemm layer reads the previous output as its A
matrix; its `M x K` must equal the previous `pixels x channels`, or have the
same product, in which case A is the previous NHWC output reinterpreted
row-major (a flatten: VGG's first fully connected layer after its last conv).
A layer with `"fresh_input": true` is exempt: it reads its own input drawn
from the seed (imported SCALE-Sim topologies, whose rows are independent).

Grouped convolution: `groups` splits the input and output channels into that
many groups, each a GEMM of its own (K = kernel*kernel*in_channels/groups).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import networkx as nx

from tlm.arch import MAX_SIZE, Arch
from tlm.errors import InputError
from tlm.limits import MAX_LAYERS, describe, key_name

if TYPE_CHECKING:
    from tlm.workload.graph_spec import GraphSpec

FORMAT = "tlm-workload/1"
OPS = ("gemm", "conv2d")
MAX_SHIFT = 31
#: Longest workload or layer name (names reach traces, VCD and reports).
MAX_NAME = 200

_TOP_KEYS = {"format", "name", "seed", "layers", "tiles"}

_GEMM_KEYS = {"name", "op", "M", "N", "K", "shift", "fresh_input"}
_CONV_KEYS = {"name", "op", "in_channels", "out_channels", "height", "width", "kernel",
              "stride", "padding", "dilation", "deformable", "shift", "groups", "fresh_input"}
_TILE_KEYS = {"id", "m", "n", "k", "deps"}


@dataclass(frozen=True)
class LayerSpec:
    """One layer, already lowered to its GEMM shape (M x K) . (K x N)."""

    name: str
    op: str
    M: int
    N: int
    K: int
    shift: int = 7
    # conv2d geometry (gemm layers keep the defaults)
    in_channels: int = 0
    height: int = 0
    width: int = 0
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    max_offset: int | None = None  # deformable when not None
    out_h: int = 0
    out_w: int = 0
    groups: int = 1            # K and the weights are per group: K = kernel*kernel*in_channels/groups
    fresh_input: bool = False  # reads an input drawn from the seed, not the previous output
    relu: bool = True          # int8 store applies ReLU (graph workloads: the `relu` key)
    rounding: bool = False     # int8 store rounds half to even instead of flooring (`round` key)

    @property
    def is_conv(self) -> bool:
        return self.op == "conv2d"

    @property
    def group_in(self) -> int:
        """Input channels of one group."""
        return self.in_channels // self.groups

    @property
    def group_out(self) -> int:
        """Output channels (GEMM columns) of one group."""
        return self.N // self.groups

    @property
    def input_shape(self) -> tuple[int, int]:
        """The input this layer reads: pixels x channels (conv) or M x K (gemm)."""
        return (self.height * self.width, self.in_channels) if self.is_conv else (self.M, self.K)


@dataclass(frozen=True)
class TileSpec:
    """One tile of the tiles form; `deps` are entry indices (file order)."""

    id: int
    m: int
    n: int
    k: int
    deps: tuple[int, ...]


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    seed: int
    layers: tuple[LayerSpec, ...] | None
    tiles: tuple[TileSpec, ...] | None
    graph: GraphSpec | None = None  # tlm-workload/2 (then layers and tiles are None)


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output extent of a convolution (may be <= 0 for an impossible geometry)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class _Reader:
    """Typed field access that reports problems as InputError."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, where: str, what: str) -> InputError:
        return InputError(self.file, where, what)

    def int_field(self, obj: Mapping[str, Any], key: str, where: str, *, default: int | None = None,
                  lo: int = 1, hi: int = MAX_SIZE) -> int:
        if key not in obj:
            if default is None:
                raise self.error(where, f"missing field '{key}'")
            return default
        v = obj[key]
        path = key if where == "top level" else f"{where}.{key}"
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(path, f"must be an integer, got {describe(v)}")
        if v < lo or v > hi:
            raise self.error(path, f"must be in {lo}..{hi}, got {describe(v)}")
        return v

    def str_field(self, obj: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
        if key not in obj:
            if default is None:
                raise self.error(where, f"missing field '{key}'")
            return default
        v = obj[key]
        path = f"{where}.{key}" if where != "top level" else key
        if not isinstance(v, str) or not v:
            raise self.error(path, f"must be a non-empty string, got {describe(v)}")
        if len(v) > MAX_NAME:
            raise self.error(path, f"is {len(v)} characters long, more than the limit of {MAX_NAME}")
        bad = next((c for c in v if unicodedata.category(c) in ("Cc", "Cs")), None)
        if bad is not None:
            # names are written into traces, VCD and terminals: no control characters,
            # and no lone surrogates (they cannot be encoded as UTF-8)
            raise self.error(path, f"must not contain the character U+{ord(bad):04X}")
        return v


def _unknown_key_message(key: str, known: set[str]) -> str:
    """`unknown key (known: ...)`, suggesting the known key that differs only in case."""
    same = [k for k in known if k.lower() == key.lower()]
    hint = f"; did you mean '{same[0]}'?" if same else ""
    return f"unknown key (known: {', '.join(sorted(known))}){hint}"


def parse_workload(data: Any, file: str, arch: Arch) -> WorkloadSpec:
    """Validate a parsed workload object against the spec and the arch.

    Args:
        data: the JSON object (as loaded).
        file: the name reported in errors (a path or `builtin:NAME`).
        arch: the architecture (tile bounds, kmax).

    Raises:
        InputError: the first problem found, naming the field.
    """
    rd = _Reader(file)
    if not isinstance(data, dict):
        raise rd.error("top level", f"must be a JSON object, got {type(data).__name__}")
    if "format" not in data:
        raise rd.error("format", f"missing field (expected \"{FORMAT}\")")
    if data["format"] == "tlm-workload/2":
        from tlm.workload.graph_spec import parse_graph

        name, seed, graph = parse_graph(data, file)
        return WorkloadSpec(name, seed, None, None, graph)
    if data["format"] != FORMAT:
        raise rd.error("format", f"unknown format {describe(data['format'])} "
                                 f"(expected \"{FORMAT}\" or \"tlm-workload/2\")")
    for key in data:
        if key not in _TOP_KEYS:
            raise rd.error(key_name(key), _unknown_key_message(key, _TOP_KEYS))
    name = rd.str_field(data, "name", "top level", default="workload")
    seed = rd.int_field(data, "seed", "top level", default=0, lo=0, hi=2**63 - 1)
    has_layers, has_tiles = "layers" in data, "tiles" in data
    if has_layers == has_tiles:
        raise rd.error("top level", "needs exactly one of 'layers' or 'tiles'")
    if has_layers:
        return WorkloadSpec(name, seed, _parse_layers(rd, data["layers"]), None)
    return WorkloadSpec(name, seed, None, _parse_tiles(rd, data["tiles"], arch))


def _parse_layers(rd: _Reader, raw: Any) -> tuple[LayerSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise rd.error("layers", "must be a non-empty list")
    if len(raw) > MAX_LAYERS:
        raise rd.error("layers", f"{len(raw):,} layers, more than the limit of {MAX_LAYERS:,}")
    layers: list[LayerSpec] = []
    names: set[str] = set()
    for i, obj in enumerate(raw):
        where = f"layers[{i}]"
        if not isinstance(obj, dict):
            raise rd.error(where, "must be an object")
        op = obj.get("op")
        if not isinstance(op, str) or op not in OPS:
            raise rd.error(f"{where}.op", f"must be one of {', '.join(OPS)}, got {describe(op)}")
        known = _GEMM_KEYS if op == "gemm" else _CONV_KEYS
        for key in obj:
            if key not in known:
                raise rd.error(f"{where}.{key_name(key)}",
                               f"unknown key for op {op} (known: {', '.join(sorted(known))})")
        name = rd.str_field(obj, "name", where, default=f"layer{i}")
        if name in names:
            raise rd.error(f"{where}.name", f"duplicate layer name {name!r}")
        names.add(name)
        shift = rd.int_field(obj, "shift", where, default=7, lo=0, hi=MAX_SHIFT)
        layer = _parse_gemm(rd, obj, where, name, shift) if op == "gemm" else \
            _parse_conv(rd, obj, where, name, shift)
        fresh = obj.get("fresh_input", False)
        if not isinstance(fresh, bool):
            raise rd.error(f"{where}.fresh_input", f"must be true or false, got {describe(fresh)}")
        if fresh:
            layer = replace(layer, fresh_input=True)
        elif layers:
            _check_chain(rd, layers[-1], layer, where)
        layers.append(layer)
    return tuple(layers)


def _parse_gemm(rd: _Reader, obj: dict[str, Any], where: str, name: str, shift: int) -> LayerSpec:
    M = rd.int_field(obj, "M", where)
    N = rd.int_field(obj, "N", where)
    K = rd.int_field(obj, "K", where)
    return LayerSpec(name=name, op="gemm", M=M, N=N, K=K, shift=shift)


def _parse_conv(rd: _Reader, obj: dict[str, Any], where: str, name: str, shift: int) -> LayerSpec:
    cin = rd.int_field(obj, "in_channels", where)
    cout = rd.int_field(obj, "out_channels", where)
    h = rd.int_field(obj, "height", where)
    w = rd.int_field(obj, "width", where)
    kernel = rd.int_field(obj, "kernel", where)
    stride = rd.int_field(obj, "stride", where, default=1)
    padding = rd.int_field(obj, "padding", where, default=0, lo=0)
    dilation = rd.int_field(obj, "dilation", where, default=1)
    groups = rd.int_field(obj, "groups", where, default=1)
    for what, v in (("in_channels", cin), ("out_channels", cout)):
        if v % groups:
            raise rd.error(f"{where}.groups", f"{groups} does not divide {what} = {v}")
    max_offset: int | None = None
    if "deformable" in obj:
        d = obj["deformable"]
        dwhere = f"{where}.deformable"
        if not isinstance(d, dict):
            raise rd.error(dwhere, "must be an object like {\"max_offset\": 2}")
        for key in d:
            if key != "max_offset":
                raise rd.error(f"{dwhere}.{key_name(key)}", "unknown key (known: max_offset)")
        max_offset = rd.int_field(d, "max_offset", dwhere, lo=0)
    extent = dilation * (kernel - 1) + 1
    out_h = conv_out_size(h, kernel, stride, padding, dilation)
    out_w = conv_out_size(w, kernel, stride, padding, dilation)
    if out_h < 1 or out_w < 1:
        raise rd.error(f"{where}.kernel", f"dilated kernel extent {extent} exceeds the padded input "
                                          f"{h + 2 * padding}x{w + 2 * padding}")
    K = cin // groups * kernel * kernel
    M = out_h * out_w
    for what, v in (("K = in_channels/groups*kernel*kernel", K), ("M = out_h*out_w", M)):
        if v > MAX_SIZE:
            raise rd.error(where, f"{what} = {v} exceeds {MAX_SIZE}")
    return LayerSpec(name=name, op="conv2d", M=M, N=cout, K=K, shift=shift, in_channels=cin,
                     height=h, width=w, kernel=kernel, stride=stride, padding=padding,
                     dilation=dilation, max_offset=max_offset, out_h=out_h, out_w=out_w,
                     groups=groups)


def _check_chain(rd: _Reader, prev: LayerSpec, layer: LayerSpec, where: str) -> None:
    """The layer must consume exactly the previous layer's output."""
    pixels, channels = prev.M, prev.N
    if layer.is_conv:
        if prev.is_conv:
            ok = (layer.height, layer.width) == (prev.out_h, prev.out_w)
            shape = f"{prev.out_h}x{prev.out_w}x{channels}"
        else:
            ok = layer.height * layer.width == pixels
            shape = f"{pixels} pixels x {channels} channels"
        if not ok or layer.in_channels != channels:
            raise rd.error(where, f"input {layer.height}x{layer.width}x{layer.in_channels} does not match "
                                  f"the previous layer's output {shape}")
    else:
        if layer.M * layer.K != pixels * channels:
            raise rd.error(where, f"A is {layer.M}x{layer.K} but the previous layer's output is "
                                  f"{pixels}x{channels}")


def _parse_tiles(rd: _Reader, raw: Any, arch: Arch) -> tuple[TileSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise rd.error("tiles", "must be a non-empty list")
    rows, cols, kmax = arch.tile_rows, arch.array.cols, arch.kmax
    index_of: dict[int, int] = {}
    raw_deps: list[list[int]] = []
    sizes: list[tuple[int, int, int, int]] = []
    for i, obj in enumerate(raw):
        where = f"tiles[{i}]"
        if not isinstance(obj, dict):
            raise rd.error(where, "must be an object")
        for key in obj:
            if key not in _TILE_KEYS:
                raise rd.error(f"{where}.{key_name(key)}", _unknown_key_message(key, _TILE_KEYS))
        tid = rd.int_field(obj, "id", where, lo=0)
        if tid in index_of:
            raise rd.error(f"{where}.id", f"duplicate id {tid} (also tiles[{index_of[tid]}])")
        index_of[tid] = i
        m = rd.int_field(obj, "m", where)
        n = rd.int_field(obj, "n", where)
        k = rd.int_field(obj, "k", where)
        if m > rows:
            raise rd.error(f"{where}.m", f"{m} exceeds the array's {rows} rows" if arch.array.dataflow == "os"
                           else f"{m} exceeds the {rows} rows a weight-stationary tile holds (tile_rows)")
        if n > cols:
            raise rd.error(f"{where}.n", f"{n} exceeds the array's {cols} cols")
        if k > kmax:
            raise rd.error(f"{where}.k", f"{k} exceeds the scratchpad lane of {kmax} bytes (kmax)")
        deps = obj.get("deps", [])
        if not isinstance(deps, list) or any(isinstance(d, bool) or not isinstance(d, int) for d in deps):
            raise rd.error(f"{where}.deps", "must be a list of tile ids")
        if len(set(deps)) != len(deps):
            raise rd.error(f"{where}.deps", "lists an id twice")
        raw_deps.append(deps)
        sizes.append((tid, m, n, k))
    tiles: list[TileSpec] = []
    graph = nx.DiGraph()
    graph.add_nodes_from(index_of)
    for i, ((tid, m, n, k), deps) in enumerate(zip(sizes, raw_deps)):
        for d in deps:
            if d not in index_of:
                raise rd.error(f"tiles[{i}].deps", f"unknown id {d}")
            graph.add_edge(tid, d)  # tile -> what it waits for
        tiles.append(TileSpec(tid, m, n, k, tuple(sorted(index_of[d] for d in deps))))
    # is_directed_acyclic_graph is linear; find_cycle is only for naming one.
    if nx.is_directed_acyclic_graph(graph):
        return tuple(tiles)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:  # pragma: no cover - ruled out above
        return tuple(tiles)
    ids = [u for u, _ in cycle] + [cycle[0][0]]
    raise rd.error("tiles", "dependency cycle " + " -> ".join(str(x) for x in ids))
