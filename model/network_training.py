"""Float training of a :class:`firmware.network.Network` as the chip computes it.

The network semantics are the integer network's (``firmware.network.forward``): valid
convolutions over HWC maps with weights ``kernel_rows x filters`` (rows ordered filter
row, filter column, channel), no biases, ReLU between layers, zero padding and
flattening between layers as ``firmware.network.feeds`` and ``flattens`` say, and the
last layer's outputs as logits. Without biases a ReLU network is positively homogeneous,
so the chip's power-of-two requantization between layers does not change the predicted
class; only rounding and clipping do.
"""

from __future__ import annotations

import numpy as np

from firmware.network import Layer, Network, calibrate_shifts, feeds
from model.training.optimizers import Adam

# The digits CNN the chip runs (8x8 inputs, `small` config: the second convolution and
# the classifier are cut into parts by the scheduler).
DIGITS_CNN = Network("digits", (Layer("conv1", 8, 8, 3, 3, 1, 16, 1),
                                Layer("conv2", 6, 6, 3, 3, 16, 16, 1),
                                Layer("fc", 1, 1, 1, 1, 256, 10, 1)), "digits")
PIXEL_SCALE = 127  # [0, 1] pixels to INT8 activations


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


class FloatNetwork:
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

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.logits(x).argmax(axis=1) == y).mean())

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        layers = self.network.layers
        n = len(x)
        cache, logits = self._maps(x)
        zl = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(zl)
        p /= p.sum(axis=1, keepdims=True)
        loss = float(-np.log(p[np.arange(n), y] + 1e-300).mean())
        dz = p
        dz[np.arange(n), y] -= 1
        dz = (dz / n).reshape(cache[-1][1].shape)
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
        return loss, grads


def quantize_weights(w: list[np.ndarray]) -> list[np.ndarray]:
    """Symmetric per-layer INT8 weights (zero point 0, as the chip computes)."""
    return [np.clip(np.rint(wi / (np.abs(wi).max() / 127)), -127, 127).astype(np.int64)
            for wi in w]


def to_int8(images: np.ndarray) -> np.ndarray:
    """``N x 8 x 8`` pixels in [0, 1] as ``N x 8 x 8 x 1`` INT8 activations."""
    return np.rint(np.asarray(images) * PIXEL_SCALE).astype(np.int64)[..., None]


def train(network: Network, x: np.ndarray, y: np.ndarray, epochs: int = 20,
          lr: float = 0.003, batch: int = 32, seed: int = 0) -> FloatNetwork:
    """Adam on the cross-entropy of ``network``'s logits (``x`` as ``N x H x W x C``)."""
    net = FloatNetwork(network, seed)
    opt = Adam(lr)
    rng = np.random.default_rng([seed, 3])
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            _, grads = net.loss_and_grads(x[idx], y[idx])
            opt.step(net.w, grads)
    return net


def deploy(net: FloatNetwork, x_calibration: np.ndarray
           ) -> tuple[list[np.ndarray], list[int]]:
    """INT8 weights and the REQUANT shifts calibrated on ``x_calibration`` (INT8 maps)."""
    qs = quantize_weights(net.w)
    return qs, calibrate_shifts(net.network, qs, x_calibration)
