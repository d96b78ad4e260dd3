"""ONNX graph -> `tlm-workload/2` (residual blocks, branches, pooling, attention pieces).

`tlm.importers.onnx` imports a plain chain of Conv/Gemm/MatMul as
tlm-workload/1; any other graph comes here. Every node becomes a layer named
after the node (or its output tensor), reading the layers that produce its
inputs:

| ONNX                               | layer                                            |
|------------------------------------|--------------------------------------------------|
| Conv, QLinearConv                  | conv2d (groups, strides, pads, dilations)        |
| Gemm, MatMul (constant B)          | gemm                                             |
| Add (two activations)              | add                                              |
| Mul (two activations)              | mul (equal shapes, or an N x C x 1 x 1 gate: broadcast) |
| Sigmoid, Tanh, HardSigmoid, HardSwish, Erf, Gelu, LeakyRelu, Elu, Selu, Softplus, Softsign, Mish | lut (the exact table between DequantizeLinear and QuantizeLinear) |
| ReduceMean (axes 2, 3)             | globalavgpool                                    |
| 0.5 x (1 + Erf(x / sqrt 2)) (an exported GELU) | one lut, gelu                        |
| Resize (nearest, integer factor)   | resize                                           |
| Relu                               | fused (no layer) after a Conv/Gemm/MatMul read only by it: its store applies ReLU; else relu |
| BatchNormalization                 | folded into the Conv before it (no layer)        |
| Clip                               | clip (bounds rounded to integers, clamped to int8) |
| MaxPool, AveragePool               | maxpool, avgpool (square kernel, equal pads)     |
| GlobalAveragePool                  | globalavgpool                                    |
| Concat (axis 1 of N x C x H x W)   | concat                                           |
| Softmax, LayerNormalization (last axis) | softmax, layernorm                          |
| Flatten, Reshape                   | flatten / reshape (where the bytes stay in place)|
| Transpose                          | transpose (perm mapped to height, width, channels); between attention head layouts: none |
| Identity, Dropout, QuantizeLinear, DequantizeLinear | none: the workload is int8 already |

Tensors are NHWC for the workload: an N x C x H x W tensor (N = 1) is the
H x W x C image, a 2-D M x K tensor the M x 1 x K one. Weights come from the
initializers; the input from the workload seed.

A MAC layer stores signed int8 (`relu: false`) unless a Relu is fused into it.
Quantized MAC nodes (QLinearConv; or Conv/Gemm/MatMul reading DequantizeLinear
outputs and read by a QuantizeLinear, possibly through a fused Relu) whose
scales are per tensor with zero points 0 and x_scale * w_scale / y_scale =
2^-s (0 <= s <= 31), and that have no bias (or an all-zero one: layers have
no bias), store like onnxruntime: `shift: s`, `round: true`.
"""

from __future__ import annotations

from typing import Any

from tlm.errors import InputError
from tlm.importers.onnx import MAX_NAME, _attrs, _clean, _conv, _Graph, _ints, _matmul, _one, _reshape_ok
from tlm.limits import describe
from tlm.workload.graph_spec import MAX_LUT_SHIFT, MAX_POOL

GRAPH_OPS = ("Conv", "QLinearConv", "Gemm", "MatMul", "Add", "Relu", "BatchNormalization", "Clip",
             "MaxPool", "AveragePool", "GlobalAveragePool", "Concat", "Softmax", "LayerNormalization",
             "Flatten", "Reshape", "Transpose", "Mul", "Div", "Identity", "Dropout", "QuantizeLinear",
             "DequantizeLinear", "Constant", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Erf", "Gelu",
             "LeakyRelu", "Elu", "Selu", "Softplus", "Softsign", "Mish", "ReduceMean", "Resize")
#: Element-wise activations: a lut layer each (the last ones always with their own table).
_NAMED = ("Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Erf", "Gelu")
_ACTIVATIONS = _NAMED + ("LeakyRelu", "Elu", "Selu", "Softplus", "Softsign", "Mish")
_PASS = ("Identity", "Dropout", "QuantizeLinear", "DequantizeLinear")
_MAC = ("Conv", "QLinearConv", "Gemm", "MatMul")


