"""cocotb bench: run a batch of images on the chip with the analog models on its ports.

Inputs come from the environment (set by :mod:`cocotb_tests.runner`): ``PIM_CONFIG``, and
``PIM_BATCH``, a directory holding ``runs.json`` (the run directories, in order) and the
``current/`` files the harness reads and writes; ``PIM_JITTER`` (a seed) makes the analog
responders answer at random cycles inside their windows (``PIM_JITTER_FIXED``, JSON
``{port: cycles}``: exactly that many cycles in, for the tests of each window's edge).
Each run directory gets the memory dumps and ``rtl.json`` with the chip's counters and
what the analog models saw. Before a run starts, the golden model runs the run's image
(or the one in ``expected/``, when a test gives the scoreboard another image to expect)
and the scoreboard checks every analog transaction against it as it happens; the first
mismatch ends the run, written to ``scoreboard.txt`` in the run directory.
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

from cocotb_tests.drivers import (  # noqa: E402
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
from firmware.assembler import format_insn  # noqa: E402
from firmware.isa import INSN_BITS, RTL_OPCODES, Fault, decode  # noqa: E402
from model import golden  # noqa: E402
from model.analog.crossbar import Crossbar  # noqa: E402
from model.analog.inv_array import InvArray  # noqa: E402

COUNTERS = ("cycles", "stall_cycles", "write_busy_cycles", "overlap_cycles", "pulses")


@cocotb.test()
async def run_images(dut):
    """Run every image of the batch until the chip halts and the harness has dumped it."""
    cfg = config_mod.load(os.environ["PIM_CONFIG"])
    batch = Path(os.environ["PIM_BATCH"])
    runs = [Path(p) for p in json.loads((batch / "runs.json").read_text())]
    current = batch / "current"
    mismatch = Event()
    await RisingEdge(dut.clk)   # the harness's clock period, for jittered answers
    t0 = get_sim_time("ps")
    await RisingEdge(dut.clk)
    period_ps = get_sim_time("ps") - t0
    fixed = json.loads(os.environ.get("PIM_JITTER_FIXED") or "{}")
    jitter = Jitter(int(os.environ["PIM_JITTER"]), period_ps, fixed) \
        if os.environ.get("PIM_JITTER") else None
    imem: list[int] = []

    def where() -> str:
        """The chip's cycle and pc, and the instruction there (read only to report)."""
        pc = signal_int(dut.pc)
        try:
            insn = format_insn(decode(imem[pc])) if pc < len(imem) else "NOP"
        except ValueError:
            insn = f"{imem[pc]:#x}"
        return f"cycle {signal_int(dut.cycles)}, RTL at pc {pc} ({insn})"

    board = Scoreboard(where, on_mismatch=mismatch.set)
    reader = CrossbarReadResponder(dut, cfg, [], board, jitter)
    writer = CrossbarWriteMonitor(dut, cfg, [], board)
    solver = InvSolveResponder(dut, cfg, [], board, jitter)
    programmer = InvProgrammer(dut, cfg, [], board, jitter)
    drivers = (reader, writer, solver, programmer)

    # The RTL watchdog bounds every run; this guard only catches a broken harness.
    slack = 10 * (2 * cfg.gb_words + 100)
    limit_ps = (cfg.sim.watchdog_cycles + slack) * period_ps
    for k, run in enumerate(runs):
        shutil.copyfile(run / "image" / "dram.hex", current / "dram.hex")
        # Instruction memory past the program is zero (NOP), written out to its depth so
        # that $readmemh has every word (Icarus warns on a short file).
        program = (run / "image" / "imem.hex").read_text()
        pad = cfg.imem.depth - program.count("\n")
        (current / "imem.hex").write_text(program + ("0" * (INSN_BITS // 4) + "\n") * pad)
        xbars = [Crossbar(cfg, i) for i in range(cfg.n_crossbars)]
        reader.reset(xbars)
        writer.reset(xbars)
        invs = [InvArray(cfg, i) for i in range(cfg.inv.count)]
        solver.reset(invs)
        programmer.reset(invs)
        if jitter:
            jitter.start_run(k)
        image = image_mod.read(run / "image", cfg)
        imem[:] = image.imem
        expected = image_mod.read(run / "expected", cfg) if (run / "expected").is_dir() \
            else image
        board.reset(golden.run(expected, RTL_OPCODES).transactions)
        mismatch.clear()
        # Drivers of this run only: one still waiting inside a window the previous run's
        # watchdog cut short must not answer into this one.
        tasks = [cocotb.start_soon(d.run()) for d in drivers]
        dut.start.value = 1
        result = await First(RisingEdge(dut.done), Timer(limit_ps, "ps"), mismatch.wait())
        if not board.failed:
            assert isinstance(result, RisingEdge) and dut.done.value == 1, (
                f"{run}: the harness did not finish within {limit_ps // 1000} ns although "
                f"the RTL watchdog is {cfg.sim.watchdog_cycles} cycles: the harness or "
                "watchdog is broken")
            if int(dut.fault.value) != Fault.WATCHDOG:   # a watchdog stops mid-program
                board.leftover()
        if board.failed:
            (run / "scoreboard.txt").write_text(
                f"{board.mismatch}\nthe run stopped there, at cycle {signal_int(dut.cycles)}\n")
            raise ScoreboardMismatchError(f"{run}: {board.mismatch}")
        for t in tasks:
            t.kill()
        report = {name: int(getattr(dut, name).value) for name in COUNTERS}
        banks = int(dut.bank_active_cycles.value)
        report["bank_active_cycles"] = [(banks >> (64 * i)) & ((1 << 64) - 1)
                                        for i in range(len(cfg.global_buffer.bank_bytes))]
        report.update(fault=int(dut.fault.value), pc=int(dut.pc.value),
                      model_pulses=writer.pulses, model_rows_written=writer.rows,
                      analog_reads=reader.requests, inv_solves=solver.solves,
                      inv_programs=programmer.programs,
                      answer_delays=jitter.delays if jitter else {})
        for name in ("dram_out.hex", "gb_out.hex"):
            shutil.copyfile(current / name, run / name)
        (run / "rtl.json").write_text(json.dumps(report, indent=2) + "\n")
        dut.start.value = 0
        while dut.done.value == 1:
            await NextTimeStep()
