"""External memory and scratchpads as flat byte arrays (functional mode).

Timing of memory accesses belongs to the DMA's pipelined-read model
(docs/microarch.md): the memory returns one beat per cycle, in order, a
fixed latency after the request, so an op's cost depends only on its beat
count. Here the memory is the data store the DMA reads and writes through
`tlm.transport` (b_transport with READ/WRITE payloads).
"""

from __future__ import annotations

import numpy as np

from tlm.workload.program import OutputRegion, TileProgram


def initial_image(program: TileProgram) -> np.ndarray:
    """A zeroed memory of the program's size with its inputs and weights written in."""
    mem = np.zeros(max(program.memory_size, 1), dtype=np.uint8)
    for addr, data in program.memory_image:
        mem[addr:addr + len(data)] = np.frombuffer(data, dtype=np.uint8)
    return mem


def read_region(mem: np.ndarray, region: OutputRegion) -> np.ndarray:
    """The region as a rows x cols array of its dtype."""
    dtype = np.dtype("<i4") if region.dtype == "int32" else np.dtype(np.int8)
    rows, cols = region.shape
    nbytes = rows * cols * dtype.itemsize
    return mem[region.addr:region.addr + nbytes].view(dtype).reshape(rows, cols)


def check_outputs(mem: np.ndarray, program: TileProgram) -> list[str]:
    """Names (with a short reason) of outputs that differ from the numpy reference."""
    bad: list[str] = []
    for region in program.outputs:
        want = program.expected.get(region.name)
        if want is None:
            continue
        got = read_region(mem, region)
        if got.shape != want.shape or not np.array_equal(got, want):
            diff = int(np.count_nonzero(got != want)) if got.shape == want.shape else -1
            bad.append(f"{region.name} ({diff} of {want.size} values differ)")
    return bad
