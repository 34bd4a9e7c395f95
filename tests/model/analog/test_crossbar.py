"""The analog crossbar model: exact ideal VMMs, ADC clipping, row writes, device
variation and read noise."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from firmware import config, semantics
from model.analog.crossbar import Crossbar


@pytest.mark.parametrize("seed", range(10))
def test_ideal_vmm_equals_integer_matmul(tiny: config.Config, seed: int) -> None:
    """16 rows x level 3 = 48 < 63: the 6-bit ADC never clips, so the VMM is exact."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(tiny.crossbar.rows, tiny.weights_per_row))
    x = rng.integers(-128, 128, size=tiny.crossbar.rows)
    if seed == 0:  # the extremes of INT8 on both operands
        w[:] = -128
        x[:] = -128
    elif seed == 1:
        w[:] = 127
        x[:] = 127
    xbar = Crossbar(tiny)
    xbar.levels[:] = semantics.weights_to_levels(w, tiny)
    assert xbar.vmm(x).tolist() == (x @ w).tolist()


def test_adc_clips_at_full_scale(tiny: config.Config) -> None:
    big = dataclasses.replace(tiny, crossbar=dataclasses.replace(tiny.crossbar, rows=32))
    xbar = Crossbar(big)
    xbar.levels[:] = 3
    codes = xbar.read_plane(np.ones(32, dtype=int))
    assert (codes == 63).all()  # 96 clipped to the 6-bit maximum
    assert (xbar.read_plane(np.zeros(32, dtype=int)) == 0).all()
    with pytest.raises(ValueError, match="P x 32 arrays of 0/1"):
        xbar.read_plane(np.full(32, 2))


def test_write_physics_two_phases(tiny: config.Config) -> None:
    xbar = Crossbar(tiny)
    xbar.levels[0, :3] = [3, 0, 2]
    deltas = np.zeros(tiny.crossbar.cols, dtype=int)
    deltas[:3] = [-2, 3, -1]
    w = xbar.program_row(0, deltas)
    assert (w.dec_pulses, w.inc_pulses, w.pulses, w.saturated) == (2, 3, 6, 0)
    assert w.cycles(tiny) == 5 * tiny.write.pulse_cycles  # slowest cell of each phase
    assert xbar.levels[0, :3].tolist() == [1, 3, 1]
    assert xbar.writes[0, :4].tolist() == [1, 1, 1, 0]


def test_zero_delta_write_costs_nothing(tiny: config.Config) -> None:
    w = Crossbar(tiny).program_row(3, np.zeros(tiny.crossbar.cols, dtype=int))
    assert (w.pulses, w.cycles(tiny), w.energy_pj(tiny)) == (0, 0, 0.0)


def test_write_saturates_and_counts(tiny: config.Config) -> None:
    xbar = Crossbar(tiny)
    deltas = np.zeros(tiny.crossbar.cols, dtype=int)
    deltas[0] = -1
    assert xbar.program_row(0, deltas).saturated == 1
    assert xbar.levels[0, 0] == 0


def _noisy(cfg: config.Config, **kw) -> config.Config:
    return dataclasses.replace(cfg, analog=dataclasses.replace(cfg.analog, **kw))


def _programmed(cfg: config.Config, seed: int = 0, index: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(cfg.crossbar.rows, cfg.weights_per_row))
    xbar = Crossbar(cfg, index)
    xbar.set_levels(semantics.weights_to_levels(w, cfg))
    return xbar, w, rng.integers(-128, 128, size=cfg.crossbar.rows)


def test_noise_is_seeded_and_deterministic(tiny: config.Config) -> None:
    cfg = _noisy(tiny, program_sigma=0.1, read_sigma=1.0, seed=3)
    a, w, x = _programmed(cfg)
    b, _, _ = _programmed(cfg)
    assert (a.conductance == b.conductance).all()
    ya, yb = a.vmm(x), b.vmm(x)
    assert (ya == yb).all()
    assert (ya != x @ w).any()  # the noise does change results, but not wildly
    assert np.abs(ya - x @ w).max() < 0.25 * np.abs(x @ w).max()
    other, _, _ = _programmed(_noisy(cfg, seed=4))
    assert not (other.conductance == a.conductance).all()
    assert Crossbar(cfg, 1).rng.random() != Crossbar(cfg, 0).rng.random()


