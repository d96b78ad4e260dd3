"""The performance model file (JSON, no pickle) and network queries.

Format `tlmsim-perf-model/1` (one JSON object):

    format       "tlmsim-perf-model/1"
    features     names of the per-layer features, in column order (`FEATURES`)
    target       "log(incr / estimate)": the log ratio of the cycles a layer
                 adds to the run to the analytic `estimate` feature
    init, scale  prediction = estimate * exp(init + scale * sum of tree values)
    trees        list of regression trees, each {"feature", "threshold",
                 "left", "right", "value"}: parallel arrays over nodes; node 0
                 is the root; a leaf has left = right = -1; an inner node goes
                 left when x[feature] <= threshold, x rounded to float32
    model_version  the simulator version of the training data
    cv           cross-validated errors reported by `tlmsim predict fit`
    trained_on   runs, layers and workloads of the training data

A network's cycles compose the per-layer predictions along the layer graph:
layers run as a chain (layer i waits for layer i-1), so a layer ends at the
previous layer's end plus its predicted increment.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tlm.errors import InputError
from tlm.predict.features import FEATURES

FORMAT = "tlmsim-perf-model/1"


@dataclass
class Model:
    features: tuple[str, ...]
    init: float
    scale: float
    feature: np.ndarray    # int64 [T, nodes] (padded with leaves)
    threshold: np.ndarray  # float64 [T, nodes]
    left: np.ndarray       # int64 [T, nodes]
    right: np.ndarray      # int64 [T, nodes]
    value: np.ndarray      # float64 [T, nodes]
    depth: int
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        # All trees as one flat node array; a leaf points to itself, so every
        # (tree, row) walks exactly `depth` steps with no per-step leaf test.
        t, n = self.feature.shape
        idx = np.arange(t * n).reshape(t, n)
        base = (np.arange(t) * n)[:, None]
        leaf = self.left < 0
        self._left = np.where(leaf, idx, self.left + base).ravel()
        self._right = np.where(leaf, idx, self.right + base).ravel()
        self._feature = np.where(leaf, 0, self.feature).ravel()
        self._threshold = np.where(leaf, np.inf, self.threshold).ravel()
        self._value = self.value.ravel()
        self._roots = base.ravel()

    def log_ratio(self, x: np.ndarray) -> np.ndarray:
        """Summed tree outputs for rows of `x` (layers x features)."""
        x32 = x.astype(np.float32).astype(np.float64)
        n, nf = x.shape
        node = np.repeat(self._roots, n)              # [trees * rows], tree-major
        flat_x = x32.ravel()
        row_base = np.tile(np.arange(n) * nf, self._roots.shape[0])
        for _ in range(self.depth):
            go_left = flat_x[row_base + self._feature[node]] <= self._threshold[node]
            node = np.where(go_left, self._left[node], self._right[node])
        return self.init + self.scale * self._value[node].reshape(-1, n).sum(axis=0)

    def predict_layers(self, feats: list[dict[str, float]]) -> np.ndarray:
        """Predicted cycles each layer adds to the run."""
        if not feats:
            return np.zeros(0)
        x = np.array([[f[name] for name in self.features] for f in feats], dtype=np.float64)
        est = x[:, self.features.index("estimate")]
        # a log ratio beyond +-MAX_LOG_RATIO is no prediction; it must not overflow either
        return est * np.exp(np.clip(self.log_ratio(x), -MAX_LOG_RATIO, MAX_LOG_RATIO))


#: Largest magnitude of a model file's numbers (init, scale, thresholds, leaf values).
MAX_PARAM = 1e6
#: Predicted log(incr / estimate) is clipped to this: e^50 is far beyond any real ratio.
MAX_LOG_RATIO = 50.0


def model_to_json(features: tuple[str, ...], init: float, scale: float, trees: list[dict[str, list[Any]]],
                  meta: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "features": list(features), "target": "log(incr / estimate)",
            "init": init, "scale": scale, "trees": trees, **meta}


def load_model(path: str | Path) -> Model:
    """Read and validate a model file; bad files are `InputError`s."""
    p = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(p, "file", e.strerror or "cannot read") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(p, "file", f"not a JSON model: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(p, "format", f"not a {FORMAT} model")
    feats = data.get("features")
    if not isinstance(feats, list) or any(f not in FEATURES for f in feats) or "estimate" not in feats:
        raise InputError(p, "features", f"must list known features including 'estimate' (known: {', '.join(FEATURES)})")
    trees = data.get("trees")
    if not isinstance(trees, list) or not trees:
        raise InputError(p, "trees", "must be a non-empty list")
    for i, t in enumerate(trees):
        if not isinstance(t, dict) or not isinstance(t.get("value"), list):
            raise InputError(p, f"trees[{i}]", "bad tree: must be an object with a list 'value'")
    size = max(len(t["value"]) for t in trees)
    shape = (len(trees), max(size, 1))
    arr = {"feature": np.zeros(shape, np.int64), "threshold": np.zeros(shape), "left": np.full(shape, -1, np.int64),
           "right": np.full(shape, -1, np.int64), "value": np.zeros(shape)}
    for i, t in enumerate(trees):
        try:
            n = len(t["value"])
            for k, a in arr.items():
                col = np.asarray(t[k], dtype=a.dtype)
                if col.shape != (n,):
                    raise ValueError(f"{k} has {col.shape[0] if col.ndim else 0} entries, value has {n}")
                a[i, :n] = col
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise InputError(p, f"trees[{i}]", f"bad tree: {e}") from None
        for k in ("threshold", "value"):
            if not np.all(np.abs(arr[k][i, :n]) <= MAX_PARAM):  # NaN fails too
                raise InputError(p, f"trees[{i}].{k}", f"must be finite numbers within +-{MAX_PARAM:g}")
        lt, rt, ft = arr["left"][i, :n], arr["right"][i, :n], arr["feature"][i, :n]
        inner = lt >= 0
        ids = np.arange(n)
        if (np.any(inner & ((lt <= ids) | (rt <= ids) | (lt >= n) | (rt >= n) | (ft < 0) | (ft >= len(feats))))
                or np.any(~inner & (rt >= 0))):
            raise InputError(p, f"trees[{i}]", "node or feature index out of range (children follow their parent)")
    try:
        init, scale = float(data["init"]), float(data["scale"])
    except (KeyError, TypeError, ValueError):
        raise InputError(p, "init", "init and scale must be numbers") from None
    if not (abs(init) <= MAX_PARAM and abs(scale) <= MAX_PARAM):
        raise InputError(p, "init", f"init and scale must be finite numbers within +-{MAX_PARAM:g}")
    meta = {k: v for k, v in data.items() if k not in ("trees",)}
    return Model(features=tuple(feats), init=init, scale=scale, depth=_depth(arr["left"], arr["right"]),
                 meta=meta, **arr)


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """Longest root-to-leaf path over all trees (children are numbered after parents)."""
    best = 0
    for t in range(left.shape[0]):
        d = np.zeros(left.shape[1], dtype=np.int64)
        for node in range(left.shape[1]):
            if left[t, node] >= 0:
                d[left[t, node]] = d[right[t, node]] = d[node] + 1
        best = max(best, int(d.max()))
    return best


def predict_network(model: Model, workload: dict[str, Any], arch: Any, file: str = "<workload>") -> dict[str, Any]:
    """{"cycles", "query_ms", "layers"}: per-layer predictions composed along the layer chain."""
    from tlm.predict.features import layer_features

    t0 = time.perf_counter()
    feats = layer_features(workload, arch, file)
    incr = model.predict_layers(feats)
    ends = np.cumsum(incr)
    names = [lay.get("name", f"layer{i}") for i, lay in enumerate(workload.get("layers", []))]
    layers = [{"name": names[i] if i < len(names) else f"layer{i}", "cycles": round(float(incr[i])),
               "end": round(float(ends[i]))} for i in range(len(feats))]
    cycles = round(float(ends[-1])) if len(ends) else 0
    return {"cycles": cycles, "query_ms": round((time.perf_counter() - t0) * 1e3, 3), "layers": layers}
