"""`tlmsim sim`: run a workload on the transaction-level accelerator model."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from tlm.arch import KEY_HELP, Arch, arch_keys
from tlm.cli.common import add_workload_args, calibrated_base, check_outputs, entry_counts, resolve_arch
from tlm.errors import InputError
from tlm.outputs import safe_text

def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "sim", help="simulate a workload on the TLM accelerator model",
        description="Compile a workload into a tile program and run it on the transaction-level "
        "model of the accelerator. Prints total cycles, utilisation, DMA traffic and simulation "
        "speed. Exit 1 when the functional check or the run fails, 2 on bad input.")
    add_workload_args(p, required=False)
    p.add_argument("--trace", "-t", metavar="T", help="write the tlm-trace/1 JSONL trace to T")
    p.add_argument("--perfetto", metavar="P", help="write a Chrome/Perfetto trace-event JSON to P")
    p.add_argument("--vcd", metavar="V", help="write a VCD of engine/DMA busy and table occupancy")
    p.add_argument("--trace-layers", metavar="L",
                   help="trace outputs keep only the records of these layers (indices from 0, "
                        "e.g. 3,5-7)")
    p.add_argument("--trace-window", metavar="A:B",
                   help="trace outputs keep only the records overlapping cycles A..B (e.g. "
                        "1000:50000; A: or :B are open-ended)")
    p.add_argument("--timing-only", action="store_true",
                   help="no data: timing only (for full-size networks)")
    p.add_argument("--uncalibrated", action="store_true",
                   help="use the default [timing] guesses, not the shipped calibration")
    p.add_argument("--calibration", metavar="CAL", default=None,
                   help="overlay TOML written by `tlmsim calibrate` (e.g. with --hardware), applied "
                   "over --arch")
    p.add_argument("--memory-model", choices=("fixed", "dram"), default=None,
                   help="TLM memory-model level (overrides [memory] model): fixed latency + bandwidth, "
                   "or the dram bank/row model")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--help-arch", action="store_true",
                   help="list every arch key with the value this run would use (with --arch and "
                   "--uncalibrated as given) and exit")
    return p


def run(args: argparse.Namespace) -> int:
    from tlm.blocks import simulate
    from tlm.blocks.profile import layer_header
    from tlm.cli import print_json
    from tlm.trace.sinks import open_sinks
    from tlm.limits import limits_from_args
    from tlm.workload import compile_workload

    wall0 = time.perf_counter()
    arch = resolve_arch(args.arch, calibrated=not args.uncalibrated)
    arch = memory_level(arch, args.calibration, args.memory_model)
    if args.help_arch:
        print(help_arch(arch, args.arch, calibrated=not args.uncalibrated))
        return 0
    if args.workload is None:
        raise InputError("tlmsim sim", "arguments", "the following arguments are required: --workload/-w")
    chosen = [(p, k) for p, k in ((args.trace, ".jsonl"), (args.perfetto, ".json"), (args.vcd, ".vcd"))
              if p is not None]
    outputs = [p for p, _ in chosen]
    check_outputs([("--trace", args.trace), ("--perfetto", args.perfetto), ("--vcd", args.vcd)],
                  [("--workload", args.workload), ("--arch", args.arch),
                   ("--calibration", args.calibration)])
    keep = _trace_filter(args, outputs)
    # The dram level places each request by address: it needs the segment lists.
    program = compile_workload(args.workload, arch,
                               functional=not args.timing_only or arch.memory.model == "dram",
                               limits=limits_from_args(args))
    from tlm.workload.ksplit import warn_ksplit

    warnings = warn_ksplit(program, arch)
    bar = _progress_bar(program.entries, args.no_progress)
    layers = layer_header(program)
    header: dict[str, Any] = {"program_hash": program.content_hash()} if outputs else {}
    if layers:
        header["layers"] = layers
    if keep:
        keep = _check_layers(keep, layers)
        header["filter"] = keep
    sink = open_sinks(outputs, source="tlm", workload=program.name, arch=arch,
                      kinds=[k for _, k in chosen], **header)
    if keep:
        sink = _filtered(sink, keep)
    with sink:
        result = simulate(program, arch, functional=not args.timing_only, trace=sink,
                          progress=bar.update if bar else None)
        if bar:
            bar.close()
        wall_s = time.perf_counter() - wall0
        sink.close(result.cycles, result.tiles, result.functional,
                   sim_s=round(result.sim_s, 4), wall_s=round(wall_s, 4),
                   **({"dram": result.dram} if result.dram is not None else {}))
    summary = result.summary(arch)
    from tlm.api import extra_summary, layer_rows  # macs, dram_bytes, area/energy, arch; layer shapes

    summary.update({k: v for k, v in extra_summary(arch, program, result.dma_bytes).items() if k not in summary})
    summary["layers"] = layer_rows(program, result.layers, result.cycles)
    summary["wall_s"] = round(time.perf_counter() - wall0, 4)
    summary["warnings"] = warnings
    if args.json:
        print_json(summary)
    else:
        _print_human(summary, result, arch, outputs, entry_counts(program.kind))
    if result.functional == "fail":
        sys.stderr.write("functional check failed: " + "; ".join(result.mismatches) + "\n")
        return 1
    return 0


def memory_level(arch: Arch, calibration: str | None, model: str | None) -> Arch:
    """`--calibration` overlay then `--memory-model` over the resolved arch."""
    import dataclasses

    from tlm.arch import load_arch

    if calibration is not None:
        arch = load_arch(calibration, base=arch)
    if model is not None:
        arch = dataclasses.replace(arch, memory=dataclasses.replace(arch.memory, model=model))
    return arch


def help_arch(arch: Arch, path: str | None, *, calibrated: bool) -> str:
    """Every arch key, the value a run uses, where that value comes from, and its meaning."""
    base = dict(((s, k), v) for s, k, v in arch_keys(calibrated_base() if calibrated else Arch()))
    lines = [f"arch keys and the values this run uses (file: {path or 'none'}; "
             f"{'calibrated timing overlay' if calibrated else 'uncalibrated'}); docs/arch.md has the rules",
             f"  {'key':34s} {'value':>12s}  {'from':10s} meaning"]
    for (sec, key, value), (_, _, default) in zip(arch_keys(arch), arch_keys(Arch())):
        if value != base[sec, key]:
            origin = "--arch"
        elif value != default:
            origin = "calibrated"
        else:
            origin = "default"
        shown = str(value).lower() if isinstance(value, bool) else str(value)  # as TOML writes it
        lines.append(f"  {f'[{sec}] {key}':34s} {shown:>12s}  {origin:10s} {KEY_HELP[f'{sec}.{key}']}")
    return "\n".join(lines)


def _trace_filter(args: argparse.Namespace, outputs: list[str]) -> dict[str, Any]:
    """The trace filter flags as the trace header's `filter` object ({} when none)."""
    from tlm.trace.filter import parse_layers, parse_window

    keep: dict[str, Any] = {}
    for flag, value in (("--trace-layers", args.trace_layers), ("--trace-window", args.trace_window)):
        if value is None:
            continue
        if not outputs:
            raise InputError(flag, "value", "filters trace outputs: give --trace, --perfetto or --vcd")
        if flag == "--trace-layers":
            keep["layers"] = sorted(parse_layers(value))
        else:
            keep["window"] = list(parse_window(value))
    return keep


