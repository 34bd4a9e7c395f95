"""The built-in topologies from the published architectures: VGG-16, ResNet-50 (v1.5:
stride on the 3x3), DenseNet-161 and BERT-Base / BERT-Large at sequence length 128, as
rows of a topology file (``firmware/topologies/*.csv``, written by
``scripts/make_topologies.py``), with the pooling between them (their ``.glue.toml``
sidecars, :mod:`firmware.glue`). IFMAP sizes include the convolutions' zero padding.

Glue not in the sidecars runs off the chip (its maps go through main memory): residual
adds, DenseNet's concatenation, the global average pools before the classifiers (7 x 7,
which the pair-mean tree of :mod:`firmware.glue` cannot average) and BERT's attention,
softmax and layer normalization.
"""

from __future__ import annotations

from firmware.glue import Pool
from firmware.network import COLUMNS

Row = tuple[str, int, int, int, int, int, int, int]

#: The stems' 3 x 3 stride-2 max pool (ResNet, DenseNet), VGG's 2 x 2 max pools and
#: DenseNet's 2 x 2 average pool in each transition.
STEM_POOL = Pool("max", 3, 2, 1)
MAX_2X2 = Pool("max", 2, 2)
AVG_2X2 = Pool("avg", 2, 2)


def conv(name: str, size: int, k: int, cin: int, cout: int, stride: int = 1) -> Row:
    """A 'same'-padded k x k convolution on a size x size map."""
    pad = k // 2
    return (name, size + 2 * pad, size + 2 * pad, k, k, cin, cout, stride)


def fc(name: str, tokens: int, cin: int, cout: int) -> Row:
    return (name, tokens, 1, 1, 1, cin, cout, 1)


def vgg16_pools() -> dict[str, Pool]:
    return {f"conv{stage}_{n}": MAX_2X2 for stage, n in enumerate([2, 2, 3, 3, 3], 1)}


def resnet50_pools() -> dict[str, Pool]:
    return {"conv1": STEM_POOL}


def densenet161_pools() -> dict[str, Pool]:
    return {"conv0": STEM_POOL} | {f"trans{b}": AVG_2X2 for b in (1, 2, 3)}


def vgg16() -> list[Row]:
    rows, size, cin = [], 224, 3
    for stage, (cout, n) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], 1):
        for i in range(1, n + 1):
            rows.append(conv(f"conv{stage}_{i}", size, 3, cin, cout))
            cin = cout
        size //= 2
    return rows + [fc("fc6", 1, 512 * 7 * 7, 4096), fc("fc7", 1, 4096, 4096),
                   fc("fc8", 1, 4096, 1000)]


def resnet50() -> list[Row]:
    rows = [conv("conv1", 224, 7, 3, 64, 2)]
    size, cin = 56, 64
    for stage, (mid, n) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], 2):
        cout = 4 * mid
        for b in range(1, n + 1):
            stride = 2 if b == 1 and stage > 2 else 1
            p = f"res{stage}_{b}"
            rows.append(conv(f"{p}_a", size, 1, cin, mid))
            rows.append(conv(f"{p}_b", size, 3, mid, mid, stride))
            out = size // stride
            rows.append(conv(f"{p}_c", out, 1, mid, cout))
            if b == 1:
                rows.append(conv(f"{p}_proj", size, 1, cin, cout, stride))
            size, cin = out, cout
    return rows + [fc("fc", 1, 2048, 1000)]


def densenet161() -> list[Row]:
    growth, bottleneck = 48, 4 * 48
    rows = [conv("conv0", 224, 7, 3, 96, 2)]
    size, c = 56, 96
    for block, n in enumerate([6, 12, 36, 24], 1):
        for i in range(1, n + 1):
            rows.append(conv(f"db{block}_{i}_1x1", size, 1, c, bottleneck))
            rows.append(conv(f"db{block}_{i}_3x3", size, 3, bottleneck, growth))
            c += growth
        if block < 4:
            rows.append(conv(f"trans{block}", size, 1, c, c // 2))
            c //= 2
            size //= 2
    return rows + [fc("fc", 1, c, 1000)]


def bert(hidden: int, layers: int, tokens: int = 128) -> list[Row]:
    rows = []
    for i in range(1, layers + 1):
        rows += [fc(f"enc{i}_{p}", tokens, hidden, hidden) for p in ("q", "k", "v", "attn_out")]
        rows += [fc(f"enc{i}_ffn1", tokens, hidden, 4 * hidden),
                 fc(f"enc{i}_ffn2", tokens, 4 * hidden, hidden)]
    return rows + [fc("qa_outputs", tokens, hidden, 2)]


NETWORKS = {"vgg16": vgg16, "resnet50": resnet50, "densenet161": densenet161,
            "bert_base": lambda: bert(768, 12), "bert_large": lambda: bert(1024, 24)}
#: The pooling on the chip after each built-in network's layers (the sidecar files).
POOLS = {"vgg16": vgg16_pools, "resnet50": resnet50_pools,
         "densenet161": densenet161_pools}


def render(rows: list[Row]) -> str:
    lines = [", ".join(COLUMNS) + ","]
    lines += [", ".join(str(v) for v in row) + "," for row in rows]
    return "\n".join(lines) + "\n"
