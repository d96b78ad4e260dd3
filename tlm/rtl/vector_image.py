"""The vector unit's part of the RTL image (rtl/vector_unit.v).

A program with VEC entries builds `accel_top` with `HAS_VECTOR = 1` and these
image parameters: `VEC_BUF_BYTES` (input buffer: the largest load_a of a VEC
entry), `VEC_OUT_BYTES` (output buffer: the largest store_c), `VOP_DEPTH`
(descriptor ROM words), each a power of two (>= 64, 64, 16).

VEC entry words (tlm/rtl/image.py) use these slots besides the DAG and the
load_a / store_c segment lists: slot 0 bit 5 = 1 (vector entry), slot 2 the
entry's first output pixel (`(entry - first entry of its layer) * tile_rows`),
slot 9 the layer's index in the descriptor ROM.

Descriptor ROM (`+vecops=`), one 512-bit word per vector layer in layer order,
sixteen 32-bit slots, slot 0 least significant:

====  =================================================================
slot  contents
====  =================================================================
0     op code (7:0, `vector_ops.OP_CODES`), kernel (15:8), stride
      (23:16), padding (31:24)
1     input height (15:0), width (31:16)
2     output height (15:0), width (31:16)
3     output channels C (15:0), inputs (23:16), shift (31:24: requant
      0..255, mul 0..15)
4     clip lo (7:0), hi (15:8), as int8; mul broadcast (16: b is one
      pixel of C channels, applied to every pixel)
5     requant multiplier (int32)
8-15  channels of input j (j = 0 .. 15) in bits 16j..16j+15 of slots 8..15
====  =================================================================

A transpose or resize (its load gathers the output in order) is encoded as a
clip to [-128, 127] of an image of the output's shape: the unit copies its
buffer.
A lut's table is not in its descriptor: every entry loads it after its input
(buffer address m*C), so it has one input.

Bounds (`check_vector_rtl`, before any build): the ops of `RTL_VECTOR_OPS`
only (add, relu, clip, requant, maxpool, avgpool, globalavgpool, concat,
transpose, lut, mul, resize: not softmax and layernorm, float64 in the reference);
`[vector] lanes` <= `MAX_LANES`; at most `MAX_INPUTS` inputs; 16-bit shapes
and channels; 8-bit kernel, stride, padding; a VEC entry's load_a and
store_c at most `MAX_BUFFER` bytes each (a mul's shift, 0..15, is bounded by
the workload format).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.workload.program import EntryKind, TileProgram
from tlm.workload.vector_ops import GATHERS, VectorOp

#: Ops rtl/vector_unit.v runs (softmax and layernorm are float64: TLM only). A transpose is
#: the DMA's gather; the unit passes its buffer through as an identity clip.
RTL_VECTOR_OPS = ("add", "relu", "clip", "requant", "maxpool", "avgpool", "globalavgpool", "concat", "transpose",
                  "lut", "mul", "resize")
MAX_INPUTS = 16
BROADCAST_BIT = 1 << 16  # slot 4
MAX_BUFFER = 1 << 20
MAX_LANES = 1024
DESC_SLOTS = 16
VEC_FLAG = 1 << 5


def _pow2(n: int, floor: int) -> int:
    n = max(int(n), floor)
    return 1 << (n - 1).bit_length()


def _vec(program: TileProgram) -> np.ndarray:
    return np.flatnonzero(program.kind == EntryKind.VEC)


def _layer_name(program: TileProgram, index: int) -> str:
    layers: Any = program.info.get("layers") or []
    return str(layers[index]["name"]) if index < len(layers) else str(index)


def vector_parameters(program: TileProgram) -> dict[str, int]:
    """`accel_top` parameters of the vector unit (none for a program without VEC entries)."""
    vec = _vec(program)
    if not vec.shape[0]:
        return {}
    return {
        "HAS_VECTOR": 1,
        "VEC_BUF_BYTES": _pow2(int(program.bytes["load_a"][vec].max()), 64),
        "VEC_OUT_BYTES": _pow2(int(program.bytes["store_c"][vec].max()), 64),
        "VOP_DEPTH": _pow2(len(program.vector_ops), 16),
    }


def check_vector_rtl(program: TileProgram, arch: Arch, file: str) -> None:
    """Refuse a program whose vector layers the RTL vector unit cannot run.

    Raises:
        InputError: one line naming the first such layer, its op and the bound.
    """
    vec = _vec(program)
    if vec.shape[0] and arch.vector.lanes > MAX_LANES:
        raise InputError(file, "[vector] lanes", f"{arch.vector.lanes} is more than the RTL vector unit "
                                                 f"supports (<= {MAX_LANES}); TLM-only runs accept more")
    for li, v in sorted(program.vector_ops.items()):
        where = f"layer {_layer_name(program, li)!r}"
        if v.op not in RTL_VECTOR_OPS:
            raise InputError(file, where, f"vector op {v.op} cannot run on the RTL (its vector unit has "
                                          f"no {v.op}: float64 arithmetic); use tlmsim sim")
        if len(v.in_channels) > MAX_INPUTS:
            raise InputError(file, where, f"{v.op} of {len(v.in_channels)} inputs: the RTL vector unit "
                                          f"takes at most {MAX_INPUTS}")
        sizes = (*v.in_channels, v.height, v.width, v.out_h, v.out_w, v.out_channels)
        if max(sizes) > 0xFFFF:
            raise InputError(file, where, f"{v.op} shape or channels above {0xFFFF}, the RTL vector "
                                          "unit's 16-bit fields")
        if max(v.kernel, v.stride, v.padding) > 0xFF:
            raise InputError(file, where, f"{v.op} kernel, stride or padding above 255, the RTL vector "
                                          "unit's 8-bit fields")
        mine = vec[program.layer[vec] == li]
        for op in ("load_a", "store_c"):
            most = int(program.bytes[op][mine].max()) if mine.shape[0] else 0
            if most > MAX_BUFFER:
                raise InputError(file, where, f"a {v.op} entry moves {most} bytes ({op}), more than "
                                              f"the RTL vector unit's {MAX_BUFFER}-byte buffers")


def _descriptor(v: VectorOp) -> list[int]:
    if v.op in GATHERS:  # the buffer already holds the output: copy it (clip to the int8 range)
        v = replace(v, op="clip", in_channels=(v.out_channels,), height=v.out_h, width=v.out_w, lo=-128, hi=127,
                    stride=1)
    s = [0] * DESC_SLOTS
    s[0] = v.code | (v.kernel << 8) | (v.stride << 16) | (v.padding << 24)
    s[1] = v.height | (v.width << 16)
    s[2] = v.out_h | (v.out_w << 16)
    s[3] = v.out_channels | (len(v.in_channels) << 16) | ((v.shift & 0xFF) << 24)
    s[4] = (v.lo & 0xFF) | ((v.hi & 0xFF) << 8) | (BROADCAST_BIT if v.op == "mul" and v.broadcast else 0)
    s[5] = v.multiplier & 0xFFFFFFFF
    for j, ch in enumerate(v.in_channels):
        s[8 + j // 2] |= ch << (16 * (j % 2))
    return s


def descriptor_rom(ops: list[VectorOp], depth: int) -> np.ndarray:
    """Descriptor ROM words of `ops`, in order, as uint32 slots [depth, 16]."""
    out = np.zeros((depth, DESC_SLOTS), dtype=np.uint64)
    for i, v in enumerate(ops):
        out[i] = _descriptor(v)
    return out


def descriptor_slots(program: TileProgram, depth: int) -> np.ndarray:
    """The program's descriptor ROM: its vector layers in layer order."""
    return descriptor_rom([program.vector_ops[li] for li in sorted(program.vector_ops)], depth)


def add_vector_fields(program: TileProgram, arch: Arch, slots: np.ndarray) -> None:
    """Set the VEC entries' flag, first output pixel and descriptor index in `slots`."""
    vec = _vec(program)
    if not vec.shape[0]:
        return
    layer = program.layer[vec]
    index = {li: i for i, li in enumerate(sorted(program.vector_ops))}
    for li, i in index.items():
        mine = vec[layer == li]
        if not mine.shape[0]:
            continue
        slots[mine, 0] |= VEC_FLAG
        slots[mine, 2] = ((mine - mine[0]) * arch.tile_rows).astype(np.uint64)
        slots[mine, 9] = i
