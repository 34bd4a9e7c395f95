"""The K-FAC cost model: flop counts, block counting, and the measured block costs."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.network import Layer, Network
from firmware.programs.factor_solve import factor_solve
from model import golden, timing
from model.analog.refinement import random_spd
from model.energy import energy
from model.training.cost import (
    KAPPA,
    Measured,
    chip_step,
    digital_flops,
    measure,
    network_cost,
)


def test_digital_flops_by_hand() -> None:
    # a = 4, g = 2, refresh every 2 steps: Cholesky (64 + 8) / 3 / 2, solves 2*16*2 + 2*4*4.
    assert digital_flops([(4, 2)], refresh=2) == pytest.approx(72 / 6 + 64 + 32)
    # Blocks of 3: a = 4 -> 3 + 1, g = 2 -> 2.
    want = (27 + 1 + 8) / 3 / 2 + 2 * (9 + 1) * 2 + 2 * 4 * 4
    assert digital_flops([(4, 2)], refresh=2, block=3) == pytest.approx(want)


def test_chip_step_counts_block_solves() -> None:
    m = Measured(setup_cycles=1000, setup_pj=50.0, rhs_cycles=10, rhs_pj=2.0)
    # a = 20 -> 2 blocks of 16 with g = 3 right-hand sides; g = 3 -> 1 block with 20.
    c = chip_step([(20, 3)], m, n=16, refresh=3, arrays=2, clock_mhz=1000, static_mw=0)
    solves, setups = 2 * 3 + 1 * 20, 3 / 3
    assert c.seconds == pytest.approx((solves * 10 + setups * 1000) / 2 / 1e9)
    assert c.joules == pytest.approx((solves * 2 + setups * 50) * 1e-12)


def test_energy_of_a_solve_adds_up(small) -> None:
    """Each further right-hand side adds the same energy: its INVs, VMMs and buffer."""
    rng = np.random.default_rng(2)
    f = random_spd(16, 10, rng)
    es = []
    for m in (1, 2, 3):
        fs = factor_solve(small, f, rng.integers(-500, 500, size=(16, m)), iterations=3)
        g = golden.run(fs.image)
        es.append(energy(small, g, timing.simulate(small, g).cycles))
    d1, d2 = es[1] - es[0], es[2] - es[1]
    assert d1.compute_pj == pytest.approx(d2.compute_pj) and d1.compute_pj > 0
    assert d1.write_pj == d2.write_pj == 0          # the arrays are programmed once
    assert es[0].write_pj > 0
    # Four INVs per column, each n op-amps for the whole window.
    opamps = 4 * 16 * small.energy.inv_opamp_mw * small.inv.solve_cycles * 1000 / \
        small.chip.clock_mhz
    assert d1.compute_pj > opamps


def test_measure_splits_setup_from_each_right_hand_side(small) -> None:
    """Setup once plus one solve per column: a three-column run of the same factor
    takes the setup and three right-hand sides."""
    m = measure(small, iterations=2)
    rng = np.random.default_rng(0)
    f = random_spd(small.inv.size, KAPPA, rng)
    fs = factor_solve(small, f, rng.integers(-1000, 1000, size=(small.inv.size, 3)),
                      iterations=2)
    g = golden.run(fs.image)
    assert timing.simulate(small, g).cycles == m.setup_cycles + 3 * m.rhs_cycles
    assert m.setup_cycles > m.rhs_cycles > 0 and m.setup_pj > 0 and m.rhs_pj > 0


def test_network_cost_is_the_step_cost_of_its_factors(small) -> None:
    """A 3x3 convolution of 2 channels and 5 filters: factors of 19 (with the bias) and 5."""
    net = Network("n", (Layer("c", 4, 4, 3, 3, 2, 5, 1),), "n")
    m = Measured(setup_cycles=1000, setup_pj=50.0, rhs_cycles=10, rhs_pj=2.0)
    r = network_cost(net, m, small, refresh=4, arrays=[1, 3], flops_per_s=1e9,
                     pj_per_flop=1.0)
    assert r["factor_entries"] == 19 * 19 + 5 * 5
    assert r["digital_s"] == pytest.approx(digital_flops([(19, 5)], 4) / 1e9)
    assert r["digital_block_s"] == pytest.approx(
        digital_flops([(19, 5)], 4, block=small.inv.size) / 1e9)
    one = chip_step([(19, 5)], m, small.inv.size, 4, 1, small.chip.clock_mhz,
                    small.energy.static_mw)
    assert r["chip"][1] == {"s": one.seconds, "j": one.joules}
    assert r["chip"][3]["s"] == pytest.approx(one.seconds / 3)

