"""Operand data and deformable offsets drawn from a workload's seed.

Every tensor has its own random stream, so a tensor's values depend only on
the seed and the tensor's identity (never on the arch or on which other
tensors were drawn):

    np.random.default_rng([seed, TAG, index])

| tensor                                   | TAG | index         | shape              |
|------------------------------------------|-----|---------------|--------------------|
| layer L's input (L = 0, or fresh_input)  | 0   | L             | M x K or H*W x C   |
| layer L's weights, stored transposed     | 1   | L             | N x K              |
| tiles form: tile t's A                   | 2   | t (file order)| m x k              |
| tiles form: tile t's B, stored transposed| 3   | t (file order)| n x k              |
| layer L's deformable offsets             | 4   | L             | m-groups x 2       |

Values are int8 drawn uniformly from [-128, 127] with
`rng.integers(-128, 128, size, dtype=np.int8)`. Offsets are (dy, dx) drawn
uniformly from [-max_offset, max_offset] with
`rng.integers(-o, o + 1, size=(groups, 2))`, one pair per output m-group of
`rows` consecutive output pixels (so they depend on the array's row count).
"""

from __future__ import annotations

import numpy as np

TAG_INPUT = 0
TAG_WEIGHTS = 1
TAG_TILE_A = 2
TAG_TILE_B = 3
TAG_OFFSETS = 4


def _int8(seed: int, tag: int, index: int, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng([seed, tag, index])
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def layer_input(seed: int, rows: int, cols: int, layer: int = 0) -> np.ndarray:
    """Layer `layer`'s input (the first's, or a `fresh_input` one's) as a rows x cols
    int8 matrix (NHWC: pixels x channels)."""
    return _int8(seed, TAG_INPUT, layer, (rows, cols))


def layer_weights_t(seed: int, layer: int, n: int, k: int) -> np.ndarray:
    """Layer `layer`'s weights, transposed: N x K int8 (K in (ky, kx, c) order for conv)."""
    return _int8(seed, TAG_WEIGHTS, layer, (n, k))


def tile_a(seed: int, index: int, m: int, k: int) -> np.ndarray:
    return _int8(seed, TAG_TILE_A, index, (m, k))


def tile_b_t(seed: int, index: int, n: int, k: int) -> np.ndarray:
    return _int8(seed, TAG_TILE_B, index, (n, k))


def deformable_offsets(seed: int, layer: int, groups: int, max_offset: int) -> np.ndarray:
    """int64 [groups x 2] (dy, dx) per output m-group, each in [-max_offset, max_offset]."""
    rng = np.random.default_rng([seed, TAG_OFFSETS, layer])
    return rng.integers(-max_offset, max_offset + 1, size=(groups, 2)).astype(np.int64)
