"""The K-split warning: layers whose K does not fit the scratchpad in one chunk.

A layer with K > `arch.kmax` is computed in several K-chunks, each storing and
reloading int32 partial sums; that costs DMA traffic and time the user may not
expect, so `tlmsim sim` and `tlmsim rtl` say so (on stderr, never as an
error) and `sim --json` / `tlm.api.simulate` list it under `warnings`.
"""

from __future__ import annotations

import sys
from typing import Any

from tlm.arch import Arch
from tlm.workload.program import TileProgram

#: Layers named in the one warning line; the rest are counted.
SHOWN = 4


def spad_bytes_for(arch: Arch, k: int) -> int:
    """The smallest `[scratchpad] bytes` whose kmax is >= `k` (with this arch's buffering)."""
    r, c = arch.array.rows, arch.array.cols
    if arch.array.dataflow == "ws":  # the WS lane is a quarter of the OS one, in whole folds
        k = 4 * r * -(-k // r)
    one = (r + c) * k + 4 * r * c
    return one * (2 if arch.engine.double_buffer else 1)


def ksplit_warning(program: TileProgram, arch: Arch) -> str | None:
    """One line naming the layers whose K is split into chunks, or None when none is."""
    layers: Any = program.info.get("layers")
    if not isinstance(layers, list):
        return None
    split = [x for x in layers if int(x.get("k_chunks", 1)) > 1]
    if not split:
        return None
    parts = [f"{x['name']} (K={x['K']}: {x['k_chunks']} chunks)" for x in split[:SHOWN]]
    if len(split) > SHOWN:
        parts.append(f"{len(split) - SHOWN} more")
    need = spad_bytes_for(arch, max(int(x["K"]) for x in split))
    return (f"warning: {len(split)} of {len(layers)} layers split K into chunks (kmax {arch.kmax} "
            f"with [scratchpad] bytes = {arch.scratchpad.bytes}): {', '.join(parts)}; "
            f"[scratchpad] bytes = {need} would avoid it")


def warn_ksplit(program: TileProgram, arch: Arch) -> list[str]:
    """Print the K-split warning on stderr; returns the warnings printed (for `--json`)."""
    line = ksplit_warning(program, arch)
    if line is None:
        return []
    sys.stderr.write(line + "\n")
    return [line]