def _nhwc(shape: list[int]) -> tuple[int, int, int]:
    if len(shape) == 4:
        return shape[2], shape[3], shape[1]
    if len(shape) == 2:
        return shape[0], 1, shape[1]
    if len(shape) == 3 and shape[0] == 1:
        return shape[1], 1, shape[2]
    raise ValueError(shape)


def _nhwc_perm(g: _Graph, where: str, x: list[int], perm: list[int]) -> list[int]:
    """An ONNX Transpose's perm as the workload's (height, width, channels) perm.

    N x C x H x W (N = 1, kept first) maps axes C, H, W to channels, height,
    width; an M x K (or 1 x M x K) tensor is the M x 1 x K image.
    """
    if not perm:
        perm = list(range(len(x)))[::-1]
    if len(x) == 4 and perm[0] == 0 and sorted(perm) == [0, 1, 2, 3]:
        axis = {1: 2, 2: 0, 3: 1}
        return [axis[perm[2]], axis[perm[3]], axis[perm[1]]]
    if len(x) == 2 and sorted(perm) == [0, 1]:
        return [2, 1, 0] if perm == [1, 0] else [0, 1, 2]
    if len(x) == 3 and x[0] == 1 and perm[0] == 0 and sorted(perm) == [0, 1, 2]:
        return [2, 1, 0] if perm == [0, 2, 1] else [0, 1, 2]
    raise g.error(where, f"Transpose perm {perm} of a {len(x)}-D tensor {x} is not supported (the batch axis "
                         "must stay first)")


def _const_value(g: _Graph, name: str) -> float | None:
    """A scalar constant's value (Clip bounds), or None when absent."""
    if not name:
        return None
    t = g.consts.get(name)
    if t is None:
        raise g.error(f"tensor {describe(name)}", "must be a constant")

    arr = g.array(t)
    return float(arr.reshape(-1)[0]) if arr.size else None


def _int8(v: float | None, default: int) -> int:
    """A Clip bound as int8: rounded and clamped (an infinite bound clamps to the int8 end)."""
    if v is None:
        return default
    return -128 if v < -128 else 127 if v > 127 else round(v)


