"""BasisN fitting: reconstruction error per layer, and the digits CNN's accuracy.

:func:`digits`: the digits :class:`~model.training.cnn.PooledCNN` (trained in float
with Adam): for each K and coefficient width, the per-layer reconstruction error and the
test accuracy with the BasisN weights, before and after fine-tuning the coefficients on
the training split. :func:`networks`: the built-in networks (seeded synthetic weights):
mean and worst per-layer error for each K at the config's segment rows. Each prints its
table through ``log`` as it goes and returns everything for JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from firmware import basisn
from firmware.config import Config
from firmware.network import builtin, synthetic_weights
from model.training.cnn import PooledCNN, Split, digits_split, train
from model.training.optimizers import Adam

DIGITS_GRID = [(4, 4), (8, 4), (8, 3), (16, 4), (16, 6), (32, 4)]  # (K, coefficient bits)
TUNE_BATCH = 64


def train_float(split: Split, epochs: int = 30, seed: int = 0) -> PooledCNN:
    """The float CNN the fits approximate (Adam, learning rate 0.01)."""
    net = PooledCNN(8, seed)
    train(net, Adam(0.01), split, epochs, np.random.default_rng([seed, 2]))
    return net


def digits(cfg: Config, steps: int, log: Callable[[str], None] = print) -> dict:
    """The digits CNN's fits at ``cfg``'s segment rows, fine-tuned for ``steps`` steps."""
    split = digits_split()
    net = train_float(split)
    acc = net.accuracy(split.x_test, split.y_test)
    rows = cfg.crossbar.rows
    log(f"digits CNN, float: {acc:.1%} test accuracy; segments of {rows} rows "
        f"(config {cfg.chip.name}); fine-tuning: {steps} Adam steps on batches of "
        f"{TUNE_BATCH}, the best on the validation split kept")
    log(f"{'K':>3s} {'bits':>4s} {'conv err':>8s} {'fc err':>7s} {'accuracy':>9s} "
        f"{'tuned':>7s} {'loss vs float':>13s}")
    rng = np.random.default_rng(5)

    def grad(recon: list[np.ndarray]) -> list[np.ndarray]:
        idx = rng.choice(len(split.x_train), TUNE_BATCH, replace=False)
        _, g, _ = net.with_kernels(recon).loss_and_grads(split.x_train[idx],
                                                         split.y_train[idx])
        return [gi[:, :-1].T for gi in g]

    def accuracy(f: basisn.BasisFit, x: np.ndarray, y: np.ndarray) -> float:
        return net.with_kernels([f.reconstruct(i) for i in range(2)]).accuracy(x, y)

    results = {"float_accuracy": acc, "rows": rows, "runs": []}
    for k, bits in DIGITS_GRID:
        if k > rows:
            continue
        bf = basisn.fit(net.kernels(), rows, k, bits)
        errs = bf.errors(net.kernels())
        before = accuracy(bf, split.x_test, split.y_test)
        tuned = basisn.fine_tune(bf, grad, steps,
                                 score=lambda f: accuracy(f, split.x_val, split.y_val))
        after = accuracy(tuned, split.x_test, split.y_test)
        log(f"{k:3d} {bits:4d} {errs[0]:8.3f} {errs[1]:7.3f} {before:9.1%} {after:7.1%} "
            f"{after - acc:+13.1%}")
        results["runs"].append({"k": k, "bits": bits, "errors": errs, "accuracy": before,
                                "tuned_accuracy": after})
    return results


def networks(cfg: Config, names: list[str], ks: list[int], bits: int,
             log: Callable[[str], None] = print) -> dict:
    """Per built-in network and K: the layers' relative errors and the fit's seconds."""
    rows = cfg.crossbar.rows
    log(f"\nbuilt-in networks, seeded synthetic weights, segments of {rows} rows "
        f"(config {cfg.chip.name}), {bits}-bit coefficients: per-layer relative error")
    log(f"{'network':13s} {'K':>4s} {'mean':>6s} {'worst':>6s} {'fit s':>6s}")
    out = {}
    for name in names:
        net = builtin(name)
        ws = [synthetic_weights(layer, 0, i).dequantize().astype(np.float32)
              for i, layer in enumerate(net.layers)]
        out[name] = {}
        for k in ks:
            t0 = time.perf_counter()
            bf = basisn.fit(ws, rows, k, bits, refinements=2)
            errs = bf.errors(ws)
            dt = time.perf_counter() - t0
            log(f"{net.name:13s} {k:4d} {np.mean(errs):6.3f} {np.max(errs):6.3f} {dt:6.1f}")
            out[name][k] = {"errors": dict(zip([layer.name for layer in net.layers], errs,
                                               strict=True)), "seconds": dt}
    return out