def test_batched_reads_draw_like_single_reads(tiny: config.Config) -> None:
    """The golden model reads 8 planes at once; the RTL-driven model one at a time."""
    cfg = _noisy(tiny, program_sigma=0.05, read_sigma=0.8, seed=5)
    a, _, _ = _programmed(cfg)
    b, _, _ = _programmed(cfg)
    planes = np.random.default_rng(1).integers(0, 2, size=(8, cfg.crossbar.rows))
    assert (a.read_planes(planes) == np.stack([b.read_plane(p) for p in planes])).all()


def test_read_noise_statistics(tiny: config.Config) -> None:
    sigma = 2.0
    cfg = _noisy(tiny, read_sigma=sigma, seed=9)
    xbar = Crossbar(cfg)
    xbar.set_levels(np.ones((cfg.crossbar.rows, cfg.crossbar.cols), dtype=int))
    planes = np.ones((4000, cfg.crossbar.rows), dtype=int)  # 16 levels: far from clipping
    codes = xbar.read_planes(planes)
    assert abs(codes.mean() - 16) < 0.05
    # Rounding to a code adds 1/12 LSB^2 of variance to the Gaussian's.
    assert abs(codes.std() - np.sqrt(sigma**2 + 1 / 12)) < 0.05


def test_programming_variation_statistics(tiny: config.Config) -> None:
    cfg = _noisy(tiny, program_sigma=0.1, seed=2)
    xbar = Crossbar(cfg)
    xbar.set_levels(np.full((cfg.crossbar.rows, cfg.crossbar.cols), 2))
    rel = xbar.conductance / 2 - 1
    assert abs(rel.mean()) < 0.03 and abs(rel.std() - 0.1) < 0.02
    # Rewriting some cells redraws only those.
    before = xbar.conductance.copy()
    d = np.zeros(cfg.crossbar.cols, dtype=int)
    d[:3] = 1
    xbar.program_row(0, d)
    assert (xbar.conductance[0, 3:] == before[0, 3:]).all()
    assert (xbar.conductance[0, :3] != before[0, :3]).all()


def test_adc_lsb_shift_rounds_and_rescales(tiny: config.Config) -> None:
    cfg = _noisy(tiny, adc_lsb_shift=2)
    xbar = Crossbar(cfg)
    levels = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=int)
    levels[:, 0] = 3                        # 48 levels -> code 12
    levels[:5, 1] = 1                       # 5 levels -> round(5/4) = 1
    levels[:6, 2] = 1                       # 6 levels -> round(6/4) = 2 (half up)
    xbar.set_levels(levels)
    assert xbar.read_plane(np.ones(cfg.crossbar.rows, dtype=int))[:3].tolist() == [12, 1, 2]
    a, w, x = _programmed(cfg)
    err = np.abs(a.vmm(x) - x @ w)
    # Each code is off by at most half an LSB (2 levels), weighed by slice and plane.
    bound = 2 * sum(4**s for s in range(4)) * sum(2**b for b in range(8))
    assert 0 < err.max() <= bound


@pytest.mark.parametrize(("cell_bits", "adc_bits", "delta_bits"), [(1, 5, 2), (2, 6, 4), (4, 8, 8)])
def test_ideal_vmm_exact_for_every_cell_width(tiny: config.Config, cell_bits: int,
                                              adc_bits: int, delta_bits: int) -> None:
    """1, 2 and 4 bits per cell (8, 4 and 2 slices per weight) with ADCs that never clip."""
    cfg = dataclasses.replace(
        tiny, crossbar=dataclasses.replace(tiny.crossbar, cell_bits=cell_bits,
                                           adc_bits=adc_bits),
        write=dataclasses.replace(tiny.write, delta_bits=delta_bits))
    cfg.validate()
    rng = np.random.default_rng(cell_bits)
    w = rng.integers(-128, 128, size=(cfg.crossbar.rows, cfg.weights_per_row))
    x = rng.integers(-128, 128, size=cfg.crossbar.rows)
    xbar = Crossbar(cfg)
    xbar.set_weights(w)
    assert xbar.levels.max() <= cfg.cell_levels - 1
    assert xbar.vmm(x).tolist() == (x @ w).tolist()
