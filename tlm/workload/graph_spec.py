"""Reading and validating a `tlm-workload/2` object: layers forming a DAG.

A graph workload names its input tensor (`"input": {"name", "height",
"width", "channels"}`) and lists layers; each layer reads the tensors named
in its `inputs` and produces the tensor named like itself. Tensors are NHWC
images (height x width x channels; a gemm output of M x N is M x 1 x N).
Layers may be listed in any order: they are compiled in the topological
order that takes the earliest-listed layer first among those whose inputs
exist. Cycles, unknown tensor names and shapes that do not match their
producer are errors naming the layer (`layers[3].inputs`).

MAC layers (`conv2d`, `gemm`) keep the v1 keys; `in_channels`, `height`,
`width` (conv) and `M`, `K` (gemm) may be left out and are then taken from
the input tensor (given, they must agree). Their output is the v1 store:
int8 `clip(max(acc, 0) >> shift, 0, 127)`, or int32 accumulators for a layer
nothing reads; `relu: false` stores signed `clip(acc >> shift, -128, 127)`
and `round: true` rounds acc / 2^shift half to even instead of flooring. Vector ops run on the vector unit (`tlm.workload.vector_ops`);
`reshape` and `flatten` are free: they rename a tensor's bytes (NHWC
row-major) without any work or copy; `transpose` moves them (the vector unit's
DMA gathers the permuted order).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from tlm.errors import InputError
from tlm.limits import MAX_LAYERS, describe, key_name
from tlm.workload.spec import MAX_SHIFT, LayerSpec, _parse_conv, _parse_gemm, _Reader
from tlm.workload.vector_ops import LUT_BYTES, LUT_FUNCTIONS, POOLS, VECTOR_OPS, VectorOp, lut_table

FORMAT2 = "tlm-workload/2"
MAC_OPS = ("conv2d", "gemm", "matmul")
ALIAS_OPS = ("reshape", "flatten")
GRAPH_OPS = MAC_OPS + VECTOR_OPS + ALIAS_OPS

_TOP_KEYS = {"format", "name", "seed", "input", "layers", "weights"}
_COMMON = {"name", "op", "inputs"}
_KEYS: dict[str, set[str]] = {
    "conv2d": {"in_channels", "out_channels", "height", "width", "kernel", "stride", "padding",
               "dilation", "deformable", "shift", "groups", "relu", "round"},
    "gemm": {"M", "N", "K", "shift", "relu", "round"},
    "matmul": {"heads", "transpose_b", "shift", "relu", "round"},
    "add": set(), "relu": set(), "globalavgpool": set(), "concat": set(),
    "clip": {"min", "max"}, "requant": {"multiplier", "shift"},
    "maxpool": {"kernel", "stride", "padding"}, "avgpool": {"kernel", "stride", "padding"},
    "softmax": {"shift", "groups"}, "layernorm": {"shift"},
    "reshape": {"shape"}, "flatten": set(), "transpose": {"perm"},
    "lut": {"fn", "in_shift", "out_shift", "table"}, "mul": {"shift"}, "resize": {"scale"},
}
#: Largest pooling window side.
MAX_POOL = 32
_ARITY = {"add": (2, 2), "concat": (2, 64), "matmul": (2, 2), "mul": (2, 2)}
#: Largest lut input/output shift and mul shift.
MAX_LUT_SHIFT = 15

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class GraphNode:
    """One layer of a graph: its inputs, what it computes, its output shape."""

    name: str
    op: str
    inputs: tuple[str, ...]
    position: int                  # index in the file's `layers`
    shape: Shape                   # output tensor: height, width, channels
    layer: LayerSpec | None = None  # MAC layers
    vec: VectorOp | None = None     # vector layers
    heads: int = 0                  # matmul: independent products (attention heads); 0 otherwise
    transpose_b: bool = False       # matmul: B is stored N x K (rows = output columns)

    @property
    def is_alias(self) -> bool:
        return self.op in ALIAS_OPS


@dataclass(frozen=True)
class GraphSpec:
    input_name: str
    input_shape: Shape
    nodes: tuple[GraphNode, ...]   # in compile (topological) order
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> int8 N x K (else seeded)

    def consumers(self) -> dict[str, list[int]]:
        """Per tensor name, the indices (in `nodes`) of the layers reading it."""
        out: dict[str, list[int]] = {}
        for i, n in enumerate(self.nodes):
            for t in n.inputs:
                out.setdefault(t, []).append(i)
        return out


def parse_graph(data: dict[str, Any], file: str) -> tuple[str, int, GraphSpec]:
    """(name, seed, graph) of a `tlm-workload/2` object; raises InputError."""
    rd = _Reader(file)
    for key in data:
        if key not in _TOP_KEYS:
            raise rd.error(key_name(key), f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})")
    name = rd.str_field(data, "name", "top level", default="workload")
    seed = rd.int_field(data, "seed", "top level", default=0, lo=0, hi=2**63 - 1)
    if "input" not in data:
        raise rd.error("input", "missing field (an object with name, height, width, channels)")
    raw_in = data["input"]
    if not isinstance(raw_in, dict):
        raise rd.error("input", "must be an object with name, height, width, channels")
    for key in raw_in:
        if key not in ("name", "height", "width", "channels"):
            raise rd.error(f"input.{key_name(key)}", "unknown key (known: channels, height, name, width)")
    in_name = rd.str_field(raw_in, "name", "input", default="input")
    in_shape = (rd.int_field(raw_in, "height", "input"), rd.int_field(raw_in, "width", "input"),
                rd.int_field(raw_in, "channels", "input"))
    raw = data.get("layers")
    if not isinstance(raw, list) or not raw:
        raise rd.error("layers", "must be a non-empty list")
    if len(raw) > MAX_LAYERS:
        raise rd.error("layers", f"{len(raw):,} layers, more than the limit of {MAX_LAYERS:,}")
    objs = _first_pass(rd, raw, in_name)
    order = _topological(rd, objs, in_name)
    shapes: dict[str, Shape] = {in_name: in_shape}
    nodes = []
    for pos in order:
        node = _parse_node(rd, objs[pos], pos, shapes)
        shapes[node.name] = node.shape
        nodes.append(node)
    if all(n.is_alias for n in nodes):
        raise rd.error("layers", "every layer is a reshape or flatten: there is nothing to run")
    weights = _weights(rd, data.get("weights"), nodes)
    return name, seed, GraphSpec(in_name, in_shape, tuple(nodes), weights)


def _b64(rd: _Reader, key: str, v: Any) -> bytes:
    import base64
    import binascii

    if not isinstance(v, str):
        raise rd.error(f"weights.{key_name(key)}", f"must be a base64 string, got {describe(v)}")
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise rd.error(f"weights.{key_name(key)}", "is not valid base64") from None


#: Largest weights file read (.npz).
MAX_WEIGHTS_BYTES = 1 << 30


def _weights(rd: _Reader, raw: Any, nodes: list[GraphNode]) -> dict[str, np.ndarray]:
    """The `weights` of a graph: a .npz file (path relative to the workload file) of int8
    N x K arrays named after conv2d/gemm layers, or an object of base64 strings (inline)."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        path = Path(raw) if Path(raw).is_absolute() else Path(rd.file).parent / raw
        try:
            if path.stat().st_size > MAX_WEIGHTS_BYTES:
                raise rd.error("weights", f"{raw!r} is larger than {MAX_WEIGHTS_BYTES} bytes")
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except InputError:
            raise
        except Exception as e:  # missing file, not a zip, corrupt member ...
            raise rd.error("weights", f"cannot read {raw!r} as .npz ({type(e).__name__})") from None
    elif isinstance(raw, dict):  # inline: layer -> base64 of the int8 N x K bytes (importers)
        arrays = {k: _b64(rd, k, v) for k, v in raw.items()}
    else:
        raise rd.error("weights", f"must be the name of a .npz file, got {describe(raw)}")
    layers = {n.name: n.layer for n in nodes if n.layer is not None and not n.heads}
    out: dict[str, np.ndarray] = {}
    for key, a in arrays.items():
        layer = layers.get(key)
        if layer is None:
            raise rd.error("weights", f"array {describe(key)} names no conv2d or gemm layer")
        if isinstance(a, bytes) and len(a) == layer.N * layer.K:
            a = np.frombuffer(a, dtype=np.int8).reshape(layer.N, layer.K)
        if not isinstance(a, np.ndarray) or a.dtype != np.int8 or a.shape != (layer.N, layer.K):
            got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else f"{len(a)} bytes"
            raise rd.error("weights", f"array {key!r} must be int8 of shape ({layer.N}, {layer.K}) "
                                      f"(N x K, K in (ky, kx, c) order), got {got}")
        out[key] = a
    return out


