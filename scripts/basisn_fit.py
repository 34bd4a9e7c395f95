"""BasisN fitting: reconstruction error per layer, and the digits CNN's accuracy.

Part 1, the digits CNN (`model/digits_cnn.py`, trained in float with Adam): for each K
and coefficient width, the per-layer reconstruction error and the test accuracy with the
BasisN weights, before and after fine-tuning the coefficients on the training split.
Part 2, the built-in networks (seeded synthetic weights, or ``--weights``-free names
only): mean and worst per-layer error for each K at the config's segment rows. Writes
everything as JSON.

    python scripts/basisn_fit.py [--config small] [--full-config aras]
        [--networks resnet50 vgg16] [--ks 32 64 128] [--out DIR]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware import (
    basisn,  # noqa: E402
    cli,  # noqa: E402
)
from firmware.config import load  # noqa: E402
from firmware.network import BUILTIN, builtin, synthetic_weights  # noqa: E402
from model.training.cnn import DigitsCNN, digits_split  # noqa: E402
from model.training.optimizers import Adam  # noqa: E402

DIGITS_GRID = [(4, 4), (8, 4), (8, 3), (16, 4), (16, 6), (32, 4)]  # (K, coefficient bits)


def train_float(split, epochs: int = 30, seed: int = 0) -> DigitsCNN:
    net = DigitsCNN(8, seed)
    opt = Adam(0.01)
    rng = np.random.default_rng([seed, 2])
    for _ in range(epochs):
        order = rng.permutation(len(split.x_train))
        for i in range(0, len(order), 32):
            idx = order[i:i + 32]
            _, g, st = net.loss_and_grads(split.x_train[idx], split.y_train[idx])
            opt.step(net.w, g, st)
    return net


def kernels(net: DigitsCNN) -> list[np.ndarray]:
    """The layers' unrolled kernels (``kernel_rows x filters``); biases stay digital."""
    return [w[:, :-1].T.copy() for w in net.w]


def with_kernels(net: DigitsCNN, ks: list[np.ndarray]) -> DigitsCNN:
    out = DigitsCNN(net.channels)
    out.w = [np.hstack([k.T, w[:, -1:]]) for k, w in zip(ks, net.w, strict=True)]
    return out


def digits_part(cfg, steps: int) -> dict:
    split = digits_split()
    net = train_float(split)
    acc = net.accuracy(split.x_test, split.y_test)
    rows = cfg.crossbar.rows
    print(f"digits CNN, float: {acc:.1%} test accuracy; segments of {rows} rows "
          f"(config {cfg.chip.name}); fine-tuning: {steps} Adam steps on batches of 64, "
          "the best on the validation split kept")
    print(f"{'K':>3s} {'bits':>4s} {'conv err':>8s} {'fc err':>7s} {'accuracy':>9s} "
          f"{'tuned':>7s} {'loss vs float':>13s}")
    rng = np.random.default_rng(5)

    def grad(recon: list[np.ndarray]) -> list[np.ndarray]:
        idx = rng.choice(len(split.x_train), 64, replace=False)
        _, g, _ = with_kernels(net, recon).loss_and_grads(split.x_train[idx],
                                                          split.y_train[idx])
        return [gi[:, :-1].T for gi in g]

    results = {"float_accuracy": acc, "rows": rows, "runs": []}
    for k, bits in DIGITS_GRID:
        if k > rows:
            continue
        bf = basisn.fit(kernels(net), rows, k, bits)
        errs = bf.errors(kernels(net))
        before = with_kernels(net, [bf.reconstruct(i) for i in range(2)]).accuracy(
            split.x_test, split.y_test)
        tuned = basisn.fine_tune(bf, grad, steps, score=lambda f: with_kernels(
            net, [f.reconstruct(i) for i in range(2)]).accuracy(split.x_val, split.y_val))
        after = with_kernels(net, [tuned.reconstruct(i) for i in range(2)]).accuracy(
            split.x_test, split.y_test)
        print(f"{k:3d} {bits:4d} {errs[0]:8.3f} {errs[1]:7.3f} {before:9.1%} {after:7.1%} "
              f"{after - acc:+13.1%}")
        results["runs"].append({"k": k, "bits": bits, "errors": errs, "accuracy": before,
                                "tuned_accuracy": after})
    return results


def networks_part(cfg, names: list[str], ks: list[int], bits: int) -> dict:
    rows = cfg.crossbar.rows
    print(f"\nbuilt-in networks, seeded synthetic weights, segments of {rows} rows "
          f"(config {cfg.chip.name}), {bits}-bit coefficients: per-layer relative error")
    print(f"{'network':13s} {'K':>4s} {'mean':>6s} {'worst':>6s} {'fit s':>6s}")
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
            print(f"{net.name:13s} {k:4d} {np.mean(errs):6.3f} {np.max(errs):6.3f} {dt:6.1f}")
            out[name][k] = {"errors": dict(zip([layer.name for layer in net.layers], errs,
                                               strict=True)), "seconds": dt}
    return out


def main() -> None:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="small", help="config for the digits CNN")
    ap.add_argument("--full-config", default="aras", help="config for the built-in networks")
    ap.add_argument("--networks", nargs="*", default=["resnet50"], choices=list(BUILTIN))
    ap.add_argument("--ks", type=cli.positive_int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--bits", type=cli.positive_int, default=4, help="coefficient bits (networks)")
    ap.add_argument("--steps", type=cli.positive_int, default=300,
                    help="fine-tuning steps (digits)")
    ap.add_argument("--out", type=Path, default=Path("build/basisn"))
    args = ap.parse_args()
    if args.out.exists() and not args.out.is_dir():
        sys.exit(f"--out {args.out}: is a file, expected a directory")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.steps < 0:
        sys.exit("expected --steps >= 0")
    try:
        res = {"digits": digits_part(load(args.config), args.steps),
               "networks": networks_part(load(args.full_config), args.networks, args.ks,
                                         args.bits)}
    except ValueError as exc:   # bad K or coefficient bits: the fit says which
        sys.exit(f"basisn_fit: {exc}")
    (args.out / "basisn_fit.json").write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out / 'basisn_fit.json'}")


if __name__ == "__main__":
    cli.run_main(main)
