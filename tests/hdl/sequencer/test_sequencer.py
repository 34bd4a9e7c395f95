"""The sequencer (core and units together) in Amaranth's simulator, its neighbours in Python.

The testbench answers the sequencer's ports cycle by cycle: instruction memory and main
memory (data the cycle after the address), a global buffer (read data the cycle after,
transparent to a write in the same cycle), an idle or scripted write engine, and zero
accumulator outputs. The real rate limiter sits between DMA requests and grants. Values
and cycle counts are checked against the golden and timing models.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import ClockDomain, Module
from amaranth.lib.wiring import connect
from amaranth.sim import Simulator

from firmware import config
from firmware.image import Image
from firmware.isa import RTL_OPCODES, Fault, Instruction
from firmware.programs import directed
from hdl.rate_limiter import RateLimiter
from hdl.sequencer import Sequencer
from model import golden, timing


def _top(cfg: config.Config) -> tuple[Module, Sequencer]:
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.seq = seq = Sequencer(cfg)
    top.submodules.lim = lim = RateLimiter(cfg.dram_bytes_per_cycle, cfg.main_memory.word_bytes,
                                           cfg.port_words)
    connect(top, seq.dma, lim)
    return top, seq


def _execute(image: Image, busy_until: int = 0, busy_span: tuple[int, int] = (0, 0),
             limit: int = 20000) -> dict:
    """Run ``image`` until HALTED; the write engine reports busy on ``busy_span`` (first
    crossbar, count) until cycle ``busy_until``. Returns memories, counters and the
    cycles in which a crossbar read was requested."""
    cfg = image.config
    top, seq = _top(cfg)
    gb = [0] * cfg.gb_words
    dram = list(image.dram)
    out: dict = {}

    async def tb(ctx):
        reqs = []
        for cycle in range(limit):
            busy = cycle < busy_until
            ctx.set(seq.scoreboard[0].busy, busy)
            ctx.set(seq.scoreboard[0].busy_xbar, busy_span[0])
            ctx.set(seq.scoreboard[0].busy_n, busy_span[1])
            if ctx.get(seq.halted):
                break
            if ctx.get(seq.xbar.valid):
                reqs.append(cycle)
            # What the sequencer drives in this cycle, acted on at the edge.
            pc = ctx.get(seq.imem.addr)
            rd = ctx.get(seq.gb_rd.en), ctx.get(seq.gb_rd.addr)
            wr = ctx.get(seq.gb_wr.en), ctx.get(seq.gb_wr.addr), ctx.get(seq.gb_wr.data)
            dm = (ctx.get(seq.dram.en), ctx.get(seq.dram.we), ctx.get(seq.dram.addr),
                  ctx.get(seq.dram.wdata))
            await ctx.tick()
            if wr[0]:
                gb[wr[1]] = wr[2]
            if rd[0]:
                ctx.set(seq.gb_rd.data, gb[rd[1]])   # transparent: the write came first
            if dm[0]:
                ctx.set(seq.dram.rdata, dram[dm[2]])
                if dm[1]:
                    dram[dm[2]] = dm[3]
            ctx.set(seq.imem.data, image.imem[pc] if pc < len(image.imem) else 0)
        out.update(cycles=ctx.get(seq.cycles), stall=ctx.get(seq.stall_cycles),
                   fault=Fault(ctx.get(seq.fault)), halted=ctx.get(seq.halted), reqs=reqs,
                   banks=[ctx.get(seq.bank_active_cycles[i])
                          for i in range(len(cfg.global_buffer.bank_bytes))])

    sim = Simulator(top)
    sim.add_clock(1e-9)
    sim.add_testbench(tb)
    sim.run()
    out.update(gb=gb, dram=dram)
    return out


def _combine_program(cfg: config.Config) -> Image:
    """Two COMBINEs (one input word short of full, two groups; one input) after a LOAD."""
    rng = np.random.default_rng(8)
    words = 40
    make = Instruction.make
    prog = [make("LOAD", gb_addr=0, dram_addr=0, count=words),
            make("COMBINE", dst=50, src=0, coef=3, m=5, ngroups=2),
            make("COMBINE", dst=58, src=1, coef=20, m=1, ngroups=1),
            make("COMBINE", dst=70, src=1, coef=20, m=0, ngroups=1),
            make("STORE", dram_addr=100, gb_addr=50, count=12), make("HALT")]
    return Image.build(cfg, prog, [int(v) for v in rng.integers(0, 1 << 62, size=words)])


@pytest.mark.parametrize("name", ["vec", "sfu", "combine", "vec8", "pool", "residual"])
def test_sequencer_runs_programs_like_the_models(tiny: config.Config, name: str) -> None:
    """DMA, VEC (int32, INT8, windowed: pooling), SFU and COMBINE programs: memories as
    the golden model's, cycles and bank counters as the timing model's."""
    image = _combine_program(tiny) if name == "combine" else directed.PROGRAMS[name](tiny)
    gold = golden.run(image, RTL_OPCODES)
    tim = timing.simulate(tiny, gold)
    got = _execute(image)
    assert got["halted"] and got["fault"] == gold.fault == Fault.NONE
    assert got["gb"] == gold.gb and got["dram"] == gold.dram
    assert got["cycles"] == tim.cycles
    assert tuple(got["banks"]) == tim.bank_active_cycles


@pytest.mark.parametrize("name", ["gb_range", "gated_bank", "uninitialized", "sfu_overlap"])
def test_sequencer_faults_like_the_models(tiny: config.Config, name: str) -> None:
    image = directed.fault_programs(tiny)[name]
    gold = golden.run(image, RTL_OPCODES)
    # The slice program before the fault writes a crossbar; here the write engine is idle
    # and the VMM's analog result is zero, so only the fault and its cycle are compared.
    got = _execute(image)
    assert got["halted"] and got["fault"] == gold.fault != Fault.NONE


def test_scoreboard_stalls_a_vmm_on_a_crossbar_being_written(tiny: config.Config) -> None:
    """A VMM whose span overlaps the write in flight waits until it ends; one on other
    crossbars starts at once (HALT then waits for the write to drain)."""
    make = Instruction.make
    words = 2 * tiny.input_words
    prog = [make("LOAD", gb_addr=0, dram_addr=0, count=words),
            make("VMM", xbar=0, in_addr=0, out_addr=words, accumulate=0), make("HALT")]
    image = Image.build(tiny, prog, [int(v) for v in np.arange(1, words + 1)])
    free = _execute(image, busy_until=400, busy_span=(1, 2))   # crossbars 1 and 2
    blocked = _execute(image, busy_until=400, busy_span=(0, 1))
    assert free["reqs"][0] < 400 <= blocked["reqs"][0]
    # The blocked VMM's delay is exactly its stall (no drain left at its HALT).
    assert blocked["reqs"][0] - free["reqs"][0] == blocked["stall"] > 0
    assert free["cycles"] == 400 + 1            # HALT drained the write, then halted


def test_write_starts_go_to_the_lowest_idle_engine_and_never_share_a_crossbar(
        small: config.Config) -> None:
    """Two write engines (small), scripted here as busy for a fixed time after their
    start: a write goes to the lowest idle engine at once; one that touches a crossbar
    being written waits until that write ends, however many engines are idle; HALT waits
    for every engine."""
    assert small.write.engines == 2
    make = Instruction.make
    prog = [make("WRITE_START", xbar=0, nxbars=2, dram_addr=0, row=0, nrows=1),
            make("WRITE_START", xbar=4, nxbars=1, dram_addr=0, row=0, nrows=1),
            make("WRITE_START", xbar=1, nxbars=1, dram_addr=0, row=0, nrows=1),
            make("HALT")]
    image = Image.build(small, prog, [0] * 8)
    top, seq = _top(small)
    lasts = (300, 100, 50)              # how long each write keeps its engine busy
    starts: list[tuple[int, int]] = []  # (cycle, engine)

    async def tb(ctx):
        free = [0, 0]
        span = [(0, 0), (0, 0)]
        for cycle in range(2000):
            for e in range(2):
                ctx.set(seq.scoreboard[e].busy, cycle < free[e])
                ctx.set(seq.scoreboard[e].busy_xbar, span[e][0])
                ctx.set(seq.scoreboard[e].busy_n, span[e][1])
            if ctx.get(seq.halted):
                break
            for e in range(2):
                if ctx.get(seq.write[e].start):
                    starts.append((cycle, e))
                    free[e] = cycle + 1 + lasts[len(starts) - 1]
                    span[e] = (ctx.get(seq.write[e].xbar), max(1, ctx.get(seq.write[e].nxbars)))
            pc = ctx.get(seq.imem.addr)
            await ctx.tick()
            ctx.set(seq.imem.data, image.imem[pc] if pc < len(image.imem) else 0)
        starts.append((ctx.get(seq.cycles), -1))

    sim = Simulator(top)
    sim.add_clock(1e-9)
    sim.add_testbench(tb)
    sim.run()
    (c0, e0), (c1, e1), (c2, e2), (halt, _) = starts
    assert (e0, e1) == (0, 1) and c1 == c0 + 3        # at once, on the other engine
    # Crossbar 1 is engine 0's: wait for it, though engine 1 is idle by then.
    assert c0 + 1 + lasts[0] > c1 + 1 + lasts[1]
    assert e2 == 0 and c2 == c0 + 1 + lasts[0]
    assert halt == c2 + 1 + lasts[2] + 1              # every engine drained, then halted
