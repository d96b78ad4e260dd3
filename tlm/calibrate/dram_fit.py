"""Fitting the TLM memory-model levels to the ops of RTL-with-DRAM traces.

Both levels are fitted op by op: every DMA op of a reference trace is
replayed at the grant cycle the RTL gave it, and the level's predicted
grant-to-done time is compared with the RTL's.

- fixed: least squares of `end - grant` against the op's beats, reads and
  writes apart, gives the effective extra latency per op kind and the
  effective cycles per beat (`[memory_model] fixed_*`);
- dram: the bank/row model (`tlm.blocks.dram_model`) is replayed in grant
  order over each case's ops, from a fresh state, and
  `scipy.optimize.differential_evolution` (integer variables, fixed seed)
  minimises the summed absolute duration error over the summed durations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tlm.arch import DRAM_MAPPINGS, DRAM_PAGE_POLICIES, DRAM_SCHEDULERS, Arch, MemoryModel
from tlm.blocks.dram_model import DramModel, op_requests
from tlm.calibrate.runs import FitCase
from tlm.workload.program import OPS

READS = ("load_a", "load_b", "load_c")
REFI_MAX = 8000  # the largest refresh interval the search considers
REFI_SLACK = 32  # a measured interval is searched this far below the shortest gap seen


@dataclass
class OpReplay:
    """One case's DMA ops in grant order, with their requests and RTL durations."""

    name: str
    grant: list[int]
    read: list[bool]
    requests: list[list[tuple[int, int, bool]]]
    duration: np.ndarray          # RTL end - grant
    beats: np.ndarray
    op: list[str] = field(default_factory=list)    # DMA op name, per op
    tile: list[int] = field(default_factory=list)  # trace tile id, per op


def replay_ops(case: FitCase) -> OpReplay:
    """The DMA ops of a case's reference trace, ready to replay."""
    p, arch = case.program, case.arch
    assert p.segments is not None, "calibration compiles keep the segment lists"
    entry_of = {int(t): x for x, t in enumerate(p.tile_id.tolist())}
    rows: list[tuple[int, int, str, int]] = []
    for op in OPS:
        arr = case.ref.ops.get(op)
        if arr is None:
            continue
        for tile, grant, end in zip(arr["tile"].tolist(), arr["grant"].tolist(), arr["end"].tolist()):
            if tile in entry_of and grant >= 0:
                rows.append((grant, end, op, entry_of[tile]))
    rows.sort()
    reqs = [op_requests(p.segments[op], x, arch.dma.bus_bytes, arch.dma.max_burst_beats,
                        write=op not in READS) for _g, _e, op, x in rows]
    return OpReplay(case.name, [g for g, *_ in rows], [op in READS for _g, _e, op, _x in rows], reqs,
                    np.array([e - g for g, e, *_ in rows], dtype=np.int64),
                    np.array([int(p.beats[op][x]) for _g, _e, op, x in rows], dtype=np.int64),
                    [op for _g, _e, op, _x in rows], [int(p.tile_id[x]) for _g, _e, _op, x in rows])


def predict_dram(arch: Arch, rep: OpReplay) -> np.ndarray:
    """Grant-to-done cycles of every op of `rep` on the dram level of `arch`."""
    model = DramModel(arch)
    out = np.empty(len(rep.grant), dtype=np.int64)
    for i, (g, rd, reqs) in enumerate(zip(rep.grant, rep.read, rep.requests)):
        out[i] = (model.read_op(g, reqs) if rd else model.write_op(g, reqs)) - g
    return out


def predict_fixed(arch: Arch, rep: OpReplay) -> np.ndarray:
    """Grant-to-done cycles of every op of `rep` on the fixed level of `arch`."""
    t, m = arch.timing, arch.memory_model
    beats = rep.beats + np.rint(rep.beats * (m.fixed_cycles_per_beat - 1.0)).astype(np.int64)
    read = np.array(rep.read, dtype=bool)
    return np.maximum(np.where(read, t.dma_setup_cycles + arch.memory.latency_cycles + beats + t.dma_read_done_cycles
                    + m.fixed_read_extra_cycles,
                    t.dma_setup_cycles + beats + t.dma_write_done_cycles + m.fixed_write_extra_cycles), 1)


