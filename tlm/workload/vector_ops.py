"""The vector unit's operations: op codes, parameters and exact int8 semantics.

Every vector op reads int8 tensors and writes an int8 tensor (NHWC, pixels x
channels, row-major). The same functions serve the numpy reference (whole
tensors) and the TLM vector unit (one entry's chunk of output pixels), so
their results agree bit for bit; what the two do independently is the
tiling, the DMA segment lists and the dependencies.

Semantics (x, a, b int8; results saturate to [-128, 127]):

- add: a + b.   relu: max(x, 0).   clip: min(max(x, min), max).
- requant: (x * multiplier) >> shift (arithmetic shift, floor).
- maxpool: max over the window's taps inside the input (padding never wins).
- avgpool: floor(sum of the taps inside the input / kernel^2) (padding counts as 0).
- globalavgpool: floor(sum over all pixels / pixels), one output pixel.
- concat: channels of the inputs side by side, in input order.
- softmax: per pixel over its channels (or each of `groups` equal slices), in float64:
  round_half_even(127 * softmax(x / 2^in_shift)).
- layernorm: per pixel over its channels, in float64:
  round_half_even((x - mean) / sqrt(var + 2^-10) * 2^out_shift) (no affine part).
- transpose: the input's (height, width, channels) axes permuted by `perm`
  (output axis j is input axis perm[j]); data movement only: the DMA gathers
  the entry's output bytes in order, so the unit's buffer already holds them.
- resize: nearest-neighbour upsampling by an integer `stride` on height and
  width (output (y, x) is input (y // s, x // s)); data movement only, a DMA
  gather like transpose.
- lut: table[x + 128], a 256-entry int8 table (any element-wise activation:
  sigmoid, tanh, hard-swish, GELU...; `lut_table` builds the named ones). The
  table is a constant in memory that every entry loads after its input.
- mul: round_half_even(a * b / 2^shift); b is either like a or one pixel of
  a's channels applied to every pixel (`broadcast`, a squeeze-excite gate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Op codes of VEC entries (stable: they are part of the entry encoding).
OP_CODES: dict[str, int] = {
    "add": 1, "relu": 2, "clip": 3, "requant": 4, "maxpool": 5, "avgpool": 6,
    "globalavgpool": 7, "concat": 8, "softmax": 9, "layernorm": 10, "transpose": 11, "lut": 12,
    "mul": 13, "resize": 14,
}
VECTOR_OPS = tuple(OP_CODES)
POOLS = ("maxpool", "avgpool")
ROWWISE = ("softmax", "layernorm")
#: Ops whose load gathers the output itself (element by element where needed).
GATHERS = ("transpose", "resize")
#: Bytes of a lut's table (one output per int8 input value).
LUT_BYTES = 256
#: Activations `lut_table` builds, with the default output shift of each (7: results
#: in [-1, 1] or [0, 1]; None: the input's shift, for activations near the identity).
LUT_FUNCTIONS: dict[str, int | None] = {
    "sigmoid": 7, "tanh": 7, "hardsigmoid": 7, "erf": 7,
    "hardswish": None, "silu": None, "gelu": None,
}


@dataclass(frozen=True)
class VectorOp:
    """One vector layer: what its entries compute and on which shapes.

    `in_channels` has one value per input; `height x width` is the (first)
    input's image (pools), `out_h x out_w` the output's.
    """

    op: str
    in_channels: tuple[int, ...]
    height: int
    width: int
    out_h: int
    out_w: int
    out_channels: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    lo: int = -128          # clip bounds
    hi: int = 127
    multiplier: int = 1     # requant
    shift: int = 0          # requant shift, softmax in_shift, layernorm out_shift
    groups: int = 1         # softmax: channels split into this many independent groups (heads)
    perm: tuple[int, int, int] = (0, 1, 2)  # transpose: output axis j is input axis perm[j]
    table: tuple[int, ...] = ()  # lut: LUT_BYTES int8 outputs, for inputs -128 .. 127
    broadcast: bool = False      # mul: the second input is one pixel, applied to every pixel

    @property
    def code(self) -> int:
        return OP_CODES[self.op]

    def work(self, pixels: int) -> int:
        """Elements the unit processes for `pixels` output pixels (its throughput unit)."""
        c = self.out_channels
        if self.op in POOLS:
            return pixels * c * self.kernel * self.kernel
        if self.op == "globalavgpool":
            return self.height * self.width * c
        if self.op in ("add", "mul"):
            return 2 * pixels * c
        return pixels * c


def _sat(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127).astype(np.int8)


def round_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """x / 2^shift rounded half to even (onnxruntime's QuantizeLinear), in integers."""
    q = x >> shift
    if shift:
        rem = x - (q << shift)
        half = 1 << (shift - 1)
        q = q + ((rem > half) | ((rem == half) & (q & 1 == 1)))
    return q


def load_widths(v: VectorOp) -> tuple[int, ...]:
    """Row width (bytes) of each load_a segment of a VEC entry: its inputs' channels, and a
    lut's table after its input."""
    return v.in_channels + ((LUT_BYTES,) if v.op == "lut" else ())


def input_rows(v: VectorOp, p0: int, p1: int) -> tuple[int, int]:
    """First and one-past-last input pixel an output chunk [p0, p1) reads (first input)."""
    hw = v.height * v.width
    if v.op == "globalavgpool":
        return 0, hw
    if v.op not in POOLS:
        return p0, p1
    oy0, oy1 = p0 // v.out_w, (p1 - 1) // v.out_w
    iy0 = max(0, oy0 * v.stride - v.padding)
    iy1 = min(v.height - 1, oy1 * v.stride - v.padding + v.kernel - 1)
    return iy0 * v.width, (iy1 + 1) * v.width


def apply(v: VectorOp, inputs: list[np.ndarray], p0: int, p1: int, row0: int = 0) -> np.ndarray:
    """Output pixels [p0, p1) as int8 [p1-p0 x out_channels].

    Args:
        v: the op.
        inputs: per input, int8 pixels x channels: for elementwise, row-wise and
            concat ops exactly pixels [p0, p1); for pools the input pixels from
            `row0` on (whole image rows); for globalavgpool and transpose the
            whole input.
        p0, p1: the output pixel range.
        row0: the first input pixel held in inputs[0] (pools).
    """
    op = v.op
    if op == "add":
        return _sat(inputs[0].astype(np.int32) + inputs[1].astype(np.int32))
    if op == "lut":
        # The table the unit loaded (after the input) when given, else the op's own.
        table = inputs[1].reshape(-1) if len(inputs) > 1 else np.array(v.table, dtype=np.int8)
        return table[inputs[0].astype(np.int16) + 128].astype(np.int8)
    if op == "mul":
        prod = inputs[0].astype(np.int64) * inputs[1].astype(np.int64)  # (1, C) broadcasts
        return _sat(round_shift(prod, v.shift))
    if op == "relu":
        return np.maximum(inputs[0], 0).astype(np.int8)
    if op == "clip":
        return np.clip(inputs[0], v.lo, v.hi).astype(np.int8)
    if op == "requant":
        return _sat((inputs[0].astype(np.int64) * v.multiplier) >> v.shift)
    if op == "concat":
        return np.concatenate(inputs, axis=1).astype(np.int8)
    if op == "globalavgpool":
        total = inputs[0].astype(np.int64).sum(axis=0, keepdims=True)
        return _sat(total // (v.height * v.width))
    if op == "softmax":
        x = inputs[0].astype(np.float64).reshape(inputs[0].shape[0], v.groups, -1) / float(1 << v.shift)
        e = np.exp(x - x.max(axis=2, keepdims=True))
        return _sat(np.round(127.0 * e / e.sum(axis=2, keepdims=True))).reshape(inputs[0].shape)
    if op == "layernorm":
        x = inputs[0].astype(np.float64)
        mean = x.mean(axis=1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        return _sat(np.round((x - mean) / np.sqrt(var + 2.0 ** -10) * float(1 << v.shift)))
    if op in POOLS:
        return _pool(v, inputs[0], p0, p1, row0)
    if op == "transpose":
        img = inputs[0].reshape(v.height, v.width, v.in_channels[0]).transpose(v.perm)
        return img.reshape(-1, v.out_channels)[p0:p1].astype(np.int8)
    if op == "resize":
        img = inputs[0].reshape(v.height, v.width, v.in_channels[0])
        img = img.repeat(v.stride, axis=0).repeat(v.stride, axis=1)
        return img.reshape(-1, v.out_channels)[p0:p1].astype(np.int8)
    raise ValueError(f"unknown vector op {op!r}")


def _pool(v: VectorOp, x: np.ndarray, p0: int, p1: int, row0: int) -> np.ndarray:
    c = v.out_channels
    img = x.reshape(-1, v.width, c)
    y0 = row0 // v.width
    p = np.arange(p0, p1)
    oy, ox = p // v.out_w, p % v.out_w
    maxpool = v.op == "maxpool"
    acc = np.full((p.shape[0], c), -128 if maxpool else 0, dtype=np.int64)
    for ky in range(v.kernel):
        for kx in range(v.kernel):
            iy = oy * v.stride - v.padding + ky
            ix = ox * v.stride - v.padding + kx
            ok = (iy >= 0) & (iy < v.height) & (ix >= 0) & (ix < v.width)
            vals = img[iy[ok] - y0, ix[ok]].astype(np.int64)
            if maxpool:
                acc[ok] = np.maximum(acc[ok], vals)
            else:
                acc[ok] += vals
    if not maxpool:
        acc = acc // (v.kernel * v.kernel)
    return _sat(acc)


def lut_table(fn: str, in_shift: int, out_shift: int) -> tuple[int, ...]:
    """The table of activation `fn` (`LUT_FUNCTIONS`) with scales 2^-in_shift and 2^-out_shift."""
    return lut_from(LUT_F[fn], 2.0 ** -in_shift, 2.0 ** -out_shift)


def lut_from(f: Callable[[np.ndarray], np.ndarray], in_scale: float, out_scale: float) -> tuple[int, ...]:
    """round_half_even(f(x * in_scale) / out_scale), saturated, for x = -128 .. 127.

    float32 throughout, as a float runtime computes a dequantize -> f -> quantize chain.
    """
    x = np.arange(-128, 128, dtype=np.float32) * np.float32(in_scale)
    y = np.asarray(f(x), dtype=np.float32) / np.float32(out_scale)
    return tuple(int(t) for t in np.clip(np.rint(y), -128, 127).astype(np.int64))


def erf(x: np.ndarray) -> np.ndarray:
    from math import erf as erf1
    return np.array([erf1(float(t)) for t in x], dtype=np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


def hardsigmoid(x: np.ndarray, alpha: float = 0.2, beta: float = 0.5) -> np.ndarray:
    return np.clip(np.float32(alpha) * x + np.float32(beta), 0, 1).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    return (np.float32(0.5) * x * (np.float32(1) + erf(x / np.float32(np.sqrt(2))))).astype(np.float32)


#: The float32 function of each `LUT_FUNCTIONS` name.
LUT_F: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "hardsigmoid": hardsigmoid,
    "hardswish": lambda x: (x * hardsigmoid(x, 1 / 6, 0.5)).astype(np.float32),
    "silu": lambda x: (x * sigmoid(x)).astype(np.float32),
    "gelu": gelu,
    "erf": erf,
}
