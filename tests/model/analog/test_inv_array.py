"""The INV array against closed-form cases and the brief's claims: finite gain, ~8 bits
in one step, the matrices the circuit cannot solve."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from firmware import config
from model.analog.inv_array import InvArray, InvError, quantize_symmetric
from model.analog.refinement import random_spd


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


def test_solve_many_is_column_by_column() -> None:
    inv = InvArray(_cfg())
    inv.program(random_spd(16, 10, np.random.default_rng(0)))
    b = np.random.default_rng(1).standard_normal((16, 5)) * [1, 10, 0.1, 0, 3]
    many = inv.solve_many(b)
    for k in range(5):
        assert np.array_equal(many[:, k], inv.solve(b[:, k]).x)
    assert not many[:, 3].any()