def _first_pass(rd: _Reader, raw: list[Any], in_name: str) -> list[dict[str, Any]]:
    """Check ops, keys, names and input lists; returns the layer objects."""
    names: dict[str, int] = {}
    for i, obj in enumerate(raw):
        where = f"layers[{i}]"
        if not isinstance(obj, dict):
            raise rd.error(where, "must be an object")
        op = obj.get("op")
        if not isinstance(op, str) or op not in GRAPH_OPS:
            raise rd.error(f"{where}.op", f"must be one of {', '.join(GRAPH_OPS)}, got {describe(op)}")
        known = _COMMON | _KEYS[op]
        for key in obj:
            if key not in known:
                raise rd.error(f"{where}.{key_name(key)}",
                               f"unknown key for op {op} (known: {', '.join(sorted(known))})")
        name = rd.str_field(obj, "name", where)
        if name == in_name or name in names:
            raise rd.error(f"{where}.name", f"duplicate tensor name {name!r}")
        names[name] = i
        ins = obj.get("inputs")
        if not isinstance(ins, list) or not ins or not all(isinstance(t, str) for t in ins):
            raise rd.error(f"{where}.inputs", "must be a non-empty list of tensor names")
        lo, hi = _ARITY.get(op, (1, 1))
        if not lo <= len(ins) <= hi:
            want = f"{lo}" if lo == hi else f"{lo}..{hi}"
            raise rd.error(f"{where}.inputs", f"op {op} takes {want} inputs, got {len(ins)}")
    for i, obj in enumerate(raw):
        for t in obj["inputs"]:
            if t != in_name and t not in names:
                raise rd.error(f"layers[{i}].inputs", f"unknown tensor {t!r} (no layer produces it)")
    return list(raw)


