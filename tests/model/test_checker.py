"""The checker can fail: a passing co-simulation, perturbed one thing at a time, fails
exactly the check that guards that thing, and names what differs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from cocotb_tests import runner
from firmware import config
from firmware.isa import RTL_OPCODES, Fault
from firmware.programs.random import random_program
from model import checker, golden, timing

#: A random tiny program that gates a bank, writes and reads crossbars, and programs and
#: solves an INV array without a fault, so every check has something to compare.
SEED = 13
pytestmark = [pytest.mark.cosim]


@pytest.fixture(scope="module")
def passing(tmp_path_factory) -> tuple:
    cfg = config.load("tiny")
    image = random_program(cfg, SEED)
    gold = golden.run(image, RTL_OPCODES)
    tim = timing.simulate(cfg, gold)
    rtl = runner.run(image, "icarus", Path(tmp_path_factory.mktemp("checker")) / "run")
    checks = checker.compare(gold, tim, rtl.counters, rtl.gb, rtl.dram, cfg.gb_bits,
                             cfg.dram_bits)
    assert all(c.ok for c in checks), checker.format_table(checks)
    assert gold.fault == Fault.NONE and all(gold.port_counts().values())
    assert len(set(tim.bank_active_cycles)) > 1        # a bank was gated for a while
    return cfg, gold, tim, rtl


def _bump(key: str, by: int = 1) -> Callable[[dict, list, list], None]:
    def change(counters: dict, gb: list, dram: list) -> None:
        counters[key] += by
    return change


def _bank(i: int) -> Callable[[dict, list, list], None]:
    def change(counters: dict, gb: list, dram: list) -> None:
        counters["bank_active_cycles"][i] -= 1
    return change


def _word(memory: str, k: int) -> Callable[[dict, list, list], None]:
    def change(counters: dict, gb: list, dram: list) -> None:
        words = gb if memory == "gb" else dram
        words[k] ^= 1 << 63
    return change


def _fault(counters: dict, gb: list, dram: list) -> None:
    counters["fault"] = int(Fault.GB_RANGE)


def _drop(key: str) -> Callable[[dict, list, list], None]:
    def change(counters: dict, gb: list, dram: list) -> None:
        del counters[key]
    return change


PERTURBATIONS = {
    "cycles+1": (_bump("cycles"), "cycles"),
    "cycles-1": (_bump("cycles", -1), "cycles"),
    "stall_cycles": (_bump("stall_cycles"), "stall_cycles"),
    "write_busy_cycles": (_bump("write_busy_cycles", -1), "write_busy_cycles"),
    "overlap_cycles": (_bump("overlap_cycles"), "overlap_cycles"),
    "pulses": (_bump("pulses"), "pulses"),
    "model_pulses": (_bump("model_pulses", -1), "analog-model pulses"),
    "analog_reads": (_bump("analog_reads"), "crossbar reads"),
    "model_rows_written": (_bump("model_rows_written", -1), "row writes"),
    "inv_programs": (_bump("inv_programs"), "INV programs"),
    "inv_solves": (_bump("inv_solves", -1), "INV solves"),
    "fault": (_fault, "fault"),
    "gb_word_first": (_word("gb", 0), "global buffer"),
    "gb_word_last": (_word("gb", -1), "global buffer"),
    "dram_word_first": (_word("dram", 0), "main memory"),
    "dram_word_middle": (_word("dram", 1000), "main memory"),
    **{f"bank{i}": (_bank(i), "bank active cycles")
       for i in range(len(config.load("tiny").global_buffer.bank_bytes))},
    # A count the run did not report fails its check instead of vanishing from the table.
    "no_model_pulses": (_drop("model_pulses"), "analog-model pulses"),
    "no_analog_reads": (_drop("analog_reads"), "crossbar reads"),
    "no_inv_solves": (_drop("inv_solves"), "INV solves"),
}


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_one_perturbation_fails_exactly_its_check(passing, name: str) -> None:
    cfg, gold, tim, rtl = passing
    change, failing = PERTURBATIONS[name]
    counters, gb, dram = copy.deepcopy(rtl.counters), list(rtl.gb), list(rtl.dram)
    change(counters, gb, dram)
    checks = checker.compare(gold, tim, counters, gb, dram, cfg.gb_bits, cfg.dram_bits)
    assert [c.name for c in checks if not c.ok] == [failing], checker.format_table(checks)


@pytest.mark.parametrize("memory, k", [("gb", 5), ("dram", 1000)])
def test_a_memory_mismatch_names_the_word(passing, memory: str, k: int) -> None:
    cfg, gold, tim, rtl = passing
    gb, dram = list(rtl.gb), list(rtl.dram)
    _word(memory, k)({}, gb, dram)
    checks = checker.compare(gold, tim, rtl.counters, gb, dram, cfg.gb_bits, cfg.dram_bits)
    bad = next(c for c in checks if not c.ok)
    assert bad.expected.startswith(f"word {k} = ") and "(1 words differ)" in bad.observed


def test_the_bank_count_must_match_too(passing) -> None:
    """A bank missing from the RTL's report is a mismatch, not a shorter comparison."""
    cfg, gold, tim, rtl = passing
    counters = copy.deepcopy(rtl.counters)
    counters["bank_active_cycles"] = counters["bank_active_cycles"][:-1]
    checks = checker.compare(gold, tim, counters, rtl.gb, rtl.dram, cfg.gb_bits,
                             cfg.dram_bits)
    assert [c.name for c in checks if not c.ok] == ["bank active cycles"]
