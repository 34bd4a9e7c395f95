"""The float CNNs of the training experiments on the 8x8 digits, and their one trainer.

Both networks share the data (:func:`digits_split`), the im2col, the softmax
cross-entropy and the training loop (:func:`train`):

- :class:`FloatNetwork`: a :class:`firmware.network.Network` as the chip computes it
  (``firmware.network.forward``): valid convolutions over HWC maps with weights
  ``kernel_rows x filters`` (rows ordered filter row, filter column, channel), no
  biases, ReLU between layers, zero padding and flattening between layers as
  ``firmware.network.feeds`` and ``flattens`` say, and the last layer's outputs as
  logits. Without biases a ReLU network is positively homogeneous, so the chip's
  power-of-two requantization between layers does not change the predicted class; only
  rounding and clipping do. :data:`DIGITS_CNN` is the one the chip runs; :func:`deploy`
  makes its INT8 weights and shifts.
- :class:`PooledCNN`: ``conv 3x3 (1 -> C, valid) -> ReLU -> 2x2 average pool -> fully
  connected``, with biases: the CNN of the analog second-order optimizer experiment.
  Besides the gradients its backward pass returns what K-FAC needs per layer
  (:class:`model.training.optimizers.LayerStats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from firmware.network import Layer, Network, calibrate_shifts, feeds
from model.training.optimizers import Adam, LayerStats

SIDE = 8          # load_digits images are 8x8
KERNEL = 3
CLASSES = 10
PIXEL_MAX = 16.0  # load_digits pixels are 0..16
PIXEL_SCALE = 127  # [0, 1] pixels to INT8 activations

# The digits CNN the chip runs (8x8 inputs, `small` config: the second convolution and
# the classifier are cut into parts by the scheduler).
DIGITS_CNN = Network("digits", (Layer("conv1", 8, 8, 3, 3, 1, 16, 1),
                                Layer("conv2", 6, 6, 3, 3, 16, 16, 1),
                                Layer("fc", 1, 1, 1, 1, 256, 10, 1)), "digits")


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


def to_int8(images: np.ndarray) -> np.ndarray:
    """``N x 8 x 8`` pixels in [0, 1] as ``N x 8 x 8 x 1`` INT8 activations."""
    return np.rint(np.asarray(images) * PIXEL_SCALE).astype(np.int64)[..., None]


def _cols(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Batched im2col: ``N x H x W x C`` maps to ``N x windows x kernel_rows``."""
    s, fh, fw = layer.stride, layer.filter_h, layer.filter_w
    oh, ow = layer.ofmap_h, layer.ofmap_w
    parts = [x[:, i:i + s * oh:s, j:j + s * ow:s, :] for i in range(fh) for j in range(fw)]
    return np.stack(parts, axis=3).reshape(x.shape[0], oh * ow, -1)


