"""The co-simulation speed helpers without a simulator: the harness-alone command and
its failure check (the timed runs themselves are ``scripts/bench_cosim.py``'s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cocotb_tests import runner
from cocotb_tests.speed import standalone, time_alone
from firmware import config
from firmware.image import Image
from firmware.isa import Instruction


def _halt(cfg: config.Config) -> Image:
    return Image.build(cfg, [Instruction.make("HALT")], [0] * cfg.dram_words)


def test_icarus_alone_runs_the_bench_build(tmp_path: Path) -> None:
    cfg = config.load("small")
    assert standalone(cfg, "icarus", tmp_path) == [
        "vvp", "-n", str(runner.build_dir(cfg, "icarus", False) / "sim.vvp")]


def test_a_harness_that_does_not_halt_is_an_error(tmp_path: Path) -> None:
    """``true`` exits 0 without printing ``halted after``: not a timing to report."""
    cfg = config.load("small")
    assert time_alone(["echo", "halted after 1 cycles"], _halt(cfg), tmp_path, 2) > 0
    with pytest.raises(RuntimeError, match="true .*failed"):
        time_alone(["true"], _halt(cfg), tmp_path, 1)
