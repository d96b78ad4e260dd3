"""`tlmsim import MODEL [-o net.json]`: an ONNX model or SCALE-Sim topology as workload JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tlm.limits import MAX_WORKLOAD_BYTES, _size_arg


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "import",
        help="convert an ONNX model (.onnx) or a SCALE-Sim topology (.csv) to tlm-workload/1 JSON",
        description="Read an ONNX model or a SCALE-Sim topology CSV, map it to the layers of a "
        "tlm-workload/1 workload (docs/workload.md) and write that JSON to -o (default: stdout). "
        "`sim`/`rtl` accept the same files directly; this shows and keeps what they run. "
        "The format carries no weights: operand data is drawn from the seed. Exit 2 on a model "
        "that cannot be mapped, naming the node or line.",
    )
    p.add_argument("model", metavar="MODEL", help="model.onnx or topology.csv")
    p.add_argument("-o", "--output", metavar="FILE", help="workload JSON to write (default: stdout)")
    p.add_argument("--max-workload-bytes", type=_size_arg, default=MAX_WORKLOAD_BYTES, metavar="SIZE",
                   help="largest input file read (default 16 MiB)")
    return p


def _summary(obj: dict[str, Any], source: str) -> str:
    from tlm.arch import Arch
    from tlm.workload.spec import parse_workload

    spec = parse_workload(obj, source, Arch())
    if spec.graph is not None:  # tlm-workload/2
        nodes = spec.graph.nodes
        macs = sum(x.layer.M * x.layer.N * x.layer.K for x in nodes if x.layer is not None)
        counts: dict[str, int] = {}
        for x in nodes:
            counts[x.op] = counts.get(x.op, 0) + 1
        kinds = ", ".join(f"{n} {op}" for op, n in counts.items())
        return f"graph of {len(nodes)} layers ({kinds}), {macs:,} MACs"
    assert spec.layers is not None
    ops = {op: sum(1 for x in spec.layers if x.op == op) for op in ("conv2d", "gemm")}
    macs = sum(x.M * x.N * x.K for x in spec.layers)
    fresh = sum(1 for x in spec.layers if x.fresh_input)
    kinds = ", ".join(f"{n} {op}" for op, n in ops.items() if n)
    n = len(spec.layers)
    text = f"{n} layer{'s' if n != 1 else ''} ({kinds}), {macs:,} MACs"
    if fresh:
        text += f"; {fresh} unchained layer{'s' if fresh != 1 else ''} read their own input (fresh_input)"
    return text


def run(args: argparse.Namespace) -> int:
    from tlm.errors import InputError
    from tlm.importers import importer_for
    from tlm.outputs import safe_text, write_file

    importer = importer_for(args.model)
    if importer is None:
        raise InputError(args.model, "file", "unknown kind: expected a .onnx model or a .csv topology")
    if args.output is not None:
        from tlm.outputs import refuse_clashes

        refuse_clashes([("-o", args.output)], [("MODEL", args.model)])
    obj = importer(args.model, args.max_workload_bytes)
    summary = _summary(obj, args.model)  # validates before anything is written
    weights_note = ""
    if isinstance(obj.get("weights"), dict) and args.output is not None:
        # graph weights go to a .npz next to the JSON (inline base64 would make a large file)
        import base64
        import io
        from pathlib import Path

        import numpy as np

        npz = Path(args.output).with_suffix(".weights.npz")
        buf = io.BytesIO()
        layers = {x["name"]: x for x in obj["layers"]}
        arrays = {k: np.frombuffer(base64.b64decode(v), dtype=np.int8) for k, v in obj["weights"].items()}
        shaped: dict[str, Any] = {k: a.reshape(int(layers[k].get("out_channels", layers[k].get("N", 1))), -1)
                                  for k, a in arrays.items()}
        np.savez(buf, **shaped)
        write_file(npz, buf.getvalue(), "-o")
        obj["weights"] = npz.name
        weights_note = f"; weights in {safe_text(str(npz))}"
    text = json.dumps(obj, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_file(args.output, text, "-o")
    where = safe_text(args.output) if args.output is not None else "stdout"
    sys.stderr.write(f"{where}: {summary}{weights_note}\n")
    if obj.get("format") == "tlm-workload/2":
        sys.stderr.write("weights: quantised to int8 from the initializers (symmetric per tensor, "
                         "batch-norm folded); the input is drawn from the workload seed (0); biases "
                         "are not modelled\n")
    else:
        sys.stderr.write("weights: tlm-workload/1 carries no tensors; inputs and weights are drawn from the "
                         "workload seed (0), and biases and batch-norm are not modelled\n")
    return 0
