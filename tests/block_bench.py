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


def decode_under(cfg, cases: list, states: list, read) -> list:
    """Every instruction of ``cases`` through the instruction decoder in every
    ``(window, bank mask, valid words)`` state, state-major: ``read(ctx, dut)`` of each."""
    from firmware.isa import encode
    from hdl.decoder import InstructionDecoder

    dut = InstructionDecoder(cfg)
    seen: list = []

    async def tb(ctx):
        for window, mask, valid in states:
            ctx.set(dut.window, window._asdict())
            ctx.set(dut.bank_mask, mask)
            ctx.set(dut.gb_valid, valid)
            for insn in cases:
                ctx.set(dut.insn, encode(insn))
                seen.append(read(ctx, dut))

    run_block(dut, tb)
    return seen
