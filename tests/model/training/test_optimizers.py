"""The optimizers: each learns the digits CNN in a few epochs; K-FAC needs its
statistics."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.config import load
from model.training import kfac_experiment
from model.training.cnn import digits_split
from model.training.factor_solvers import FloatSolver, make_solver
from model.training.optimizers import KFAC, Adam, SGDMomentum

CFG = load("aras")


@pytest.fixture(scope="module")
def split():
    return digits_split()


def test_kfac_needs_statistics() -> None:
    with pytest.raises(ValueError, match="statistics"):
        KFAC(0.01, FloatSolver()).step([np.zeros((2, 2))], [np.zeros((2, 2))])


@pytest.mark.parametrize("opt", [
    lambda: SGDMomentum(0.5), lambda: Adam(0.03),
    lambda: KFAC(0.005, make_solver("refined", CFG)),
])
def test_every_optimizer_learns(split, opt) -> None:
    h = kfac_experiment.run(opt(), split, seed=0, epochs=3)
    assert h.loss[-1] < h.loss[0]
    assert h.test[-1] > 0.85  # chance is 0.1
