"""The vertical slice: one crossbar written, one VMM over it (the default program of
``make sim`` and the smallest end-to-end check of the chip)."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.image import Image, Region
from firmware.isa import Instruction
from firmware.mapper import row_delta_words
from firmware.packing import pack
from firmware.semantics import weights_to_levels


def single_vmm(cfg: Config, weights: np.ndarray, x: np.ndarray, xbar: int = 0) -> Image:
    """The vertical slice: write one crossbar's weights, load activations, run one VMM.

    The write is started first so that the activation load overlaps it; the VMM then
    stalls on the crossbar scoreboard until the write is done (no explicit barrier).
    Main memory holds ``x`` (INT8), the row deltas from an erased crossbar, and room for
    the int32 outputs.
    """
    R = cfg.crossbar.rows
    x = np.asarray(x)
    if x.shape != (R,):
        raise ValueError(f"x must hold {R} activations (one per crossbar row), got {x.shape}")
    if not 0 <= xbar < cfg.n_crossbars:
        raise ValueError(f"xbar {xbar} out of range 0..{cfg.n_crossbars - 1}")
    levels = weights_to_levels(weights, cfg)
    erased = np.zeros_like(levels)
    act_words = pack(x, cfg.data.act_bits, cfg.dram_bits)
    delta_words = row_delta_words(erased, levels, cfg)

    act_addr = 0
    delta_addr = act_addr + len(act_words)
    out_addr = delta_addr + len(delta_words)
    dram = act_words + delta_words + [0] * cfg.output_words
    gb_in, gb_out = 0, cfg.input_words

    program = [
        Instruction.make("WRITE_START", xbar=xbar, dram_addr=delta_addr, row=0, nrows=R),
        Instruction.make("LOAD", gb_addr=gb_in, dram_addr=act_addr, count=cfg.input_words),
        Instruction.make("VMM", xbar=xbar, in_addr=gb_in, out_addr=gb_out, accumulate=0),
        Instruction.make("STORE", dram_addr=out_addr, gb_addr=gb_out, count=cfg.output_words),
        Instruction.make("HALT"),
    ]
    regions = {
        "activations": Region(act_addr, len(act_words), cfg.data.act_bits, R),
        "deltas": Region(delta_addr, len(delta_words), cfg.write.delta_bits,
                         R * cfg.crossbar.cols),
        "outputs": Region(out_addr, cfg.output_words, cfg.data.acc_bits, cfg.weights_per_row),
    }
    return Image.build(cfg, program, dram, regions)