def graph_to_workload(g: _Graph, input_name: str, input_shape: list[int], name: str) -> dict[str, Any]:
    """The tlm-workload/2 object of a shape-inferred graph (see the module docstring)."""
    tensor: dict[str, str] = {input_name: "input"}   # ONNX tensor -> workload tensor
    made_by: dict[str, str] = {"input": "input"}       # workload tensor -> producing op kind
    # attention views of a tensor's bytes (token-major, heads side by side in the channels):
    # "split" = [1, T, H, D], "heads" = [1, H, T, D], "heads_t" = [1, H, D, T]; value (view, H)
    views: dict[str, tuple[str, int]] = {}
    wts: dict[str, Any] = {}   # layer -> its ONNX weight array (Conv: Cout x Cin/g x kh x kw; gemm: N x K)
    layers: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Any]] = {}
    names: set[str] = {"input"}
    q = _Quant(g)
    gelu_erf, gelu_mul = _erf_gelus(g, q)
    for i, node in enumerate(g.graph.node):
        if node.op_type == "Constant":
            continue
        where = g.node_where(node, i)
        op = node.op_type
        if i in gelu_mul:  # x * (erf(...) + 1): the GELU layer made at its Erf
            tensor[node.output[0]] = tensor[gelu_mul[i]]
            continue
        acts = [x for x in node.input if x and x not in g.consts]
        for x in acts:
            if x not in tensor:
                raise g.error(where, f"reads {describe(x)}, which no supported node produces")
        out = node.output[0]
        src = tensor[acts[0]] if acts else None
        view = _view(g, node, where, op, acts, views)
        if view is not None:  # a reshape/transpose of attention heads: the bytes stay in place
            tensor[out] = src or ""
            if view[0]:
                views[out] = view
            continue
        if op == "Mul" and len(acts) == 2:
            acts = _gate_last(g, where, acts)
            src = tensor[acts[0]]
        elif op in ("Mul", "Div") or (op == "Add" and len(acts) == 1):
            # scaling by a constant (left to the store's shift) or a bias add: no layer
            if len(acts) != 1:
                raise g.error(where, f"{op} of two activations is not supported")
            tensor[out] = src or ""
            if acts[0] in views:
                views[out] = views[acts[0]]
            continue
        if op == "MatMul" and len(acts) == 2:
            a_view, b_view = views.get(acts[0]), views.get(acts[1])
            if a_view is None or b_view is None or a_view[0] != "heads" or b_view[0] not in ("heads", "heads_t"):
                raise g.error(where, "a product of two activations is supported for attention heads only "
                                     "(A: [1, H, T, D], B: [1, H, D, T] or [1, H, T, D] from Reshape + Transpose)")
            lname = _name(node, out, i, layers, names)
            layer = {"name": lname, "op": "matmul", "heads": a_view[1], "inputs": [tensor[x] for x in acts],
                     "relu": False}
            if b_view[0] == "heads_t":
                layer["transpose_b"] = True
            layers.append(layer)
            by_name[lname] = layer
            tensor[out] = lname
            made_by[lname] = "mac"
            views[out] = ("heads", a_view[1])
            continue
        if op == "Softmax" and acts and acts[0] in views and views[acts[0]][0] == "heads":
            if _attrs(node).get("axis", -1) not in (-1, 3):
                raise g.error(where, "softmax over attention heads must be over the last axis")
            lname = _name(node, out, i, layers, names)
            layers.append({"name": lname, "op": "softmax", "groups": views[acts[0]][1], "inputs": [src]})
            tensor[out] = lname
            made_by[lname] = "vector"
            views[out] = views[acts[0]]
            continue
        fuse_relu = op == "Relu" and made_by.get(src or "") == "mac" and q.readers[acts[0]] == 1 \
            and by_name.get(src or "", {}).get("relu") is False
        if fuse_relu:
            by_name[src or ""].pop("relu")
        if op in _PASS or op == "BatchNormalization" or fuse_relu:
            if src is None:  # e.g. DequantizeLinear of a weight: a constant of the same shape
                g.consts[out] = g.consts[node.input[0]]
                continue
            if op == "BatchNormalization" and made_by.get(src) != "mac":
                raise g.error(where, "BatchNormalization must follow a Conv (it is folded into it)")
            if op == "BatchNormalization" and src in wts:
                wts[src] = _fold_bn(g, node, wts[src])
            tensor[out] = src
            continue
        lname = _name(node, out, i, layers, names)
        in_shape = g.shape(acts[0], where) if acts else []
        layer = _layer(g, node, where, op, acts, in_shape, lname)
        layer["inputs"] = [tensor[x] for x in acts]
        w = _weight_of(g, node, op)
        if w is not None:
            wts[lname] = w
        if op in _MAC:
            layer["relu"] = False
            shift = q.shift(node, op)
            if shift is not None:
                layer["shift"], layer["round"] = shift, True
        elif op == "Mul":
            shift = q.shift(node, op)
            if shift is not None and shift <= MAX_LUT_SHIFT:
                layer["shift"] = shift
        elif i in gelu_erf:
            layer["fn"] = "gelu"
        elif op in _ACTIVATIONS:
            layer.update(_activation(node, q.dq_scale(acts[0]), q.q_scale(out)))
        layers.append(layer)
        by_name[lname] = layer
        tensor[out] = lname
        made_by[lname] = "mac" if op in _MAC else "vector"
    if not layers:
        raise g.error("graph", "has no node that maps to a layer")
    h, w, c = _nhwc(input_shape)
    workload: dict[str, Any] = {"format": "tlm-workload/2", "name": name, "seed": 0,
                                "input": {"name": "input", "height": h, "width": w, "channels": c},
                                "layers": layers}
    if wts:
        import base64

        workload["weights"] = {k: base64.b64encode(quantize(v).tobytes()).decode("ascii")
                               for k, v in wts.items()}
    return workload


