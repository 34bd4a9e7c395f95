"""Shared fixtures: the shipped configs."""

from __future__ import annotations

import pytest

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
