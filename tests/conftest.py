"""Shared fixtures: the shipped configs."""

from __future__ import annotations

import os

import pytest

from cocotb_tests import runner
from firmware import config


@pytest.fixture(scope="session")
def tiny() -> config.Config:
    return config.load("tiny")


@pytest.fixture(scope="session")
def aras() -> config.Config:
    return config.load("aras")


@pytest.fixture(scope="session")
def small() -> config.Config:
    return config.load("small")


# ---- markers: a test that builds or runs the RTL in a simulator must say so ----------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Switch simulation off (``PIM_NO_SIM``, inherited by ``make sim`` subprocesses) for
    every test not marked ``cosim``: a co-simulating test without the marker fails
    instead of slowing ``make test-fast``. Module and session fixtures are set up inside
    the first test that uses them, so a fixture that co-simulates is caught there too."""
    if item.get_closest_marker("cosim") is not None:
        yield
        return
    old = os.environ.get(runner.NO_SIM_ENV)
    os.environ[runner.NO_SIM_ENV] = (f"{item.nodeid} is not marked cosim: add "
                                     "@pytest.mark.cosim or pytestmark = pytest.mark.cosim")
    try:
        yield
    finally:
        if old is None:
            del os.environ[runner.NO_SIM_ENV]
        else:
            os.environ[runner.NO_SIM_ENV] = old
