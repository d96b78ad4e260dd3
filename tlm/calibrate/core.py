"""Calibration: fit the TLM's `[timing]` to a reference, then validate on held-out cases.

    ref = RtlReference(cache_root() / "calib")
    result = calibrate(Arch(), ref)
    write_overlay("calibrated_timing.toml", result)

`calibrate` runs every case of `tlm.workload.calibration.calibration_set`
and `validation_set` through the reference, fits on the first set only
(`fit.fit_timing`), and re-runs the TLM with the uncalibrated and the
calibrated timing on both sets. The result carries everything the CLI and
the accuracy benchmark print: per case the reference, uncalibrated and
calibrated cycles, accuracies before and after, and per-op duration error
distributions (the residuals) on each set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tlm.arch import MAX_SIZE, Arch, arch_from_dict, arch_to_toml
from tlm.calibrate.fit import Fit, fit_timing
from tlm.calibrate.runs import CaseError, FitCase, Reference, case_error, run_tlm
from tlm.errors import CheckFailed, InputError
from tlm.outputs import write_file
from tlm.trace.schema import op_order
from tlm.workload import compile_workload
from tlm.workload.calibration import Case, calibration_set, validation_set
from tlm.workload.program import TileProgram

FIT, HELD_OUT = "fit", "held-out"


@dataclass
class CaseRow:
    """One line of the before/after table."""

    name: str
    set: str
    cycles_ref: int
    cycles_uncal: int
    cycles_cal: int
    acc_before: float
    acc_after: float
    p95_after: float         # worst op's p95 duration error, calibrated
    worst_op: str
    functional_ref: str
    functional_tlm: str
    ref_sim_s: float | None
    tlm_sim_s: float | None
    per_op: dict[str, dict[str, float]] = field(default_factory=dict)  # op -> mape, p95 after
    p95_before: float = 0.0  # worst op's p95 duration error, uncalibrated

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("acc_before", "acc_after", "p95_after", "p95_before"):
            d[k] = round(d[k], 6)
        d["per_op"] = {op: {k: round(v, 6) for k, v in s.items()} for op, s in self.per_op.items()}
        return d


@dataclass
class OpResidual:
    """Per-op duration error over a set of cases, calibrated TLM vs reference."""

    op: str
    n: int
    mean_cycles: float       # mean of dur_tlm - dur_ref
    mape: float
    p95: float
    max: float

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "mean_cycles": round(self.mean_cycles, 4), "mape": round(self.mape, 6),
                "p95": round(self.p95, 6), "max": round(self.max, 6)}


@dataclass
class CalibrationResult:
    source: str                        # the reference's label: "rtl" or "stand-in"
    arch: Arch                         # the arch calibrated, with the fitted timing
    uncalibrated: Arch
    fit: Fit
    rows: list[CaseRow]
    residuals: dict[str, dict[str, OpResidual]] = field(default_factory=dict)  # set -> op -> ...

    def held_out(self) -> list[CaseRow]:
        return [r for r in self.rows if r.set == HELD_OUT]

    @property
    def held_out_min_accuracy(self) -> float:
        rows = self.held_out()
        return min(r.acc_after for r in rows) if rows else 1.0

    def to_json(self) -> dict[str, Any]:
        held = self.held_out()
        return {
            "source": self.source,
            "timing": dataclasses.asdict(self.arch.timing),
            "uncalibrated": dataclasses.asdict(self.uncalibrated.timing),
            "measured": self.fit.measured,
            "notes": self.fit.notes,
            "objective": {"measured": round(self.fit.objective_measured, 6),
                          "fitted": round(self.fit.objective, 6),
                          "evaluations": self.fit.evaluations},
            "cases": [r.to_json() for r in self.rows],
            "held_out": {
                "min_accuracy": round(self.held_out_min_accuracy, 6),
                "mean_accuracy": round(float(np.mean([r.acc_after for r in held])), 6) if held else None,
                "max_p95": round(max(r.p95_after for r in held), 6) if held else None,
            },
            "per_op": {s: {op: r.to_json() for op, r in ops.items()}
                       for s, ops in self.residuals.items()},
        }


def case_arch(case: Case, arch: Arch) -> Arch:
    """The arch of a case: its overlay applied over the arch being calibrated."""
    return arch_from_dict(case.get("arch") or {}, f"<case {case['name']}>", base=arch)


def compile_case(case: Case, arch: Arch) -> tuple[Arch, TileProgram]:
    """The arch and program of a case on the arch being calibrated.

    `[memory] bytes` only bounds how much memory a workload may use (no
    timing of the TLM or the RTL depends on it), so a case that needs more
    than the arch has runs with just enough: calibration works whatever it is.
    """
    a = case_arch(case, arch)
    roomy = dataclasses.replace(a, memory=dataclasses.replace(a.memory, bytes=MAX_SIZE))
    program = compile_workload(case["workload"], roomy, file=f"<case {case['name']}>")
    if program.memory_size > a.memory.bytes:
        a = dataclasses.replace(a, memory=dataclasses.replace(a.memory, bytes=program.memory_size))
    return a, program


def prepare(cases: list[Case], arch: Arch, reference: Reference,
            on_case: Callable[[str], None] | None = None) -> list[FitCase]:
    """Compile each case and run it through the reference.

    Raises:
        CheckFailed: The reference failed its functional check on a case.
    """
    # Compile everything first: a case that does not fit the arch is reported before any run.
    compiled = []
    for case in cases:
        compiled.append((case, *compile_case(case, arch)))
    out: list[FitCase] = []
    for case, a, program in compiled:
        if on_case is not None:
            on_case(case["name"])
        ref = reference.run(case["name"], case["workload"], program, a)
        if ref.functional == "fail":
            raise CheckFailed(f"{reference.label} run of {case['name']} failed its functional check")
        out.append(FitCase(case["name"], program, a, ref))
    return out


def _row(case: FitCase, which: str, uncal: Arch, cal: Arch) -> tuple[CaseRow, CaseError]:
    before = run_tlm(case.program, dataclasses.replace(case.arch, timing=uncal.timing))
    after = run_tlm(case.program, dataclasses.replace(case.arch, timing=cal.timing),
                    functional=case.program.functional)
    e_before, e_after = case_error(before, case.ref), case_error(after, case.ref)
    p95s = {op: float(np.percentile(e, 95)) for op, e in e_after.dur_err.items() if e.size}
    worst = max(sorted(p95s, key=op_order), key=lambda op: p95s[op]) if p95s else ""
    if worst and p95s[worst] == 0.0:
        worst = ""
    row = CaseRow(case.name, which, case.ref.cycles, before.cycles, after.cycles,
                  e_before.accuracy, e_after.accuracy, p95s.get(worst, 0.0), worst,
                  case.ref.functional, after.functional, case.ref.sim_s, after.sim_s,
                  {op: {"mape": float(e.mean()), "p95": p95s[op]}
                   for op, e in sorted(e_after.dur_err.items(), key=lambda kv: op_order(kv[0]))
                   if e.size},
                  max((float(np.percentile(e, 95)) for e in e_before.dur_err.values() if e.size),
                      default=0.0))
    return row, e_after


def residuals(errors: list[CaseError]) -> dict[str, OpResidual]:
    """Pool the per-op duration errors of several cases."""
    ops = sorted({op for e in errors for op in e.dur_err}, key=op_order)
    out: dict[str, OpResidual] = {}
    for op in ops:
        err = np.concatenate([e.dur_err[op] for e in errors if op in e.dur_err])
        res = np.concatenate([e.residual[op] for e in errors if op in e.residual])
        if err.size == 0:
            continue
        out[op] = OpResidual(op, int(err.size), float(res.mean()), float(err.mean()),
                             float(np.percentile(err, 95)), float(err.max()))
    return out


def calibrate(arch: Arch, reference: Reference, *,
              calibration: list[Case] | None = None, validation: list[Case] | None = None,
              on_case: Callable[[str], None] | None = None,
              on_step: Callable[[str, float], None] | None = None,
              max_evaluations: int = 3000) -> CalibrationResult:
    """Fit `arch.timing` to `reference` on the calibration cases, validate on the others."""
    rows_, cols_ = arch.array.rows, arch.array.cols
    calibration = calibration if calibration is not None else calibration_set(rows_, cols_, arch.kmax)
    validation = validation if validation is not None else validation_set(rows_, cols_, arch.kmax)
    fit_names = {c["name"] for c in calibration}
    overlap = fit_names & {c["name"] for c in validation}
    if overlap:
        raise ValueError(f"cases both fitted and held out: {sorted(overlap)}")
    both = prepare(calibration + validation, arch, reference, on_case)
    fit_cases, val_cases = both[:len(calibration)], both[len(calibration):]
    fit = fit_timing(fit_cases, arch.timing, on_step=on_step, max_evaluations=max_evaluations)
    cal = dataclasses.replace(arch, timing=fit.timing)
    rows: list[CaseRow] = []
    errs: dict[str, list[CaseError]] = {FIT: [], HELD_OUT: []}
    for which, cases in ((FIT, fit_cases), (HELD_OUT, val_cases)):
        for c in cases:
            row, err = _row(c, which, arch, cal)
            rows.append(row)
            errs[which].append(err)
    return CalibrationResult(reference.label, cal, arch, fit, rows,
                             {which: residuals(e) for which, e in errs.items() if e})


def overlay_text(result: CalibrationResult) -> str:
    """The `[timing]` overlay TOML, with a comment saying where it came from."""
    a = result.arch
    head = [
        f"# [timing] fitted by `tlmsim calibrate` against the {result.source} reference",
        f"# hardware: {a.array.engines} engines x {a.array.rows}x{a.array.cols}, "
        f"table {a.scheduler.table_depth}, bus {a.dma.bus_bytes} B, "
        f"memory latency {a.memory.latency_cycles} cycles",
        f"# held-out end-to-end accuracy: min {result.held_out_min_accuracy:.4%} over "
        f"{len(result.held_out())} workloads",
        "",
    ]
    return "\n".join(head) + arch_to_toml(a, sections=("timing",))


def write_overlay(path: str | Path, result: CalibrationResult) -> None:
    """Write the overlay atomically (temp file beside it, then rename).

    Raises:
        InputError: The file cannot be written.
    """
    write_file(path, overlay_text(result), "--out")