def _topological(rd: _Reader, objs: list[dict[str, Any]], in_name: str) -> list[int]:
    pos = {o["name"]: i for i, o in enumerate(objs)}
    g = nx.DiGraph()
    g.add_nodes_from(range(len(objs)))
    for i, o in enumerate(objs):
        g.add_edges_from((pos[t], i) for t in o["inputs"] if t != in_name)
    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        names = [objs[u]["name"] for u, _ in cycle] + [objs[cycle[0][0]]["name"]]
        raise rd.error(f"layers[{cycle[0][0]}].inputs", "dependency cycle " + " -> ".join(names))
    return list(nx.lexicographical_topological_sort(g))


def _fill(rd: _Reader, obj: dict[str, Any], where: str, key: str, value: int) -> None:
    """Take `key` from the input tensor, or check the given value agrees."""
    if key in obj and obj[key] != value:
        raise rd.error(f"{where}.{key}", f"is {describe(obj[key])} but the input tensor has {value}")
    obj[key] = value


def _bool_field(rd: _Reader, obj: dict[str, Any], key: str, where: str, default: bool) -> bool:
    v = obj.get(key, default)
    if not isinstance(v, bool):
        raise rd.error(f"{where}.{key}", f"must be true or false, got {describe(v)}")
    return v


def _parse_node(rd: _Reader, obj: dict[str, Any], pos: int, shapes: dict[str, Shape]) -> GraphNode:
    where = f"layers[{pos}]"
    if obj["op"] in MAC_OPS:
        relu = _bool_field(rd, obj, "relu", where, True)
        rounding = _bool_field(rd, obj, "round", where, False)
        node = _parse_mac_or_other(rd, obj, pos, shapes)
        if node.layer is not None and (not relu or rounding):
            node = replace(node, layer=replace(node.layer, relu=relu, rounding=rounding))
        return node
    return _parse_mac_or_other(rd, obj, pos, shapes)