def _check_layers(keep: dict[str, Any], layers: list[dict[str, str]]) -> dict[str, Any]:
    """Refuse layer indices the workload does not have."""
    asked = keep.get("layers")
    if asked is not None:
        if not layers:
            raise InputError("--trace-layers", "value", "the workload has no layers (tiles form)")
        if asked[-1] >= len(layers):
            raise InputError("--trace-layers", "value",
                             f"layer {asked[-1]} does not exist: the workload has {len(layers)} "
                             f"layers (0-{len(layers) - 1})")
    return keep


def _filtered(sink: Any, keep: dict[str, Any]) -> Any:
    from tlm.trace.filter import FilterSink

    layers = keep.get("layers")
    window = keep.get("window")
    return FilterSink(sink, layers=None if layers is None else frozenset(layers),
                      window=None if window is None else (window[0], window[1]))


def _progress_bar(total: int, disabled: bool) -> Any:
    if disabled or total < 50_000:
        return None
    from tqdm import tqdm

    class Bar:
        def __init__(self) -> None:
            self.t = tqdm(total=total, unit="entry", file=sys.stderr, mininterval=0.5,
                          desc="simulating", disable=None)
            self.seen = 0

        def update(self, done: int, _total: int) -> None:
            self.t.update(done - self.seen)
            self.seen = done

        def close(self) -> None:
            self.t.update(total - self.seen)
            self.t.close()

    return Bar()


