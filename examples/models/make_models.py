"""Build ResNet-18, ResNet-50, MobileNetV2, EfficientNet-B0 and BERT-base as ONNX graphs (shapes + random weights).

Nothing is downloaded: the graphs are written with onnx.helper, weights are
seeded random float32 values.
`tlmsim import NET.onnx -o NET.json` turns each into the tlm-workload/2 graph
that the built-in of the same name is (tests/test_zoo.py checks it):

    python examples/models/make_models.py -o /tmp/models          # full size
    python examples/models/make_models.py -o /tmp/small --size 32 --div 8
    tlmsim sim -w /tmp/models/resnet50.onnx --timing-only
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
#: MobileNetV2's inverted residual settings (tlm.workload.zoo.MOBILENET_V2).
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))
#: EfficientNet-B0's MBConv stages (tlm.workload.zoo.EFFICIENTNET_B0).
EFFICIENTNET_B0 = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                   (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


class _Builder:
    def __init__(self, name: str, size: int, div: int, seed: int = 0) -> None:
        self.name, self.size, self.div = name, size, div
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.channels: dict[str, int] = {"input": 3}

    def ch(self, c: int) -> int:
        return max(1, c // self.div)

    def weight(self, name: str, *shape: int) -> str:
        self.inits.append(numpy_helper.from_array(
            (self.rng.standard_normal(shape) * 0.05).astype(np.float32), name))
        return name

    def conv(self, name: str, x: str, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             bn: bool = True, relu: bool = True) -> str:
        cin = self.channels[x]
        w = self.weight(f"{name}.weight", cout, cin // groups, kernel, kernel)
        p = kernel // 2
        self.nodes.append(helper.make_node("Conv", [x, w], [name], name=name, kernel_shape=[kernel, kernel],
                                           strides=[stride, stride], pads=[p, p, p, p], group=groups))
        y = name
        if bn:
            args = [self.weight(f"{name}.bn.{k}", cout) for k in ("scale", "bias", "mean")]
            var = f"{name}.bn.var"
            self.inits.append(numpy_helper.from_array(np.ones(cout, dtype=np.float32), var))
            self.nodes.append(helper.make_node("BatchNormalization", [y, *args, var], [f"{name}.bn"],
                                               name=f"{name}.bn"))
            y = f"{name}.bn"
        if relu:
            self.nodes.append(helper.make_node("Relu", [y], [f"{name}.relu_"], name=f"{name}.relu_"))
            y = f"{name}.relu_"
        self.channels[y] = cout
        return y

    def op(self, op_type: str, name: str, inputs: list[str], channels: int, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        self.channels[name] = channels
        return name

    def relu6(self, name: str, x: str) -> str:
        if not any(t.name == "relu6.min" for t in self.inits):
            self.inits.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "relu6.min"))
            self.inits.append(numpy_helper.from_array(np.array(6.0, dtype=np.float32), "relu6.max"))
        return self.op("Clip", name, [x, "relu6.min", "relu6.max"], self.channels[x])

    def head(self, x: str, classes: int = 1000) -> None:
        c = self.channels[x]
        x = self.op("GlobalAveragePool", "avgpool", [x], c)
        x = self.op("Flatten", "flatten", [x], c)
        w = self.weight("fc.weight", classes, c)
        b = self.weight("fc.bias", classes)
        self.op("Gemm", "fc", [x, w, b], classes, transB=1)

    def model(self) -> Any:
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, self.size, self.size])
        y = helper.make_tensor_value_info("fc", TensorProto.FLOAT, None)
        graph = helper.make_graph(self.nodes, self.name, [x], [y], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10)


def resnet(depth: int, size: int = 224, div: int = 1) -> Any:
    b = _Builder(f"resnet{depth}", size, div)
    blocks = {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}[depth]
    x = b.conv("conv1", "input", b.ch(64), 7, 2)
    x = b.op("MaxPool", "maxpool", [x], b.ch(64), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = b.ch(64)
    for stage, count in enumerate(blocks):
        width = b.ch(64 << stage)
        cout = width * (4 if depth == 50 else 1)
        for i in range(count):
            p = f"layer{stage + 1}.{i}"
            stride = 2 if i == 0 and stage > 0 else 1
            if depth == 50:
                y = b.conv(f"{p}.conv1", x, width, 1)
                y = b.conv(f"{p}.conv2", y, width, 3, stride)
                y = b.conv(f"{p}.conv3", y, cout, 1, relu=False)
            else:
                y = b.conv(f"{p}.conv1", x, width, 3, stride)
                y = b.conv(f"{p}.conv2", y, cout, 3, relu=False)
            short = x
            if stride != 1 or cin != cout:
                short = b.conv(f"{p}.downsample", x, cout, 1, stride, relu=False)
            s = b.op("Add", f"{p}.add", [y, short], cout)
            x = b.op("Relu", f"{p}.relu", [s], cout)
            cin = cout
    b.head(x)
    return b.model()


def mobilenet_v2(size: int = 224, div: int = 1) -> Any:
    b = _Builder("mobilenet_v2", size, div)
    x = b.relu6("conv0.relu6", b.conv("conv0", "input", b.ch(32), 3, 2, relu=False))
    cin = b.ch(32)
    i = 0
    for t, c, reps, s in MOBILENET_V2:
        cout = b.ch(c)
        for r in range(reps):
            p = f"block{i}"
            stride = s if r == 0 else 1
            y = x
            hidden = cin * t
            if t != 1:
                y = b.relu6(f"{p}.expand.relu6", b.conv(f"{p}.expand", y, hidden, 1, relu=False))
            y = b.relu6(f"{p}.dw.relu6", b.conv(f"{p}.dw", y, hidden, 3, stride, groups=hidden, relu=False))
            y = b.conv(f"{p}.project", y, cout, 1, relu=False)
            if stride == 1 and cin == cout:
                y = b.op("Add", f"{p}.add", [y, x], cout)
            x, cin = y, cout
            i += 1
    x = b.relu6("conv_last.relu6", b.conv("conv_last", x, b.ch(1280), 1, relu=False))
    b.head(x)
    return b.model()


def efficientnet_b0(size: int = 224, div: int = 1) -> Any:
    """torchvision's layout: SiLU exported as Sigmoid + Mul, squeeze-excite as pool, two 1x1
    convolutions with biases, Sigmoid and Mul by the gate."""
    b = _Builder("efficientnet_b0", size, div)

    def silu(name: str, x: str) -> str:
        c = b.channels[x]
        return b.op("Mul", name, [x, b.op("Sigmoid", f"{name}.sigmoid", [x], c)], c)

    def fc(name: str, x: str, cout: int) -> str:  # a 1x1 conv with a bias, no BN
        w, bias = b.weight(f"{name}.weight", cout, b.channels[x], 1, 1), b.weight(f"{name}.bias", cout)
        return b.op("Conv", name, [x, w, bias], cout, kernel_shape=[1, 1])

    x = silu("stem.silu", b.conv("stem", "input", b.ch(32), 3, 2, relu=False))
    cin = b.ch(32)
    i = 0
    for t, k, s, c, reps in EFFICIENTNET_B0:
        cout = b.ch(c)
        for r in range(reps):
            p = f"block{i}"
            stride = s if r == 0 else 1
            hidden = cin * t
            y = x if t == 1 else silu(f"{p}.expand.silu", b.conv(f"{p}.expand", x, hidden, 1, relu=False))
            y = silu(f"{p}.dw.silu", b.conv(f"{p}.dw", y, hidden, k, stride, groups=hidden, relu=False))
            g = b.op("GlobalAveragePool", f"{p}.se.pool", [y], hidden)
            g = silu(f"{p}.se.silu", fc(f"{p}.se.reduce", g, max(1, cin // 4)))
            g = b.op("Sigmoid", f"{p}.se.gate", [fc(f"{p}.se.expand", g, hidden)], hidden)
            y = b.op("Mul", f"{p}.se", [y, g], hidden)
            y = b.conv(f"{p}.project", y, cout, 1, relu=False)
            if stride == 1 and cin == cout:
                y = b.op("Add", f"{p}.add", [y, x], cout)
            x, cin = y, cout
            i += 1
    x = silu("head.silu", b.conv("head", x, b.ch(1280), 1, relu=False))
    b.head(x)
    return b.model()


def bert(layers: int = 12, seq: int = 128, hidden: int = 768, heads: int = 12, ffn: int = 3072,
         name: str = "bert_base") -> Any:
    """BERT encoder layers on seq x hidden token embeddings (the graph input), with biases."""
    b = _Builder(name, seq, 1)
    d = hidden // heads
    shapes = {"split": [1, seq, heads, d], "tokens": [seq, hidden]}
    for key, v in shapes.items():
        b.inits.append(numpy_helper.from_array(np.array(v, dtype=np.int64), f"shape.{key}"))
    b.inits.append(numpy_helper.from_array(np.array(d ** -0.5, dtype=np.float32), "scale"))
    for nm, v in (("sqrt2", 2 ** 0.5), ("one", 1.0), ("half", 0.5)):
        b.inits.append(numpy_helper.from_array(np.array(v, dtype=np.float32), nm))

    def linear(nm: str, x: str, n_in: int, n_out: int) -> str:
        w, bias = b.weight(f"{nm}.weight", n_in, n_out), b.weight(f"{nm}.bias", n_out)
        b.nodes.append(helper.make_node("MatMul", [x, w], [nm], name=nm))
        b.nodes.append(helper.make_node("Add", [nm, bias], [f"{nm}.b"], name=f"{nm}.bias"))
        return f"{nm}.b"

    def heads_of(nm: str, x: str, perm: list[int]) -> str:
        b.nodes.append(helper.make_node("Reshape", [x, "shape.split"], [f"{nm}.split"], name=f"{nm}.split"))
        b.nodes.append(helper.make_node("Transpose", [f"{nm}.split"], [f"{nm}.heads"], name=f"{nm}.heads",
                                        perm=perm))
        return f"{nm}.heads"

    def layernorm(nm: str, x: str) -> str:
        g, beta = b.weight(f"{nm}.gamma", hidden), b.weight(f"{nm}.beta", hidden)
        b.nodes.append(helper.make_node("LayerNormalization", [x, g, beta], [nm], name=nm, axis=-1))
        return nm

    x = "input"
    for i in range(layers):
        p = f"layer{i}"
        q = heads_of(f"{p}.q", linear(f"{p}.attention.q", x, hidden, hidden), [0, 2, 1, 3])
        k = heads_of(f"{p}.k", linear(f"{p}.attention.k", x, hidden, hidden), [0, 2, 3, 1])
        v = heads_of(f"{p}.v", linear(f"{p}.attention.v", x, hidden, hidden), [0, 2, 1, 3])
        s = f"{p}.attention.scores"
        b.nodes.append(helper.make_node("MatMul", [q, k], [s], name=s))
        b.nodes.append(helper.make_node("Mul", [s, "scale"], [f"{s}.scaled"], name=f"{s}.scaled"))
        pr = f"{p}.attention.softmax"
        b.nodes.append(helper.make_node("Softmax", [f"{s}.scaled"], [pr], name=pr, axis=-1))
        c = f"{p}.attention.context"
        b.nodes.append(helper.make_node("MatMul", [pr, v], [c], name=c))
        b.nodes.append(helper.make_node("Transpose", [c], [f"{c}.t"], name=f"{c}.t", perm=[0, 2, 1, 3]))
        b.nodes.append(helper.make_node("Reshape", [f"{c}.t", "shape.tokens"], [f"{c}.tokens"],
                                        name=f"{c}.tokens"))
        o = linear(f"{p}.attention.output", f"{c}.tokens", hidden, hidden)
        r1 = f"{p}.attention.add"
        b.nodes.append(helper.make_node("Add", [o, x], [r1], name=r1))
        ln1 = layernorm(f"{p}.attention.layernorm", r1)
        up = linear(f"{p}.ffn.up", ln1, hidden, ffn)
        g = f"{p}.ffn.gelu"  # 0.5 x (1 + erf(x / sqrt 2)), as exporters write GELU before opset 20
        b.nodes += [helper.make_node("Div", [up, "sqrt2"], [f"{g}.div"], name=f"{g}.div"),
                    helper.make_node("Erf", [f"{g}.div"], [g], name=g),
                    helper.make_node("Add", [g, "one"], [f"{g}.add"], name=f"{g}.add"),
                    helper.make_node("Mul", [up, f"{g}.add"], [f"{g}.mul"], name=f"{g}.mul"),
                    helper.make_node("Mul", [f"{g}.mul", "half"], [f"{g}.out"], name=f"{g}.out")]
        down = linear(f"{p}.ffn.down", f"{g}.out", ffn, hidden)
        r2 = f"{p}.ffn.add"
        b.nodes.append(helper.make_node("Add", [down, ln1], [r2], name=r2))
        x = layernorm(f"{p}.ffn.layernorm", r2)
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [seq, hidden])
    out = helper.make_tensor_value_info(x, TensorProto.FLOAT, None)
    graph = helper.make_graph(b.nodes, name, [inp], [out], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10)


MODELS = {"resnet18": lambda s, d: resnet(18, s, d), "resnet50": lambda s, d: resnet(50, s, d),
          "mobilenet_v2": mobilenet_v2, "efficientnet_b0": efficientnet_b0, "bert_base": lambda s, d: bert()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default="models", help="output directory")
    ap.add_argument("--size", type=int, default=224, help="input height = width")
    ap.add_argument("--div", type=int, default=1, help="divide every channel count by this")
    ap.add_argument("names", nargs="*", default=list(MODELS), help="models to build")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        m = MODELS[name](args.size, args.div)
        onnx.save_model(m, str(out / f"{name}.onnx"))
        print(f"wrote {out / f'{name}.onnx'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
