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
        r, c, kmax = arch.array.rows, arch.array.cols, arch.kmax
        self.rows, self.cols = r, c
        self.a_lanes = spad[arch.spad_a_base:arch.spad_a_base + r * kmax].reshape(r, kmax)
        self.b_lanes = spad[arch.spad_b_base:arch.spad_b_base + c * kmax].reshape(c, kmax)
        cbytes = spad[arch.spad_c_base:arch.spad_c_base + 4 * r * c]
        self.c_buffer = cbytes.view("<i4").reshape(r, c)
        self.acc = np.zeros((r, c), dtype=np.int32)

    def compute(self, m: int, n: int, k: int, load_c: bool) -> None:
        """acc[:m, :n] = A[m x k] . B[k x n] (+ loaded partial sums), int8 in, int32 out."""
        a = self.a_lanes[:m, :k].view(np.int8).astype(np.int32)
        b = self.b_lanes[:n, :k].view(np.int8).astype(np.int32)
        self.acc[:] = 0
        self.acc[:m, :n] = a @ b.T
        if load_c:
            self.acc[:m, :n] += self.c_buffer[:m, :n]


def relu_shift_int8(acc: np.ndarray, shift: int) -> np.ndarray:
    """The store path's post-processing: clip(max(acc, 0) >> shift, 0, 127)."""
    return np.clip(np.maximum(acc, 0) >> shift, 0, 127).astype(np.uint8)