def _parse_mac_or_other(rd: _Reader, obj: dict[str, Any], pos: int, shapes: dict[str, Shape]) -> GraphNode:
    where = f"layers[{pos}]"
    op, name = obj["op"], obj["name"]
    ins = tuple(obj["inputs"])
    h, w, c = shapes[ins[0]]
    if op in MAC_OPS:
        o = dict(obj)
        shift = rd.int_field(o, "shift", where, default=7, lo=0, hi=MAX_SHIFT)
        if op == "matmul":
            return _parse_matmul(rd, o, where, pos, ins, shapes, shift)
        if op == "conv2d":
            for key, v in (("height", h), ("width", w), ("in_channels", c)):
                _fill(rd, o, where, key, v)
            layer = _parse_conv(rd, o, where, name, shift)
            return GraphNode(name, op, ins, pos, (layer.out_h, layer.out_w, layer.N), layer=layer)
        total = h * w * c
        if "M" not in o and "K" not in o:
            o["M"], o["K"] = h * w, c
        elif "K" not in o:
            o["K"] = total // max(1, rd.int_field(o, "M", where))
        elif "M" not in o:
            o["M"] = total // max(1, rd.int_field(o, "K", where))
        layer = _parse_gemm(rd, o, where, name, shift)
        if layer.M * layer.K != total:
            raise rd.error(where, f"A is {layer.M}x{layer.K} but the input tensor {ins[0]!r} is {h}x{w}x{c}")
        return GraphNode(name, op, ins, pos, (layer.M, 1, layer.N), layer=layer)
    if op == "flatten":
        return GraphNode(name, op, ins, pos, (1, 1, h * w * c))
    if op == "reshape":
        s = obj.get("shape")
        if not isinstance(s, list) or len(s) != 3 or any(isinstance(x, bool) or not isinstance(x, int)
                                                         or x < 1 for x in s):
            raise rd.error(f"{where}.shape", "must be [height, width, channels] of positive integers")
        if s[0] * s[1] * s[2] != h * w * c:
            raise rd.error(f"{where}.shape", f"{s[0]}x{s[1]}x{s[2]} does not hold the {h}x{w}x{c} input")
        return GraphNode(name, op, ins, pos, (s[0], s[1], s[2]))
    return _parse_vector(rd, obj, where, pos, ins, shapes)


def _parse_matmul(rd: _Reader, obj: dict[str, Any], where: str, pos: int, ins: tuple[str, ...],
                  shapes: dict[str, Shape], shift: int) -> GraphNode:
    """A batch of `heads` products A_h . B_h, lowered as a grouped 1x1 convolution of A.

    A is pixels x (heads*K): head h reads channels [h*K, (h+1)*K). B is
    K x (heads*N) (head h: columns [h*N, (h+1)*N)), or with `transpose_b`
    N x (heads*K) (head h: B_h^T = channels [h*K, (h+1)*K)). The output is
    pixels x (heads*N), head h in channels [h*N, (h+1)*N).
    """
    h, w, ca = shapes[ins[0]]
    bh, bw, cb = shapes[ins[1]]
    heads = rd.int_field(obj, "heads", where, default=1)
    tb = obj.get("transpose_b", False)
    if not isinstance(tb, bool):
        raise rd.error(f"{where}.transpose_b", f"must be true or false, got {describe(tb)}")
    for what, c in (("A", ca), ("B", cb)):
        if c % heads:
            raise rd.error(f"{where}.heads", f"{heads} does not divide {what}'s {c} channels")
    k = ca // heads
    if tb:
        n, bk = bh * bw, cb // heads
    else:
        bk, n = bh * bw, cb // heads
    if bk != k:
        raise rd.error(f"{where}.inputs", f"B {ins[1]!r} is {bh}x{bw}x{cb}: its K per head is {bk}, "
                                          f"A's is {k}")
    layer = _parse_conv(rd, {"in_channels": ca, "out_channels": heads * n, "height": h, "width": w,
                             "kernel": 1, "groups": heads}, where, obj["name"], shift)
    return GraphNode(obj["name"], "matmul", ins, pos, (h, w, heads * n), layer=layer, heads=heads,
                     transpose_b=tb)


def _lut(rd: _Reader, obj: dict[str, Any], where: str) -> tuple[int, ...]:
    """A lut's table: given (`table`, 256 int8 values) or built from `fn` and its shifts."""
    if ("table" in obj) == ("fn" in obj):
        raise rd.error(where, "a lut needs exactly one of table (256 int8 values) and fn "
                              f"({', '.join(LUT_FUNCTIONS)})")
    if "table" in obj:
        if "in_shift" in obj or "out_shift" in obj:
            raise rd.error(f"{where}.table", "in_shift and out_shift go with fn, not with a table")
        t = obj["table"]
        if not isinstance(t, list) or len(t) != LUT_BYTES:
            raise rd.error(f"{where}.table", f"must be a list of {LUT_BYTES} integers (outputs for inputs "
                                             f"-128 .. 127), got {describe(t)}")
        for i, x in enumerate(t):
            if isinstance(x, bool) or not isinstance(x, int) or not -128 <= x <= 127:
                raise rd.error(f"{where}.table[{i}]", f"must be an integer in -128..127, got {describe(x)}")
        return tuple(t)
    fn = obj["fn"]
    if not isinstance(fn, str) or fn not in LUT_FUNCTIONS:
        raise rd.error(f"{where}.fn", f"must be one of {', '.join(LUT_FUNCTIONS)}, got {describe(fn)}")
    in_shift = rd.int_field(obj, "in_shift", where, default=4, lo=0, hi=MAX_LUT_SHIFT)
    default_out = LUT_FUNCTIONS[fn]
    out_shift = rd.int_field(obj, "out_shift", where, default=in_shift if default_out is None else default_out,
                             lo=0, hi=MAX_LUT_SHIFT)
    return lut_table(fn, in_shift, out_shift)


