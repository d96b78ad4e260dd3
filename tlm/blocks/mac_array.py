"""The R x C output-stationary MAC array: numpy data, SCALE-Sim timing.

The data path is the plain numpy product the reference uses; the engine
adds only the time (`timing.compute_cycles`), as a functional-level model
of the systolic array in `rtl/mac_array.v`.
"""

from __future__ import annotations

import numpy as np

from tlm.arch import Arch


class MacArrayModel:
    """Views of one engine's scratchpad lanes and the array's accumulators."""

    def __init__(self, arch: Arch, spad: np.ndarray) -> None:
        r, c, kmax = arch.tile_rows, arch.array.cols, arch.kmax  # A lanes: tile rows
        self.rows, self.cols = r, c
        self.a_lanes = spad[arch.spad_a_base:arch.spad_a_base + r * kmax].reshape(r, kmax)
        self.b_lanes = spad[arch.spad_b_base:arch.spad_b_base + c * kmax].reshape(c, kmax)
        cbytes = spad[arch.spad_c_base:arch.spad_c_base + 4 * r * c]
        self.c_buffer = cbytes.view("<i4").reshape(r, c)
        self.acc = np.zeros((r, c), dtype=np.int32)
        self.a_int8 = self.a_lanes.view(np.int8)
        self.b_int8 = self.b_lanes.view(np.int8)
        # B slots (`[engine] reuse_slots`): slot s's lanes, s*C*kmax further up
        step = arch.spad_slot_bytes
        self.b_slots = [self.b_int8] + [
            spad[arch.spad_b_base + s * step:arch.spad_b_base + s * step + c * kmax]
            .reshape(c, kmax).view(np.int8) for s in range(1, arch.engine.reuse_slots)]

    def compute(self, m: int, n: int, k: int, load_c: bool, slot: int = 0) -> np.ndarray:
        """acc[:m, :n] = A[m x k] . B[k x n] (+ loaded partial sums), int8 in, int32 out.

        Returns the view acc[:m, :n] (the rest of the array is zero).
        """
        a = self.a_int8[:m, :k].astype(np.int32)
        b = self.b_slots[slot][:n, :k].astype(np.int32)
        acc = self.acc
        acc.fill(0)
        out = acc[:m, :n]
        np.matmul(a, b.T, out=out)
        if load_c:
            out += self.c_buffer[:m, :n]
        return out


def relu_shift_int8(acc: np.ndarray, shift: int) -> np.ndarray:
    """The store path's post-processing: clip(max(acc, 0) >> shift, 0, 127).

    max(acc, 0) >> shift is never negative, so only the upper bound needs a clip.
    """
    return np.minimum(np.maximum(acc, 0) >> shift, 127).astype(np.uint8)
