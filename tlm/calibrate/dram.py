"""`tlmsim calibrate --hardware`: fit the TLM memory-model levels to the RTL with a DRAM.

    ref = RtlReference(cache, hardware=load_hardware("hw_a.toml"))
    result = calibrate_memory(arch, ref)
    write_memory_overlay("cal.toml", result)

The fitting cases are the `[timing]` calibration set plus micro-workloads
that expose the DRAM's effects (`dram_cases`); the held-out cases are the
validation set, never fitted. `[timing]` is not refitted: control costs do
not depend on the memory, so the arch's (by default the shipped calibration)
is kept. Both levels are fitted op by op (`dram_fit`), then every case is
re-run end to end on the TLM at the fixed level with the arch's own values
(`uncalibrated`), the fitted fixed level, and the fitted dram level.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tlm.arch import Arch, arch_to_toml
from tlm.blocks import simulate
from tlm.calibrate.core import FIT, HELD_OUT, prepare
from tlm.calibrate.dram_fit import (DramFit, fit_dram, fit_fixed, op_error, predict_dram, predict_fixed,
                                    refresh_interval_seen, replay_ops)
from tlm.calibrate.runs import FitCase, Reference
from tlm.outputs import write_file
from tlm.trace.dram import hit_rate
from tlm.workload.calibration import FORMAT, Case, calibration_set, validation_set

LEVELS = ("uncalibrated", "fixed", "dram")


def _chain_layers(name: str, seed: int, layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "name": name, "seed": seed, "layers": layers}


def dram_cases(rows: int = 4, cols: int = 4) -> list[Case]:
    """Micro-workloads for the DRAM effects the `[timing]` set does not stress.

    - row-crossing gathers: A rows of 1,500 bytes at a 1,500-byte stride;
    - strided gathers: a dilated, strided convolution (short runs far apart);
    - read/write mixes: many independent tiles with tiny k, so that stores
      and loads alternate and engines contend;
    - long runs across refresh: a chain of medium gemms, ~10^4 cycles.
    """
    return [
        {"name": "dram_row_cross", "arch": {}, "workload": _chain_layers("dram_row_cross", 51, [
            {"name": "wide", "op": "gemm", "M": 2 * rows, "N": cols, "K": 1500}])},
        {"name": "dram_strided", "arch": {}, "workload": _chain_layers("dram_strided", 52, [
            {"name": "conv", "op": "conv2d", "in_channels": 8, "out_channels": cols, "height": 12,
             "width": 12, "kernel": 3, "stride": 2, "padding": 2, "dilation": 2}])},
        {"name": "dram_rw_mix", "arch": {}, "workload": {
            "format": FORMAT, "name": "dram_rw_mix", "seed": 53,
            "tiles": [{"id": i, "m": 1 + i % rows, "n": 1 + (i * 3) % cols, "k": 1 + i % 5, "deps": []}
                      for i in range(48)]}},
        {"name": "dram_long", "arch": {}, "workload": _chain_layers("dram_long", 54, [
            {"name": "fc0", "op": "gemm", "M": 16, "N": 128, "K": 96},
            {"name": "fc1", "op": "gemm", "M": 16, "N": 96, "K": 128},
            {"name": "fc2", "op": "gemm", "M": 16, "N": 16, "K": 96}])},
    ]


@dataclass
class MemoryRow:
    name: str
    set: str
    cycles_ref: int
    cycles: dict[str, int]          # level -> TLM cycles
    accuracy: dict[str, float]      # level -> end-to-end accuracy
    op_error: dict[str, float]      # level -> summed |op duration error| / summed durations
    row_hit_rate: float | None      # TLM dram level: row hits over requests (tlm.trace.dram)
    rtl_row_hit_rate: float | None  # the same, seen by the RTL's DRAM (its trace footer)
    # level -> DMA op -> (summed |duration error|, summed RTL duration, records), ops replayed
    per_op: dict[str, dict[str, tuple[int, int, int]]] = field(default_factory=dict)
    worst: list[tuple[float, str, int, int, int, int]] = field(default_factory=list)  # dram level

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "set": self.set, "cycles_ref": self.cycles_ref, "cycles": self.cycles,
                "accuracy": {k: round(v, 6) for k, v in self.accuracy.items()},
                "op_error": {k: round(v, 6) for k, v in self.op_error.items()},
                "row_hit_rate": _round4(self.row_hit_rate), "rtl_row_hit_rate": _round4(self.rtl_row_hit_rate)}


def _round4(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class MemoryCalibration:
    source: str
    hardware: dict[str, Any]
    arch: Arch                      # with the fitted [memory_model]
    base: Arch
    dram_fit: DramFit
    rows: list[MemoryRow]
    fit_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def held_out(self) -> list[MemoryRow]:
        return [r for r in self.rows if r.set == HELD_OUT]

    def held_out_accuracy(self, level: str) -> tuple[float, float]:
        """(min, mean) end-to-end accuracy of a level over the held-out cases."""
        accs = [r.accuracy[level] for r in self.held_out()]
        return (min(accs), float(np.mean(accs))) if accs else (1.0, 1.0)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "hardware": self.hardware,
                "memory_model": dataclasses.asdict(self.arch.memory_model),
                "dram_fit": {"fit_error_start": round(self.dram_fit.error_start, 6),
                             "fit_error": round(self.dram_fit.error, 6),
                             "evaluations": self.dram_fit.evaluations, "fit_s": round(self.fit_s, 2)},
                "cases": [r.to_json() for r in self.rows],
                "held_out": {lv: dict(zip(("min_accuracy", "mean_accuracy"),
                                          (round(x, 6) for x in self.held_out_accuracy(lv))))
                             for lv in LEVELS}}


def hardware_values(hardware: dict[str, Any]) -> dict[str, Any]:
    """A hardware file's `[dram]` (as a dict) under the dram level's `[memory_model]` names.

    A diagnostic for benchmarks and tests (how close the dram level comes with
    the hardware's own values): calibration itself never reads the hardware.
    """
    h = hardware
    return {"dram_banks": h["banks"], "dram_row_bytes": h["row_bytes"], "dram_mapping": h["mapping"],
            "dram_page_policy": h["page_policy"], "dram_scheduler": h["scheduler"],
            "dram_queue": h["queue_depth"], "dram_cl_cycles": h["t_cl"], "dram_cwl_cycles": h["t_cwl"],
            "dram_rcd_cycles": h["t_rcd"], "dram_rp_cycles": h["t_rp"], "dram_ras_cycles": h["t_ras"],
            "dram_wr_cycles": h["t_wr"], "dram_wtr_cycles": h["t_wtr"], "dram_rtw_cycles": h["t_rtw"],
            "dram_refi_cycles": h["t_refi"], "dram_rfc_cycles": h["t_rfc"]}


def with_hardware_values(arch: Arch, hardware: dict[str, Any]) -> Arch:
    """`arch` on the dram level with a hardware file's own `[dram]` values (see `hardware_values`)."""
    mm = dataclasses.replace(arch.memory_model, **hardware_values(hardware))
    return dataclasses.replace(arch, memory=dataclasses.replace(arch.memory, model="dram"), memory_model=mm)


def level_arch(arch: Arch, level: str, fitted: Arch) -> Arch:
    """The arch a level runs with: `uncalibrated` is the fixed level with the arch's own values."""
    if level == "uncalibrated":
        return dataclasses.replace(arch, memory=dataclasses.replace(arch.memory, model="fixed"))
    mem = dataclasses.replace(arch.memory, model=level)
    return dataclasses.replace(arch, memory=mem, memory_model=fitted.memory_model)


def _row(case: FitCase, which: str, base: Arch, fitted: Arch) -> MemoryRow:
    rep = replay_ops(case)
    cycles: dict[str, int] = {}
    acc: dict[str, float] = {}
    err: dict[str, float] = {}
    hit: float | None = None
    per_op: dict[str, dict[str, tuple[int, int, int]]] = {}
    worst: list[tuple[float, str, int, int, int, int]] = []
    for level in LEVELS:
        a = level_arch(case.arch, level, fitted)
        res = simulate(case.program, a, functional=False)
        cycles[level] = res.cycles
        acc[level] = 1.0 - abs(res.cycles - case.ref.cycles) / max(case.ref.cycles, 1)
        pred = predict_dram(a, rep) if level == "dram" else predict_fixed(a, rep)
        err[level] = op_error(pred, rep)
        per_op[level] = _per_op(pred, rep)
        if level == "dram":
            worst = _worst(pred, rep)
            if res.dram is not None:
                hit = hit_rate(res.dram)
    ref_dram = case.ref.info.get("dram")
    return MemoryRow(case.name, which, case.ref.cycles, cycles, acc, err, hit,
                     hit_rate(ref_dram) if isinstance(ref_dram, dict) else None, per_op, worst)


def _per_op(pred: np.ndarray, rep: Any) -> dict[str, tuple[int, int, int]]:
    out: dict[str, tuple[int, int, int]] = {}
    ops = np.array(rep.op)
    for op in sorted(set(rep.op)):
        sel = ops == op
        out[op] = (int(np.abs(pred[sel] - rep.duration[sel]).sum()), int(rep.duration[sel].sum()),
                   int(sel.sum()))
    return out


def _worst(pred: np.ndarray, rep: Any, n: int = 3) -> list[tuple[float, str, int, int, int, int]]:
    """The n ops with the largest relative duration error: (error, op, tile, grant, RTL, TLM)."""
    rel = np.abs(pred - rep.duration) / np.maximum(rep.duration, 1)
    order = np.lexsort((np.arange(rel.size), -rel))[:n]
    return [(float(rel[i]), rep.op[i], rep.tile[i], rep.grant[i], int(rep.duration[i]), int(pred[i]))
            for i in order if rel[i] > 0]


def calibrate_memory(arch: Arch, reference: Reference, hardware: dict[str, Any], *,
                     calibration: list[Case] | None = None, validation: list[Case] | None = None,
                     on_case: Callable[[str], None] | None = None,
                     on_step: Callable[[str, float], None] | None = None,
                     max_generations: int = 12) -> MemoryCalibration:
    """Fit both memory-model levels on the calibration cases, validate on the others."""
    r, c = arch.array.rows, arch.array.cols
    if calibration is None:
        calibration = calibration_set(r, c, arch.kmax) + dram_cases(r, c)
    validation = validation if validation is not None else validation_set(r, c, arch.kmax)
    both = prepare(calibration + validation, arch, reference, on_case)
    fit_cases, val_cases = both[:len(calibration)], both[len(calibration):]
    t0 = time.perf_counter()
    reps = [replay_ops(fc) for fc in fit_cases]
    fixed = fit_fixed(arch, reps)

    def judge(model: Any) -> float:
        """Mean end-to-end error of the dram level over the fitting cases."""
        errs = []
        for fc in fit_cases:
            a = level_arch(fc.arch, "dram", dataclasses.replace(arch, memory_model=model))
            errs.append(abs(simulate(fc.program, a, functional=False).cycles - fc.ref.cycles)
                        / max(fc.ref.cycles, 1))
        return float(np.mean(errs))

    refi = refresh_interval_seen([fc.ref.ops["refresh"]["start"] for fc in fit_cases if "refresh" in fc.ref.ops],
                                 [fc.ref.cycles for fc in fit_cases])
    dfit = fit_dram(dataclasses.replace(arch, memory_model=fixed), reps, max_generations=max_generations,
                    on_step=on_step, judge=judge, refresh_interval=refi)
    fit_s = time.perf_counter() - t0
    fitted = dataclasses.replace(arch, memory_model=dfit.model)
    rows = [_row(fc, which, arch, fitted)
            for which, cases in ((FIT, fit_cases), (HELD_OUT, val_cases)) for fc in cases]
    return MemoryCalibration(reference.label, hardware, fitted, arch, dfit, rows, fit_s)


def memory_overlay_text(result: MemoryCalibration) -> str:
    """The `[memory_model]` overlay TOML, with where it came from."""
    hw = ", ".join(f"{k} = {v}" for k, v in result.hardware.items())
    lo, mean = result.held_out_accuracy("dram")
    flo, fmean = result.held_out_accuracy("fixed")
    head = [f"# [memory_model] fitted by `tlmsim calibrate --hardware` against the {result.source} reference",
            f"# hardware [dram]: {hw}",
            f"# held-out end-to-end accuracy over {len(result.held_out())} workloads: "
            f"dram level min {lo:.4%} mean {mean:.4%}; fixed level min {flo:.4%} mean {fmean:.4%}",
            "# use: tlmsim sim --calibration THIS --memory-model dram (or fixed)", ""]
    return "\n".join(head) + arch_to_toml(result.arch, sections=("memory_model",))


def write_memory_overlay(path: str | Path, result: MemoryCalibration) -> None:
    """Write the overlay atomically.

    Raises:
        InputError: The file cannot be written.
    """
    write_file(path, memory_overlay_text(result), "--out")


def markdown_memory(result: MemoryCalibration) -> str:
    """Per case: RTL cycles and each level's cycles and accuracy."""
    lines = ["| workload | set | cycles RTL+DRAM | fixed (arch) | fixed (fitted) | dram (fitted) | "
             "accuracy fixed (arch) | accuracy fixed | accuracy dram | row-hit rate TLM dram | row-hit rate RTL |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result.rows:
        lines.append(f"| {r.name} | {r.set} | {r.cycles_ref:,} | {r.cycles['uncalibrated']:,} | "
                     f"{r.cycles['fixed']:,} | {r.cycles['dram']:,} | {r.accuracy['uncalibrated']:.2%} | "
                     f"{r.accuracy['fixed']:.2%} | {r.accuracy['dram']:.2%} | {_pct(r.row_hit_rate)} | "
                     f"{_pct(r.rtl_row_hit_rate)} |")
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def markdown_memory_ops(result: MemoryCalibration) -> str:
    """Per DMA op, over the held-out cases: each level's summed duration error over the summed durations."""
    total: dict[str, dict[str, list[int]]] = {}
    for r in result.held_out():
        for level, ops in r.per_op.items():
            for op, (e, d, n) in ops.items():
                acc = total.setdefault(op, {}).setdefault(level, [0, 0, 0])
                acc[0] += e
                acc[1] += d
                acc[2] += n
    lines = ["| DMA op | records | error fixed (arch) | error fixed (fitted) | error dram (fitted) |",
             "|---|---:|---:|---:|---:|"]
    for op in sorted(total):
        cells = [f"{total[op][lv][0] / max(total[op][lv][1], 1):.2%}" if lv in total[op] else "-"
                 for lv in LEVELS]
        lines.append(f"| {op} | {next(iter(total[op].values()))[2]:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_memory_worst(result: MemoryCalibration, n: int = 10) -> str:
    """The held-out DMA ops the dram level times worst."""
    rows = sorted(((w, r.name) for r in result.held_out() for w in r.worst), key=lambda x: (-x[0][0], x[1], x[0][2]))
    lines = ["| workload | op | tile | grant | RTL cycles | TLM dram cycles | error |", "|---|---|---:|---:|---:|---:|---:|"]
    for (err, op, tile, grant, ref, tlm), name in rows[:n]:
        lines.append(f"| {name} | {op} | {tile} | {grant:,} | {ref} | {tlm} | {err:.1%} |")
    return "\n".join(lines)
