"""`tlmsim sweep --prescreen MODEL --top K`: pick the points worth simulating.

Every point is predicted (cycles from the model; area exact from `[cost]`;
DRAM bytes and energy from the analytic per-layer traffic), the points that
break a constraint on a predicted metric are set aside, and the best `K` per
workload by Pareto front of the predicted objectives (ties: first objective)
are kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tlm.cost import area_mm2, energy_uj
from tlm.dse.pareto import pareto_ranks
from tlm.dse.spec import SweepSpec, point_arch
from tlm.errors import InputError
from tlm.predict.features import layer_features
from tlm.predict.model import Model

Point = dict[str, Any]


def predicted_metrics(model: Model, workload: dict[str, Any], arch: Any) -> dict[str, float]:
    """Predicted cycles, area, DRAM bytes and energy of a workload on an arch."""
    feats = layer_features(workload, arch)
    cycles = float(model.predict_layers(feats).sum())
    bus = arch.dma.bus_bytes
    dram = sum(f["tiles"] * (f["a_beats"] + f["b_beats"] + f["c_beats"]) * bus for f in feats)
    macs = int(sum(f["M"] * f["N"] * f["K"] for f in feats))
    out = int(sum(f["M"] * f["N"] for f in feats))
    return {"cycles": cycles, "area": area_mm2(arch)["total"], "dram_bytes": dram, "macs": macs,
            "energy": energy_uj(arch, macs=macs, dma_bytes=int(dram), out_elems=out)["total"]}


def screen(model: Model, spec: SweepSpec, points: list[Point], workloads: list[dict[str, Any]],
           top: int) -> list[list[Point]]:
    """For each workload, the `top` most promising points (in the given order)."""
    chosen: list[list[Point]] = []
    for w, obj in enumerate(workloads):
        kept: list[int] = []
        values: list[list[float]] = []
        for i, p in enumerate(points):
            try:
                arch = point_arch(spec.base, p)
            except InputError:
                continue
            m = predicted_metrics(model, obj, arch)
            if all(c.holds(m) for c in spec.constraints if c.metric in m):
                kept.append(i)
                values.append([m[o] for o in spec.objectives])
        if not kept:
            chosen.append([])
            continue
        v = np.array(values, dtype=float)
        ranks = pareto_ranks(v)
        order = sorted(range(len(kept)), key=lambda j: (ranks[j], v[j, 0], kept[j]))[:top]
        chosen.append([points[kept[j]] for j in sorted(order)])
    return chosen
