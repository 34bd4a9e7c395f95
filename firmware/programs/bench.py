"""The co-simulation benchmark's programs: layer-like rounds of weight writes overlapped
with VMM windows (``scripts/bench_cosim.py`` times them under each simulator)."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.image import Image
from firmware.isa import Instruction
from firmware.mapper import row_delta_words
from firmware.packing import pack
from firmware.semantics import weights_to_levels

WINDOWS = 64


MIXES = ("overlap", "write", "compute")


def bench_program(cfg: Config, rounds: int = 1, seed: int = 0, mix: str = "overlap") -> Image:
    """Each round writes every crossbar while the previous one computes ``WINDOWS`` VMM
    windows; odd rounds write the weights, even rounds erase them again (deltas both ways).
    ``mix="write"`` keeps only the writes, ``"compute"`` only the VMMs."""
    if mix not in MIXES:
        raise ValueError(f"unknown mix '{mix}'; expected one of {', '.join(MIXES)}")
    rng = np.random.default_rng(seed)
    R, iw, ow = cfg.crossbar.rows, cfg.input_words, cfg.output_words
    erased = np.zeros((R, cfg.crossbar.cols), dtype=np.int64)
    dram = pack(rng.integers(-128, 128, WINDOWS * R), cfg.data.act_bits, cfg.dram_bits)
    up, down = [], []
    for _ in range(cfg.n_crossbars):
        levels = weights_to_levels(rng.integers(-128, 128, (R, cfg.weights_per_row)), cfg)
        up.append(len(dram))
        dram += row_delta_words(erased, levels, cfg)
        down.append(len(dram))
        dram += row_delta_words(levels, erased, cfg)
    out = len(dram)
    dram += [0] * WINDOWS * ow
    if WINDOWS * (iw + ow) > cfg.gb_words:
        raise ValueError("the benchmark's windows do not fit the global buffer")
    prog = [Instruction.make("LOAD", gb_addr=0, dram_addr=0, count=WINDOWS * iw),
            # The VMMs accumulate into their outputs: start them from zero.
            Instruction.make("LOAD", gb_addr=WINDOWS * iw, dram_addr=out, count=WINDOWS * ow),
            Instruction.make("WINDOW", count=WINDOWS, in_stride=iw, out_stride=ow)]
    for r in range(rounds):
        deltas = up if r % 2 == 0 else down
        for x in range(cfg.n_crossbars):
            if mix != "compute":
                prog.append(Instruction.make("WRITE_START", xbar=x, dram_addr=deltas[x],
                                             row=0, nrows=R))
            if mix != "write":
                prog.append(Instruction.make("VMM", xbar=(x - 1) % cfg.n_crossbars,
                                             in_addr=0, out_addr=WINDOWS * iw, accumulate=1))
    prog += [Instruction.make("SYNC"),
             Instruction.make("STORE", dram_addr=out, gb_addr=WINDOWS * iw,
                              count=WINDOWS * ow),
             Instruction.make("HALT")]
    return Image.build(cfg, prog, dram)
