"""ONNX model -> `tlm-workload/1` layers (docs/workload.md, "ONNX models"), or a graph.

Needs the `onnx` package (`pip install 'tlmsim[onnx]'`), imported only here
so that nothing else pays for it. Shapes come from ONNX shape inference.

Any graph that is not such a chain, or that uses other ops (Add, pools,
Concat, Softmax ...), is imported as tlm-workload/2 (`tlm.importers.onnx_graph`).
A chain:  one input, one output, every node reading the
previous node's output (plus constants: initializers or `Constant` nodes).
Mapped ops: Conv (group, strides, pads, dilations: square and symmetric),
Gemm and MatMul (2-D activation times a constant matrix), Relu (fused: every
layer but the last applies ReLU), BatchNormalization (folded into the Conv
before it), Flatten and Reshape (only where ONNX's row-major order is the
workload's NHWC order), Identity and Dropout (no-ops at inference).

Weights: tlm-workload/1 has no place for tensors, so initializers (weights,
biases, batch-norm statistics) only give shapes; operand data is drawn from
the workload seed; `tlmsim import` says so to the user.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

from tlm.arch import MAX_SIZE
from tlm.errors import InputError
from tlm.limits import describe, read_capped
from tlm.workload.spec import FORMAT, MAX_NAME

#: Default-domain opset versions accepted (7: the oldest with today's Conv/Gemm/BN
#: attributes; 28: the newest the pinned onnx package knows).
MIN_OPSET, MAX_OPSET = 7, 28
LAYER_OPS = ("Conv", "Gemm", "MatMul")
FUSED_OPS = ("Relu", "BatchNormalization")
LAYOUT_OPS = ("Flatten", "Reshape", "Identity", "Dropout")
SUPPORTED = LAYER_OPS + FUSED_OPS + LAYOUT_OPS + ("Constant",)

class _Graph:
    """Node/initializer lookups and one-line errors for one model."""

    def __init__(self, file: str, model: Any) -> None:
        self.file = file
        self.graph = model.graph
        self.consts: dict[str, Any] = {t.name: t for t in self.graph.initializer}
        self.shapes: dict[str, list[int | str]] = {}
        for vi in list(self.graph.input) + list(self.graph.value_info) + list(self.graph.output):
            dims = vi.type.tensor_type.shape.dim
            self.shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                                    for d in dims]

    def error(self, where: str, what: str) -> InputError:
        return InputError(self.file, where, what)

    def array(self, t: Any) -> Any:
        """A constant tensor as numpy; malformed data (a size that does not match its dims, an
        unknown type) is refused naming the tensor."""
        import onnx.numpy_helper

        try:
            return onnx.numpy_helper.to_array(t)
        except (ValueError, TypeError, OverflowError, MemoryError, KeyError) as e:
            raise self.error(f"tensor {describe(_text(t.name))}",
                             f"malformed data ({type(e).__name__}: {str(e)[:120]})") from None

    def node_where(self, node: Any, index: int) -> str:
        return f"node {describe(_text(node.name)) if node.name else f'#{index}'} ({_text(node.op_type)})"

    def shape(self, tensor: str, where: str) -> list[int]:
        dims = self.shapes.get(tensor)
        if dims is None:
            raise self.error(where, f"shape inference gave no shape for tensor {describe(tensor)}")
        if not all(isinstance(d, int) and d > 0 for d in dims):
            raise self.error(where, f"tensor {describe(tensor)} has a dynamic or empty shape {dims}")
        return [int(d) for d in dims]

    def const_shape(self, name: str, where: str) -> list[int]:
        t = self.consts.get(name)
        if t is None or not hasattr(t, "dims"):
            raise self.error(where, f"input {describe(name)} must be a constant (an initializer)")
        return [int(d) for d in t.dims]


def _text(v: Any) -> str:
    """A protobuf string field as text (invalid UTF-8 arrives as bytes)."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _clean(name: Any) -> str:
    """A node or tensor name usable as a layer name (no control characters, not too long)."""
    return "".join(c for c in _text(name) if unicodedata.category(c) not in ("Cc", "Cs"))[:MAX_NAME]


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _ints(a: dict[str, Any], key: str, default: list[int], g: _Graph, where: str) -> list[int]:
    """Attribute `key` as a non-empty list of positive (pads: non-negative) ints."""
    v = a.get(key, default)
    lo = 0 if key == "pads" else 1
    if not isinstance(v, list) or not v or not all(isinstance(x, int) and lo <= x <= MAX_SIZE for x in v):
        raise g.error(where, f"attribute {key} must be a list of integers >= {lo}, got {describe(v)}")
    return v


