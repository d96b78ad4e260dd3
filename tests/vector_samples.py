"""Graph workloads shared by the vector unit's fast tests and its RTL regression."""

from __future__ import annotations

from typing import Any

#: A CNN with every integer vector op (pools with padding and stride, concat of three,
#: clip, requant, add, global average pool) between MAC layers.
POOLS: dict[str, Any] = {
    "format": "tlm-workload/2", "name": "pools", "seed": 7,
    "input": {"name": "input", "height": 7, "width": 7, "channels": 5},
    "layers": [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "out_channels": 6, "kernel": 3, "padding": 1,
         "relu": False},
        {"name": "mp", "op": "maxpool", "inputs": ["c1"], "kernel": 3, "stride": 2, "padding": 1},
        {"name": "ap", "op": "avgpool", "inputs": ["c1"], "kernel": 3, "stride": 2, "padding": 1},
        {"name": "cat", "op": "concat", "inputs": ["mp", "ap", "mp"]},
        {"name": "cl", "op": "clip", "inputs": ["cat"], "min": -10, "max": 20},
        {"name": "rq", "op": "requant", "inputs": ["cat"], "multiplier": -300, "shift": 3},
        {"name": "ad", "op": "add", "inputs": ["cl", "rq"]},
        {"name": "ap2", "op": "avgpool", "inputs": ["ad"], "kernel": 2, "stride": 1},
        {"name": "gap", "op": "globalavgpool", "inputs": ["ad"]},
        {"name": "fl", "op": "flatten", "inputs": ["gap"]},
        {"name": "fc", "op": "gemm", "inputs": ["fl"], "N": 10},
    ]}

