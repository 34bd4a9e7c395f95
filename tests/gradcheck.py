"""Finite-difference check of hand-written backward passes (shared by the tests)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def check_gradients(loss: Callable[[], float], weights: list[np.ndarray],
                    grads: list[np.ndarray], samples: int, seed: int = 0,
                    eps: float = 1e-6, tol: float = 1e-7) -> None:
    """Central differences of ``loss()`` at ``samples`` random entries of each weight
    array (perturbed in place and restored) against ``grads``."""
    rng = np.random.default_rng(seed)
    for w, g in zip(weights, grads, strict=True):
        for _ in range(samples):
            i = tuple(int(rng.integers(s)) for s in w.shape)
            w[i] += eps
            up = loss()
            w[i] -= 2 * eps
            down = loss()
            w[i] += eps
            assert (up - down) / (2 * eps) == pytest.approx(g[i], abs=tol), i
