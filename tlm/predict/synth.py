"""Seeded random layer stacks: training workloads for the performance model.

Small gemm chains and conv stacks (a few hundred tiles on a 4x4 array) with
varied shapes, strides, dilations and kernel sizes, so the model sees more
layer shapes than the built-ins have.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def synth_workload(seed: int) -> dict[str, Any]:
    """One random, valid layers-form workload (tlm-workload/1)."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(2, 5))
    layers: list[dict[str, Any]] = []
    if rng.random() < 0.4:
        m = int(rng.choice([4, 8, 12, 16, 24, 32, 48]))
        k = int(rng.integers(8, 97))
        for i in range(depth):
            n = int(rng.integers(4, 65))
            layers.append({"name": f"fc{i + 1}", "op": "gemm", "M": m, "N": n, "K": k})
            k = n
    else:
        size = int(rng.choice([6, 8, 10, 12, 14]))
        cin = int(rng.choice([1, 3, 4, 8]))
        for i in range(depth):
            cout = int(rng.choice([4, 8, 12, 16, 24]))
            kernel = int(rng.choice([1, 3, 3, 5]))
            dilation = int(rng.choice([1, 1, 2])) if kernel > 1 else 1
            stride = int(rng.choice([1, 1, 2])) if size >= 8 else 1
            layer: dict[str, Any] = {
                "name": f"conv{i + 1}", "op": "conv2d", "in_channels": cin, "out_channels": cout,
                "height": size, "width": size, "kernel": kernel, "stride": stride,
                "padding": dilation * (kernel // 2), "dilation": dilation}
            layers.append(layer)
            size = (size + 2 * layer["padding"] - dilation * (kernel - 1) - 1) // stride + 1
            cin = cout
    return {"format": "tlm-workload/1", "name": f"synth{seed}", "seed": 100 + seed, "layers": layers}
