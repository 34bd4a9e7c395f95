"""cocotb bench: run a batch of images on the chip with the analog models on its ports.

Inputs come from the environment (set by :mod:`cocotb_tests.runner`): ``PIM_CONFIG``, and
``PIM_BATCH``, a directory holding ``runs.json`` (the run directories, in order) and the
``current/`` files the harness reads and writes. Each run directory gets the memory dumps
and ``rtl.json`` with the chip's counters and what the analog models saw.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import cocotb
from cocotb.triggers import First, NextTimeStep, RisingEdge, Timer

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
)
from firmware import config as config_mod  # noqa: E402
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
    reader = CrossbarReadResponder(dut, cfg, [])
    writer = CrossbarWriteMonitor(dut, cfg, [])
    solver = InvSolveResponder(dut, cfg, [])
    programmer = InvProgrammer(dut, cfg, [])
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
        dut.start.value = 1
        result = await First(RisingEdge(dut.done), Timer(limit_ns, "ns"))
        assert isinstance(result, RisingEdge) and dut.done.value == 1, (
            f"{run}: the harness did not finish within {limit_ns} ns although the RTL "
            f"watchdog is {cfg.sim.watchdog_cycles} cycles: the harness or watchdog is broken")
        report = {name: int(getattr(dut, name).value) for name in COUNTERS}
        banks = int(dut.bank_active_cycles.value)
        report["bank_active_cycles"] = [(banks >> (64 * i)) & ((1 << 64) - 1)
                                        for i in range(len(cfg.global_buffer.bank_bytes))]
        report.update(fault=int(dut.fault.value), pc=int(dut.pc.value),
                      model_pulses=writer.pulses, model_rows_written=writer.rows,
                      analog_reads=reader.requests, inv_solves=solver.solves,
                      inv_programs=programmer.programs)
        for name in ("dram_out.hex", "gb_out.hex"):
            shutil.copyfile(current / name, run / name)
        (run / "rtl.json").write_text(json.dumps(report, indent=2) + "\n")
        dut.start.value = 0
        while dut.done.value == 1:
            await NextTimeStep()
