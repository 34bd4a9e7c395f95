"""Constrained-random regression: 120 seeded programs per config on both simulators.

The programs run on arbitrary memory contents and out-of-range field values, not only on
what the scheduler would emit (see :mod:`firmware.programs.random`).

Every program's RTL run must equal the golden model (memories, fault, pulses) and the
timing model (cycles and counters), and Icarus must equal Verilator. 3 configs x 120
programs = 360 programs, each on both simulators, in six batched simulations; small-wide
is small with main memory at 1.5 words per cycle (a 2-word port).
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import pytest

from cocotb_tests import runner
from firmware import config
from firmware.isa import RTL_OPCODES, VEC_NARROW, Fault, Opcode, SfuFunc, VmmOut
from firmware.programs.random import random_program
from model import checker, golden, timing

PROGRAMS = 120
CONFIGS = ["tiny", "small", "small-wide"]
#: The analog responders answer at seeded random cycles inside their windows.
JITTER = {"tiny": 1, "small": 2, "small-wide": 3}
pytestmark = pytest.mark.cosim
#: One xdist worker per config runs its batches, so no batch is simulated twice.
CONFIG_PARAMS = [pytest.param(name, marks=pytest.mark.xdist_group(f"random-{name}"))
                 for name in CONFIGS]


@functools.cache
def _batch(name: str, sim: str, root: str) -> list[runner.RtlRun]:
    cfg = config.load(name)
    images = [random_program(cfg, seed) for seed in range(PROGRAMS)]
    return runner.run_batch(images, sim, Path(root) / f"random-{name}-{sim}",
                            jitter=JITTER[name])


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("random"))


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("name", CONFIG_PARAMS)
def test_random_programs_match_models(name: str, sim: str, root: str) -> None:
    cfg = config.load(name)
    runs = _batch(name, sim, root)
    failures = []
    for seed, rtl in enumerate(runs):
        gold = golden.run(random_program(cfg, seed), RTL_OPCODES)
        checks = checker.compare(gold, timing.simulate(cfg, gold), rtl.counters, rtl.gb,
                                 rtl.dram, cfg.gb_bits, cfg.dram_bits)
        if not all(c.ok for c in checks):
            failures.append(f"seed {seed} ({rtl.out_dir}):\n{checker.format_table(checks)}")
    assert not failures, f"{len(failures)} of {len(runs)} programs differ:\n" + \
        "\n".join(failures[:3])


@pytest.mark.parametrize("name", CONFIG_PARAMS)
def test_random_icarus_equals_verilator(name: str, root: str) -> None:
    for a, b in zip(_batch(name, "icarus", root), _batch(name, "verilator", root), strict=True):
        assert a.counters == b.counters, a.out_dir
        assert a.gb == b.gb and a.dram == b.dram, a.out_dir


@pytest.mark.parametrize("name", CONFIG_PARAMS)
def test_random_programs_cover_the_rtl(name: str, root: str) -> None:
    """The generator is only useful if it reaches everything: check what it exercised."""
    cfg = config.load(name)
    ops, faults, overlapped = Counter(), Counter(), 0
    parallel_vmms = group_writes = shifted_vmms = digits = combines = 0
    grouped = replicated = requantized = arbitrary_writes = narrow_vecs = window_vecs = 0
    for seed, rtl in enumerate(_batch(name, "icarus", root)):
        gold = golden.run(random_program(cfg, seed), RTL_OPCODES)
        ops.update(e.insn.opcode for e in gold.trace)
        narrow_vecs += sum(e.insn.opcode == Opcode.VEC and e.insn.func in VEC_NARROW
                           and e.insn.count > 0 for e in gold.trace)
        windows = 1
        for e in gold.trace:      # windowed VECs over several windows
            if e.insn.opcode == Opcode.WINDOW:
                windows = max(1, e.insn.count)
            window_vecs += (e.insn.opcode == Opcode.VEC and e.insn.windowed
                            and e.insn.count > 0 and windows > 1)
        parallel_vmms += sum(e.insn.opcode == Opcode.VMM and e.insn.nrows > 1
                             for e in gold.trace)
        group_writes += sum(e.insn.opcode == Opcode.WRITE_START and e.insn.nxbars > 1
                            for e in gold.trace)
        shifted_vmms += sum(e.insn.opcode == Opcode.VMM and e.insn.shift > 0
                            for e in gold.trace)
        digits += sum(e.insn.opcode == Opcode.SFU and e.insn.func == SfuFunc.DIGIT
                      for e in gold.trace)
        grouped += sum(e.insn.opcode == Opcode.VMM and e.insn.ngroups > 1
                       for e in gold.trace)
        replicated += sum(e.insn.opcode == Opcode.VMM and e.insn.replicas > 1
                          for e in gold.trace)
        requantized += sum(e.insn.opcode == Opcode.VMM and e.insn.mode != VmmOut.INT32
                           for e in gold.trace)
        combines += sum(e.insn.opcode == Opcode.COMBINE and e.insn.m * e.insn.ngroups > 0
                        for e in gold.trace)
        # Writes whose deltas are the arbitrary words at the start of main memory.
        arbitrary_writes += sum(e.insn.opcode == Opcode.WRITE_START
                                and e.insn.dram_addr < cfg.gb_words for e in gold.trace)
        faults[Fault(rtl.counters["fault"])] += 1
        overlapped += rtl.counters["overlap_cycles"] > 0
    assert set(ops) == set(RTL_OPCODES), set(RTL_OPCODES) - set(ops)
    assert ops[Opcode.VMM] > PROGRAMS
    assert parallel_vmms > PROGRAMS // 4, parallel_vmms    # VMMs over several APU rows
    assert group_writes > PROGRAMS // 10, group_writes     # lockstep crossbar groups
    assert shifted_vmms > PROGRAMS // 4, shifted_vmms      # sliced weights / wide inputs
    assert digits > PROGRAMS // 20, digits                 # SFU DIGIT
    assert combines > PROGRAMS // 6, combines              # BasisN combinations
    assert grouped > PROGRAMS // 20, grouped               # column groups in parallel
    assert replicated >= 2, replicated                     # windows on replicas
    assert requantized > PROGRAMS // 20, requantized       # INT8 on the way out
    assert narrow_vecs > PROGRAMS // 6, narrow_vecs        # VEC on INT8 lanes
    assert window_vecs > PROGRAMS // 10, window_vecs       # VEC over the window loop
    # A quarter of the programs redraw one field over its whole width, most often into
    # a fault: the fault-free share is lower than with scheduler-like operands only.
    assert faults[Fault.NONE] > PROGRAMS * 0.55, faults
    assert len(faults) >= 6, faults
    assert arbitrary_writes > PROGRAMS // 4, arbitrary_writes  # deltas nobody chose
    assert overlapped > PROGRAMS // 2


@pytest.mark.parametrize("name", CONFIG_PARAMS)
def test_jittered_answers_cover_their_windows(name: str, root: str) -> None:
    """The responders answered all over their windows, first cycle to last, and the
    results and cycles above still matched the models."""
    cfg = config.load(name)
    windows = {"xbar_read": cfg.crossbar.bitplane_cycles, "inv_solve": cfg.inv.solve_cycles}
    seen: dict[str, list[int]] = {}
    for rtl in _batch(name, "verilator", root):
        for port, (lo, hi, n) in rtl.counters["answer_delays"].items():
            a = seen.setdefault(port, [lo, hi, 0])
            seen[port] = [min(a[0], lo), max(a[1], hi), a[2] + n]
    assert seen["xbar_read"][:2] == [0, windows["xbar_read"] - 1], seen
    lo, hi, _ = seen["inv_solve"]
    assert lo < windows["inv_solve"] // 4 and hi > 3 * windows["inv_solve"] // 4, seen
    assert seen["inv_program"][2] > 0, seen