def op_error(pred: np.ndarray, rep: OpReplay) -> float:
    """Summed |predicted - RTL| duration over the summed RTL durations."""
    return float(np.abs(pred - rep.duration).sum()) / max(float(rep.duration.sum()), 1.0)


def fit_error(pred: np.ndarray, rep: OpReplay) -> float:
    """What the dram fit minimises: `op_error` plus the bias (|summed signed error| over the sum).

    The bias term keeps small per-op errors from adding up in one direction,
    which is what moves a whole run's cycles.
    """
    total = max(float(rep.duration.sum()), 1.0)
    diff = pred - rep.duration
    return float(np.abs(diff).sum()) / total + abs(float(diff.sum())) / total


def fit_fixed(arch: Arch, reps: list[OpReplay]) -> MemoryModel:
    """Effective latency and bandwidth of the fixed level (least squares)."""
    t = arch.timing
    beats = np.concatenate([r.beats for r in reps]).astype(float)
    dur = np.concatenate([r.duration for r in reps]).astype(float)
    read = np.concatenate([np.array(r.read, dtype=bool) for r in reps])
    # dur = a_read * read + a_write * (1 - read) + s * beats
    design = np.column_stack([read, ~read, beats]).astype(float)
    (a_r, a_w, s), *_ = np.linalg.lstsq(design, dur, rcond=None)
    base_r = t.dma_setup_cycles + arch.memory.latency_cycles + t.dma_read_done_cycles
    base_w = t.dma_setup_cycles + t.dma_write_done_cycles
    return dataclasses.replace(
        arch.memory_model,
        fixed_read_extra_cycles=int(min(max(round(a_r - base_r), -10_000), 10_000)),
        fixed_write_extra_cycles=int(min(max(round(a_w - base_w), -10_000), 10_000)),
        fixed_cycles_per_beat=float(round(min(max(s, 0.01), 100.0), 4)))


# -- the dram level: a vector of integers <-> [memory_model] dram_* -----------------------------

_TIMES = ("dram_cl_cycles", "dram_cwl_cycles", "dram_rcd_cycles", "dram_rp_cycles", "dram_ras_cycles",
          "dram_wr_cycles", "dram_wtr_cycles", "dram_rtw_cycles")


def _bounds(arch: Arch) -> list[tuple[int, int]]:
    lo_row = max(int(np.log2(arch.dma.bus_bytes)), 0)
    return ([(0, 5), (lo_row, 14), (0, 1), (0, 1), (0, 1), (1, 32)]
            + [(0, 80 if n == "dram_ras_cycles" else 40) for n in _TIMES] + [(0, REFI_MAX), (1, 200)])


def _to_model(base: MemoryModel, v: np.ndarray) -> MemoryModel:
    x = [int(round(float(a))) for a in v]
    refi, rfc = x[14], x[15]
    return dataclasses.replace(
        base, dram_banks=1 << x[0], dram_row_bytes=1 << x[1], dram_mapping=DRAM_MAPPINGS[x[2]],
        dram_page_policy=DRAM_PAGE_POLICIES[x[3]], dram_scheduler=DRAM_SCHEDULERS[x[4]], dram_queue=x[5],
        **{n: x[6 + i] for i, n in enumerate(_TIMES)},
        dram_refi_cycles=refi if refi > rfc else 0, dram_rfc_cycles=rfc)


def _to_vector(m: MemoryModel) -> list[int]:
    return ([int(np.log2(m.dram_banks)), int(np.log2(m.dram_row_bytes)), DRAM_MAPPINGS.index(m.dram_mapping),
             DRAM_PAGE_POLICIES.index(m.dram_page_policy), DRAM_SCHEDULERS.index(m.dram_scheduler),
             m.dram_queue] + [getattr(m, n) for n in _TIMES] + [m.dram_refi_cycles, m.dram_rfc_cycles])


@dataclass
class DramFit:
    model: MemoryModel
    error_start: float       # op error of the starting (default) parameters
    error: float             # op error of the fitted ones
    evaluations: int


SPEEDS = (0.5, 0.7, 1.0, 1.4, 2.0)  # starting timings: the defaults scaled by these


