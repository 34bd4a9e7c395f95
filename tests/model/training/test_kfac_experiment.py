"""The second-order training experiment: K-FAC beats SGD with momentum, the optimizers
by name, and the epochs table."""

from __future__ import annotations

import pytest

from firmware.config import load
from model.training import kfac_experiment
from model.training.cnn import digits_split
from model.training.factor_solvers import make_solver
from model.training.optimizers import KFAC, Adam, SGDMomentum

CFG = load("aras")


@pytest.fixture(scope="module")
def split():
    return digits_split()


def test_kfac_needs_fewer_epochs_than_sgd(split) -> None:
    """The experiment's claim on one seed, at its tuned learning rates: refined analog
    K-FAC reaches 95% test accuracy in fewer epochs than SGD with momentum."""
    k = kfac_experiment.run(KFAC(0.005, make_solver("refined", CFG)), split, 0, 20,
                            stop_at=(0.95, "test"))
    s = kfac_experiment.run(SGDMomentum(0.5), split, 0, 20, stop_at=(0.95, "test"))
    assert k.epochs_to(0.95) is not None
    assert s.epochs_to(0.95) is None or k.epochs_to(0.95) < s.epochs_to(0.95)


def test_optimizers_by_name() -> None:
    assert isinstance(kfac_experiment.optimizer("sgd-momentum", 0.1, CFG), SGDMomentum)
    assert isinstance(kfac_experiment.optimizer("adam", 0.1, CFG), Adam)
    for name in kfac_experiment.GRIDS:
        if name.startswith("kfac-"):
            opt = kfac_experiment.optimizer(name, 0.1, CFG)
            assert opt.solver.name == name.removeprefix("kfac-")


def test_table_counts_epochs_and_missed_runs() -> None:
    """Curves by hand: epochs to the target per run, missed runs apart, ratios to SGD-m
    and Adam, and the INV iterations per solve from the solver counts."""
    results = {
        "sgd-momentum": {"lr": 0.5, "curves": [[0.5, 0.96], [0.9, 0.9]], "solver": []},
        "adam": {"lr": 0.03, "curves": [[0.96, 0.97], [0.5, 0.99]], "solver": []},
        "kfac-refined": {"lr": 0.01, "curves": [[0.97], [0.98]],
                         "solver": [{"solves": 4, "iterations": 10}]},
    }
    kfac_experiment.summarize(results, 0.95)
    assert results["sgd-momentum"]["epochs"]["0.95"] == {"runs": [2, None], "mean": 2.0,
                                                         "std": 0.0}
    assert results["adam"]["epochs"]["0.95"]["mean"] == 1.5
    text = kfac_experiment.table(results, 0.95, seeds=2, epochs=2)
    sgd, adam, kfac = text.splitlines()[3:6]
    assert sgd.split()[2:5] == ["2.0", "0.0", "1"]
    assert kfac.split()[2:] == ["1.0", "0.0", "0", "+50%", "+33%", "2.50"]
    assert adam.split()[-1] == "-"
