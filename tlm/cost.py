"""Area and energy estimates of a run from the `[cost]` arch section.

Accelergy/SCALE-Sim style: per-component figures (docs/arch.md states the
source of each default) times what the hardware has (area) or what a run
did (energy). These are estimates: no leakage, wires or control logic.
"""

from __future__ import annotations

from typing import Any

from tlm.arch import Arch

PJ_PER_UJ = 1e6
UM2_PER_MM2 = 1e6


def area_mm2(arch: Arch) -> dict[str, float]:
    """Area per component and `total`, mm^2."""
    c, a = arch.cost, arch.array
    e = a.engines
    split = {
        "mac": e * a.rows * a.cols * c.mac_area_um2 / UM2_PER_MM2,
        "sram": e * arch.scratchpad.bytes * c.sram_area_um2_per_byte / UM2_PER_MM2,
        "vector": e * a.cols * c.vector_area_um2_per_lane / UM2_PER_MM2,
        "other": c.other_area_mm2,
    }
    split["total"] = sum(split.values())
    return {k: round(v, 6) for k, v in split.items()}


def energy_uj(arch: Arch, *, macs: int, dma_bytes: int, out_elems: int) -> dict[str, float]:
    """Energy per component and `total`, uJ, of a run with these counts.

    Every byte the DMA moves is written once into and read once out of an
    on-chip SRAM (scratchpad on loads, output buffer on stores).
    """
    c = arch.cost
    split = {
        "mac": macs * c.mac_energy_pj / PJ_PER_UJ,
        "sram": 2 * dma_bytes * c.sram_energy_pj_per_byte / PJ_PER_UJ,
        "dram": dma_bytes * c.dram_energy_pj_per_byte / PJ_PER_UJ,
        "vector": out_elems * c.vector_energy_pj_per_elem / PJ_PER_UJ,
    }
    split["total"] = sum(split.values())
    return {k: round(v, 6) for k, v in split.items()}


def cost_summary(arch: Arch, *, macs: int, dma_bytes: int, out_elems: int) -> dict[str, Any]:
    """The `area`, `energy` and `cost` keys a summary gains (estimates, labelled so)."""
    area = area_mm2(arch)
    energy = energy_uj(arch, macs=macs, dma_bytes=dma_bytes, out_elems=out_elems)
    return {
        "area": area["total"], "energy": energy["total"],
        "cost": {"estimate": True, "tech_nm": arch.cost.tech_nm,
                 "area_mm2": area, "energy_uj": energy},
    }
