"""The model version that keys stored results: a change of the model re-runs points."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import tlm

# The code whose change can change a result: the blocks, the workload compiler,
# the kernel and transport they run on, the arch and cost model, the shipped calibration,
# and the per-layer features stored beside each result.
_PARTS = ("blocks", "workload", "kernel", "transport", "arch.py", "cost.py", "api.py", "data",
          "predict/features.py")


@lru_cache(maxsize=1)
def model_version() -> str:
    """`VERSION+HASH`: the package version and a digest of the model's source files."""
    root = Path(tlm.__file__).parent
    h = hashlib.sha256()
    for part in _PARTS:
        p = root / part
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file() and f.suffix in (".py", ".toml", ".json"):
                h.update(str(f.relative_to(root)).encode())
                h.update(f.read_bytes())
    return f"{tlm.__version__}+{h.hexdigest()[:12]}"
