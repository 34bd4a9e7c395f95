"""Cost of K-FAC's factor solves per training step: the chip against a digital baseline.

Per layer with input factor ``A`` (``a = kernel_rows + 1``, the bias) and output factor
``G`` (``g = filters``), one step applies ``G^-1 dW A^-1``.

- Chip: each factor is cut into diagonal blocks of ``inv.size`` (what INV arrays hold);
  a block costs one setup per factor refresh (INV_WRITE plus the residual crossbars'
  writes) and one refined solve per right-hand side: ``ceil(a/n) * g + ceil(g/n) * a``
  solves a step. ``per_rhs`` and ``setup`` are measured from the firmware
  (:mod:`firmware.programs.factor_solve`) by the timing and energy models; ``arrays`` INV units
  work in parallel (static power counts over the parallel time).
- Digital: Cholesky of both factors per refresh (``(a^3 + g^3) / 3`` flops) and two
  triangular solves per right-hand side per factor per step (``2 a^2 g + 2 g^2 a``), at
  a stated sustained rate and energy per flop. ``block`` restricts the digital side to
  the same diagonal blocks as the chip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.programs.factor_solve import factor_solve
from model import golden, timing
from model.analog.refinement import random_spd
from model.energy import energy

KAPPA = 20  # a damped factor block (the digits experiment's damping gives kappa ~ 10-100)


@dataclass(frozen=True)
class Measured:
    """Cycles and dynamic energy (pJ) of one setup and of one right-hand-side solve."""

    setup_cycles: int
    setup_pj: float
    rhs_cycles: int
    rhs_pj: float


@dataclass(frozen=True)
class StepCost:
    seconds: float
    joules: float


def measure(cfg: Config, iterations: int, kappa: float = KAPPA) -> Measured:
    """Setup and per-right-hand-side cost from the firmware of one and two columns (a
    seeded SPD block of condition ``kappa``) through the golden, timing and energy
    models; a faulting solve raises ``RuntimeError``."""
    rng = np.random.default_rng(0)
    f = random_spd(cfg.inv.size, kappa, rng)
    runs = []
    for m in (1, 2):
        b = rng.integers(-1000, 1000, size=(cfg.inv.size, m))
        fs = factor_solve(cfg, f, b, iterations=iterations)
        g = golden.run(fs.image)
        if g.fault.name != "NONE":
            raise RuntimeError(f"the factor solve faulted {g.fault.name} on config "
                               f"{cfg.chip.name}")
        t = timing.simulate(cfg, g)
        e = energy(cfg, g, t.cycles)
        runs.append((t.cycles, e.total_pj - e.static_pj))
    rhs_cycles, rhs_pj = runs[1][0] - runs[0][0], runs[1][1] - runs[0][1]
    return Measured(runs[0][0] - rhs_cycles, runs[0][1] - rhs_pj, rhs_cycles, rhs_pj)


def factor_sizes(net: Network) -> list[tuple[int, int]]:
    """Per layer, K-FAC's ``(a, g)`` factor sizes: kernel rows plus the bias, filters."""
    return [(layer.kernel_rows + 1, layer.filters) for layer in net.layers]


def blocks(n: int, size: int) -> int:
    return -(-n // size)


def chip_step(layers: list[tuple[int, int]], m: Measured, n: int, refresh: int, arrays: int,
              clock_mhz: float, static_mw: float) -> StepCost:
    """One step's factor solves on the chip for ``layers`` of ``(a, g)`` factor sizes."""
    solves = sum(blocks(a, n) * g + blocks(g, n) * a for a, g in layers)
    setups = sum(blocks(a, n) + blocks(g, n) for a, g in layers) / refresh
    cycles = (solves * m.rhs_cycles + setups * m.setup_cycles) / arrays
    seconds = cycles / (clock_mhz * 1e6)
    joules = (solves * m.rhs_pj + setups * m.setup_pj) * 1e-12 + static_mw * 1e-3 * seconds
    return StepCost(seconds, joules)


def digital_flops(layers: list[tuple[int, int]], refresh: int, block: int | None = None
                  ) -> float:
    """Flops of one step's factor solves (Cholesky amortized over ``refresh`` steps)."""
    total = 0.0
    for a, g in layers:
        for dim, rhs in ((a, g), (g, a)):
            parts = [block] * (dim // block) + ([dim % block] if dim % block else []) \
                if block else [dim]
            total += sum(p ** 3 / 3 for p in parts) / refresh + sum(2 * p * p * rhs
                                                                    for p in parts)
    return total


def digital_step(layers: list[tuple[int, int]], refresh: int, flops_per_s: float,
                 pj_per_flop: float, block: int | None = None) -> StepCost:
    f = digital_flops(layers, refresh, block)
    return StepCost(f / flops_per_s, f * pj_per_flop * 1e-12)


def network_cost(net: Network, m: Measured, cfg: Config, refresh: int, arrays: list[int],
                 flops_per_s: float, pj_per_flop: float) -> dict:
    """One step's factor solves of ``net``: its factor entries, the digital baseline on
    full factors and on ``cfg``'s INV blocks, and the chip with each count of ``arrays``."""
    layers = factor_sizes(net)
    n = cfg.inv.size
    dig = digital_step(layers, refresh, flops_per_s, pj_per_flop)
    dig_block = digital_step(layers, refresh, flops_per_s, pj_per_flop, block=n)
    chip = {p: chip_step(layers, m, n, refresh, p, cfg.chip.clock_mhz, cfg.energy.static_mw)
            for p in arrays}
    return {"factor_entries": sum(a * a + g * g for a, g in layers), "digital_s": dig.seconds,
            "digital_j": dig.joules, "digital_block_s": dig_block.seconds,
            "chip": {p: {"s": c.seconds, "j": c.joules} for p, c in chip.items()}}

