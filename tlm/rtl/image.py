"""Tile program -> the hex images `accel_top` loads with $readmemh.

The RTL reads four ROMs and one memory, each from a file named by a plusarg
(`+entries=`, `+preds=`, `+succs=`, `+segs=`, `+mem=`), and, for a program
with VEC entries, the vector unit's descriptor ROM (`+vecops=`, layout in
`tlm.rtl.vector_image`). Every file holds
exactly as many lines as its array has words (the array depths are build
parameters rounded up to powers of two, so that programs of similar size share
one compiled design), each line one word in hex, most significant digit first.

Entry word (`ENTRY_BITS` = 512, sixteen 32-bit slots, slot 0 least
significant):

====  =====================================================================
slot  contents
====  =====================================================================
0     bit 0 kind (0 TILE, 1 JOIN), bit 1 load_c, bit 2 int8 store (0 =
      INT32), bit 3 no ReLU (signed int8), bit 4 round half to even (else
      floor shift), bit 5 VEC entry (vector unit), bits 15:8 shift
1     m (bits 15:0), n (bits 31:16)
2     k (bits 15:0); B slot (bits 23:16, `[engine] reuse_slots` > 1, else 0); VEC entries: the first
      output pixel
3, 4  first index in the preds ROM, number of predecessors
5, 6  first index in the succs ROM, number of successors
7+2o  first segment of op o in the segment ROM (o = load_a, load_b,
8+2o  load_c, store_c), number of segments (VEC entries: slot 9 is the
      layer's index in the descriptor ROM, they have no load_b / load_c)
15    operand reuse: A block (bits 15:0) and B block (bits 31:16), each the
      program's block id renumbered 1, 2 ... (0 = never reusable, and all
      0 when `[engine] reuse` is off)
====  =====================================================================

Segment word (128 bits): bits 31:0 memory byte address, 63:32 length, 95:64
engine-local byte address, 96 zero fill. The segment ROM is the concatenation
of the four ops' lists.

Memory words are `bus_bytes` wide, byte 0 in the least significant bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tlm.arch import Arch
from tlm.errors import InputError
from tlm.rtl.vector_image import add_vector_fields, descriptor_slots, vector_parameters
from tlm.workload.program import OPS, Csr, StoreMode, TileProgram

ENTRY_BITS = 512
SEG_BITS = 128
MIN_DEPTH = 16
_U32 = (1 << 32) - 1


def pow2_at_least(n: int, floor: int = MIN_DEPTH) -> int:
    """Smallest power of two >= max(n, floor)."""
    n = max(int(n), floor)
    return 1 << (n - 1).bit_length()


def words_hex(words: np.ndarray, nibbles: int) -> str:
    """Lines of `nibbles` hex digits for an array of Python ints or uint64."""
    fmt = f"{{:0{nibbles}x}}"
    return "".join(fmt.format(int(w)) + "\n" for w in words)


def _u32_slots_hex(slots: np.ndarray) -> str:
    """Hex lines of wide words given as uint32 slots [rows, count], slot 0 least significant."""
    digits = np.char.mod("%08x", slots[:, ::-1].astype(np.uint64))
    return "".join("".join(row) + "\n" for row in digits)


def memory_hex(data: np.ndarray, bus_bytes: int, words: int) -> str:
    """Hex image of a byte array as `words` bus words (zero padded)."""
    buf = np.zeros(words * bus_bytes, dtype=np.uint8)
    buf[: data.shape[0]] = data
    rows = np.ascontiguousarray(buf.reshape(words, bus_bytes)[:, ::-1])  # MSB first
    text = rows.tobytes().hex()
    width = 2 * bus_bytes
    return "".join(text[i:i + width] + "\n" for i in range(0, len(text), width))


def read_memory_hex(path: Path, bus_bytes: int) -> np.ndarray:
    """Bytes of a memory dump written by $writememh (one bus word per line)."""
    out = bytearray()
    for line in Path(path).read_text().split("\n"):
        line = line.split("//", 1)[0].strip()
        if not line:
            continue
        if "x" in line or "z" in line:
            line = line.replace("x", "0").replace("z", "0")
        out += int(line, 16).to_bytes(bus_bytes, "little")
    return np.frombuffer(bytes(out), dtype=np.uint8)


def segments_hex(mem_addr: np.ndarray, length: np.ndarray, local: np.ndarray,
                 zero: np.ndarray, depth: int) -> str:
    """Segment ROM image (`depth` words)."""
    slots = np.zeros((depth, SEG_BITS // 32), dtype=np.uint64)
    count = mem_addr.shape[0]
    slots[:count, 0] = mem_addr.astype(np.uint64) & _U32
    slots[:count, 1] = length.astype(np.uint64) & _U32
    slots[:count, 2] = local.astype(np.uint64) & _U32
    slots[:count, 3] = zero.astype(np.uint64)
    return _u32_slots_hex(slots)


@dataclass(frozen=True)
class Image:
    """Files and sizes of one encoded program.

    Attributes:
        files: plusarg name -> path (entries, preds, succs, segs, mem).
        parameters: the image-size parameters of `accel_top`.
        entries: number of entries (the `n_entries` input).
    """

    files: dict[str, Path]
    parameters: dict[str, int]
    entries: int

    def plusargs(self) -> list[str]:
        return [f"+{name}={path}" for name, path in self.files.items()]


def image_parameters(program: TileProgram, arch: Arch) -> dict[str, int]:
    """Array depths of `accel_top` for this program (powers of two)."""
    segs = program.segments or {}
    nseg = sum(int(s.mem_addr.shape[0]) for s in segs.values())
    bus = arch.dma.bus_bytes
    mem_bytes = pow2_at_least(max(program.memory_size, bus), floor=64 * bus)
    return {
        "N_DEPTH": pow2_at_least(program.entries),
        "LIST_DEPTH": pow2_at_least(max(program.preds.idx.shape[0], program.succs.idx.shape[0])),
        "SEG_DEPTH": pow2_at_least(nseg),
        "MEM_BYTES": mem_bytes,
        **vector_parameters(program),
    }


def dag_slots(kind: np.ndarray, k: np.ndarray, preds: Csr, succs: Csr) -> np.ndarray:
    """Entry slots [entries, 16] with only kind, k and the DAG filled in."""
    slots = np.zeros((kind.shape[0], ENTRY_BITS // 32), dtype=np.uint64)
    slots[:, 0] = kind.astype(np.uint64) & 1
    slots[:, 2] = k.astype(np.uint64)
    slots[:, 3] = preds.ptr[:-1].astype(np.uint64)
    slots[:, 4] = preds.count().astype(np.uint64)
    slots[:, 5] = succs.ptr[:-1].astype(np.uint64)
    slots[:, 6] = succs.count().astype(np.uint64)
    return slots


def entry_rom_hex(slots: np.ndarray, depth: int) -> str:
    """The entry ROM image (`depth` words) of slots [entries, 16]."""
    full = np.zeros((depth, ENTRY_BITS // 32), dtype=np.uint64)
    full[: slots.shape[0]] = slots
    return _u32_slots_hex(full)


def list_rom_hex(idx: np.ndarray, depth: int) -> str:
    """A preds/succs index ROM image (`depth` 32-bit words)."""
    return words_hex(_padded(idx, depth), 8)


def entry_slots(program: TileProgram, seg_base: dict[str, int]) -> np.ndarray:
    """The entry ROM as uint32 slots [entries, 16]."""
    slots = dag_slots(program.kind, program.k, program.preds, program.succs)
    mode = program.store_mode
    int8 = mode != StoreMode.INT32
    signed = (mode == StoreMode.SHIFT_INT8) | (mode == StoreMode.ROUND_INT8)
    rnd = (mode == StoreMode.RELU_ROUND_INT8) | (mode == StoreMode.ROUND_INT8)
    slots[:, 0] |= (program.load_c.astype(np.uint64) << 1) | (int8.astype(np.uint64) << 2) \
        | (signed.astype(np.uint64) << 3) | (rnd.astype(np.uint64) << 4) \
        | (program.shift.astype(np.uint64) << 8)
    slots[:, 1] = program.m.astype(np.uint64) | (program.n.astype(np.uint64) << 16)
    assert program.segments is not None
    for o, op in enumerate(OPS):
        seg = program.segments[op]
        slots[:, 7 + 2 * o] = (seg.ptr[:-1] + seg_base[op]).astype(np.uint64)
        slots[:, 8 + 2 * o] = np.diff(seg.ptr).astype(np.uint64)
    if program.a_block is not None and program.b_block is not None:
        slots[:, 15] = _block_field(program.a_block) | (_block_field(program.b_block) << 16)
    if program.b_slot is not None:
        slots[:, 2] |= program.b_slot.astype(np.uint64) << 16
    return slots


def _block_field(block: np.ndarray) -> np.ndarray:
    """Block ids as the entry word's 16-bit fields: 1, 2 ... in id order, 0 for -1."""
    ids, inverse = np.unique(block, return_inverse=True)
    base = 1 if ids.shape[0] and ids[0] < 0 else 0  # -1 sorts first and becomes 0
    field = (inverse.astype(np.int64) + 1 - base).astype(np.uint64)
    if ids.shape[0] - base > 0xFFFF:
        raise InputError("[engine] reuse", "block ids", f"{ids.shape[0] - base} operand blocks, more "
                         f"than the {0xFFFF} the RTL entry word holds")
    return field


