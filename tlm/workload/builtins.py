"""Built-in workloads, reachable as `builtin:NAME`.

Each is a `tlm-workload/1` object built here in code (so the full-size
networks need no data files). The small ones run functionally and in RTL
simulation; `vgg16` and `dilated_vgg` are for timing-only runs.

VGG-16 has max-pooling between its blocks and the workload format has no
pooling op, so the first conv of blocks 2-5 has stride 2 instead; conv1_1 to
conv5_2 then have exactly VGG-16's output shapes and MAC counts. conv5_3 also
has stride 2 to produce the 7x7x512 that fc6 (a gemm with M=1, K=25088, the
flattened NHWC output) reads, so it does a quarter of VGG's conv5_3 work.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from tlm.workload import zoo

FORMAT = "tlm-workload/1"
Workload = dict[str, Any]


def _conv(name: str, cin: int, cout: int, size: int, *, kernel: int = 3, stride: int = 1,
          dilation: int = 1, padding: int | None = None, **extra: Any) -> dict[str, Any]:
    layer: dict[str, Any] = {"name": name, "op": "conv2d", "in_channels": cin, "out_channels": cout,
                             "height": size, "width": size, "kernel": kernel, "stride": stride,
                             "padding": dilation * (kernel // 2) if padding is None else padding,
                             "dilation": dilation}
    layer.update(extra)
    return layer


def gemm_small() -> Workload:
    return {"format": FORMAT, "name": "gemm_small", "seed": 1, "layers": [
        {"name": "fc1", "op": "gemm", "M": 12, "N": 20, "K": 40},
        {"name": "fc2", "op": "gemm", "M": 12, "N": 16, "K": 20, "shift": 6},
        {"name": "fc3", "op": "gemm", "M": 12, "N": 8, "K": 16},
    ]}


def dilated_vgg_small() -> Workload:
    """12x12x3 input, three 3x3 convs with dilation 1, 2, 4 (padding = dilation): 288 tiles.

    12x12 rather than 16x16 keeps it under ~300 tiles on the default 4x4 array, so the
    RTL simulation of it stays around a minute.
    """
    return {"format": FORMAT, "name": "dilated_vgg_small", "seed": 2, "layers": [
        _conv("conv1", 3, 8, 12, dilation=1),
        _conv("conv2", 8, 8, 12, dilation=2),
        _conv("conv3", 8, 16, 12, dilation=4),
    ]}


def deformable_small() -> Workload:
    d: dict[str, Any] = {"deformable": {"max_offset": 2}}
    return {"format": FORMAT, "name": "deformable_small", "seed": 3, "layers": [
        _conv("conv1", 4, 8, 12, **d),
        _conv("conv2", 8, 8, 12, **d),
        _conv("conv3", 8, 8, 12, dilation=2, **d),
    ]}


def random_dag(seed: int = 5, count: int = 60, rows: int = 4, cols: int = 4, kmax: int = 256) -> Workload:
    """Seeded irregular DAG: random shapes; deps mostly backward, a few forward.

    Forward references (a tile listed before one it waits for) reach at most
    3 entries ahead and are only added when they close no cycle, so in-order
    admission into a 16-entry table cannot deadlock (checked by the tests with
    `dag.admission_deadlock`).
    """
    rng = np.random.default_rng([seed, 99])
    ids = [int(x) for x in rng.permutation(np.arange(100, 100 + 4 * count))[:count]]
    import networkx as nx  # only this builtin needs it; `tlmsim sim` starts faster without

    waits = nx.DiGraph()  # i -> d: tile i waits for tile d
    waits.add_nodes_from(range(count))
    for i in range(1, count):
        for _ in range(int(rng.integers(0, 4))):
            waits.add_edge(i, int(rng.integers(max(0, i - 12), i)))
    for i in range(count - 3):
        if rng.random() < 0.15:
            j = i + int(rng.integers(1, 4))
            if not nx.has_path(waits, j, i):
                waits.add_edge(i, j)
    tiles = [{"id": ids[i], "m": int(rng.integers(1, rows + 1)), "n": int(rng.integers(1, cols + 1)),
              "k": int(rng.integers(1, kmax + 1)), "deps": [ids[d] for d in sorted(waits.successors(i))]}
             for i in range(count)]
    return {"format": FORMAT, "name": "random_dag", "seed": seed, "tiles": tiles}


def vgg16() -> Workload:
    cfg = [(3, 64, 224, 1), (64, 64, 224, 1),
           (64, 128, 224, 2), (128, 128, 112, 1),
           (128, 256, 112, 2), (256, 256, 56, 1), (256, 256, 56, 1),
           (256, 512, 56, 2), (512, 512, 28, 1), (512, 512, 28, 1),
           (512, 512, 28, 2), (512, 512, 14, 1), (512, 512, 14, 2)]
    names = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
             "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"]
    layers = [_conv(nm, cin, cout, size, stride=s) for nm, (cin, cout, size, s) in zip(names, cfg)]
    layers += [{"name": "fc6", "op": "gemm", "M": 1, "N": 4096, "K": 7 * 7 * 512},
               {"name": "fc7", "op": "gemm", "M": 1, "N": 4096, "K": 4096},
               {"name": "fc8", "op": "gemm", "M": 1, "N": 1000, "K": 4096}]
    return {"format": FORMAT, "name": "vgg16", "seed": 16, "layers": layers}


def dilated_vgg() -> Workload:
    """A DilatedVGG-style front end at full size: VGG blocks 1-4 (pool -> stride 2),
    then block 5 with dilation 2 and a context head with dilations up to 4."""
    cfg = [("conv1_1", 3, 64, 224, 1, 1), ("conv1_2", 64, 64, 224, 1, 1),
           ("conv2_1", 64, 128, 224, 2, 1), ("conv2_2", 128, 128, 112, 1, 1),
           ("conv3_1", 128, 256, 112, 2, 1), ("conv3_2", 256, 256, 56, 1, 1),
           ("conv3_3", 256, 256, 56, 1, 1),
           ("conv4_1", 256, 512, 56, 2, 1), ("conv4_2", 512, 512, 28, 1, 1),
           ("conv4_3", 512, 512, 28, 1, 1),
           ("conv5_1", 512, 512, 28, 1, 2), ("conv5_2", 512, 512, 28, 1, 2),
           ("conv5_3", 512, 512, 28, 1, 2),
           ("ctx1", 512, 256, 28, 1, 1), ("ctx2", 256, 256, 28, 1, 2), ("ctx3", 256, 256, 28, 1, 4)]
    layers = [_conv(nm, cin, cout, size, stride=s, dilation=d) for nm, cin, cout, size, s, d in cfg]
    return {"format": FORMAT, "name": "dilated_vgg", "seed": 17, "layers": layers}


BUILTINS: dict[str, Callable[[], Workload]] = {
    "gemm_small": gemm_small,
    "dilated_vgg_small": dilated_vgg_small,
    "deformable_small": deformable_small,
    "random_dag": random_dag,
    "vgg16": vgg16,
    "dilated_vgg": dilated_vgg,
    # graph workloads (tlm-workload/2, tlm.workload.zoo): full size, for timing-only runs
    "resnet18": zoo.resnet18,
    "resnet50": zoo.resnet50,
    "mobilenet_v2": zoo.mobilenet_v2_full,
    "efficientnet_b0": zoo.efficientnet_b0_full,
    "bert_base": zoo.bert_base,
}


def builtin(name: str) -> Workload | None:
    """A fresh copy of the named built-in, or None."""
    make = BUILTINS.get(name)
    return copy.deepcopy(make()) if make is not None else None
