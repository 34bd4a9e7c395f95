"""INV array and high-precision refinement against closed-form cases and the brief's claims."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from firmware import config
from model.analog.inv_array import InvArray, InvError, quantize_symmetric
from model.analog.refinement import BitSlicedVMM, flexible_cg, program_stable, random_spd, refine


def _cfg(n: int = 16, **inv) -> config.Config:
    base = config.load("aras")
    return dataclasses.replace(base, inv=dataclasses.replace(base.inv, size=n, **inv))


def test_inv_of_diagonal_matrix() -> None:
    """G = diag(g): D^-1 G = I, so the finite gain scales x by 1/(1 + 1/A0) exactly."""
    cfg = _cfg(4, opamp_gain=1000.0, dac_bits=24, adc_bits=24)
    inv = InvArray(cfg)
    a = np.diag([127.0, 64.0, 32.0, 1.0])   # levels exactly representable at 8 bits
    inv.program(a)
    b = np.array([1.0, -2.0, 3.0, -0.5])
    x = inv.solve(b).x
    exact = b / np.diag(a)
    assert np.allclose(x, exact / (1 + 1 / 1000.0), rtol=1e-5)
    # The settling time from lambda_min(D^-1 G) = 1: ln(2^25) / (2 pi GBW).
    assert inv.settle_time_s() == pytest.approx(math.log(2**25) / (2 * math.pi * 100e6))


def test_finite_gain_error_matches_estimate() -> None:
    """Relative error about ||G^-1 D|| / A0 (the brief: ~6e-3 at A0 = 1e3, kappa 10)."""
    rng = np.random.default_rng(1)
    a = random_spd(16, 10, rng)
    cfg = _cfg(16, opamp_gain=1000.0, dac_bits=30, adc_bits=30, conductance_bits=30)
    inv = InvArray(cfg)
    inv.program(a)
    b = rng.standard_normal(16)
    x = inv.solve(b).x
    err = np.linalg.norm(x - np.linalg.solve(a, b)) / np.linalg.norm(np.linalg.solve(a, b))
    estimate = np.linalg.norm(np.linalg.solve(inv.g, np.diag(inv.d)), 2) / 1000.0
    assert estimate / 10 < err < estimate


def test_one_step_inv_is_about_8_bits() -> None:
    rng = np.random.default_rng(2)
    a = random_spd(16, 10, rng)
    inv = InvArray(_cfg())
    inv.program(a)
    errs = []
    for _ in range(20):
        b = rng.standard_normal(16)
        x_true = np.linalg.solve(a, b)
        errs.append(np.linalg.norm(inv.solve(b).x - x_true) / np.linalg.norm(x_true))
    assert 2**-9 < np.median(errs) < 2**-3  # a few bits lost to kappa, far from 16


def test_open_loop_vmm_on_the_same_matrix() -> None:
    rng = np.random.default_rng(3)
    a = random_spd(16, 10, rng)
    inv = InvArray(_cfg())
    inv.program(a)
    x = rng.standard_normal(16)
    y = inv.vmm(x)
    assert np.linalg.norm(y - a @ x) / np.linalg.norm(a @ x) < 2**-5
    assert np.abs(inv.stored - a).max() <= np.abs(a).max() / 127 / 2 + 1e-12


@pytest.mark.parametrize(("matrix", "pattern"), [
    (-np.eye(4), "unstable"),
    (np.array([[0.0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "unstable"),
    (np.diag([1.0, 1.0, 1.0, 1e-6]), r"rows \[3\] quantize to all-zero"),
    (np.zeros((4, 4)), "all zero"),
    (np.full((4, 4), np.nan), "non-finite"),
    (np.eye(3), "holds a 4x4 matrix"),
])
def test_inv_refuses_what_the_circuit_cannot_solve(matrix: np.ndarray, pattern: str) -> None:
    with pytest.raises(InvError, match=pattern):
        InvArray(_cfg(4)).program(matrix)


def test_inv_must_be_programmed_first() -> None:
    with pytest.raises(InvError, match="not been programmed"):
        InvArray(_cfg(4)).solve(np.ones(4))


def test_quantize_symmetric() -> None:
    q = quantize_symmetric(np.array([1.0, -1.0, 0.5, 0.003, 3.0]), 8, 1.0)
    assert q.tolist()[:2] == [1.0, -1.0]
    assert q[3] == 0.0 and q[4] == 1.0     # below half an LSB; clipped
    assert abs(q[2] - 0.5) <= 0.5 / 127


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