def fit_dram(arch: Arch, reps: list[OpReplay], *, max_generations: int = 12, popsize: int = 5,
             max_sweeps: int = 4, speeds: tuple[float, ...] = SPEEDS, refresh_interval: int | None = None,
             on_step: Callable[[str, float], None] | None = None,
             judge: Callable[[MemoryModel], float] | None = None) -> DramFit:
    """Fit the dram level's parameters to the replayed ops (deterministic: fixed seed).

    `on_step(stage, fit error)` is called after each stage: one per start,
    the refinement, each generation of the evolution, the final descent
    (`fit_stages` of them).

    The bank structure that fits best depends on the timings it is judged
    with (two interleaved banks at fast timings look like one bank with long
    rows at slow ones), so the search starts from several speeds, not from
    the defaults alone. `refresh_interval`, when the reference traces show
    it (`refresh_interval_seen`), is taken as measured instead of searched.

    `judge`, when given, scores the candidates (after the structure search,
    after the evolution, after the final search) end to end, e.g. by whole
    TLM runs of the fitting cases; the best-judged one is kept.
    """
    from scipy.optimize import differential_evolution

    base = arch.memory_model
    memo: dict[tuple[int, ...], float] = {}

    def objective(v: np.ndarray) -> float:
        key = tuple(int(round(float(a))) for a in v)
        hit = memo.get(key)
        if hit is not None:
            return hit
        a = dataclasses.replace(arch, memory_model=_to_model(base, v))
        err = float(np.mean([fit_error(predict_dram(a, r), r) for r in reps]))
        memo[key] = err
        return err

    bounds = _bounds(arch)
    x0 = np.array([min(max(x, lo), hi) for x, (lo, hi) in zip(_to_vector(base), bounds)], dtype=float)
    start = objective(x0)
    if refresh_interval is not None:
        # The shortest gap is the interval plus whatever the closest refresh waited for.
        bounds[14] = (max(refresh_interval - REFI_SLACK, 0) if refresh_interval else 0, refresh_interval)
        x0[14] = refresh_interval
        if refresh_interval:   # the duration must stay below the interval
            bounds[15] = (bounds[15][0], min(bounds[15][1], refresh_interval - 1))
            x0[15] = min(x0[15], refresh_interval - 1)
    # From each rung of a ladder of DRAM speeds: the structure at those timings, a coarse
    # refresh, one sweep of the timings. The best start then gets the fine refresh, the
    # timings, the evolution over everything, and the timings again to the cycle.
    def step(stage: str, x: np.ndarray | list[int]) -> None:
        if on_step is not None:
            on_step(stage, objective(np.array(x, dtype=float)))

    starts = []
    for s in speeds:
        starts.append(speed_start(objective, x0, bounds, s))
        step(f"start at speed x{s:g}", starts[-1])
    x0 = min(starts, key=objective)
    x0 = refresh_scan(objective, x0, bounds)
    x0 = np.array(polish(objective, [int(v) for v in x0], bounds, max_sweeps=2), dtype=float)
    step("refine the best start", x0)
    generation = [0]

    def callback(intermediate_result: object) -> None:
        generation[0] += 1
        if on_step is not None:
            on_step(f"evolution {generation[0]}/{max_generations}", float(getattr(intermediate_result, "fun", 0.0)))

    res = differential_evolution(objective, bounds, integrality=[True] * len(bounds), x0=x0, seed=0,
                                 maxiter=max_generations, popsize=popsize, polish=False, tol=0.0,
                                 atol=0.0, updating="immediate", workers=1, init="sobol",
                                 callback=callback)
    evolved = [int(round(float(a))) for a in (res.x if res.fun <= start else x0)]
    best = polish(objective, evolved, bounds, max_sweeps=max_sweeps)
    step("final descent", best)
    if judge is not None:
        candidates = [best, evolved, [int(v) for v in x0]]
        scores = [judge(_to_model(base, np.array(c))) for c in candidates]
        best = candidates[int(np.argmin(scores))]
    return DramFit(_to_model(base, np.array(best)), start, objective(np.array(best)), len(memo))


def fit_stages(max_generations: int = 12, speeds: tuple[float, ...] = SPEEDS) -> int:
    """How many times `fit_dram` calls `on_step` (at most: the evolution may stop early)."""
    return len(speeds) + 1 + max_generations + 1


