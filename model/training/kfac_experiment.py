"""The second-order training experiment: epochs to a target accuracy for the digits
:class:`~model.training.cnn.PooledCNN` under six optimizers.

SGD with momentum, Adam, float K-FAC (full factors), float K-FAC on the INV arrays'
diagonal blocks, analog one-step K-FAC and analog refined K-FAC (factor solves through
the INV array model of the config). Each optimizer's learning rate is tuned on the
validation split for the first target (tuning seeds apart from the reported seeds); the
reported seeds then train for a fixed number of epochs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware.config import Config
from model.training.cnn import History, PooledCNN, Split, epochs_to, train
from model.training.factor_solvers import make_solver
from model.training.optimizers import KFAC, Adam, SGDMomentum

#: Learning rates tried per optimizer.
GRIDS = {
    "sgd-momentum": [0.05, 0.1, 0.2, 0.5, 1.0],
    "adam": [3e-3, 1e-2, 3e-2, 0.1],
    "kfac-float": [0.001, 0.002, 0.005, 0.01, 0.02],
    "kfac-float-block": [0.001, 0.002, 0.005, 0.01, 0.02],
    "kfac-one-step": [0.001, 0.002, 0.005, 0.01, 0.02],
    "kfac-refined": [0.001, 0.002, 0.005, 0.01, 0.02],
}
TUNING_SEEDS = (100, 101, 102)
CHANNELS = 8
BATCH = 32


def optimizer(name: str, lr: float, cfg: Config) -> SGDMomentum | Adam | KFAC:
    """A fresh optimizer of ``GRIDS``' ``name``; K-FAC's factor solver is named after the
    ``kfac-`` prefix (see :func:`~model.training.factor_solvers.make_solver`)."""
    if name == "sgd-momentum":
        return SGDMomentum(lr)
    if name == "adam":
        return Adam(lr)
    return KFAC(lr, make_solver(name.removeprefix("kfac-"), cfg))


def run(opt, split: Split, seed: int, epochs: int,
        stop_at: tuple[float, str] | None = None) -> History:
    """Train a fresh :class:`PooledCNN` (initialized and shuffled by ``seed``) with ``opt``."""
    return train(PooledCNN(CHANNELS, seed), opt, split, epochs,
                 np.random.default_rng([seed, 1]), BATCH, stop_at)


def tune(name: str, cfg: Config, split: Split, target: float, epochs: int
         ) -> tuple[float, dict]:
    """The learning rate with the fewest mean epochs to ``target`` validation accuracy
    (a run that never gets there counts ``epochs + 1``)."""
    scores = {}
    for lr in GRIDS[name]:
        runs = [run(optimizer(name, lr, cfg), split, s, epochs, stop_at=(target, "val"))
                for s in TUNING_SEEDS]
        scores[lr] = float(np.mean([h.epochs_to(target, "val") or epochs + 1 for h in runs]))
    return min(scores, key=scores.get), scores


def run_optimizer(name: str, cfg: Config, split: Split, target: float, seeds: int,
                  epochs: int) -> dict:
    """``name`` tuned for ``target``, then trained on seeds ``0..seeds-1``: its learning
    rate, the tuning scores, the test accuracy curves and the factor solvers' counts."""
    lr, scores = tune(name, cfg, split, target, epochs)
    curves, solver_stats = [], []
    for seed in range(seeds):
        opt = optimizer(name, lr, cfg)
        curves.append(run(opt, split, seed, epochs).test)
        if hasattr(opt, "solver"):
            solver_stats.append(vars(opt.solver.stats))
    return {"lr": lr, "tuning": scores, "curves": curves, "solver": solver_stats}


def summarize(results: dict, target: float) -> None:
    """Add each optimizer's epochs to ``target`` (per run, mean, deviation) to ``results``."""
    for r in results.values():
        reached = [epochs_to(c, target) for c in r["curves"]]
        got = [e for e in reached if e is not None]
        r.setdefault("epochs", {})[str(target)] = {
            "runs": reached, "mean": float(np.mean(got)) if got else None,
            "std": float(np.std(got)) if got else None}


def table(results: dict, target: float, seeds: int, epochs: int) -> str:
    """Epochs to ``target`` per optimizer against SGD-m and Adam (after :func:`summarize`)."""
    lines = [f"\nepochs to {target:.0%} test accuracy ({seeds} seeds, at most "
             f"{epochs} epochs)",
             f"{'optimizer':18s} {'lr':>7s} {'mean':>6s} {'std':>5s} {'missed':>6s} "
             f"{'vs SGD-m':>9s} {'vs Adam':>8s} {'INV iters/solve':>15s}"]
    key = str(target)
    base = [results[k]["epochs"][key]["mean"] for k in ("sgd-momentum", "adam")]
    for name, r in results.items():
        e = r["epochs"][key]
        rel = [f"{1 - e['mean'] / b:+.0%}" if e["mean"] and b else "-" for b in base]
        st = r["solver"]
        solves = sum(s["solves"] for s in st)
        iters = f"{sum(s['iterations'] for s in st) / solves:.2f}" if solves else "-"
        mean = f"{e['mean']:.1f}" if e["mean"] else "-"
        std = f"{e['std']:.1f}" if e["std"] is not None else "-"
        missed = sum(x is None for x in e["runs"])
        lines.append(f"{name:18s} {r['lr']:7.4g} {mean:>6s} {std:>5s} {missed:6d} "
                     f"{rel[0]:>9s} {rel[1]:>8s} {iters:>15s}")
    lines.append("(vs X: fewer epochs than X, as a fraction of X's; the paper: K-FAC on the "
                 "analog INV 26% fewer than SGD-m, 61% fewer than Adam; missed runs are left "
                 "out of the mean)")
    return "\n".join(lines)


def plot(results: dict, targets: list[float], seeds: int, path: Path) -> None:
    """Learning curves (mean over seeds, min-max band) with the targets as lines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in results.items():
        c = np.array(r["curves"])
        x = np.arange(1, c.shape[1] + 1)
        line, = ax.plot(x, c.mean(axis=0), label=f"{name} (lr {r['lr']:g})")
        ax.fill_between(x, c.min(axis=0), c.max(axis=0), color=line.get_color(), alpha=0.15)
    for target in targets:
        ax.axhline(target, color="k", lw=0.8, ls="--")
    ax.set(xlabel="epoch", ylabel="test accuracy", ylim=(0.5, 1.0),
           title=f"digits CNN, {seeds} seeds (mean, min-max band)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
