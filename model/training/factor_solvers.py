"""Solving with K-FAC factors: digitally in float, or on analog INV arrays.

A factor (symmetric positive definite after damping) is prepared once per refresh and
then solves ``F X = B`` for many right-hand sides each step. The analog solvers split the
factor into diagonal blocks of ``inv.size`` (the array size of the config; the last
block is padded with identity), program one INV array per block and solve each column
of ``B`` as one analog operation:

- ``one-step``: ``X = INV(B)``, the ~8-bit accuracy of the analog optimizer paper;
- ``refined``: ``X += INV(B - F X)`` until the residual is below ``tol`` (RePAST's >= 16
  bits). The residual stands for the bit-sliced VMM of :mod:`model.analog.refinement` (32-bit
  weights and inputs, error ~2^-31, far below ``tol``) and is computed in float64 here.

Both solve the block-diagonal part of the factor, which is what arrays of ``inv.size``
can hold; :class:`FloatSolver` with ``block`` set is the digital twin of that
approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from firmware.config import Config
from model.analog.inv_array import InvArray
from model.analog.refinement import program_stable

Solve = Callable[[np.ndarray], np.ndarray]


def blocks(n: int, size: int) -> list[slice]:
    """Consecutive diagonal blocks of at most ``size`` covering ``0..n``."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@dataclass
class SolveStats:
    """What the solves cost: analog operations (one per column and block per INV call),
    refinement iterations, and solves that stopped above ``tol``."""

    inv_ops: int = 0
    solves: int = 0
    iterations: int = 0
    unconverged: int = 0
    programs: int = 0

    @property
    def mean_iterations(self) -> float:
        return self.iterations / self.solves if self.solves else 0.0


class FloatSolver:
    """Digital Cholesky solves (the reference); ``block`` restricts them to diagonal
    blocks of that size."""

    def __init__(self, block: int | None = None):
        self.block = block
        self.name = "float-block" if block else "float"
        self.stats = SolveStats()

    def prepare(self, f: np.ndarray) -> Solve:
        parts = blocks(len(f), self.block or len(f))
        chol = [(s, cho_factor(f[s, s])) for s in parts]

        def solve(b: np.ndarray) -> np.ndarray:
            return np.vstack([cho_solve(c, b[s]) for s, c in chol])
        return solve


class AnalogSolver:
    """Block solves on INV arrays of the config: ``refine=False`` one step, else
    refinement to ``tol`` (relative residual per column) within ``max_iter`` steps."""

    def __init__(self, cfg: Config, refine: bool, tol: float = 2.0 ** -16, max_iter: int = 30):
        self.cfg, self.refine, self.tol, self.max_iter = cfg, refine, tol, max_iter
        self.name = "refined" if refine else "one-step"
        self.stats = SolveStats()

    def _padded(self, f: np.ndarray) -> np.ndarray:
        n = self.cfg.inv.size
        out = np.eye(n) * float(np.mean(np.diag(f)))
        out[:len(f), :len(f)] = f
        return out

    def prepare(self, f: np.ndarray) -> Solve:
        n = self.cfg.inv.size
        arrays = []
        for s in blocks(len(f), n):
            m = self._padded(f[s, s])
            inv, _shift = program_stable(m, self.cfg)
            arrays.append((s, m, inv))
            self.stats.programs += 1

        def solve(b: np.ndarray) -> np.ndarray:
            return np.vstack([self._solve_block(m, inv, b[s]) for s, m, inv in arrays])
        return solve

    def _solve_block(self, m: np.ndarray, inv: InvArray, b: np.ndarray) -> np.ndarray:
        n, k = self.cfg.inv.size, b.shape[1]
        rhs = np.zeros((n, k))
        rhs[:len(b)] = b
        st = self.stats
        st.solves += k
        if not self.refine:
            st.inv_ops += k
            st.iterations += k
            return inv.solve_many(rhs)[:len(b)]
        x = np.zeros((n, k))
        norm = np.maximum(np.linalg.norm(rhs, axis=0), 1e-300)
        best, best_res = x.copy(), np.ones(k)
        active = np.linalg.norm(rhs, axis=0) > 0
        for _ in range(self.max_iter):
            if not active.any():
                break
            cols = np.flatnonzero(active)
            r = rhs[:, cols] - m @ x[:, cols]
            x[:, cols] += inv.solve_many(r)
            st.inv_ops += len(cols)
            st.iterations += len(cols)
            res = np.linalg.norm(rhs[:, cols] - m @ x[:, cols], axis=0) / norm[cols]
            better = res < best_res[cols]
            best[:, cols[better]] = x[:, cols[better]]
            best_res[cols[better]] = res[better]
            active[cols[res <= self.tol]] = False
        # A column that never beat x = 0 (residual ratio 1) keeps x = 0: no step is
        # safer than a diverged one, and it is counted.
        st.unconverged += int(active.sum())
        return best[:len(b)]


def make_solver(name: str, cfg: Config) -> FloatSolver | AnalogSolver:
    """A solver by name: ``float``, ``float-block`` (float on ``inv.size`` blocks),
    ``one-step`` or ``refined``."""
    if name == "float":
        return FloatSolver()
    if name == "float-block":
        return FloatSolver(block=cfg.inv.size)
    if name in ("one-step", "refined"):
        return AnalogSolver(cfg, refine=name == "refined")
    raise ValueError(f"unknown factor solver {name!r}: expected float, float-block, "
                     "one-step or refined")
