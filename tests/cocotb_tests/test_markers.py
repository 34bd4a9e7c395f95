"""The ``cosim`` marker cannot lie: a test without it runs with simulation switched off."""

from __future__ import annotations

import os

import pytest

from cocotb_tests import runner
from firmware import config


def test_an_unmarked_test_cannot_start_a_simulator(request) -> None:
    assert request.node.nodeid in os.environ[runner.NO_SIM_ENV]
    with pytest.raises(runner.SimulationDisabledError, match="is not marked cosim"):
        runner.build(config.load("tiny"), "icarus")


@pytest.mark.cosim
def test_a_marked_test_may() -> None:
    assert runner.NO_SIM_ENV not in os.environ


def test_the_switch_names_its_reason(monkeypatch) -> None:
    monkeypatch.setenv(runner.NO_SIM_ENV, "models only")
    with pytest.raises(runner.SimulationDisabledError, match=r"PIM_NO_SIM is set \(models only\)"):
        runner.require_simulator("icarus")
    monkeypatch.delenv(runner.NO_SIM_ENV)
    runner.require_simulator("icarus")   # installed on every machine the suite runs on