def _padded(values: np.ndarray, depth: int) -> np.ndarray:
    out = np.zeros(depth, dtype=np.uint64)
    out[: values.shape[0]] = values.astype(np.uint64)
    return out


def encode_program(program: TileProgram, arch: Arch, out_dir: Path) -> Image:
    """Write the ROM and memory images of `program` into `out_dir`.

    Raises:
        ValueError: the program has no segment lists or memory image (a
            timing-only compile), which the RTL cannot run.
    """
    if not program.functional or program.segments is None:
        raise ValueError(f"program {program.name!r} has no segments/memory image (timing-only compile)")
    params = image_parameters(program, arch)
    out_dir.mkdir(parents=True, exist_ok=True)
    bus = arch.dma.bus_bytes

    seg_base: dict[str, int] = {}
    parts = []
    base = 0
    for op in OPS:
        seg_base[op] = base
        seg = program.segments[op]
        parts.append(seg)
        base += int(seg.mem_addr.shape[0])
    files = {
        "entries": out_dir / "entries.hex",
        "preds": out_dir / "preds.hex",
        "succs": out_dir / "succs.hex",
        "segs": out_dir / "segs.hex",
        "mem": out_dir / "mem.hex",
    }
    slots = entry_slots(program, seg_base)
    add_vector_fields(program, arch, slots)
    files["entries"].write_text(entry_rom_hex(slots, params["N_DEPTH"]))
    if params.get("HAS_VECTOR"):
        files["vecops"] = out_dir / "vecops.hex"
        files["vecops"].write_text(_u32_slots_hex(descriptor_slots(program, params["VOP_DEPTH"])))
    files["preds"].write_text(list_rom_hex(program.preds.idx, params["LIST_DEPTH"]))
    files["succs"].write_text(list_rom_hex(program.succs.idx, params["LIST_DEPTH"]))
    cat = {name: np.concatenate([getattr(s, name) for s in parts])
           for name in ("mem_addr", "length", "local_addr", "zero")}
    files["segs"].write_text(segments_hex(cat["mem_addr"], cat["length"], cat["local_addr"],
                                          cat["zero"], params["SEG_DEPTH"]))
    mem = np.zeros(params["MEM_BYTES"], dtype=np.uint8)
    for addr, data in program.memory_image:
        mem[addr: addr + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
    files["mem"].write_text(memory_hex(mem, bus, params["MEM_BYTES"] // bus))
    return Image(files=files, parameters=params, entries=program.entries)