def _weight_of(g: _Graph, node: Any, op: str) -> Any:
    """The weight tensor of a Conv/Gemm/MatMul node as numpy (Conv layout, or N x K), or None."""
    import numpy as np

    idx = {"Conv": 1, "QLinearConv": 3, "Gemm": 1, "MatMul": 1}.get(op)
    if idx is None or len(node.input) <= idx:
        return None
    t = g.consts.get(node.input[idx])
    if t is None or not hasattr(t, "dims"):
        return None
    w = g.array(t)
    if op in ("Gemm", "MatMul"):
        trans = op == "Gemm" and _attrs(node).get("transB", 0)
        w = w if trans else w.T
    return np.ascontiguousarray(w)


def _fold_bn(g: _Graph, node: Any, w: Any) -> Any:
    """Conv weights times the BatchNormalization scale gamma / sqrt(var + eps) per output channel."""
    import numpy as np

    if w.dtype == np.int8:
        return w  # already quantised (QDQ): BN cannot be folded into integers
    gamma, var = (g.array(g.consts[node.input[i]]).astype(np.float64) for i in (1, 4))
    eps = float(_attrs(node).get("epsilon", 1e-5))
    return w * (gamma / np.sqrt(var + eps)).reshape(-1, *([1] * (w.ndim - 1)))


def quantize(w: Any) -> Any:
    """An ONNX weight as the workload's int8 N x K (conv K in (ky, kx, c) order).

    Float weights: symmetric per-tensor, scale = max|w| / 127, q = round-half-even(w / scale)
    (all zeros for an all-zero tensor). int8 weights (QDQ, QLinearConv) are taken as they are.
    """
    import numpy as np

    if w.dtype != np.int8:
        top = float(np.max(np.abs(w))) if w.size else 0.0
        w = np.zeros(w.shape, dtype=np.int8) if top == 0.0 else \
            np.clip(np.round(w.astype(np.float64) * (127.0 / top)), -127, 127).astype(np.int8)
    if w.ndim == 4:  # Cout x Cin/g x kh x kw -> Cout x (kh, kw, Cin/g)
        w = w.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(w.reshape(w.shape[0], -1))


def _name(node: Any, out: str, i: int, layers: list[dict[str, Any]], names: set[str]) -> str:
    lname = _clean(node.name) or _clean(out) or f"layer{len(layers)}"
    if lname in names:
        lname = f"{lname[:MAX_NAME - 8]}#{i}"
    names.add(lname)
    return lname


def _view(g: _Graph, node: Any, where: str, op: str, acts: list[str],
          views: dict[str, tuple[str, int]]) -> tuple[str, int] | None:
    """The attention view a Reshape/Transpose gives (("", 0): back to a plain tensor), or None
    when the node is no such reshape."""
    if op not in ("Reshape", "Transpose") or len(acts) != 1:
        return None
    x, out = g.shape(acts[0], where), g.shape(node.output[0], where)
    v = views.get(acts[0])
    if op == "Reshape":
        if v is None and len(x) in (2, 3) and len(out) == 4 and out[0] == 1 and out[1] == x[-2] \
                and out[2] * out[3] == x[-1]:
            return ("split", out[2])
        if v is not None and v[0] == "split" and len(out) in (2, 3):
            return ("", 0)
        if v is not None:
            raise g.error(where, f"reshapes attention heads {x} to {out}; only back to tokens x features")
        return None
    perm = list(_attrs(node).get("perm", []))
    if v is not None and v[0] == "split" and perm == [0, 2, 1, 3]:
        return ("heads", v[1])
    if v is not None and v[0] == "split" and perm == [0, 2, 3, 1]:
        return ("heads_t", v[1])
    if v is not None and v[0] == "heads" and perm == [0, 2, 1, 3]:
        return ("split", v[1])
    if v is not None:
        raise g.error(where, f"Transpose perm {perm} of attention heads is supported only between head "
                             "layouts ([1, T, H, D] <-> [1, H, T, D], and [1, H, D, T] for K)")
    return None  # a plain tensor: a transpose layer


