"""The decoder's VMM geometry: each count field read as the ISA reads it (0 as 1), and
the products the sequencer and the chip use, as the golden model computes them."""

from __future__ import annotations

import itertools

from amaranth import ClockDomain, Module
from amaranth.sim import Simulator

from firmware import config
from firmware.isa import Instruction, encode
from hdl.decoder import InstructionDecoder
from model import golden


def test_geometry_matches_the_golden_model(tiny: config.Config) -> None:
    cfg = tiny
    dut = InstructionDecoder(cfg)
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    cases = list(itertools.product([0, 1, 2], [0, 1, 3], [0, 2], [0, 1, 2]))
    seen = []

    async def tb(ctx):
        for ncols, nrows, ngroups, reps in cases:
            insn = Instruction.make("VMM", xbar=0, in_addr=0, out_addr=0, ncols=ncols,
                                    nrows=nrows, ngroups=ngroups, replicas=reps)
            ctx.set(dut.insn, encode(insn))
            geo = {k: ctx.get(getattr(dut.geometry, k)) for k in dut.geometry.shape().members}
            seen.append((insn, geo))

    sim = Simulator(top)
    sim.add_testbench(tb)
    sim.run()
    for insn, geo in seen:
        cols, rows = golden.vmm_cols(insn), golden.vmm_rows(insn)
        groups, reps = golden.vmm_groups(insn), golden.vmm_replicas(insn)
        assert geo == {"cols": cols, "rows": rows, "groups": groups, "reps": reps,
                       "apu_rows": rows * groups * reps,
                       "in_words": reps * rows * cfg.input_words,
                       "group_words": cols * cfg.output_words,
                       "out_words": reps * groups * cols * cfg.output_words}
