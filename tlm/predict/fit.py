"""Training the performance model on sweep results (`DIR/layers.parquet`).

One gradient-boosted tree ensemble (scikit-learn) over all op classes, on
the per-layer features; the target is the log ratio of the cycles a layer
adds to the run (`incr`) to the analytic `estimate`. Cross-validation holds
out whole arch points (GroupKFold), and, when there are several workloads,
whole workloads, and scores the composed network predictions against the
simulated cycles: MAPE and Kendall tau of the design-point ranking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tlm.errors import InputError
from tlm.predict.features import FEATURES
from tlm.predict.model import model_to_json

ARCH_FEATURES = ("engines", "rows", "cols", "kmax", "bus_bytes", "max_burst_beats", "latency", "table_depth")
PARAMS = {"n_estimators": 300, "max_depth": 5, "learning_rate": 0.08, "subsample": 0.8,
          "min_samples_leaf": 3, "random_state": 0}


def load_training(dirs: list[str]) -> Any:
    """The per-layer rows of the ok runs of the sweep folders (a DataFrame)."""
    import pandas as pd

    from tlm.dse.store import Store

    frames = []
    for d in dirs:
        if not Path(d).is_dir():
            raise InputError(d, "folder", "not a sweep results folder")
        store = Store(d)
        lay, res = store.layers(), store.results()
        if not len(lay):
            raise InputError(d, "layers.parquet", "no per-layer results (run tlmsim sweep into it first)")
        missing = [f for f in FEATURES if f not in lay.columns]
        if missing:
            raise InputError(d, "layers.parquet", f"lacks features {', '.join(missing[:3])}: re-run the sweep")
        ok = set(res.loc[res["status"] == "ok", "key"]) if len(res) else set()
        frames.append(lay[lay["key"].isin(ok) & (lay["incr"] > 0)])
    df = pd.concat(frames, ignore_index=True).drop_duplicates(["key", "layer"], ignore_index=True)
    if df["key"].nunique() < 4:
        raise InputError(dirs[0], "layers.parquet", f"only {df['key'].nunique()} runs: too few to fit")
    return df


def _regressor() -> Any:
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(**PARAMS)


def _target(df: Any) -> np.ndarray:
    return np.asarray(np.log(df["incr"].to_numpy(float) / df["estimate"].to_numpy(float)))


def fit_model(df: Any) -> tuple[dict[str, Any], Any]:
    """(the model's JSON object without `cv`/`trained_on`, the fitted regressor)."""
    reg = _regressor().fit(df[list(FEATURES)].to_numpy(float), _target(df))
    trees = []
    for est in reg.estimators_[:, 0]:
        t = est.tree_
        trees.append({"feature": t.feature.tolist(), "threshold": [float(v) for v in t.threshold],
                      "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                      "value": [float(v) for v in t.value[:, 0, 0]]})
    init = float(np.asarray(reg.init_.constant_).ravel()[0])
    return model_to_json(FEATURES, init, float(reg.learning_rate), trees, {}), reg


def network_scores(df: Any, pred_incr: np.ndarray) -> dict[str, float]:
    """MAPE of composed network cycles and mean Kendall tau per workload."""
    from scipy.stats import kendalltau

    d = df.assign(pred=pred_incr)
    net = d.groupby(["key", "workload"], sort=False).agg(actual=("incr", "sum"), pred=("pred", "sum")).reset_index()
    ape = np.abs(net["pred"] - net["actual"]) / net["actual"]
    taus = []
    for _, g in net.groupby("workload"):
        if len(g) >= 3:
            tau = kendalltau(g["actual"], g["pred"]).statistic
            if np.isfinite(tau):
                taus.append(float(tau))
    layer_ape = np.abs(d["pred"] - d["incr"]) / d["incr"]
    return {"network_mape": round(float(ape.mean()), 5), "network_max_ape": round(float(ape.max()), 5),
            "kendall_tau": round(float(np.mean(taus)), 4) if taus else float("nan"),
            "layer_mape": round(float(layer_ape.mean()), 5), "networks": int(len(net))}


def cross_validate(df: Any, folds: int = 5) -> dict[str, Any]:
    """Held-out arch points (GroupKFold) and, with >= 2 workloads, held-out workloads."""
    from sklearn.model_selection import GroupKFold

    x = df[list(FEATURES)].to_numpy(float)
    y = _target(df)
    est = df["estimate"].to_numpy(float)
    out: dict[str, Any] = {}
    arch_id = df[list(ARCH_FEATURES)].astype(str).agg("/".join, axis=1)
    schemes = [("arch_points", arch_id)]
    if df["workload"].nunique() >= 2:
        schemes.append(("workloads", df["workload"]))
    for name, groups in schemes:
        k = min(folds, groups.nunique())
        if k < 2:
            continue
        pred = np.zeros(len(df))
        for tr, te in GroupKFold(n_splits=k).split(x, y, groups):
            pred[te] = est[te] * np.exp(_regressor().fit(x[tr], y[tr]).predict(x[te]))
        out[f"held_out_{name}"] = {"folds": k, **network_scores(df, pred)}
    return out


def fit_dirs(dirs: list[str], *, cv: bool = True) -> dict[str, Any]:
    """Train on the sweep folders; the complete model JSON object (with `cv`, `trained_on`)."""
    from tlm.dse.version import model_version

    df = load_training(dirs)
    obj, _ = fit_model(df)
    obj["model_version"] = model_version()
    obj["params"] = PARAMS
    obj["trained_on"] = {"runs": int(df["key"].nunique()), "layers": int(len(df)),
                         "workloads": sorted(map(str, df["workload"].unique()))}
    obj["cv"] = cross_validate(df) if cv else {}
    return obj
