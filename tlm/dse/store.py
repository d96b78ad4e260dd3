"""The sweep's results on disk: resumable, crash-safe, one row per (point, workload).

Completed results are appended as small parquet *chunks* (`DIR/chunks/`),
each written to a temporary name and renamed, so a crash loses at most the
points still in flight. `consolidate` merges the chunks into
`DIR/results.parquet` and `DIR/layers.parquet` (temporary file + rename
again) and removes them. A result chunk is written after its layer chunk, so
a result on disk always has its layers; orphan layer rows are dropped.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

RESULTS = "results.parquet"
LAYERS = "layers.parquet"


class Store:
    """Results of one sweep folder."""

    def __init__(self, folder: str | Path) -> None:
        self.dir = Path(folder)
        self.chunks = self.dir / "chunks"
        self.chunks.mkdir(parents=True, exist_ok=True)

    def _read(self, main: str, prefix: str) -> Any:
        import pandas as pd

        frames = []
        if (self.dir / main).exists():
            frames.append(pd.read_parquet(self.dir / main))
        for f in sorted(self.chunks.glob(f"{prefix}-*.parquet")):
            frames.append(pd.read_parquet(f))
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def results(self) -> Any:
        """Every stored result row (a DataFrame, one row per key, first one kept)."""
        df = self._read(RESULTS, "r")
        return df.drop_duplicates("key", keep="first", ignore_index=True) if len(df) else df

    def layers(self) -> Any:
        """Per-layer rows of the stored results."""
        df = self._read(LAYERS, "l")
        return df.drop_duplicates(["key", "layer"], keep="first", ignore_index=True) if len(df) else df

    def done(self) -> dict[str, dict[str, Any]]:
        """Stored rows by key."""
        df = self.results()
        return {str(r["key"]): r for r in df.to_dict("records")} if len(df) else {}

    def append(self, rows: list[dict[str, Any]], layers: list[dict[str, Any]]) -> None:
        """Write one chunk of results (and their layers) safely."""
        import pandas as pd

        if not rows:
            return
        tag = uuid.uuid4().hex
        if layers:
            _write(pd.DataFrame(layers), self.chunks / f"l-{tag}.parquet")
        _write(pd.DataFrame(rows), self.chunks / f"r-{tag}.parquet")

    def consolidate(self, order: list[str]) -> Any:
        """Merge chunks into the two parquet files, rows sorted by `order` columns; returns results."""
        res = self.results()
        lay = self.layers()
        if len(res):
            cols = [c for c in order if c in res.columns]
            res = res.sort_values(cols, kind="stable", ignore_index=True) if cols else res
            _write(res, self.dir / RESULTS)
        if len(lay):
            lay = lay[lay["key"].isin(set(res["key"]))] if len(res) else lay.iloc[0:0]
            _write(lay.sort_values(["key", "layer"], ignore_index=True), self.dir / LAYERS)
        for f in self.chunks.glob("*.parquet"):
            f.unlink()
        # half-written files of a process killed mid-write (one sweep per folder at a time)
        for f in [*self.chunks.glob(".*.tmp"), *self.dir.glob(".*.tmp")]:
            f.unlink(missing_ok=True)
        return res


def _write(df: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
