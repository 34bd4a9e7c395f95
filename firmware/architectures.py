"""The built-in topologies from the published architectures: VGG-16, ResNet-50 (v1.5:
stride on the 3x3), DenseNet-161 and BERT-Base / BERT-Large at sequence length 128, as
rows of a topology file (``firmware/topologies/*.csv``, written by
``scripts/make_topologies.py``), with the glue between them (their ``.glue.toml``
sidecars, :mod:`firmware.glue`). IFMAP sizes include the convolutions' zero padding.

Glue marked ``offchip`` in the sidecars runs off the chip (its maps go through main
memory): the global average pools before the classifiers (7 x 7, which the pair-mean tree
of :mod:`firmware.glue` cannot average) with DenseNet's last concatenation, and BERT's
attention, softmax, residual sums and layer normalization.
"""

from __future__ import annotations

from firmware.glue import Glue, Pool
from firmware.network import COLUMNS

Row = tuple[str, int, int, int, int, int, int, int]

#: The stems' 3 x 3 stride-2 max pool (ResNet, DenseNet), VGG's 2 x 2 max pools and
#: DenseNet's 2 x 2 average pool in each transition.
STEM_POOL = Pool("max", 3, 2, 1)
MAX_2X2 = Pool("max", 2, 2)
AVG_2X2 = Pool("avg", 2, 2)
#: BERT's glue the chip has no unit for (made off the chip, through main memory).
ATTENTION = "attention: Q K^T scores, softmax, context"
ADD_NORM = "residual add and layer normalization"
GLOBAL_POOL = "global average pool (7 x 7)"
#: Dense layers per DenseNet-161 block.
DENSENET161_BLOCKS = (6, 12, 36, 24)
#: Bottleneck blocks per ResNet-50 stage (conv2_x .. conv5_x).
RESNET50_BLOCKS = (3, 4, 6, 3)


def conv(name: str, size: int, k: int, cin: int, cout: int, stride: int = 1) -> Row:
    """A 'same'-padded k x k convolution on a size x size map."""
    pad = k // 2
    return (name, size + 2 * pad, size + 2 * pad, k, k, cin, cout, stride)


def fc(name: str, tokens: int, cin: int, cout: int) -> Row:
    return (name, tokens, 1, 1, 1, cin, cout, 1)


def vgg16_glue() -> dict[str, Glue]:
    return {f"conv{stage}_{n}": Glue(pool=MAX_2X2)
            for stage, n in enumerate([2, 2, 3, 3, 3], 1)}


def resnet50_glue() -> dict[str, Glue]:
    """The stem's pool, and each bottleneck's residual sum: the first block of a stage
    adds its projection shortcut (which reads the block's input) to the branch; the
    others add the block's input to the branch."""
    glue = {"conv1": Glue(pool=STEM_POOL)}
    for stage, n in enumerate(RESNET50_BLOCKS, 2):
        for b in range(1, n + 1):
            p = f"res{stage}_{b}"
            if b == 1:
                glue[f"{p}_proj"] = Glue(input=f"{p}_a:in", add=f"{p}_c")
            else:
                glue[f"{p}_c"] = Glue(add=f"{p}_a:in")
    return glue | {"fc": Glue(offchip=GLOBAL_POOL)}


def bert_glue(layers: int) -> dict[str, Glue]:
    """K and V read Q's input; the attention (scores, softmax, context) makes the output
    projection's input, and each residual sum with layer normalization the next block's
    input, off the chip; GELU between the feed-forward layers is taken as the ReLU of
    REQUANT_RELU (a stated simplification)."""
    glue = {}
    for i in range(1, layers + 1):
        glue[f"enc{i}_k"] = glue[f"enc{i}_v"] = Glue(input=f"enc{i}_q:in")
        glue[f"enc{i}_attn_out"] = Glue(offchip=ATTENTION)
        glue[f"enc{i}_ffn1"] = Glue(offchip=ADD_NORM)
        nxt = f"enc{i + 1}_q" if i < layers else "qa_outputs"
        glue[nxt] = Glue(offchip=ADD_NORM)
    return glue


def densenet161_glue() -> dict[str, Glue]:
    """The stem's pool, each dense layer's 48 outputs appended to its block's map (read in
    place by the next dense layer and the transition), each transition's average pool;
    the last block's concatenation and the global pool feed the classifier off the chip."""
    glue = {"conv0": Glue(pool=STEM_POOL)}
    for block, n in enumerate(DENSENET161_BLOCKS, 1):
        last = n if block < len(DENSENET161_BLOCKS) else n - 1
        for i in range(1, last + 1):
            glue[f"db{block}_{i}_3x3"] = Glue(concat=f"db{block}_{i}_1x1:in")
        if block < len(DENSENET161_BLOCKS):
            glue[f"trans{block}"] = Glue(pool=AVG_2X2)
    return glue | {"fc": Glue(offchip=f"the last block's concatenation and {GLOBAL_POOL}")}


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
    for stage, (mid, n) in enumerate(zip((64, 128, 256, 512), RESNET50_BLOCKS,
                                         strict=True), 2):
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
    for block, n in enumerate(DENSENET161_BLOCKS, 1):
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
#: The glue each built-in network computes on the chip (the sidecar files).
GLUE = {"vgg16": vgg16_glue, "resnet50": resnet50_glue, "densenet161": densenet161_glue,
        "bert_base": lambda: bert_glue(12), "bert_large": lambda: bert_glue(24)}


def render(rows: list[Row]) -> str:
    lines = [", ".join(COLUMNS) + ","]
    lines += [", ".join(str(v) for v in row) + "," for row in rows]
    return "\n".join(lines) + "\n"
