"""What a Dask worker runs for one (point, workload): a plain, picklable function."""

from __future__ import annotations

import time
from typing import Any

METRICS = ("cycles", "macs", "area", "energy", "dram_bytes", "mac_utilisation")


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Simulate one (point, workload); never raises for a bad point.

    Args:
        task: `key`, `point` (dotted key -> value), `workload` (as in the spec),
            `obj` (the workload object), `arch` (the full arch dict), `functional`.

    Returns:
        {"row": one results row, "layers": per-layer rows (empty on failure)}.
    """
    from tlm.api import simulate
    from tlm.arch import arch_from_dict
    from tlm.errors import InputError

    row: dict[str, Any] = {"key": task["key"], "workload": task["workload"], **task["point"]}
    t0 = time.perf_counter()
    layers: list[dict[str, Any]] = []
    try:
        arch = arch_from_dict(task["arch"], "<point>")
        r = simulate(task["obj"], arch, timing_only=not task["functional"], layers=True)
        s = r.summary
        if s.get("functional") == "fail":
            raise RuntimeError("functional check failed")
        row.update({m: s[m] for m in METRICS})
        row["status"] = "ok"
        layers = _layer_rows(task, arch, s.get("layers") or [])
    except InputError as e:
        row["status"] = f"error: {e.where}: {e.what}"
    except Exception as e:  # a failing point is recorded, the sweep goes on
        row["status"] = f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")
    row["sim_s"] = round(time.perf_counter() - t0, 4)
    return {"row": row, "layers": layers}


def _layer_rows(task: dict[str, Any], arch: Any, layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from tlm.errors import InputError
    from tlm.predict.features import layer_features

    if not layers:
        return []
    try:
        feats = layer_features(task["obj"], arch)
    except InputError:  # a graph or tiles-form workload: simulated, but no rows for the learned model
        return []
    out = []
    for i, (lay, f) in enumerate(zip(layers, feats)):
        out.append({"key": task["key"], "workload": task["workload"], "layer": i,
                    "name": lay["name"], "op": lay["op"], "start": lay["start"], "end": lay["end"],
                    "cycles": lay["cycles"], "incr": lay["incr"], "share": lay["share"],
                    "bound": lay["bound"],
                    "layer_macs": lay["macs"], **f})
    return out