def _layer(g: _Graph, node: Any, where: str, op: str, acts: list[str], x: list[int],
           lname: str) -> dict[str, Any]:
    a = _attrs(node)
    if op in ("Conv", "QLinearConv"):
        if op == "QLinearConv":  # x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp[, B]
            node = _Proxy(node, [node.input[0], node.input[3]])
        layer = _conv(g, node, where, x, lname)
        return {k: v for k, v in layer.items() if k not in ("in_channels", "height", "width")}
    if op in ("Gemm", "MatMul"):
        if len(acts) != 1:
            raise g.error(where, "a product of two activations (attention's Q.K^T, P.V) is not supported "
                                 "yet: B must be a constant")
        if len(x) == 3 and x[0] == 1:
            x = x[1:]
        layer = _matmul(g, node, where, x, lname)
        return {"name": lname, "op": "gemm", "N": layer["N"]}
    if op == "Add":
        if len(acts) != 2:
            raise g.error(where, "Add needs two activations (a residual); adding a constant is not supported")
        return {"name": lname, "op": "add"}
    if op == "Relu":
        return {"name": lname, "op": "relu"}
    if op == "Mul":
        return {"name": lname, "op": "mul"}
    if op in _ACTIVATIONS:
        return {"name": lname, "op": "lut"}
    if op == "ReduceMean":
        return _reduce_mean(g, node, where, x, lname)
    if op == "Resize":
        return {"name": lname, "op": "resize", "scale": _resize_scale(g, node, where, x)}
    if op == "Clip":
        lo = _const_value(g, node.input[1]) if len(node.input) > 1 else a.get("min")
        hi = _const_value(g, node.input[2]) if len(node.input) > 2 else a.get("max")
        if any(v is not None and v != v for v in (lo, hi)):
            raise g.error(where, "a Clip bound is NaN")
        return {"name": lname, "op": "clip", "min": _int8(lo, -128), "max": _int8(hi, 127)}
    if op in ("MaxPool", "AveragePool"):
        k = _one(_ints(a, "kernel_shape", [1, 1], g, where), "kernel_shape", g, where)
        s = _one(_ints(a, "strides", [1, 1], g, where), "strides", g, where)
        p = _one(_ints(a, "pads", [0, 0, 0, 0], g, where), "pads", g, where)
        if a.get("ceil_mode", 0):
            raise g.error(where, "ceil_mode = 1 is not supported")
        if any(d != 1 for d in _ints(a, "dilations", [1, 1], g, where)):
            raise g.error(where, f"dilations {list(a['dilations'])} are not supported (pools are dense)")
        if op == "AveragePool" and p and not a.get("count_include_pad", 0):
            raise g.error(where, "count_include_pad = 0 with padding is not supported (avgpool divides by "
                                 "kernel^2, padding counted as 0)")
        return {"name": lname, "op": "maxpool" if op == "MaxPool" else "avgpool", "kernel": k, "stride": s,
                "padding": p}
    if op == "GlobalAveragePool":
        return {"name": lname, "op": "globalavgpool"}
    if op == "Concat":
        if len(x) != 4 or a.get("axis") not in (1, -3):
            raise g.error(where, f"only the channel axis (1) of N x C x H x W is supported, got "
                                 f"{describe(a.get('axis'))}")
        return {"name": lname, "op": "concat"}
    if op == "Transpose":
        return {"name": lname, "op": "transpose", "perm": _nhwc_perm(g, where, x, list(a.get("perm", [])))}
    if op in ("Softmax", "LayerNormalization"):
        axis = a.get("axis", -1)
        channel = (1, -3) if len(x) == 4 else (-1, len(x) - 1)  # N x C x H x W: C; tokens x features
        if axis not in channel:
            raise g.error(where, f"only the channel axis ({channel[0]}) of a {len(x)}-D tensor is supported, "
                                 f"got {axis}")
        return {"name": lname, "op": "softmax" if op == "Softmax" else "layernorm"}
    # Flatten, Reshape
    out = g.shape(node.output[0], where)
    _reshape_ok(g, where, x, out)
    if out[0] == 1:
        return {"name": lname, "op": "flatten"}
    hh, ww, cc = _nhwc(out)
    return {"name": lname, "op": "reshape", "shape": [hh, ww, cc]}


