"""Benchmark: simulated cycles per wall-clock second of the co-simulation.

Runs a fixed layer-like program on the ``small`` config under Icarus and Verilator: in
each of ``--rounds`` rounds every crossbar is written in turn while the previous one runs a
64-window VMM (writes overlapped with compute), then results are stored. The build is
done first and not timed; the timed part is the whole simulator process (start-up,
Python analog models, dumps). Start-up alone is timed on a program that halts at once;
"steady" is the program's cycles over the wall time beyond that.
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


def bench_program(cfg: Config, rounds: int = 1, seed: int = 0) -> Image:
    """Each round writes every crossbar while the previous one computes ``WINDOWS`` VMM
    windows; odd rounds write the weights, even rounds erase them again (deltas both ways)."""
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
            prog.append(Instruction.make("WRITE_START", xbar=x, dram_addr=deltas[x], row=0,
                                         nrows=R))
            prog.append(Instruction.make("VMM", xbar=(x - 1) % cfg.n_crossbars, in_addr=0,
                                         out_addr=WINDOWS * iw, accumulate=1))
    prog += [Instruction.make("SYNC"),
             Instruction.make("STORE", dram_addr=out, gb_addr=WINDOWS * iw,
                              count=WINDOWS * ow),
             Instruction.make("HALT")]
    return Image.build(cfg, prog, dram)


def _best_run(image: Image, sim: str, out: Path, repeat: int):
    """The fastest of ``repeat`` runs: (wall seconds, the run)."""
    best, rtl = None, None
    for k in range(repeat):
        start = time.perf_counter()
        rtl = runner.run(image, sim, out / f"{sim}{k}")
        wall = time.perf_counter() - start
        best = wall if best is None else min(best, wall)
    return best, rtl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="small")
    ap.add_argument("--sims", nargs="+", default=["icarus", "verilator"])
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per simulator (best)")
    ap.add_argument("--rounds", type=int, default=8,
                    help="write/compute rounds over all crossbars (program length)")
    args = ap.parse_args()
    cfg = config.load(args.config)
    image = bench_program(cfg, args.rounds)
    # Start-up (simulator and Python start, memories loaded and dumped) is timed apart
    # on a program that halts at once, so the steady-state speed is also shown.
    halt = Image.build(cfg, [Instruction.make("HALT")], [0] * cfg.dram_words)
    print(f"config {cfg.chip.name}: {cfg.n_crossbars} crossbars of {cfg.crossbar.rows}x"
          f"{cfg.crossbar.cols}, {len(image.imem)} instructions, {WINDOWS} windows per VMM")
    print(f"{'simulator':<10} {'cycles':>9} {'wall':>8} {'cycles/s':>10} {'start-up':>9} "
          f"{'steady cycles/s':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for sim in args.sims:
            runner.build(cfg, sim)
            wall, rtl = _best_run(image, sim, Path(tmp), args.repeat)
            startup, _ = _best_run(halt, sim, Path(tmp) / "halt", args.repeat)
            if rtl.counters["fault"]:
                raise SystemExit(f"the benchmark program faulted ({rtl.counters['fault']}): "
                                 "its figures would not mean anything")
            cycles = rtl.counters["cycles"]
            steady = cycles / (wall - startup) if wall > startup else float("nan")
            print(f"{sim:<10} {cycles:>9} {wall:>7.2f}s {cycles / wall:>10,.0f} "
                  f"{startup:>8.2f}s {steady:>16,.0f}   ({rtl.counters['analog_reads']} analog "
                  f"reads, {rtl.counters['model_rows_written']} rows written)")


if __name__ == "__main__":
    main()
