"""Benchmark: simulated cycles per wall-clock second of the co-simulation.

Runs a fixed layer-like program on the ``small`` config under Icarus and Verilator: every
crossbar is written in turn while the previous one runs a 64-window VMM (writes overlapped
with compute), then results are stored. The build is done first and not timed; the timed
part is the whole simulator process (start-up, Python analog models, dumps).
Usage: ``python scripts/bench_cosim.py [--config small] [--sims icarus verilator]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from cocotb_tests import runner
from firmware import config
from firmware.config import Config
from firmware.image import Image
from firmware.isa import Instruction
from firmware.mapper import row_delta_words, weights_to_levels
from firmware.packing import pack

WINDOWS = 64


def bench_program(cfg: Config, seed: int = 0) -> Image:
    """Write each crossbar while the previous one computes ``WINDOWS`` VMM windows."""
    rng = np.random.default_rng(seed)
    R, iw, ow = cfg.crossbar.rows, cfg.input_words, cfg.output_words
    erased = np.zeros((R, cfg.crossbar.cols), dtype=np.int64)
    dram = pack(rng.integers(-128, 128, WINDOWS * R), cfg.data.act_bits, cfg.dram_bits)
    deltas = []
    for _ in range(cfg.n_crossbars):
        deltas.append(len(dram))
        w = rng.integers(-128, 128, (R, cfg.weights_per_row))
        dram += row_delta_words(erased, weights_to_levels(w, cfg), cfg)
    out = len(dram)
    dram += [0] * WINDOWS * ow
    if WINDOWS * (iw + ow) > cfg.gb_words:
        raise ValueError("the benchmark's windows do not fit the global buffer")
    prog = [Instruction.make("LOAD", gb_addr=0, dram_addr=0, count=WINDOWS * iw),
            Instruction.make("WINDOW", count=WINDOWS, in_stride=iw, out_stride=ow)]
    for x in range(cfg.n_crossbars):
        prog.append(Instruction.make("WRITE_START", xbar=x, dram_addr=deltas[x], row=0,
                                     nrows=R))
        if x:
            prog.append(Instruction.make("VMM", xbar=x - 1, in_addr=0,
                                         out_addr=WINDOWS * iw, accumulate=1))
    prog += [Instruction.make("SYNC"),
             Instruction.make("STORE", dram_addr=out, gb_addr=WINDOWS * iw,
                              count=WINDOWS * ow),
             Instruction.make("HALT")]
    return Image.build(cfg, prog, dram)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="small")
    ap.add_argument("--sims", nargs="+", default=["icarus", "verilator"])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per simulator (best)")
    args = ap.parse_args()
    cfg = config.load(args.config)
    image = bench_program(cfg)
    print(f"config {cfg.chip.name}: {cfg.n_crossbars} crossbars of {cfg.crossbar.rows}x"
          f"{cfg.crossbar.cols}, {len(image.imem)} instructions, {WINDOWS} windows per VMM")
    with tempfile.TemporaryDirectory() as tmp:
        for sim in args.sims:
            runner.build(cfg, sim)
            best, rtl = None, None
            for k in range(args.repeat):
                start = time.perf_counter()
                rtl = runner.run(image, sim, Path(tmp) / f"{sim}{k}")
                wall = time.perf_counter() - start
                best = wall if best is None else min(best, wall)
            cycles = rtl.counters["cycles"]
            print(f"{sim:<10} {cycles:>9} cycles  {best:6.2f} s  {cycles / best:>10,.0f} cycles/s"
                  f"  ({rtl.counters['analog_reads']} analog reads, "
                  f"{rtl.counters['model_rows_written']} rows written)")


if __name__ == "__main__":
    main()