def _erf_gelus(g: _Graph, q: _Quant) -> tuple[set[int], dict[int, str]]:
    """GELU as exporters write it without a Gelu op: 0.5 * x * (1 + erf(x / sqrt(2))), the 0.5
    anywhere along x's path. Returns the indices of such Erf nodes (the scaling by a constant
    before them is no layer, so they read x), and per index of the Mul of x and (1 + erf), the
    Erf's output (that Mul's result is the GELU layer's)."""
    import math

    index = {id(n): i for i, n in enumerate(g.graph.node)}
    gelu_erf: set[int] = set()
    gelu_mul: dict[int, str] = {}

    def scaled(tensor: str) -> tuple[str, float] | None:
        """(x, factor) when `tensor` is x times or over a scalar constant."""
        n = q.producer.get(tensor)
        if n is None or n.op_type not in ("Mul", "Div") or len(n.input) != 2:
            return None
        for a, b in (tuple(n.input), tuple(n.input)[::-1]):
            c = q.scalar(b)
            if c and a not in g.consts and (n.op_type == "Mul" or b == n.input[1]):
                return a, (c if n.op_type == "Mul" else 1 / c)
        return None

    for i, erf in enumerate(g.graph.node):
        if erf.op_type != "Erf":
            continue
        inner = scaled(erf.input[0])
        if inner is None or not math.isclose(inner[1], 1 / math.sqrt(2), rel_tol=1e-3):
            continue
        x = inner[0]
        adds = q.consumers.get(erf.output[0], [])
        if len(adds) != 1 or adds[0].op_type != "Add":
            continue
        one = [t for t in adds[0].input if t != erf.output[0]]
        muls = q.consumers.get(adds[0].output[0], [])
        if len(one) != 1 or q.scalar(one[0]) != 1.0 or len(muls) != 1 or muls[0].op_type != "Mul":
            continue
        other = [t for t in muls[0].input if t != adds[0].output[0]]
        half = scaled(other[0]) if len(other) == 1 else None
        if other != [x] and not (half is not None and half[0] == x and math.isclose(half[1], 0.5)):
            continue  # the second factor is neither x nor 0.5 x
        gelu_erf.add(i)
        gelu_mul[index[id(muls[0])]] = erf.output[0]
    return gelu_erf, gelu_mul


def _gate_last(g: _Graph, where: str, acts: list[str]) -> list[str]:
    """A Mul's two activations, a one-pixel gate (N x C x 1 x 1) second; else equal shapes."""
    a, b = g.shape(acts[0], where), g.shape(acts[1], where)
    if a == b:
        return acts
    if len(a) == 4 and len(b) == 4 and a[:2] == b[:2]:
        if b[2:] == [1, 1]:
            return acts
        if a[2:] == [1, 1]:
            return [acts[1], acts[0]]
    raise g.error(where, f"Mul of {a} and {b}: only equal shapes or an N x C x 1 x 1 gate are supported")


def _activation(node: Any, in_scale: float | None, out_scale: float | None) -> dict[str, Any]:
    """A lut layer's keys: the exact table where the node sits between a DequantizeLinear and a
    QuantizeLinear (any scales, zero points 0), else a named function with the default shifts."""
    from tlm.workload import vector_ops as vo

    op, a = node.op_type, _attrs(node)
    if op not in _NAMED:  # near the identity: the input's scale for the output too
        f = _unnamed(op, a)
        if in_scale and out_scale and in_scale > 0 and out_scale > 0:
            return {"table": list(vo.lut_from(f, in_scale, out_scale))}
        return {"table": list(vo.lut_from(f, 2.0 ** -4, 2.0 ** -4))}
    fn = {"Sigmoid": "sigmoid", "Tanh": "tanh", "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish",
          "Erf": "erf", "Gelu": "gelu"}[op]
    f = vo.LUT_F[fn]
    standard = True
    if op == "HardSigmoid":
        alpha, beta = float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))
        standard = (alpha, beta) == (0.2, 0.5)
        f = lambda x: vo.hardsigmoid(x, alpha, beta)  # noqa: E731
    if op == "Gelu" and _text_attr(a, "approximate", "none") == "tanh":
        standard = False
        f = _gelu_tanh
    if in_scale and out_scale and in_scale > 0 and out_scale > 0:
        return {"table": list(vo.lut_from(f, in_scale, out_scale))}
    if standard:
        return {"fn": fn}
    out_shift = vo.LUT_FUNCTIONS[fn]
    return {"table": list(vo.lut_from(f, 2.0 ** -4, 2.0 ** -(4 if out_shift is None else out_shift)))}


