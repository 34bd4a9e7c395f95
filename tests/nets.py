"""Small test networks and their inputs, shared by the scheduler and write-plan tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cocotb_tests import runner
from firmware import config, network
from firmware.glue import Glue, Pool
from firmware.isa import RTL_OPCODES, Fault
from firmware.network import Layer, Network
from firmware.packing import unpack
from model import checker, golden, timing

# A digits-sized CNN for the `small` config: the second convolution and the classifier
# need more APU rows than the chip has, so both are cut into parts (accumulated).
CNN = Network("cnn", (Layer("conv1", 8, 8, 3, 3, 1, 16, 1),
                      Layer("conv2", 6, 6, 3, 3, 16, 16, 1),
                      Layer("fc", 1, 1, 1, 1, 256, 10, 1)), "test")
# Zero padding between layers, a strided convolution over two parts of column groups,
# a 1x1 convolution and a classifier with a partly used crossbar.
PADDED = Network("padded", (Layer("c1", 8, 8, 3, 3, 2, 8, 1),
                            Layer("c2", 8, 8, 3, 3, 8, 24, 2),
                            Layer("c3", 3, 3, 1, 1, 24, 8, 1),
                            Layer("fc", 1, 1, 1, 1, 72, 5, 1)), "test")
# For `small`, maps too large for the buffer: the unrolled first layer and the 1x1 layer
# stream their rows from main memory, the layers before them store their outputs there.
STREAMED = Network("streamed", (Layer("c1", 14, 14, 3, 3, 1, 8, 1),
                                Layer("c2", 14, 14, 3, 3, 8, 16, 1),
                                Layer("c3", 12, 12, 1, 1, 16, 8, 1),
                                Layer("fc", 1, 1, 1, 1, 12 * 12 * 8, 4, 1)), "test")
# For `tiny` (two APU rows of 16-row crossbars): a kernel row of 16 lanes per block.
TINY = Network("tiny", (Layer("c1", 6, 6, 3, 3, 1, 8, 1),
                        Layer("c2", 4, 4, 2, 1, 8, 8, 1),
                        Layer("fc", 1, 1, 1, 1, 3 * 4 * 8, 3, 1)), "test")


def case(net: Network, seed: int) -> tuple[list[np.ndarray], np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    qs = [rng.integers(-30, 31, (layer.kernel_rows, layer.filters)) for layer in net.layers]
    first = net.layers[0]
    x = rng.integers(-20, 60, (first.ifmap_h, first.ifmap_w, first.channels))
    return qs, x, network.calibrate_shifts(net, qs, x)


def outputs(img, res, cfg, net) -> np.ndarray:
    r = img.regions["outputs"]
    out = unpack(res.dram[r.addr: r.addr + r.count], 32, cfg.dram_bits, r.elements,
                 signed=True)
    last = net.layers[-1]
    return out.reshape(last.windows, -1)[:, :last.filters]


def cosimulated(img, sim: str, out_dir):
    """Run ``img`` in the RTL; memories, cycles and counters must equal the models'.
    Returns the RTL run."""
    cfg = img.config
    gold = golden.run(img, RTL_OPCODES)
    rtl = runner.run(img, sim, out_dir=out_dir)
    checks = checker.compare(gold, timing.simulate(cfg, gold), rtl.counters, rtl.gb,
                             rtl.dram, cfg.gb_bits, cfg.dram_bits)
    assert all(c.ok for c in checks), checker.format_table(checks)
    assert rtl.counters["fault"] == Fault.NONE
    return rtl


def rtl_matches_models(images: list, sim: str, out_dir) -> list[tuple]:
    """Run ``images`` in one RTL simulation; every run's memories, cycles and counters
    must equal the golden and timing models'. Returns (image, golden, RTL) per image."""
    runs = runner.run_batch(images, sim, out_dir)
    out = []
    for img, rtl in zip(images, runs, strict=True):
        cfg = img.config
        gold = golden.run(img, RTL_OPCODES)
        checks = checker.compare(gold, timing.simulate(cfg, gold), rtl.counters, rtl.gb,
                                 rtl.dram, cfg.gb_bits, cfg.dram_bits)
        assert all(c.ok for c in checks), checker.format_table(checks)
        out.append((img, gold, rtl))
    return out


