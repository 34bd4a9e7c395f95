"""cocotb bench: run a batch of images on the chip with the analog models on its ports.

Inputs come from the environment (set by :mod:`cocotb_tests.runner`): ``PIM_CONFIG``, and
``PIM_BATCH``, a directory holding ``runs.json`` (the run directories, in order) and the
``current/`` files the harness reads and writes; ``PIM_JITTER`` (a seed) makes the analog
responders answer at random cycles inside their windows (``PIM_JITTER_LATE``, JSON
``{port: cycles}``: that many cycles past them, for the test that shows a late answer
is caught). Each run directory
gets the memory dumps and ``rtl.json`` with the chip's counters and what the analog
models saw. Before a run starts, the golden model runs the run's image (or the one in
``expected/``, when a test gives the scoreboard another image to expect) and the
scoreboard checks every analog transaction against it as it happens; the first mismatch
ends the run, written to ``scoreboard.txt`` in the run directory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import cocotb
from cocotb.triggers import Event, First, NextTimeStep, RisingEdge, Timer
from cocotb.utils import get_sim_time

# cocotb 1.9 installs pytest's assertion rewriter for every module imported after the test
# module ("python_files=*.py"); with bytecode caching off (PYTHONDONTWRITEBYTECODE) it then
# re-parses numpy and the models at every simulator start (0.35 of ~0.9 s). This module's
# own asserts are rewritten already; the models' need not be.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"]

from cocotb_tests.analog import (  # noqa: E402
    CrossbarReadResponder,
    CrossbarWriteMonitor,
    InvProgrammer,
    InvSolveResponder,
    Jitter,
    signal_int,
)
from cocotb_tests.scoreboard import Scoreboard, ScoreboardMismatchError  # noqa: E402
from firmware import config as config_mod  # noqa: E402
from firmware import image as image_mod  # noqa: E402
from firmware.isa import RTL_OPCODES, Fault  # noqa: E402
from model import golden  # noqa: E402
from model.crossbar import Crossbar  # noqa: E402
from model.inv_array import InvArray  # noqa: E402

COUNTERS = ("cycles", "stall_cycles", "write_busy_cycles", "overlap_cycles", "pulses")


@cocotb.test()
async def run_images(dut):
    """Run every image of the batch until the chip halts and the harness has dumped it."""
    cfg = config_mod.load(os.environ["PIM_CONFIG"])
    batch = Path(os.environ["PIM_BATCH"])
    runs = [Path(p) for p in json.loads((batch / "runs.json").read_text())]
    current = batch / "current"
    mismatch = Event()
    board = Scoreboard(on_mismatch=mismatch.set)
    await RisingEdge(dut.clk)   # the harness's clock period, for jittered answers
    t0 = get_sim_time("ps")
    await RisingEdge(dut.clk)
    period_ps = get_sim_time("ps") - t0
    late = json.loads(os.environ.get("PIM_JITTER_LATE") or "{}")
    jitter = Jitter(int(os.environ["PIM_JITTER"]), period_ps, late) \
        if os.environ.get("PIM_JITTER") else None
    cycle = lambda: signal_int(dut.cycles)  # noqa: E731 (read only to report a mismatch)
    reader = CrossbarReadResponder(dut, cfg, [], board, cycle, jitter)
    writer = CrossbarWriteMonitor(dut, cfg, [], board, cycle)
    solver = InvSolveResponder(dut, cfg, [], board, cycle, jitter)
    programmer = InvProgrammer(dut, cfg, [], board, cycle, jitter)
    for driver in (reader, writer, solver, programmer):
        cocotb.start_soon(driver.run())

    # The RTL watchdog bounds every run; this guard only catches a broken harness.
    slack = 10 * (2 * cfg.gb_words + 100)
    limit_ns = (cfg.sim.watchdog_cycles + slack) * 1000 // cfg.chip.clock_mhz
    for run in runs:
        for name in ("imem.hex", "dram.hex"):
            shutil.copyfile(run / "image" / name, current / name)
        xbars = [Crossbar(cfg, i) for i in range(cfg.n_crossbars)]
        reader.reset(xbars)
        writer.reset(xbars)
        invs = [InvArray(cfg, i) for i in range(cfg.inv.count)]
        solver.reset(invs)
        programmer.reset(invs)
        expected = run / "expected" if (run / "expected").is_dir() else run / "image"
        gold = golden.run(image_mod.read(expected, cfg), RTL_OPCODES)
        board.reset(gold.transactions)
        mismatch.clear()
        dut.start.value = 1
        result = await First(RisingEdge(dut.done), Timer(limit_ns, "ns"), mismatch.wait())
        if not board.failed:
            assert isinstance(result, RisingEdge) and dut.done.value == 1, (
                f"{run}: the harness did not finish within {limit_ns} ns although the RTL "
                f"watchdog is {cfg.sim.watchdog_cycles} cycles: the harness or watchdog is "
                "broken")
            if int(dut.fault.value) != Fault.WATCHDOG:   # a watchdog stops mid-program
                board.leftover(cycle)
        if board.failed:
            (run / "scoreboard.txt").write_text(board.mismatch + "\n")
            raise ScoreboardMismatchError(f"{run}: {board.mismatch}")
        report = {name: int(getattr(dut, name).value) for name in COUNTERS}
        banks = int(dut.bank_active_cycles.value)
        report["bank_active_cycles"] = [(banks >> (64 * i)) & ((1 << 64) - 1)
                                        for i in range(len(cfg.global_buffer.bank_bytes))]
        report.update(fault=int(dut.fault.value), pc=int(dut.pc.value),
                      model_pulses=writer.pulses, model_rows_written=writer.rows,
                      analog_reads=reader.requests, inv_solves=solver.solves,
                      inv_programs=programmer.programs,
                      answer_delays=jitter.delays if jitter else {})
        if jitter:
            jitter.delays = {}   # per run
        for name in ("dram_out.hex", "gb_out.hex"):
            shutil.copyfile(current / name, run / name)
        (run / "rtl.json").write_text(json.dumps(report, indent=2) + "\n")
        dut.start.value = 0
        while dut.done.value == 1:
            await NextTimeStep()