def _unnamed(op: str, a: dict[str, Any]) -> Any:
    """The float32 function of an activation without a workload `fn` name, with its attributes."""
    import numpy as np

    f32 = np.float32
    if op == "LeakyRelu":
        alpha = f32(a.get("alpha", 0.01))
        return lambda x: np.where(x >= 0, x, alpha * x).astype(f32)
    if op in ("Elu", "Selu"):
        alpha = f32(a.get("alpha", 1.0 if op == "Elu" else 1.67326319217681884765625))
        gamma = f32(a.get("gamma", 1.05070102214813232421875)) if op == "Selu" else f32(1)
        return lambda x: (gamma * np.where(x > 0, x, alpha * (np.exp(x) - f32(1)))).astype(f32)
    if op == "Softplus":
        return lambda x: np.log(np.exp(x) + f32(1)).astype(f32)
    if op == "Softsign":
        return lambda x: (x / (f32(1) + np.abs(x))).astype(f32)
    # Mish: x * tanh(softplus(x))
    return lambda x: (x * np.tanh(np.log(np.exp(x) + f32(1)))).astype(f32)


def _gelu_tanh(x: Any) -> Any:
    import numpy as np

    c = np.float32(np.sqrt(2 / np.pi))
    return (np.float32(0.5) * x * (1 + np.tanh(c * (x + np.float32(0.044715) * x * x * x)))).astype(np.float32)


#: Resize coordinate modes that pick input pixel floor(y / s) at an integer scale s.
_NEAREST_FLOOR = {("half_pixel", "round_prefer_floor"), ("half_pixel", "round_prefer_ceil"),
                  ("pytorch_half_pixel", "round_prefer_floor"), ("pytorch_half_pixel", "round_prefer_ceil"),
                  ("asymmetric", "floor")}


def _text_attr(a: dict[str, Any], key: str, default: str) -> str:
    """A string attribute (onnx gives bytes)."""
    v = a.get(key, default)
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def _resize_scale(g: _Graph, node: Any, where: str, x: list[int]) -> int:
    """A Resize's integer upsampling factor: nearest, the same on height and width, N and C kept."""
    a = _attrs(node)
    mode = _text_attr(a, "mode", "nearest")
    how = (_text_attr(a, "coordinate_transformation_mode", "half_pixel"),
           _text_attr(a, "nearest_mode", "round_prefer_floor"))
    if mode != "nearest" or how not in _NEAREST_FLOOR:
        raise g.error(where, f"Resize mode {mode!r} with {how[0]!r}/{how[1]!r}: only nearest upsampling by an "
                             "integer factor (half_pixel or pytorch_half_pixel with round_prefer_floor/ceil, or "
                             "asymmetric with floor) is supported")
    out = g.shape(node.output[0], where)
    if len(x) != 4 or len(out) != 4 or out[:2] != x[:2] or out[2] % x[2] or out[3] % x[3] \
            or out[2] // x[2] != out[3] // x[3] or out[2] == x[2]:
        raise g.error(where, f"Resize of {x} to {out}: only upsampling height and width of N x C x H x W by the "
                             "same integer factor is supported")
    scale = out[2] // x[2]
    if scale > MAX_POOL:
        raise g.error(where, f"Resize factor {scale} is more than {MAX_POOL}")
    return scale