def _uncols(d: np.ndarray, layer: Layer) -> np.ndarray:
    """The adjoint of :func:`_cols`: window gradients summed back into the input map."""
    s, fh, fw, c = layer.stride, layer.filter_h, layer.filter_w, layer.channels
    oh, ow = layer.ofmap_h, layer.ofmap_w
    n = d.shape[0]
    d = d.reshape(n, oh, ow, fh, fw, c)
    out = np.zeros((n, layer.ifmap_h, layer.ifmap_w, c))
    for i in range(fh):
        for j in range(fw):
            out[:, i:i + s * oh:s, j:j + s * ow:s, :] += d[:, :, :, i, j, :]
    return out


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of ``logits`` (``N x classes``) and its gradient."""
    n = len(y)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = float(-np.log(p[np.arange(n), y] + 1e-300).mean())
    p[np.arange(n), y] -= 1
    p /= n
    return loss, p


class _Classifier:
    """What :func:`train` needs of a network besides ``w`` and ``loss_and_grads``."""

    def logits(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.logits(x).argmax(axis=1) == y).mean())


class FloatNetwork(_Classifier):
    """Float weights for ``network``, He-initialized from ``seed``."""

    def __init__(self, network: Network, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.network = network
        self.w = [rng.standard_normal((layer.kernel_rows, layer.filters))
                  * np.sqrt(2.0 / layer.kernel_rows) for layer in network.layers]

    def _maps(self, x: np.ndarray):
        """Per layer: its input map and pre-activation outputs; and the logits."""
        layers = self.network.layers
        cur = np.asarray(x, dtype=np.float64).reshape(len(x), layers[0].ifmap_h,
                                                      layers[0].ifmap_w, layers[0].channels)
        cache = []
        for i, layer in enumerate(layers):
            z = _cols(cur, layer) @ self.w[i]                  # N x windows x filters
            cache.append((cur, z))
            if i == len(layers) - 1:
                return cache, z.reshape(len(x), -1)
            nxt = layers[i + 1]
            a = np.maximum(z, 0).reshape(len(x), layer.ofmap_h, layer.ofmap_w, layer.filters)
            pad = feeds(layer, nxt)
            a = np.pad(a, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            cur = a.reshape(len(x), nxt.ifmap_h, nxt.ifmap_w, nxt.channels)
        raise AssertionError("unreachable")

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self._maps(x)[1]

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray
                       ) -> tuple[float, list[np.ndarray], None]:
        """Mean cross-entropy and its gradients per weight matrix (no K-FAC statistics:
        ``None``, which K-FAC refuses)."""
        layers = self.network.layers
        n = len(x)
        cache, logits = self._maps(x)
        loss, dz = _cross_entropy(logits, y)
        dz = dz.reshape(cache[-1][1].shape)
        grads: list[np.ndarray] = [np.zeros(0)] * len(layers)
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            cur, z = cache[i]
            cols = _cols(cur, layer)
            grads[i] = np.einsum("nwk,nwf->kf", cols, dz)
            if i == 0:
                break
            dcur = _uncols(dz @ self.w[i].T, layer)            # gradient of layer i's input
            prev = layers[i - 1]
            pad = feeds(prev, layer)
            da = dcur.reshape(n, prev.ofmap_h + 2 * pad, prev.ofmap_w + 2 * pad, -1)
            da = da[:, pad:da.shape[1] - pad, pad:da.shape[2] - pad, :]
            dz = da.reshape(cache[i - 1][1].shape) * (cache[i - 1][1] > 0)
        return loss, grads, None


def patches(x: np.ndarray) -> np.ndarray:
    """:class:`PooledCNN`'s im2col of ``N x 8 x 8`` images: ``(N * P) x (9 + 1)`` rows
    (``P`` = 36 output positions, row-major), the last column the bias input 1."""
    conv = Layer("conv", SIDE, SIDE, KERNEL, KERNEL, 1, 1, 1)
    p = _cols(np.asarray(x)[..., None], conv).reshape(-1, KERNEL * KERNEL)
    return np.hstack([p, np.ones((len(p), 1))])


class PooledCNN(_Classifier):
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

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray
                       ) -> tuple[float, list[np.ndarray], list[LayerStats]]:
        """Mean cross-entropy, its gradients per weight matrix and the K-FAC statistics."""
        n, c, o, q = x.shape[0], self.channels, self.conv_out, self.pooled
        a1, s1, a2, logits = self._forward(x)
        loss, ds2 = _cross_entropy(logits, y)
        dw2 = ds2.T @ a2
        dpool = (ds2 @ self.w[1][:, :-1]).reshape(n, q, 1, q, 1, c) / 4
        dh1 = np.broadcast_to(dpool, (n, q, 2, q, 2, c)).reshape(n * o * o, c)
        ds1 = dh1 * (s1 > 0)
        dw1 = ds1.T @ a1
        return loss, [dw1, dw2], [LayerStats(a1, ds1 * n), LayerStats(a2, ds2 * n)]

    def kernels(self) -> list[np.ndarray]:
        """The layers' unrolled kernels (``kernel_rows x filters``); biases stay digital."""
        return [w[:, :-1].T.copy() for w in self.w]

    def with_kernels(self, ks: list[np.ndarray]) -> PooledCNN:
        """A copy with these kernels (as :meth:`kernels` gives them) and the same biases."""
        out = PooledCNN(self.channels)
        out.w = [np.hstack([k.T, w[:, -1:]]) for k, w in zip(ks, self.w, strict=True)]
        return out


def epochs_to(curve: list[float], target: float) -> int | None:
    """First epoch (1-based) whose accuracy in ``curve`` reaches ``target``, or ``None``."""
    return next((k + 1 for k, a in enumerate(curve) if a >= target), None)


@dataclass
class History:
    """Per epoch: mean training loss, validation and test accuracy."""

    loss: list[float]
    val: list[float]
    test: list[float]

    def epochs_to(self, target: float, on: str = "test") -> int | None:
        """First epoch (1-based) whose accuracy reaches ``target``, or ``None``."""
        return epochs_to(self.val if on == "val" else self.test, target)


class Trainable(Protocol):
    w: list[np.ndarray]

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple: ...

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float: ...


class Optimizer(Protocol):
    def step(self, w: list[np.ndarray], grads: list[np.ndarray], stats=None) -> None: ...


def train(net: Trainable, opt: Optimizer, split: Split, epochs: int,
          rng: np.random.Generator, batch: int = 32,
          stop_at: tuple[float, str] | None = None) -> History:
    """Train ``net`` in place with ``opt`` on ``split``'s training part, in batches of
    ``batch`` shuffled each epoch by ``rng``; ``stop_at = (target, "val"|"test")`` ends
    early once that accuracy is reached. A non-finite loss ends the run (the history
    then stops there)."""
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


def train_network(network: Network, split: Split, epochs: int = 20, lr: float = 0.003,
                  batch: int = 32, seed: int = 0) -> FloatNetwork:
    """A :class:`FloatNetwork` of ``network`` trained with Adam on ``split``."""
    net = FloatNetwork(network, seed)
    train(net, Adam(lr), split, epochs, np.random.default_rng([seed, 3]), batch)
    return net


def quantize_weights(w: list[np.ndarray]) -> list[np.ndarray]:
    """Symmetric per-layer INT8 weights (zero point 0, as the chip computes)."""
    return [np.clip(np.rint(wi / (np.abs(wi).max() / 127)), -127, 127).astype(np.int64)
            for wi in w]


def deploy(net: FloatNetwork, x_calibration: np.ndarray
           ) -> tuple[list[np.ndarray], list[int]]:
    """INT8 weights and the REQUANT shifts calibrated on ``x_calibration`` (INT8 maps)."""
    qs = quantize_weights(net.w)
    return qs, calibrate_shifts(net.network, qs, x_calibration)
