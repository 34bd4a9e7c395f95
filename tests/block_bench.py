"""Run one datapath block alone in Amaranth's simulator, with a 1 ns clock."""

from __future__ import annotations

from amaranth import ClockDomain, Module
from amaranth.sim import Simulator


def run_block(dut, testbench) -> None:
    # Declare the sync domain here so purely combinational blocks can be ticked too.
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-9)
    sim.add_testbench(testbench)
    sim.run()