def _reduce_mean(g: _Graph, node: Any, where: str, x: list[int], lname: str) -> dict[str, Any]:
    """ReduceMean over the two spatial axes of N x C x H x W: a globalavgpool."""

    a = _attrs(node)
    axes = list(a.get("axes", []))
    if not axes and len(node.input) > 1 and node.input[1]:
        t = g.consts.get(node.input[1])
        if t is None:
            raise g.error(where, "ReduceMean axes must be a constant")
        axes = [int(v) for v in g.array(t).reshape(-1)]
    if len(x) != 4 or sorted(ax % 4 for ax in axes) != [2, 3]:
        raise g.error(where, f"ReduceMean over axes {axes} of {x}: only the spatial axes (2, 3) of "
                             "N x C x H x W are supported (a global average pool)")
    return {"name": lname, "op": "globalavgpool"}


class _Quant:
    """Scales of quantized MAC nodes: the store shift that makes them onnxruntime's."""

    def __init__(self, g: _Graph) -> None:
        self.g = g
        self.producer = {o: n for n in g.graph.node for o in n.output}
        self.consumers: dict[str, list[Any]] = {}
        for n in g.graph.node:
            for x in set(n.input):
                self.consumers.setdefault(x, []).append(n)
        self.readers = {x: len(ns) for x, ns in self.consumers.items()}

    def scalar(self, name: str) -> float | None:
        """A per-tensor constant's value (all elements equal), else None."""
        import numpy as np

        t = self.g.consts.get(name) if name else None
        if t is None or not hasattr(t, "dims"):
            return None
        arr = self.g.array(t).astype(np.float64).reshape(-1)
        if arr.size == 0 or not (arr == arr[0]).all():
            return None
        return float(arr[0])

    def _zero(self, node: Any, i: int) -> bool:
        return len(node.input) <= i or not node.input[i] or self.scalar(node.input[i]) == 0.0

    def dq_scale(self, tensor: str) -> float | None:
        """The scale of the DequantizeLinear (zero point 0) producing `tensor`, else None."""
        n = self.producer.get(tensor)
        if n is None or n.op_type != "DequantizeLinear" or not self._zero(n, 2):
            return None
        return self.scalar(n.input[1])

    def q_scale(self, tensor: str) -> float | None:
        """The scale of the one QuantizeLinear (zero point 0) reading `tensor`, past a Relu."""
        ns = self.consumers.get(tensor, [])
        if len(ns) == 1 and ns[0].op_type == "Relu":
            ns = self.consumers.get(ns[0].output[0], [])
        if len(ns) != 1 or ns[0].op_type != "QuantizeLinear" or not self._zero(ns[0], 2):
            return None
        return self.scalar(ns[0].input[1])

    def _no_bias(self, node: Any, i: int) -> bool:
        """Input i (the bias, which layers do not model) is absent or a constant of zeros."""

        if len(node.input) <= i or not node.input[i]:
            return True
        t = self.g.consts.get(node.input[i])
        return t is not None and hasattr(t, "dims") and not self.g.array(t).any()

    def shift(self, node: Any, op: str) -> int | None:
        """s when x_scale * w_scale / y_scale == 2^-s (0 <= s <= 31) with zero points 0 and no bias,
        else None."""
        import math

        if not self._no_bias(node, 8 if op == "QLinearConv" else 2):
            return None
        if op == "QLinearConv":
            if not all(self._zero(node, i) for i in (2, 5, 7)):
                return None
            sx, sw, sy = (self.scalar(node.input[i]) for i in (1, 4, 6))
        else:
            sx, sw = self.dq_scale(node.input[0]), self.dq_scale(node.input[1])
            sy = self.q_scale(node.output[0])
        if not sx or not sw or not sy or sx < 0 or sw < 0 or sy < 0:
            return None
        mant, exp = math.frexp(sx * sw / sy)
        s = 1 - exp
        return s if mant == 0.5 and 0 <= s <= 31 else None


class _Proxy:
    """A node seen with other inputs (QLinearConv's x and w in Conv's places)."""

    def __init__(self, node: Any, inputs: list[str]) -> None:
        self._node = node
        self.input = inputs

    def __getattr__(self, key: str) -> Any:
        return getattr(self._node, key)


def check_supported(g: _Graph, error_cls: type[InputError] = InputError) -> bool:
    """Whether every node has a graph mapping (the caller reports the first one that has not)."""
    return all(n.op_type in GRAPH_OPS and n.domain in ("", "ai.onnx") for n in g.graph.node)