def _print_human(s: dict[str, Any], result: Any, arch: Any, outputs: list[str], counts: str) -> None:
    e = arch.array
    period_ns = arch.clock.period_ps / 1000
    lines = [
        f"workload      {safe_text(s['workload'])}  ({counts})",
        f"accelerator   {e.engines} engines x {e.rows}x{e.cols} MACs, table {arch.scheduler.table_depth}, "
        f"bus {arch.dma.bus_bytes} B, memory latency {arch.memory.latency_cycles} cycles"
        + (f", weight stationary ({arch.tile_rows}-row tiles)" if e.dataflow == "ws" else ""),
        f"cycles        {s['cycles']:,}  ({s['cycles'] * period_ns / 1e3:,.3f} us at {1e3 / period_ns:g} MHz)",
        f"DAG           {result.entries:,} entries, {result.info.get('edges', '?'):,} edges, "
        f"depth {result.info.get('depth', '?')}",
        f"critical path {s['critical_path']:,} cycles  (achieved / critical = "
        f"{s['cycles'] / max(1, s['critical_path']):.2f})",
        "engines       " + "  ".join(f"e{i} {u:.1%} ({t} tiles)" for i, (u, t) in
                                     enumerate(zip(s['engine_utilisation'], result.engine_tiles))),
        f"MAC util      {s['mac_utilisation']:.2%}  ({s['macs']:,} MACs)",
        f"DMA           {s['dma_bytes']:,} bytes in {result.dma_ops:,} ops, busy {s['dma_busy']:.1%}"
        + (f", reuse saved {s['bytes_saved']:,} bytes" if "bytes_saved" in s else ""),
        f"table         max occupancy {s['max_table_occupancy']} of {arch.scheduler.table_depth}",
        f"functional    {s['functional']}",
        f"speed         {s['cycles_per_s']:,} simulated cycles/s  (sim {s['sim_s']:.3f} s, wall {s['wall_s']:.3f} s)",
    ]
    at = next(i for i, line in enumerate(lines) if line.startswith("engines")) + 1
    lines[at:at] = _engine_time_lines(s["engine_time"], s["cycles"])
    lines += _layer_lines(s["layers"], s["cycles"])
    for o in outputs:
        lines.append(f"wrote         {safe_text(o)}")
    print("\n".join(lines))


#: Layers listed by the human summary; longer networks show the slowest ones.
LAYER_ROWS = 12


def _engine_time_lines(split: list[dict[str, int]], cycles: int) -> list[str]:
    """Per engine: share of the run computing, loading, storing and idle."""
    cyc = max(cycles, 1)
    out = ["engine time   compute   load  store   idle  (share of the run's cycles)"]
    for i, t in enumerate(split):
        out.append(f"  e{i:<11d}" + " ".join(f"{t[k] / cyc:6.1%}" for k in
                                              ("compute", "load", "store", "idle")))
    return out


def _layer_lines(layers: list[dict[str, Any]], cycles: int) -> list[str]:
    """The per-layer table (the slowest `LAYER_ROWS` layers of a long network)."""
    if not layers:
        return []
    shown = layers
    if len(layers) > LAYER_ROWS:
        slow = sorted(layers, key=lambda x: (-x["cycles"], x["index"]))[:LAYER_ROWS - 1]
        shown = sorted(slow, key=lambda x: x["index"])
    head = ["#", "layer", "op", "cycles", "share", "MACs", "MAC util", "DMA bytes", "bound"]
    rows = [[str(x["index"]), _clip(x["name"]), x["op"], f"{x['cycles']:,}", f"{x['share']:.1%}",
             f"{x['macs']:,}", f"{x['mac_utilisation']:.1%}", f"{x['dma_bytes']:,}", x["bound"]]
            for x in shown]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    left = {1, 2, 8}

    def fmt(r: list[str]) -> str:
        return ("  " + "  ".join(c.ljust(w) if i in left else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(r, widths)))).rstrip()
    title = f"layers        {len(layers)}"
    if len(shown) < len(layers):
        title += f", the {len(shown)} slowest shown"
    out = [title, fmt(head)] + [fmt(r) for r in rows]
    if len(shown) < len(layers):
        rest = [x for x in layers if x not in shown]
        more = sum(x["cycles"] for x in rest)
        out.append(f"  ... {len(rest)} more layers: {more:,} cycles ({more / max(cycles, 1):.1%})")
    return out


def _clip(name: str, width: int = 24) -> str:
    """A layer name for a table cell: printable, at most `width` characters."""
    text = name.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= width else text[:width - 1] + "~"