def _one(values: list[int], what: str, g: _Graph, where: str) -> int:
    if len(set(values)) != 1:
        raise g.error(where, f"{what} {values} differ per axis; tlm-workload/1 has one value for both")
    return values[0]


def _conv(g: _Graph, node: Any, where: str, x: list[int], name: str) -> dict[str, Any]:
    if len(x) != 4:
        raise g.error(where, f"input is {len(x)}-D; Conv needs N x C x H x W")
    w = g.const_shape(node.input[1], where)
    a = _attrs(node)
    if len(w) != 4:
        raise g.error(where, f"weight {describe(node.input[1])} is {len(w)}-D; Conv2d needs Cout x Cin/g x kH x kW")
    kernel = _one(_ints(a, "kernel_shape", w[2:], g, where), "kernel_shape", g, where)
    stride = _one(_ints(a, "strides", [1, 1], g, where), "strides", g, where)
    dilation = _one(_ints(a, "dilations", [1, 1], g, where), "dilations", g, where)
    raw_pad = a.get("auto_pad", b"NOTSET")
    auto_pad = raw_pad.decode("utf-8", "replace") if isinstance(raw_pad, bytes) else describe(raw_pad)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        # output ceil(size / stride): expressible when the total padding splits evenly
        extent = dilation * (kernel - 1) + 1
        totals = [max(0, (-(-size // stride) - 1) * stride + extent - size) for size in x[2:]]
        pads = [t // 2 for t in totals] * 2 if all(t % 2 == 0 for t in totals) else totals
        if any(t % 2 for t in totals):
            raise g.error(where, f"auto_pad {auto_pad} pads {totals} in total (height, width), which does "
                                 "not split evenly between the two sides")
    elif auto_pad in ("NOTSET", "VALID"):
        pads = _ints(a, "pads", [0, 0, 0, 0], g, where) if auto_pad == "NOTSET" else [0]
    else:
        raise g.error(where, f"auto_pad {describe(auto_pad)} is not supported")
    padding = _one(pads, "pads", g, where)
    groups = a.get("group", 1)
    if not isinstance(groups, int) or groups < 1:
        raise g.error(where, f"attribute group must be a positive integer, got {describe(groups)}")
    return {"name": name, "op": "conv2d", "in_channels": x[1], "out_channels": w[0], "height": x[2],
            "width": x[3], "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
            **({"groups": groups} if groups != 1 else {})}


def _matmul(g: _Graph, node: Any, where: str, x: list[int], name: str) -> dict[str, Any]:
    if len(x) != 2:
        raise g.error(where, f"input is {len(x)}-D {x}; only 2-D (M x K) products map to a gemm layer")
    w = g.const_shape(node.input[1], where)
    a = _attrs(node) if node.op_type == "Gemm" else {}
    if a.get("transA", 0):
        raise g.error(where, "transA = 1 is not supported (the activation must be A, not A transposed)")
    if len(w) != 2:
        raise g.error(where, f"weight {describe(node.input[1])} is {len(w)}-D; a 2-D matrix is needed")
    k, n = (w[1], w[0]) if a.get("transB", 0) else (w[0], w[1])
    if k != x[1]:
        raise g.error(where, f"weight is {k}x{n} but the input has {x[1]} columns")
    return {"name": name, "op": "gemm", "M": x[0], "N": n, "K": k}


def _reshape_ok(g: _Graph, where: str, before: list[int], after: list[int]) -> None:
    """Flatten/Reshape must keep the bytes where the workload keeps them (NHWC, row-major)."""
    if len(after) != 2:
        raise g.error(where, f"gives a {len(after)}-D tensor {after}; only a 2-D result (for a Gemm/MatMul) "
                             "is supported")
    if len(before) == 4 and before[1] > 1 and before[2] * before[3] > 1:
        raise g.error(where, f"flattens {before[1]}x{before[2]}x{before[3]} in ONNX's (C, H, W) order, "
                             "which differs from the workload's (H, W, C) layout unless H*W = 1 or C = 1")
    if len(before) not in (2, 4):
        raise g.error(where, f"reads a {len(before)}-D tensor {before}; only 2-D and 4-D are supported")


def _opset(g: _Graph, model: Any) -> None:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            if not MIN_OPSET <= imp.version <= MAX_OPSET:
                raise g.error("opset_import", f"opset {imp.version} is outside the supported "
                                              f"{MIN_OPSET}..{MAX_OPSET}")
            return
    raise g.error("opset_import", "the model imports no default-domain (ai.onnx) opset")


def _check_external(g: _Graph) -> None:
    import onnx

    for t in g.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            where = next((e.value for e in t.external_data if e.key == "location"), "?")
            raise g.error(f"initializer {describe(t.name)}", f"stored as external data ({describe(where)}); "
                                                             "save the model with its tensors inside the file")


def _input(g: _Graph) -> tuple[str, list[int]]:
    inputs = [i for i in g.graph.input if i.name not in g.consts]
    if len(inputs) != 1:
        raise g.error("graph.input", f"has {len(inputs)} inputs besides initializers; a chain has exactly 1")
    name = inputs[0].name
    dims = g.shapes[name]
    if dims and not (isinstance(dims[0], int) and dims[0] > 0):
        raise g.error(f"input {describe(name)}", f"dynamic batch dimension {describe(dims[0])}; "
                                                 "export the model with a fixed batch (1)")
    shape = g.shape(name, f"input {describe(name)}")
    if len(shape) == 4 and shape[0] != 1:
        raise g.error(f"input {describe(name)}", f"batch {shape[0]}: images are read with batch 1 only")
    if len(shape) not in (2, 4):
        raise g.error(f"input {describe(name)}", f"is {len(shape)}-D {shape}; expected N x C x H x W "
                                                 "or M x K")
    return name, shape


def model_to_workload(model: Any, file: str, name: str = "onnx") -> dict[str, Any]:
    """The workload object of a loaded ONNX `ModelProto` (see the module docstring).

    Raises:
        InputError: an unsupported op (naming node, op type and the supported
            ops), a graph that is not a chain, a shape the format cannot express.
    """
    import onnx

    from tlm.importers.onnx_graph import GRAPH_OPS, graph_to_workload

    g0 = _Graph(file, model)
    _opset(g0, model)
    _check_external(g0)
    written = {x.name for x in model.graph.input} | {t.name for t in model.graph.initializer}
    for i, node in enumerate(model.graph.node):  # before inference, which stops at unknown ops
        if not node.output or not node.output[0]:
            raise g0.error(g0.node_where(node, i), "has no output")
        for out in node.output:
            if out and out in written:  # a graph assigns every tensor once
                raise g0.error(g0.node_where(node, i), f"writes tensor {describe(_text(out))}, which the "
                                                       "graph already defines")
            written.add(out)
        if node.op_type not in GRAPH_OPS or node.domain not in ("", "ai.onnx"):
            raise g0.error(g0.node_where(node, i), f"op {_text(node.domain) + '.' if node.domain else ''}"
                                                   f"{_text(node.op_type)} has no mapping (supported: "
                                                   f"{', '.join(GRAPH_OPS)})")
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as e:  # onnx raises several types; all mean a malformed model
        raise InputError(file, "shape inference", str(e).strip().splitlines()[0][:300] or type(e).__name__) \
            from None
    g = _Graph(file, inferred)
    for node in g.graph.node:
        if node.op_type == "Constant":  # a tensor value, or None for the scalar/list forms
            g.consts[node.output[0]] = _attrs(node).get("value")
    current, shape = _input(g)
    if not all(n.op_type in SUPPORTED for n in g.graph.node):
        return graph_to_workload(g, current, shape, name)
    try:
        return _chain(g, current, shape, name)
    except InputError as e:
        if "the graph is not a chain" not in e.what and "a chain has one output" not in e.what:
            raise
    return graph_to_workload(g, current, shape, name)


def _chain(g: _Graph, current: str, shape: list[int], name: str) -> dict[str, Any]:
    """A chain of Conv/Gemm/MatMul (with fused and layout ops) as tlm-workload/1."""
    readers = Counter(x for n in g.graph.node if n.op_type != "Constant" for x in set(n.input)
                      if x and x not in g.consts)
    layers: list[dict[str, Any]] = []
    names: set[str] = set()
    prev_op = ""
    for i, node in enumerate(g.graph.node):
        if node.op_type == "Constant":
            continue
        where = g.node_where(node, i)
        acts = [x for x in node.input if x and x not in g.consts]
        if acts != [current] or (node.input and node.input[0] != current):
            raise g.error(where, f"reads {acts or 'only constants'} instead of the previous output "
                                 f"{describe(current)}: the graph is not a chain")
        if readers[current] > 1:
            raise g.error(where, f"tensor {describe(current)} feeds {readers[current]} nodes: the graph "
                                 "is not a chain")
        out = node.output[0]
        if node.op_type in LAYER_OPS:
            lname = _clean(node.name) or _clean(out) or f"layer{len(layers)}"
            if lname in names:
                lname = f"{lname[:MAX_NAME - 8]}#{i}"
            names.add(lname)
            layer = _conv(g, node, where, shape, lname) if node.op_type == "Conv" else \
                _matmul(g, node, where, shape, lname)
            layers.append(layer)
        elif node.op_type == "BatchNormalization" and prev_op != "Conv":
            raise g.error(where, "BatchNormalization must follow a Conv (it is folded into it)")
        new_shape = g.shape(out, where)
        if node.op_type in ("Flatten", "Reshape"):
            _reshape_ok(g, where, shape, new_shape)
        elif node.op_type == "Relu" and not layers:
            raise g.error(where, "a Relu before the first Conv/Gemm/MatMul has no layer to fuse into")
        current, shape = out, new_shape
        if node.op_type not in ("Identity", "Dropout"):
            prev_op = node.op_type
    outputs = [o.name for o in g.graph.output]
    if outputs != [current]:
        raise g.error("graph.output", f"is {outputs}; a chain has one output, the last node's "
                                      f"{describe(current)}")
    if not layers:
        raise g.error("graph", "has no Conv, Gemm or MatMul node")
    return {"format": FORMAT, "name": name, "seed": 0, "layers": layers}


def load_onnx(path: str, max_bytes: int) -> dict[str, Any]:
    """Read an ONNX file (at most `max_bytes`) into a workload object."""
    raw = read_capped(path, max_bytes, "--max-workload-bytes raises it")
    try:
        import onnx
    except ImportError:
        raise InputError(path, "file", "reading ONNX needs the onnx package: pip install 'tlmsim[onnx]'") \
            from None
    try:
        model = onnx.load_model_from_string(raw)
    except Exception as e:  # protobuf's DecodeError and friends
        raise InputError(path, "file", f"not an ONNX model ({type(e).__name__})") from None
    if not model.graph.node:
        raise InputError(path, "graph", "has no nodes (is this an ONNX model?)")
    stem = Path(path).stem or "onnx"
    return model_to_workload(model, path, stem[:MAX_NAME])
