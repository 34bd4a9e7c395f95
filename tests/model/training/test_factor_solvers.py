"""Factor solvers: the Kronecker identity K-FAC relies on, analog one-step and refined
accuracy on the INV arrays' diagonal blocks."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.config import load
from model.analog.refinement import random_spd
from model.training.factor_solvers import AnalogSolver, FloatSolver, blocks, make_solver

CFG = load("aras")


def test_kfac_update_is_the_kronecker_inverse() -> None:
    """G^-1 dW A^-1 as two factor solves equals (A (x) G)^-1 vec(dW)."""
    rng = np.random.default_rng(2)
    a, g = random_spd(7, 20, rng), random_spd(4, 20, rng)
    d = rng.standard_normal((4, 7))
    s = FloatSolver()
    nat = s.prepare(a)(s.prepare(g)(d).T).T
    vec = np.linalg.solve(np.kron(a, g), d.T.ravel())  # column-major vec
    assert np.allclose(nat.T.ravel(), vec)


@pytest.mark.parametrize("n", [16, 37])
def test_analog_solvers_accuracy(n: int) -> None:
    """One step is ~8-bit accurate; refinement reaches 2^-16 relative residual on each
    diagonal block; both solve the block-diagonal part of the factor."""
    rng = np.random.default_rng(n)
    f = random_spd(n, 10, rng)
    b = rng.standard_normal((n, 6))
    exact = FloatSolver(block=16).prepare(f)(b)
    one, ref = AnalogSolver(CFG, refine=False), AnalogSolver(CFG, refine=True)
    err = lambda x: np.linalg.norm(x - exact) / np.linalg.norm(exact)  # noqa: E731
    e1, er = err(one.prepare(f)(b)), err(ref.prepare(f)(b))
    assert 1e-4 < e1 < 0.05
    assert er < 2.0 ** -16 * 10 and er < e1 / 100
    assert ref.stats.unconverged == 0
    assert ref.stats.mean_iterations > 1 and one.stats.mean_iterations == 1
    assert one.stats.programs == len(blocks(n, 16))


def test_unknown_solver_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown factor solver 'cholesky'"):
        make_solver("cholesky", CFG)
