"""A bench for one execute unit of the sequencer alone (``hdl/sequencer/*.py``) in
Amaranth's simulator: the testbench plays the core (dispatch, the instruction
register), the global buffer (transparent read port), main memory and the rate limiter
(a grant pattern), and records what the unit drove in every cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from amaranth import ClockDomain, Module
from amaranth.lib.wiring import Out
from amaranth.sim import Simulator

from firmware.isa import Fault, Instruction, encode


@dataclass
class Trace:
    """What a dispatched instruction did: the cycle (0 = the start cycle) it answered
    ``done`` or ``fault``, and per cycle the ports it drove."""

    done: int | None = None
    fault: Fault = Fault.NONE
    cycles: list[dict] = field(default_factory=list)

    def when(self, key: str) -> list[int]:
        """The cycles in which port ``key`` was active."""
        return [i for i, c in enumerate(self.cycles) if c.get(key)]


# Ports the units share (OR-ed in the sequencer: an idle unit must drive them all zero)
# and strobes that must be quiet while a unit idles.
SHARED = ("rd", "wr", "rdx", "wrx", "dram", "dma")
STROBES = ("xbar.valid", "shreg.load", "shreg.swap", "shreg.shift", "acc.clear",
           "acc.hold", "acc.valid",
           "inv.req_valid", "inv.wr_valid", "inv.wr_count", "inv.wr_done")


def _ports(unit) -> dict[str, object]:
    """The unit's shared-port outputs and strobes, by ``port.member`` name."""
    out = {}
    for name, member in unit.signature.members.items():
        if not member.is_signature or member.flow != Out:
            continue
        for sub, desc in member.signature.members.items():
            key = f"{name}.{sub}"
            if desc.flow == Out and (name in SHARED or key in STROBES):
                out[key] = getattr(getattr(unit, name), sub)
    return out


def _lanes(seen: dict, port: str) -> list[tuple[int, int]]:
    """``(word address, lane)`` of each enabled lane of a port recorded in ``seen``."""
    en = seen.get(f"{port}.en", 0)
    return [(seen[f"{port}.addr"] + i, i) for i in range(en.bit_length()) if en >> i & 1]


def _word(value: int, lane: int, bits: int) -> int:
    return value >> (lane * bits) & ((1 << bits) - 1)


def _gather(mem: list[int], lanes: list[tuple[int, int]], bits: int) -> int:
    """The words of ``lanes`` read from ``mem``, each in its lane's bits."""
    return sum(mem[addr] << (lane * bits) for addr, lane in lanes)


class UnitBench:
    """Runs instructions through ``unit``; ``gb`` and ``dram`` are the memories (lists of
    words), ``grant`` how many words the rate limiter grants in a cycle of the run (at
    most the request; ``True``: one)."""

    def __init__(self, unit, gb: list[int], dram: list[int] | None = None,
                 grant: Callable[[int], int] = lambda cycle: True,
                 inputs: Callable[[object, int], None] | None = None):
        self.unit, self.gb, self.dram, self.grant = unit, gb, dram or [], grant
        self.inputs = inputs  # extra inputs per cycle: inputs(ctx, cycle)
        self.idle_violations: list[tuple[int, str]] = []

    def run(self, insns: list[Instruction], limit: int = 5000,
            abort_at: int | None = None) -> list[Trace]:
        """Dispatch each instruction once the previous one answered (as the core does,
        two cycles later: FETCH and DECODE); ``abort_at`` raises ``abort`` in that cycle
        of the first instruction. Between instructions, checks the unit drives nothing."""
        unit, traces = self.unit, []
        top = Module()
        top.domains.sync = ClockDomain()
        top.submodules.unit = unit
        outs = _ports(unit)

        async def cycle(ctx, now: int, record: dict | None) -> tuple[int, int]:
            if self.inputs:
                self.inputs(ctx, now)
            if hasattr(unit, "dma"):
                ctx.set(unit.dma.grant, min(ctx.get(unit.dma.req), int(self.grant(now))))
            seen = {k: ctx.get(v) for k, v in outs.items()}
            if record is None:
                self.idle_violations += [(now, k) for k, v in seen.items() if v]
            else:
                record.update(seen)
            done, fault = ctx.get(unit.ctl.done), ctx.get(unit.ctl.fault)
            await ctx.tick()
            for port in ("wr", "wrx"):
                for addr, lane in _lanes(seen, port):
                    self.gb[addr] = _word(seen[f"{port}.data"], lane, unit.rd.data.shape().width)
            for port in ("rd", "rdx"):
                if seen.get(f"{port}.en"):
                    ctx.set(getattr(unit, port).data, _gather(
                        self.gb, _lanes(seen, port), unit.rd.data.shape().width))
            if seen.get("dram.en"):
                bits = unit.dram.signature.bits
                ctx.set(unit.dram.rdata, _gather(self.dram, _lanes(seen, "dram"), bits))
                if seen.get("dram.we"):
                    for addr, lane in _lanes(seen, "dram"):
                        self.dram[addr] = _word(seen["dram.wdata"], lane, bits)
            return done, fault

        async def tb(ctx):
            now = 0
            for k, insn in enumerate(insns):
                word = encode(insn)
                trace = Trace()
                for _ in range(2):  # FETCH, then the DECODE cycle below: the unit idles
                    await cycle(ctx, now, None)
                    now += 1
                ctx.set(unit.ctl.decoded.as_value(), word)
                ctx.set(unit.ctl.start, 1)
                for i in range(limit):
                    if abort_at is not None and k == 0:
                        ctx.set(unit.ctl.abort, i == abort_at)
                    rec: dict = {}
                    trace.cycles.append(rec)
                    done, fault = await cycle(ctx, now, rec)
                    now += 1
                    if i == 0:  # after DECODE: the instruction register holds it
                        ctx.set(unit.ctl.start, 0)
                        ctx.set(unit.ctl.insn.as_value(), word)
                    if done or fault or (abort_at is not None and k == 0 and i == abort_at):
                        trace.done = i if done else None
                        trace.fault = Fault(fault)
                        break
                ctx.set(unit.ctl.abort, 0)
                traces.append(trace)
            for _ in range(3):
                await cycle(ctx, now, None)
                now += 1

        sim = Simulator(top)
        sim.add_clock(1e-9)
        sim.add_testbench(tb)
        sim.run()
        return traces
