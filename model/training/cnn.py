"""The two-layer CNN of the analog second-order optimizer experiment, on 8x8 digits.

``conv 3x3 (1 -> C, valid) -> ReLU -> 2x2 average pool -> fully connected -> softmax``,
in float numpy with explicit forward and backward passes. Besides the gradients, the
backward pass returns what K-FAC needs per layer: the layer inputs ``a`` (with a 1 for
the bias; one row per sample and output position) and the gradients ``g`` of the loss
with respect to the layer outputs, one row each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE = 8          # load_digits images are 8x8
KERNEL = 3
CLASSES = 10
PIXEL_MAX = 16.0  # load_digits pixels are 0..16


@dataclass(frozen=True)
class Split:
    """A fixed train / validation / test split: images ``N x 8 x 8`` in [0, 1], labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits_split(val: float = 0.15, test: float = 0.25, seed: int = 0) -> Split:
    """``sklearn.datasets.load_digits`` cut once by a seeded permutation (the split does
    not change with the training seed; learning rates are tuned on the validation part)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / PIXEL_MAX).reshape(-1, SIDE, SIDE)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test, n_val = round(test * len(x)), round(val * len(x))
    te, va, tr = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return Split(x[tr], d.target[tr], x[va], d.target[va], x[te], d.target[te])


def patches(x: np.ndarray) -> np.ndarray:
    """im2col of ``N x 8 x 8`` images: ``(N * P) x (9 + 1)`` rows (``P`` = 36 output
    positions, row-major), the last column the bias input 1."""
    n = x.shape[0]
    out = SIDE - KERNEL + 1
    cols = [x[:, i:i + out, j:j + out] for i in range(KERNEL) for j in range(KERNEL)]
    p = np.stack(cols, axis=-1).reshape(n * out * out, KERNEL * KERNEL)
    return np.hstack([p, np.ones((len(p), 1))])


@dataclass
class LayerStats:
    """One layer's K-FAC inputs: ``a`` (rows x in+1) and output gradients ``g`` (rows x out),
    ``g`` scaled to per-sample gradients (the loss is a batch mean)."""

    a: np.ndarray
    g: np.ndarray


class DigitsCNN:
    """Weights ``w[0]`` (C x 10: conv kernels and bias) and ``w[1]`` (10 x 9C+1)."""

    def __init__(self, channels: int = 8, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.channels = channels
        self.conv_out = SIDE - KERNEL + 1
        self.pooled = self.conv_out // 2
        fan1, fan2 = KERNEL * KERNEL, self.pooled ** 2 * channels
        self.w = [
            np.hstack([rng.standard_normal((channels, fan1)) * np.sqrt(2 / fan1),
                       np.zeros((channels, 1))]),
            np.hstack([rng.standard_normal((CLASSES, fan2)) * np.sqrt(1 / fan2),
                       np.zeros((CLASSES, 1))]),
        ]

    def _forward(self, x: np.ndarray):
        n, c, o, q = x.shape[0], self.channels, self.conv_out, self.pooled
        a1 = patches(x)
        s1 = a1 @ self.w[0].T
        h1 = np.maximum(s1, 0).reshape(n, o, o, c)
        pooled = h1.reshape(n, q, 2, q, 2, c).mean(axis=(2, 4))
        a2 = np.hstack([pooled.reshape(n, -1), np.ones((n, 1))])
        logits = a2 @ self.w[1].T
        return a1, s1, a2, logits

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x)[3]

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.logits(x).argmax(axis=1) == y).mean())

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray
                       ) -> tuple[float, list[np.ndarray], list[LayerStats]]:
        """Mean cross-entropy, its gradients per weight matrix and the K-FAC statistics."""
        n, c, o, q = x.shape[0], self.channels, self.conv_out, self.pooled
        a1, s1, a2, logits = self._forward(x)
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = float(-np.log(p[np.arange(n), y] + 1e-300).mean())
        ds2 = p.copy()
        ds2[np.arange(n), y] -= 1
        ds2 /= n
        dw2 = ds2.T @ a2
        dpool = (ds2 @ self.w[1][:, :-1]).reshape(n, q, 1, q, 1, c) / 4
        dh1 = np.broadcast_to(dpool, (n, q, 2, q, 2, c)).reshape(n * o * o, c)
        ds1 = dh1 * (s1 > 0)
        dw1 = ds1.T @ a1
        return loss, [dw1, dw2], [LayerStats(a1, ds1 * n), LayerStats(a2, ds2 * n)]


@dataclass
class History:
    """Per epoch: mean training loss, validation and test accuracy."""

    loss: list[float]
    val: list[float]
    test: list[float]

    def epochs_to(self, target: float, on: str = "test") -> int | None:
        """First epoch (1-based) whose accuracy reaches ``target``, or ``None``."""
        acc = self.val if on == "val" else self.test
        return next((k + 1 for k, a in enumerate(acc) if a >= target), None)


def train(opt, split: Split, seed: int, epochs: int, batch: int = 32,
          channels: int = 8, stop_at: tuple[float, str] | None = None) -> History:
    """Train a fresh :class:`DigitsCNN` (initialized and shuffled by ``seed``) with ``opt``;
    ``stop_at = (target, "val"|"test")`` ends early once that accuracy is reached. A
    non-finite loss ends the run (the history then stops there)."""
    net = DigitsCNN(channels, seed)
    rng = np.random.default_rng([seed, 1])
    hist = History([], [], [])
    n = len(split.x_train)
    for _ in range(epochs):
        order = rng.permutation(n)
        losses = []
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            loss, grads, stats = net.loss_and_grads(split.x_train[idx], split.y_train[idx])
            if not np.isfinite(loss):
                return hist
            opt.step(net.w, grads, stats)
            losses.append(loss)
        hist.loss.append(float(np.mean(losses)))
        hist.val.append(net.accuracy(split.x_val, split.y_val))
        hist.test.append(net.accuracy(split.x_test, split.y_test))
        if stop_at and hist.epochs_to(*stop_at):
            break
    return hist
