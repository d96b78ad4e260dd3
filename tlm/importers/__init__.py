"""Importers: other descriptions of a network turned into a `tlm-workload/1` object.

- `tlm.importers.scalesim`: SCALE-Sim topology CSVs (convolution or M, N, K form).
- `tlm.importers.onnx`: ONNX models (needs the `[onnx]` extra; imported lazily).

`importer_for(path)` picks one by the file's suffix (`.csv`, `.onnx`), or None.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

#: loader(path, max_bytes) -> workload object
Loader = Callable[[str, int], dict[str, Any]]


def importer_for(path: str | Path) -> Loader | None:
    """The loader for `path`'s suffix, or None for a workload JSON."""
    suffix = Path(str(path)).suffix.lower()
    if suffix == ".csv":
        from tlm.importers.scalesim import load_topology

        return load_topology
    if suffix == ".onnx":
        from tlm.importers.onnx import load_onnx

        return load_onnx
    return None
