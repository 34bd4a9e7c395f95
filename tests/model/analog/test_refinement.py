"""High-precision refinement on the INV array: the bit-sliced VMM, refinement and
INV-preconditioned flexible CG against the brief's claims."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from firmware import config
from model.analog.inv_array import InvArray, InvError
from model.analog.refinement import BitSlicedVMM, flexible_cg, program_stable, random_spd, refine


def _cfg(n: int = 16, **inv) -> config.Config:
    base = config.load("aras")
    return dataclasses.replace(base, inv=dataclasses.replace(base.inv, size=n, **inv))


def test_bit_sliced_vmm_is_exact_on_integers_and_32_bit_on_reals() -> None:
    rng = np.random.default_rng(4)
    a_int = rng.integers(-1000, 1000, size=(8, 8)).astype(float)
    a_int[0, 0] = 2**31 - 1                # the full scale is exactly representable
    x_int = rng.integers(-2**20, 2**20, size=8).astype(float)
    x_int[0] = 2**31 - 1
    vmm = BitSlicedVMM(a_int, 32, 32)
    exact = np.array([sum(int(a) * int(v) for a, v in zip(row, x_int, strict=True))
                      for row in a_int], dtype=float)
    assert (vmm(x_int) == exact).all()
    a = rng.standard_normal((32, 32))
    x = rng.standard_normal(32)
    assert np.abs(vmm_err := BitSlicedVMM(a, 32, 32)(x) - a @ x).max() < 1e-7
    assert np.abs(BitSlicedVMM(a, 12, 12)(x) - a @ x).max() > 10 * np.abs(vmm_err).max()


@pytest.mark.parametrize("n", [16, 32, 64])
def test_refinement_reaches_16_and_24_bits(n: int) -> None:
    rng = np.random.default_rng(n)
    a = random_spd(n, 10, rng)
    conv = refine(a, rng.standard_normal(n), _cfg(n), iterations=12)
    assert conv.iterations_to(2**-16) is not None and conv.iterations_to(2**-16) <= 6
    assert conv.iterations_to(2**-24) is not None
    # The error falls each iteration until it reaches the floor set by the 32-bit VMM.
    floor = 2**-24
    falling = [e for e in conv.errors if e > floor]
    assert all(b < a for a, b in zip(falling, falling[1:], strict=False))
    assert len(falling) >= 3


def test_refinement_gain_per_step_follows_kappa() -> None:
    """About -log2(kappa * eps_inv) bits per step: fewer bits per step at larger kappa."""
    rng = np.random.default_rng(7)
    gains = {}
    for kappa in (10, 100):
        a = random_spd(16, kappa, rng)
        bits = refine(a, rng.standard_normal(16), _cfg(16), iterations=3).bits
        gains[kappa] = (bits[2] - bits[0]) / 2
    assert gains[10] > gains[100] + 1 and gains[100] > 1


def test_flexible_cg_with_shifted_preconditioner_handles_kappa_1000() -> None:
    rng = np.random.default_rng(0)
    a = random_spd(16, 1000, rng)
    cfg = _cfg(16)
    with pytest.raises(InvError, match="unstable"):
        InvArray(cfg).program(a)
    inv, mu = program_stable(a, cfg)
    assert mu > 0
    conv = flexible_cg(a, rng.standard_normal(16), cfg, iterations=30, inv=inv)
    assert conv.iterations_to(2**-16) is not None
    assert conv.errors[-1] <= 2**-16  # the best-residual iterate is kept
