"""Write physics: the cost of rewriting weight blocks, phase by phase."""

from __future__ import annotations

import numpy as np
import pytest

from firmware import config
from model.analog.write_physics import weight_write_cost, write_cost


def test_write_cost_of_weight_blocks(tiny: config.Config, aras: config.Config) -> None:
    rng = np.random.default_rng(4)
    w_old = rng.integers(-128, 128, size=(tiny.crossbar.rows, tiny.weights_per_row))
    same = weight_write_cost(w_old, w_old, tiny)
    assert (same.cycles, same.pulses, same.energy_pj) == (0, 0, 0.0)
    assert same.skipped_cells == tiny.crossbar.rows * tiny.crossbar.cols
    w_new = w_old.copy()
    w_new[0, 0] ^= 0b01000001               # flips the low bit of two of its four cells
    cost = weight_write_cost(w_old, w_new, tiny)
    assert cost.pulses == 2
    assert cost.skipped_cells == tiny.crossbar.rows * tiny.crossbar.cols - 2
    assert cost.energy_pj == 2 * tiny.write.energy_per_pulse_pj
    # Erased to all-max needs only the increase phase: 128 rows x 3 pulses x 1000 cycles.
    assert write_cost(np.zeros((128, 128), dtype=int), np.full((128, 128), 3),
                      aras).cycles == 384_000
    # The ARAS worst case: every row swings cells both ways, 128 x 2 x 3 x 1000 cycles.
    checker = np.indices((128, 128)).sum(axis=0) % 2 * 3
    worst = write_cost(checker, 3 - checker, aras)
    assert worst.cycles == 768_000 == aras.full_write_cycles
    with pytest.raises(ValueError, match="new levels must lie in 0..3"):
        write_cost(np.zeros((2, 2)), np.full((2, 2), 4), tiny)
