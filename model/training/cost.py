"""Cost of K-FAC's factor solves per training step: the chip against a digital baseline.

Per layer with input factor ``A`` (``a = kernel_rows + 1``, the bias) and output factor
``G`` (``g = filters``), one step applies ``G^-1 dW A^-1``.

- Chip: each factor is cut into diagonal blocks of ``inv.size`` (what INV arrays hold);
  a block costs one setup per factor refresh (INV_WRITE plus the residual crossbars'
  writes) and one refined solve per right-hand side: ``ceil(a/n) * g + ceil(g/n) * a``
  solves a step. ``per_rhs`` and ``setup`` are measured from the firmware
  (:mod:`firmware.factor_solve`) by the timing and energy models; ``arrays`` INV units
  work in parallel (static power counts over the parallel time).
- Digital: Cholesky of both factors per refresh (``(a^3 + g^3) / 3`` flops) and two
  triangular solves per right-hand side per factor per step (``2 a^2 g + 2 g^2 a``), at
  a stated sustained rate and energy per flop. ``block`` restricts the digital side to
  the same diagonal blocks as the chip.
"""

from __future__ import annotations

from dataclasses import dataclass


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
