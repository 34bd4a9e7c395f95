"""Optimizers of the second-order training experiment: SGD with momentum, Adam, K-FAC.

Each takes the list of weight matrices, their gradients and (K-FAC only) the per-layer
statistics (:class:`LayerStats`), and updates the weights in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.training.factor_solvers import AnalogSolver, FloatSolver, Solve


@dataclass
class LayerStats:
    """One layer's K-FAC inputs: ``a`` (rows x in+1) and output gradients ``g`` (rows x out),
    ``g`` scaled to per-sample gradients (the loss is a batch mean)."""

    a: np.ndarray
    g: np.ndarray


class SGDMomentum:
    def __init__(self, lr: float, momentum: float = 0.9):
        self.lr, self.momentum = lr, momentum
        self.v: list[np.ndarray] | None = None

    def step(self, w: list[np.ndarray], grads: list[np.ndarray],
             stats: list[LayerStats] | None = None) -> None:
        if self.v is None:
            self.v = [np.zeros_like(g) for g in grads]
        for wi, g, v in zip(w, grads, self.v, strict=True):
            v *= self.momentum
            v += g
            wi -= self.lr * v


class Adam:
    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None
        self.t = 0

    def step(self, w: list[np.ndarray], grads: list[np.ndarray],
             stats: list[LayerStats] | None = None) -> None:
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
            self.v = [np.zeros_like(g) for g in grads]
        self.t += 1
        for wi, g, m, v in zip(w, grads, self.m, self.v, strict=True):
            m += (1 - self.b1) * (g - m)
            v += (1 - self.b2) * (g * g - v)
            mh = m / (1 - self.b1 ** self.t)
            vh = v / (1 - self.b2 ** self.t)
            wi -= self.lr * mh / (np.sqrt(vh) + self.eps)


class KFAC:
    """K-FAC (Martens & Grosse 2015; convolutions as Grosse & Martens 2016).

    Per layer: ``A = E[a a^T]`` and ``G = E[g g^T]`` as running averages (``decay``),
    Tikhonov damping split between the two by ``pi`` (``A + pi sqrt(damping) I``,
    ``G + sqrt(damping)/pi I``), factors re-prepared by the solver every ``refresh`` steps
    (for the analog solvers: the INV arrays are reprogrammed), and the update
    ``G^-1 dW A^-1`` (both factors symmetric, so ``dW A^-1 = (A^-1 dW^T)^T``) scaled by KL
    clipping (``kl_clip``; None turns it off) and applied with momentum. The gradients'
    statistics use the true labels (empirical Fisher).
    """

    def __init__(self, lr: float, solver: FloatSolver | AnalogSolver, damping: float = 1e-3,
                 momentum: float = 0.9, decay: float = 0.95, refresh: int = 5,
                 kl_clip: float | None = 1e-3):
        self.lr, self.solver, self.damping, self.kl_clip = lr, solver, damping, kl_clip
        self.momentum, self.decay, self.refresh = momentum, decay, refresh
        self.a: list[np.ndarray] = []
        self.g: list[np.ndarray] = []
        self.solves: list[tuple[Solve, Solve]] = []
        self.v: list[np.ndarray] = []
        self.t = 0

    def _update_factors(self, stats: list[LayerStats]) -> None:
        batch = len(stats[-1].a)  # the last (fully connected) layer has one row per sample
        for i, s in enumerate(stats):
            # A averages over rows (samples x positions); G sums per-sample gradients over
            # positions (KFC), averaged over samples.
            a = s.a.T @ s.a / len(s.a)
            g = s.g.T @ s.g / batch
            if len(self.a) <= i:
                self.a.append(a)
                self.g.append(g)
            else:
                self.a[i] += (1 - self.decay) * (a - self.a[i])
                self.g[i] += (1 - self.decay) * (g - self.g[i])

    def _damped(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, g = self.a[i], self.g[i]
        pi = np.sqrt((np.trace(a) / len(a)) / max(np.trace(g) / len(g), 1e-30))
        root = np.sqrt(self.damping)
        return a + pi * root * np.eye(len(a)), g + root / pi * np.eye(len(g))

    def step(self, w: list[np.ndarray], grads: list[np.ndarray],
             stats: list[LayerStats] | None = None) -> None:
        if stats is None:
            raise ValueError("K-FAC needs the layers' statistics")
        self._update_factors(stats)
        if self.t % self.refresh == 0:
            self.solves = []
            for i in range(len(w)):
                a, g = self._damped(i)
                self.solves.append((self.solver.prepare(a), self.solver.prepare(g)))
        if not self.v:
            self.v = [np.zeros_like(d) for d in grads]
        self.t += 1
        nats = [solve_a(solve_g(d).T).T for (solve_a, solve_g), d in  # G^-1 dW A^-1
                zip(self.solves, grads, strict=True)]
        # KL clipping (Ba et al. 2017): cap the step's predicted change of the model's
        # output distribution, lr^2 * sum(nat . dW), at kl_clip.
        scale = 1.0
        if self.kl_clip:
            kl = self.lr ** 2 * sum(float(np.sum(n * d)) for n, d in zip(nats, grads,
                                                                          strict=True))
            scale = min(1.0, np.sqrt(self.kl_clip / kl)) if kl > 0 else 1.0
        for nat, wi, v in zip(nats, w, self.v, strict=True):
            v *= self.momentum
            v += scale * nat
            wi -= self.lr * v