def topology_csv(net: Network, directory: Path) -> Path:
    """``net`` written as a ScaleSim-style topology CSV in ``directory``."""
    csv = directory / f"{net.name}.csv"
    csv.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,\n" + "".join(
                       f"{a.name}, {a.ifmap_h}, {a.ifmap_w}, {a.filter_h}, {a.filter_w}, "
                       f"{a.channels}, {a.filters}, {a.stride},\n" for a in net.layers))
    return csv
# Pooling on the chip (VEC MAX8/AVG8 over each finished row): a 3x3 stride-2 max pool
# with padding into a resident map, a 2x2 average pool into the classifier's input.
POOLED = Network("pooled", (Layer("c1", 7, 7, 3, 3, 1, 16, 1),
                            Layer("c2", 5, 5, 3, 3, 16, 16, 1),
                            Layer("fc", 1, 1, 1, 1, 16, 4, 1)), "test",
                 (Glue(pool=Pool("max", 3, 2, 1)), Glue(pool=Pool("avg", 2, 2)), None))
# For `small`, a pooled map too large for the buffer (the classifier's flattened input):
# the pooled rows are stored to main memory and the classifier streams them back.
POOLED_STREAMED = Network("pooled_streamed", (Layer("c1", 18, 18, 3, 3, 1, 16, 1),
                                              Layer("fc", 1, 1, 1, 1, 8 * 8 * 16, 4, 1)),
                          "test", (Glue(pool=Pool("max", 2, 2)), None))


def residual(name: str, n: int) -> Network:
    """Residual blocks on the chip, as ResNet's, on n x n maps: a block whose projection
    shortcut reads the block's input (kept in the buffer) and adds the branch's output
    (kept), then a block adding its own input to its branch (ADD8_RELU); the branch
    outputs are not ReLU'd."""
    p = n + 2   # a 3x3 layer's padded input
    return Network(name, (
        Layer("c0", p, p, 3, 3, 1, 16, 1), Layer("b1a", n, n, 1, 1, 16, 16, 1),
        Layer("b1b", p, p, 3, 3, 16, 16, 1), Layer("b1c", n, n, 1, 1, 16, 32, 1),
        Layer("b1p", n, n, 1, 1, 16, 32, 1), Layer("b2a", n, n, 1, 1, 32, 16, 1),
        Layer("b2c", n, n, 1, 1, 16, 32, 1), Layer("fc", 1, 1, 1, 1, n * n * 32, 4, 1)),
        "test", (None, None, None, None, Glue(input="b1a:in", add="b1c"), None,
                 Glue(add="b2a:in"), None))


RESIDUAL = residual("residual", 4)
# On 5 x 5 maps, on `small` its kept maps do not all fit beside the two areas, so the
# largest (the first block's branch output, the second block's input) stay in main
# memory: stored by the layers that make them, their rows loaded for each sum.
RESIDUAL_SPILLED = residual("residual_spilled", 5)

# DenseNet on the chip: a stem pooled into a concatenation block, two dense layers each
# appending its 16 outputs to the block (read in place by the next, a block position
# apart), a transition reading the whole block, average-pooled into the classifier.
DENSE = Network("dense", (Layer("c0", 10, 10, 3, 3, 1, 16, 1),
                          Layer("d1a", 4, 4, 1, 1, 16, 32, 1),
                          Layer("d1b", 6, 6, 3, 3, 32, 16, 1),
                          Layer("d2a", 4, 4, 1, 1, 32, 32, 1),
                          Layer("d2b", 6, 6, 3, 3, 32, 16, 1),
                          Layer("t", 4, 4, 1, 1, 48, 16, 1),
                          Layer("fc", 1, 1, 1, 1, 2 * 2 * 16, 4, 1)), "test",
                (Glue(pool=Pool("max", 2, 2)), None, Glue(concat="d1a:in"), None,
                 Glue(concat="d2a:in"), Glue(pool=Pool("avg", 2, 2)), None))


def banked_small() -> config.Config:
    """`small` with six 1 KB banks: room for the bank ILP to place RESIDUAL's and DENSE's
    kept maps apart from the buffers live beside them."""
    return config.from_dict({"base": "small", "global_buffer": {"bank_bytes": [1024] * 6}},
                            "small with six 1 KB banks (tests/nets.py)")