def refresh_interval_seen(starts: list[np.ndarray], cycles: list[int]) -> int | None:
    """The refresh interval the reference traces show, None when they cannot tell.

    A refresh is due `refi` cycles after the previous one and waits only for
    open banks to close, so the shortest gap between refresh commands is the
    interval (to the cycle when some refresh found every bank closed). No
    refresh in runs longer than the search's largest interval: no refresh.
    """
    gaps = np.concatenate([np.diff(np.sort(s)) for s in starts if s.size > 1] or [np.zeros(0, np.int64)])
    if gaps.size:
        return int(gaps.min())
    if not any(s.size for s in starts) and cycles and max(cycles) > REFI_MAX:
        return 0
    return None


def speed_start(f: Callable[[np.ndarray], float], x0: np.ndarray, bounds: list[tuple[int, int]],
                speed: float) -> np.ndarray:
    """A starting point at x0's timings scaled by `speed`: its best structure, refresh, one timing sweep."""
    x = x0.copy()
    for i in range(6, 6 + len(_TIMES)):
        lo, hi = bounds[i]
        x[i] = min(max(round(float(x0[i]) * speed), lo), hi)
    x = structure_grid(f, x, bounds)
    x = refresh_scan(f, x, bounds, coarse=True)
    return np.array(polish(f, [int(v) for v in x], bounds, max_sweeps=1), dtype=float)


def structure_grid(f: Callable[[np.ndarray], float], x0: np.ndarray,
                   bounds: list[tuple[int, int]]) -> np.ndarray:
    """The best discrete structure (banks, row size, mapping, page policy, scheduler) at x0's timings.

    Every combination is tried once (at most 6 x 12 x 8 = 576 evaluations):
    the evolution then starts from it, so that it spends its budget on the
    timings rather than on finding the structure by chance.
    """
    import itertools

    best, best_x = f(x0), x0
    for combo in itertools.product(*(range(lo, hi + 1) for lo, hi in bounds[:5])):
        x = x0.copy()
        x[:5] = combo
        val = f(x)
        if val < best - 1e-12:
            best, best_x = val, x
    return best_x


def refresh_scan(f: Callable[[np.ndarray], float], x0: np.ndarray,
                 bounds: list[tuple[int, int]], *, coarse: bool = False) -> np.ndarray:
    """The refresh interval, then its duration, each by a scan of its whole range.

    The error is rugged in the interval (refreshes drift against the ops as
    it changes), so a local search from a wrong value rarely gets there: the
    interval is scanned on a 1% geometric grid (4% when `coarse`; and 0, no
    refresh), then the duration over every other value (every eighth);
    `polish` settles both to the cycle after.
    """
    (lo_i, hi_i), (lo_d, hi_d) = bounds[14], bounds[15]
    best, best_x = f(x0), x0
    ratio = 1.04 if coarse else 1.01
    if hi_i - lo_i <= 4 * REFI_SLACK:   # a measured interval: every value
        intervals = list(range(lo_i, hi_i + 1))
    else:
        intervals = sorted({0, *(int(round(100 * ratio ** k)) for k in range(500) if 100 * ratio ** k <= hi_i)})
    for refi in intervals:
        x = best_x.copy()
        x[14] = min(max(refi, lo_i), hi_i)
        val = f(x)
        if val < best - 1e-12:
            best, best_x = val, x
    for rfc in range(lo_d, hi_d + 1, 8 if coarse else 2):
        x = best_x.copy()
        x[15] = rfc
        val = f(x)
        if val < best - 1e-12:
            best, best_x = val, x
    return best_x


def polish(f: Callable[[np.ndarray], float], x: list[int], bounds: list[tuple[int, int]], *,
           max_sweeps: int = 4) -> list[int]:
    """Integer pattern search: per variable, steps from half its range down to 1, both ways.

    A step that improves is tried again before it is halved, so a timing far
    from its value gets there in a few moves and settles to the cycle.
    """
    cur = list(x)
    best = f(np.array(cur))
    for _ in range(max_sweeps):
        improved = False
        for i, (lo, hi) in enumerate(bounds):
            step = 1 << max((hi - lo).bit_length() - 2, 0)
            while step >= 1:
                for d in (step, -step):
                    v = cur[i] + d
                    if not lo <= v <= hi:
                        continue
                    trial = list(cur)
                    trial[i] = v
                    val = f(np.array(trial))
                    if val < best - 1e-12:
                        cur, best, improved = trial, val, True
                        break
                else:
                    step //= 2
        if not improved or best == 0.0:
            break
    return cur