def _parse_vector(rd: _Reader, obj: dict[str, Any], where: str, pos: int, ins: tuple[str, ...],
                  shapes: dict[str, Shape]) -> GraphNode:
    op, name = obj["op"], obj["name"]
    h, w, c = shapes[ins[0]]
    chans = tuple(shapes[t][2] for t in ins)
    for t in ins[1:]:
        th, tw, tc = shapes[t]
        if op == "mul" and (th, tw, tc) == (1, 1, c):
            continue  # one pixel for every pixel (a squeeze-excite gate)
        if (th, tw) != (h, w) or (op in ("add", "mul") and tc != c):
            want = f"{h}x{w}x{c}" if op == "add" else f"{h}x{w}x{c} or 1x1x{c}" if op == "mul" else f"{h}x{w}xC"
            raise rd.error(f"{where}.inputs", f"tensor {t!r} is {th}x{tw}x{tc}, expected {want} "
                                              f"like {ins[0]!r}")
    v = VectorOp(op, chans, h, w, h, w, sum(chans) if op == "concat" else c)
    if op == "lut":
        v = VectorOp(op, chans, h, w, h, w, c, table=_lut(rd, obj, where))
    elif op == "mul":
        v = VectorOp(op, chans, h, w, h, w, c, shift=rd.int_field(obj, "shift", where, default=7, lo=0,
                                                                  hi=MAX_LUT_SHIFT),
                     broadcast=shapes[ins[1]][:2] == (1, 1) and (h, w) != (1, 1))
    elif op in POOLS:
        k = rd.int_field(obj, "kernel", where, hi=MAX_POOL)  # the unit loops over the k*k taps
        s = rd.int_field(obj, "stride", where, default=k)
        p = rd.int_field(obj, "padding", where, default=0, lo=0, hi=k - 1)
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if oh < 1 or ow < 1:
            raise rd.error(f"{where}.kernel", f"{k} exceeds the padded input {h + 2 * p}x{w + 2 * p}")
        v = VectorOp(op, chans, h, w, oh, ow, c, kernel=k, stride=s, padding=p)
    elif op == "globalavgpool":
        v = VectorOp(op, chans, h, w, 1, 1, c)
    elif op == "clip":
        lo = rd.int_field(obj, "min", where, default=-128, lo=-128, hi=127)
        hi = rd.int_field(obj, "max", where, default=127, lo=-128, hi=127)
        if lo > hi:
            raise rd.error(f"{where}.min", f"{lo} is greater than max {hi}")
        v = VectorOp(op, chans, h, w, h, w, c, lo=lo, hi=hi)
    elif op == "requant":
        v = VectorOp(op, chans, h, w, h, w, c, multiplier=rd.int_field(obj, "multiplier", where, lo=-(1 << 15),
                                                                       hi=1 << 15),
                     shift=rd.int_field(obj, "shift", where, default=0, lo=0, hi=MAX_SHIFT))
    elif op == "resize":
        s = rd.int_field(obj, "scale", where, lo=1, hi=MAX_POOL)
        v = VectorOp(op, chans, h, w, h * s, w * s, c, stride=s)
    elif op == "transpose":
        perm = obj.get("perm")
        if not isinstance(perm, list) or sorted(x for x in perm if type(x) is int) != [0, 1, 2] or len(perm) != 3:
            raise rd.error(f"{where}.perm", f"must be a permutation of [0, 1, 2] (height, width, channels), "
                                            f"got {describe(perm)}")
        shape = (h, w, c)
        oh, ow, oc = (shape[perm[0]], shape[perm[1]], shape[perm[2]])
        v = VectorOp(op, chans, h, w, oh, ow, oc, perm=(perm[0], perm[1], perm[2]))
    elif op in ("softmax", "layernorm"):
        groups = rd.int_field(obj, "groups", where, default=1)
        if c % groups:
            raise rd.error(f"{where}.groups", f"{groups} does not divide the {c} channels")
        v = VectorOp(op, chans, h, w, h, w, c, groups=groups,
                     shift=rd.int_field(obj, "shift", where, default=4 if op == "softmax" else 5, lo=0, hi=7))
    return GraphNode(name, op, ins, pos, (v.out_h, v.out_w, v.out_channels), vec=v)
