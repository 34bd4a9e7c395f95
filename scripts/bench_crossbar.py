"""Benchmark: wall time of one 128x128 crossbar VMM of 8 bit-planes in the analog model.

Times ``Crossbar.vmm`` (8 planes read through the ADCs, shift-and-add, offset
removal) on the ``aras`` crossbar, ideal and with device variation and read noise, and
prints the median over many runs. Usage: ``python scripts/bench_crossbar.py``.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import numpy as np

from firmware import cli, config, semantics
from model.analog.crossbar import Crossbar

RUNS = 2000


def bench(cfg: config.Config, label: str) -> None:
    rng = np.random.default_rng(0)
    xbar = Crossbar(cfg)
    xbar.set_levels(semantics.weights_to_levels(
        rng.integers(-128, 128, (cfg.crossbar.rows, cfg.weights_per_row)), cfg))
    xs = rng.integers(-128, 128, (RUNS, cfg.crossbar.rows))
    times = []
    for x in xs:
        t0 = time.perf_counter()
        xbar.vmm(x)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times) * 1e3
    p90 = sorted(times)[int(0.9 * RUNS)] * 1e3
    print(f"{label:<28} median {med:.3f} ms   p90 {p90:.3f} ms   ({RUNS} VMMs)")


def main() -> None:
    cli.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    cfg = config.load("aras")
    print(f"{cfg.crossbar.rows}x{cfg.crossbar.cols} crossbar, {cfg.crossbar.cell_bits}-bit cells, "
          f"{cfg.crossbar.adc_bits}-bit ADC, {cfg.data.act_bits} bit-planes per VMM")
    bench(cfg, "ideal")
    noisy = dataclasses.replace(cfg, analog=dataclasses.replace(
        cfg.analog, program_sigma=0.05, read_sigma=0.5, seed=1))
    bench(noisy, "variation + read noise")


if __name__ == "__main__":
    cli.run_main(main)
