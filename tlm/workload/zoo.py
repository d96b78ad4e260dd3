"""Model zoo: ResNet-18, ResNet-50, MobileNetV2, EfficientNet-B0 and BERT-base as `tlm-workload/2` graphs.

Built in code so that `pip install tlmsim` needs no onnx package;
examples/models/make_models.py builds the same networks as ONNX graphs and
a test checks that importing them gives these very workloads (same layers,
names, inputs and shapes). `size` (input height = width) and `div` (every
channel count divided by it, at least 1) shrink a network for tests; the
built-ins are full size (224, 1).

Mapping conventions (the importer's): a Conv followed by BatchNormalization
and Relu is one conv2d layer (BN folded, ReLU fused in the store); a Conv
whose output goes straight to a residual Add is still a conv2d layer (the
workload's MAC store always applies ReLU); ReLU6 after a conv is a `clip`
layer (0..6); SiLU (x * sigmoid(x), as exporters write it) is a sigmoid
`lut` and a `mul`.
"""

from __future__ import annotations

from typing import Any

Layer = dict[str, Any]


class _Net:
    def __init__(self, name: str, size: int, div: int) -> None:
        self.name, self.size, self.div = name, size, div
        self.layers: list[Layer] = []

    def ch(self, c: int) -> int:
        return max(1, c // self.div)

    def add(self, name: str, op: str, inputs: list[str], **kw: Any) -> str:
        self.layers.append({"name": name, "op": op, "inputs": inputs, **kw})
        return name

    def conv(self, name: str, x: str, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             relu: bool = True) -> str:
        kw: dict[str, Any] = {"out_channels": cout, "kernel": kernel, "stride": stride,
                              "padding": kernel // 2, "dilation": 1}
        if groups != 1:
            kw["groups"] = groups
        if not relu:
            kw["relu"] = False
        return self.add(name, "conv2d", [x], **kw)

    def head(self, x: str, classes: int = 1000) -> None:
        x = self.add("avgpool", "globalavgpool", [x])
        x = self.add("flatten", "flatten", [x])
        self.add("fc", "gemm", [x], N=classes, relu=False)

    def workload(self) -> dict[str, Any]:
        return {"format": "tlm-workload/2", "name": self.name, "seed": 0,
                "input": {"name": "input", "height": self.size, "width": self.size, "channels": 3},
                "layers": self.layers}


def resnet(depth: int, size: int = 224, div: int = 1) -> dict[str, Any]:
    """ResNet-18 (basic blocks) or ResNet-50 (bottlenecks, stride on the 3x3: v1.5)."""
    n = _Net(f"resnet{depth}", size, div)
    blocks = {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}[depth]
    x = n.conv("conv1", "input", n.ch(64), 7, 2)
    x = n.add("maxpool", "maxpool", [x], kernel=3, stride=2, padding=1)
    cin = n.ch(64)
    for stage, count in enumerate(blocks):
        width = n.ch(64 << stage)
        cout = width * (4 if depth == 50 else 1)
        for b in range(count):
            p = f"layer{stage + 1}.{b}"
            stride = 2 if b == 0 and stage > 0 else 1
            if depth == 50:
                y = n.conv(f"{p}.conv1", x, width, 1)
                y = n.conv(f"{p}.conv2", y, width, 3, stride)
                y = n.conv(f"{p}.conv3", y, cout, 1, relu=False)
            else:
                y = n.conv(f"{p}.conv1", x, width, 3, stride)
                y = n.conv(f"{p}.conv2", y, cout, 3, relu=False)
            short = x
            if stride != 1 or cin != cout:
                short = n.conv(f"{p}.downsample", x, cout, 1, stride, relu=False)
            s = n.add(f"{p}.add", "add", [y, short])
            x = n.add(f"{p}.relu", "relu", [s])
            cin = cout
    n.head(x)
    return n.workload()


#: MobileNetV2's inverted residual settings: expansion t, channels c, repeats, first stride.
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(size: int = 224, div: int = 1) -> dict[str, Any]:
    n = _Net("mobilenet_v2", size, div)
    x = n.conv("conv0", "input", n.ch(32), 3, 2, relu=False)
    x = n.add("conv0.relu6", "clip", [x], min=0, max=6)
    cin = n.ch(32)
    i = 0
    for t, c, reps, s in MOBILENET_V2:
        cout = n.ch(c)
        for r in range(reps):
            p = f"block{i}"
            stride = s if r == 0 else 1
            y = x
            hidden = cin * t
            if t != 1:
                y = n.conv(f"{p}.expand", y, hidden, 1, relu=False)
                y = n.add(f"{p}.expand.relu6", "clip", [y], min=0, max=6)
            y = n.conv(f"{p}.dw", y, hidden, 3, stride, groups=hidden, relu=False)
            y = n.add(f"{p}.dw.relu6", "clip", [y], min=0, max=6)
            y = n.conv(f"{p}.project", y, cout, 1, relu=False)
            if stride == 1 and cin == cout:
                y = n.add(f"{p}.add", "add", [y, x])
            x, cin = y, cout
            i += 1
    x = n.conv("conv_last", x, n.ch(1280), 1, relu=False)
    x = n.add("conv_last.relu6", "clip", [x], min=0, max=6)
    n.head(x)
    return n.workload()


#: EfficientNet-B0's MBConv stages: expansion, kernel, first stride, output channels, repeats.
EFFICIENTNET_B0 = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                   (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def efficientnet_b0(size: int = 224, div: int = 1) -> dict[str, Any]:
    """EfficientNet-B0: MBConv blocks with SiLU and squeeze-excite gates (torchvision's layout)."""
    n = _Net("efficientnet_b0", size, div)

    def silu(name: str, x: str) -> str:
        return n.add(name, "mul", [x, n.add(f"{name}.sigmoid", "lut", [x], fn="sigmoid")])

    x = silu("stem.silu", n.conv("stem", "input", n.ch(32), 3, 2, relu=False))
    cin = n.ch(32)
    i = 0
    for t, k, s, c, reps in EFFICIENTNET_B0:
        cout = n.ch(c)
        for r in range(reps):
            p = f"block{i}"
            stride = s if r == 0 else 1
            hidden = cin * t
            y = x if t == 1 else silu(f"{p}.expand.silu", n.conv(f"{p}.expand", x, hidden, 1, relu=False))
            y = silu(f"{p}.dw.silu", n.conv(f"{p}.dw", y, hidden, k, stride, groups=hidden, relu=False))
            g = n.add(f"{p}.se.pool", "globalavgpool", [y])
            g = silu(f"{p}.se.silu", n.conv(f"{p}.se.reduce", g, max(1, cin // 4), 1, relu=False))
            g = n.add(f"{p}.se.gate", "lut", [n.conv(f"{p}.se.expand", g, hidden, 1, relu=False)], fn="sigmoid")
            y = n.add(f"{p}.se", "mul", [y, g])
            y = n.conv(f"{p}.project", y, cout, 1, relu=False)
            if stride == 1 and cin == cout:
                y = n.add(f"{p}.add", "add", [y, x])
            x, cin = y, cout
            i += 1
    x = silu("head.silu", n.conv("head", x, n.ch(1280), 1, relu=False))
    n.head(x)
    return n.workload()


def bert(layers: int = 12, seq: int = 128, hidden: int = 768, heads: int = 12, ffn: int = 3072,
         name: str = "bert_base") -> dict[str, Any]:
    """BERT encoder layers on `seq` token embeddings (the input: seq x 1 x hidden).

    Per layer: Q, K, V projections (gemm), scores = Q.K^T per head (matmul,
    transpose_b; the 1/sqrt(d) scale is left to the store's shift), softmax per head,
    context = P.V per head (matmul), output projection, residual add,
    layernorm, FFN (two gemms with a GELU lut between them; the MAC layers store signed), residual add,
    layernorm. Biases are left out (no MACs).
    """
    n = _Net(name, seq, 1)
    x = "input"
    for i in range(layers):
        p = f"layer{i}"
        q = n.add(f"{p}.attention.q", "gemm", [x], N=hidden, relu=False)
        k = n.add(f"{p}.attention.k", "gemm", [x], N=hidden, relu=False)
        v = n.add(f"{p}.attention.v", "gemm", [x], N=hidden, relu=False)
        s = n.add(f"{p}.attention.scores", "matmul", [q, k], heads=heads, transpose_b=True, relu=False)
        pr = n.add(f"{p}.attention.softmax", "softmax", [s], groups=heads)
        c = n.add(f"{p}.attention.context", "matmul", [pr, v], heads=heads, relu=False)
        o = n.add(f"{p}.attention.output", "gemm", [c], N=hidden, relu=False)
        r1 = n.add(f"{p}.attention.add", "add", [o, x])
        ln1 = n.add(f"{p}.attention.layernorm", "layernorm", [r1])
        f1 = n.add(f"{p}.ffn.up", "gemm", [ln1], N=ffn, relu=False)
        f1 = n.add(f"{p}.ffn.gelu", "lut", [f1], fn="gelu")
        f2 = n.add(f"{p}.ffn.down", "gemm", [f1], N=hidden, relu=False)
        r2 = n.add(f"{p}.ffn.add", "add", [f2, ln1])
        x = n.add(f"{p}.ffn.layernorm", "layernorm", [r2])
    w = n.workload()
    w["input"] = {"name": "input", "height": seq, "width": 1, "channels": hidden}
    return w


def bert_base() -> dict[str, Any]:
    return bert()


def resnet18() -> dict[str, Any]:
    return resnet(18)


def resnet50() -> dict[str, Any]:
    return resnet(50)


def mobilenet_v2_full() -> dict[str, Any]:
    return mobilenet_v2()


def efficientnet_b0_full() -> dict[str, Any]:
    return efficientnet_b0()
