"""The float digits CNNs: the fixed split, the im2col, gradients against finite
differences, and the trainer."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradients

from model.training.cnn import (
    DIGITS_CNN,
    FloatNetwork,
    PooledCNN,
    digits_split,
    patches,
    train,
    train_network,
)


@pytest.fixture(scope="module")
def split():
    return digits_split()


def test_split_is_fixed_and_disjoint(split) -> None:
    again = digits_split()
    assert np.array_equal(split.x_test, again.x_test)
    assert len(split.x_train) + len(split.x_val) + len(split.x_test) == 1797
    assert split.x_train.max() <= 1.0


def test_patches_match_direct_convolution() -> None:
    x = np.random.default_rng(0).random((2, 8, 8))
    k = np.random.default_rng(1).standard_normal((3, 3))
    direct = np.array([[[np.sum(x[n, i:i + 3, j:j + 3] * k) for j in range(6)]
                        for i in range(6)] for n in range(2)])
    assert np.allclose(patches(x)[:, :9] @ k.ravel(), direct.ravel())


def test_gradients_match_finite_differences(split) -> None:
    net = PooledCNN(channels=4, seed=3)
    # Blank patches (most of a digit's border) give a pre-activation equal to the bias:
    # keep it off ReLU's kink so finite differences are meaningful.
    net.w[0][:, -1] = 0.1
    x, y = split.x_train[:6], split.y_train[:6]
    _, grads, stats = net.loss_and_grads(x, y)
    for layer in range(2):
        # K-FAC's statistics reproduce the gradient: dW = g^T a / batch.
        assert np.allclose(stats[layer].g.T @ stats[layer].a / len(x), grads[layer])
    check_gradients(lambda: net.loss_and_grads(x, y)[0], net.w, grads, samples=8)


def test_float_network_gradients_match_finite_differences() -> None:
    split = digits_split()
    net = FloatNetwork(DIGITS_CNN, seed=4)
    x, y = split.x_train[:5, :, :, None], split.y_train[:5]
    _, grads, stats = net.loss_and_grads(x, y)
    assert stats is None              # no K-FAC statistics: K-FAC refuses it
    check_gradients(lambda: net.loss_and_grads(x, y)[0], net.w, grads, samples=6, seed=1)


def test_train_network_learns_the_chip_cnn(split) -> None:
    net = train_network(DIGITS_CNN, split, epochs=2)
    assert net.accuracy(split.x_test, split.y_test) > 0.8   # chance is 0.1


def test_train_stops_at_a_non_finite_loss(split) -> None:
    """A diverging step ends the run: the history stops at the last finite epoch."""
    class Diverging:
        def step(self, w, grads, stats=None) -> None:
            for wi in w:
                wi[...] = np.nan

    hist = train(PooledCNN(4), Diverging(), split, 5, np.random.default_rng(0))
    assert hist.loss == [] and hist.test == []


def test_kernels_round_trip() -> None:
    net = PooledCNN(4, seed=1)
    ks = net.kernels()
    assert [k.shape for k in ks] == [(9, 4), (36, 10)]   # biases left out
    again = net.with_kernels(ks)
    assert all(np.array_equal(a, b) for a, b in zip(again.w, net.w, strict=True))
