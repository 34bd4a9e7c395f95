"""The sequencer's core alone, its execute units played by the testbench: every
instruction takes FETCH and DECODE, a unit is started in DECODE and the next FETCH
follows the cycle it answers; a unit's fault drains and halts; the watchdog aborts the
units and halts in whatever state it expires."""

from __future__ import annotations

import dataclasses

from amaranth import ClockDomain, Module
from amaranth.sim import Simulator

from firmware import config
from firmware.isa import Fault, Instruction, encode
from hdl.sequencer.core import UNITS, SequencerCore

make = Instruction.make


def _run(cfg: config.Config, program: list[Instruction], latency: dict[str, int],
         fault: dict[str, Fault] | None = None, limit: int = 400) -> dict:
    """Run ``program``; unit ``u`` answers ``latency[u]`` cycles after its start (0: in
    the start cycle itself), with ``fault[u]`` if given. Returns per-cycle records."""
    core = SequencerCore(cfg)
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.core = core
    words = [encode(i) for i in program]
    ports = {name: getattr(core, name.lower()) for name in UNITS}
    out = {"starts": [], "answers": [], "aborts": [], "pc": []}

    async def tb(ctx):
        left: dict[str, int] = {}
        for cycle in range(limit):
            pc = ctx.get(core.imem.addr)
            ctx.set(core.imem.data, words[pc] if pc < len(words) else 0)
            for name, port in ports.items():
                answer = False
                if ctx.get(port.start):
                    out["starts"].append((cycle, name))
                    left[name] = latency[name]
                if name in left and left[name] == 0:
                    answer = True
                    del left[name]
                code = (fault or {}).get(name, Fault.NONE) if answer else Fault.NONE
                ctx.set(port.done, answer and code == Fault.NONE)
                ctx.set(port.fault, code)
                if answer:
                    out["answers"].append((cycle, name))
                if ctx.get(port.abort):
                    out["aborts"].append((cycle, name))
            out["pc"].append(pc)
            if ctx.get(core.halted):
                break
            await ctx.tick()
            for name in left:
                left[name] -= 1
        out.update(fault=Fault(ctx.get(core.fault)), cycles=ctx.get(core.cycles),
                   halted=ctx.get(core.halted))

    sim = Simulator(top)
    sim.add_clock(1e-9)
    sim.add_testbench(tb)
    sim.run()
    return out


LATENCY = {name: 3 for name in UNITS}


def test_units_start_in_decode_and_the_next_fetch_follows_their_answer(
        tiny: config.Config) -> None:
    prog = [make("NOP"), make("LOAD", gb_addr=0, dram_addr=0, count=1),
            make("WINDOW", count=1, in_stride=0, out_stride=0, seg_group=0, group_stride=0),
            make("VEC", dst=0, src_a=0, src_b=0, count=0), make("HALT")]
    r = _run(tiny, prog, LATENCY)
    # NOP: cycles 0-1; LOAD: FETCH 2, DECODE 3 (start), answers 3 cycles later (6);
    # WINDOW: 7-8; VEC: FETCH 9, DECODE 10, answer 13; HALT: 14-15, DRAIN 16, HALTED.
    assert r["starts"] == [(3, "DMA"), (10, "VEC")]
    assert r["answers"] == [(6, "DMA"), (13, "VEC")]
    assert r["pc"][:17] == [0, 0, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4]
    assert r["halted"] and r["fault"] == Fault.NONE and r["cycles"] == 17


def test_a_unit_answering_at_its_start_takes_no_execute_cycle(tiny: config.Config) -> None:
    prog = [make("LOAD", gb_addr=0, dram_addr=0, count=0), make("HALT")]
    r = _run(tiny, prog, {**LATENCY, "DMA": 0})
    assert r["starts"] == r["answers"] == [(1, "DMA")]
    assert r["cycles"] == 5  # LOAD: FETCH, DECODE; HALT: FETCH, DECODE, DRAIN


def test_a_unit_fault_drains_and_halts_with_its_code(tiny: config.Config) -> None:
    prog = [make("INV", xbar=0, in_addr=0, out_addr=0, shift=0), make("NOP"), make("HALT")]
    r = _run(tiny, prog, {**LATENCY, "INV": 0}, fault={"INV": Fault.UNINITIALIZED})
    assert r["fault"] == Fault.UNINITIALIZED and r["halted"]
    assert r["cycles"] == 3  # FETCH, DECODE (the fault), DRAIN; the NOP never runs
    assert max(r["pc"]) == 0


def test_the_watchdog_aborts_the_running_unit(tiny: config.Config) -> None:
    cfg = dataclasses.replace(tiny, sim=dataclasses.replace(tiny.sim, watchdog_cycles=20))
    prog = [make("LOAD", gb_addr=0, dram_addr=0, count=5), make("HALT")]
    r = _run(cfg, prog, {**LATENCY, "DMA": 1000})
    assert r["fault"] == Fault.WATCHDOG and r["cycles"] == 20
    assert {c for c, _ in r["aborts"]} == {19}  # every unit, in the last cycle only
    assert len(r["aborts"]) == len(UNITS)
