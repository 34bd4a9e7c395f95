"""The sequencer: a core (fetch, decode, dispatch, the architectural registers,
watchdog and counters; :mod:`hdl.sequencer.core`) and one execute unit per kind of
instruction, each in its own module: :mod:`~hdl.sequencer.dma` (LOAD, STORE),
:mod:`~hdl.sequencer.vec` (VEC), :mod:`~hdl.sequencer.sfu_ctrl` (SFU),
:mod:`~hdl.sequencer.vmm` (the VMM window loop), :mod:`~hdl.sequencer.inv` (INV,
INV_WRITE), :mod:`~hdl.sequencer.combine_ctrl` (COMBINE).

:class:`Sequencer` wires them with :func:`~amaranth.lib.wiring.connect` and shares the
buffer and main-memory ports between the units: only the unit running drives them (the
others hold zero), so the ports are the OR of the units' ports, without a cycle added.
The DMA's further buffer lanes (a main-memory port of several words) are its alone.
:class:`hdl.chip.Chip` wires the sequencer to the datapath.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from firmware.config import Config
from hdl.decoder import geometry_layout, instruction_layout
from hdl.interfaces import (
    BufferReadPort,
    BufferWritePort,
    GrantRequest,
    InstructionPort,
    InvPort,
    MainMemoryPort,
    Scoreboard,
    WriteCommand,
    dma_lane_ports,
)
from hdl.sequencer.combine_ctrl import CombineControl
from hdl.sequencer.core import SequencerCore, status_ports
from hdl.sequencer.dma import DmaUnit
from hdl.sequencer.inv import InvControl
from hdl.sequencer.sfu_ctrl import SfuControl
from hdl.sequencer.vec import VecUnit
from hdl.sequencer.vmm import VmmLoop, vmm_ports

__all__ = ["Sequencer", "sequencer_signature"]


def sequencer_signature(cfg: Config) -> dict:
    """Ports of :class:`Sequencer`."""
    return {
        "imem": Out(InstructionPort(cfg.imem.depth)),
        "gb_rd": Out(BufferReadPort(cfg.gb_words, cfg.gb_bits)),
        "gb_wr": Out(BufferWritePort(cfg.gb_words, cfg.gb_bits)),
        **dma_lane_ports(cfg),
        "dram": Out(MainMemoryPort(cfg.dram_bits, cfg.port_words)),
        "dma": Out(GrantRequest(cfg.port_words)),
        **vmm_ports(cfg),
        "inv": Out(InvPort(cfg.inv.size, cfg.inv.count, cfg.dram_bits, cfg.port_words)),
        "write": Out(WriteCommand()).array(cfg.write.engines),
        "scoreboard": In(Scoreboard()).array(cfg.write.engines),
        "insn": Out(instruction_layout()),
        "geometry": Out(geometry_layout(cfg)),
        "bank_mask": Out(32),
        **status_ports(cfg),
    }


def _share(m: Module, port, units: list) -> None:
    """Drive ``port`` (one of the sequencer's) with the OR of the units' ports of the same
    name (an idle unit drives zero), and fan its inputs out to them."""
    for member, desc in port.signature.members.items():
        target = getattr(port, member)
        if desc.flow == Out:
            m.d.comb += target.eq(reduce(or_, (getattr(u, member) for u in units)))
        else:
            m.d.comb += [getattr(u, member).eq(target) for u in units]


class Sequencer(wiring.Component):
    """Fetch, decode and execute for one :class:`~firmware.config.Config`."""

    def __init__(self, cfg: Config):
        self._cfg = cfg
        #: ``{signal path below the chip: {state name: code}}``, filled when elaborated
        #: (the chip passes its own dict in).
        self.fsm_states: dict[str, dict[str, int]] = {}
        super().__init__(sequencer_signature(cfg))

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        m.submodules.core = core = SequencerCore(cfg)
        m.submodules.dma = dma = DmaUnit(cfg)
        m.submodules.vec = vec = VecUnit(cfg)
        m.submodules.sfu_ctrl = sfu = SfuControl(cfg)
        m.submodules.vmm = vmm = VmmLoop(cfg)
        m.submodules.inv = inv = InvControl(cfg)
        m.submodules.combine_ctrl = cmb = CombineControl(cfg)
        units = {"dma": dma, "vec": vec, "sfu": sfu, "vmm": vmm, "inv": inv, "combine": cmb}
        for block in (core, *units.values()):
            block.fsm_states = self.fsm_states
        for name, unit in units.items():
            connect(m, getattr(core, name), unit.ctl)

        connect(m, flipped(self.imem), core.imem)
        for e in range(cfg.write.engines):
            connect(m, flipped(self.write[e]), core.write[e])
            connect(m, flipped(self.scoreboard[e]), core.scoreboard[e], vmm.scoreboard[e])
        connect(m, flipped(self.xbar), vmm.xbar)
        connect(m, flipped(self.shreg), vmm.shreg)
        connect(m, flipped(self.acc), vmm.acc)
        connect(m, flipped(self.inv), inv.inv)
        m.d.comb += [vmm.window.eq(core.window), vmm.geometry.eq(core.geometry),
                     vec.window.eq(core.window)]
        for name in ("insn", "geometry", "bank_mask", *status_ports(cfg)):
            m.d.comb += getattr(self, name).eq(getattr(core, name))

        # The shared ports: the buffer (every unit), main memory and its rate limiter
        # (DMA, INV_WRITE); the core watches the buffer's writes (the DMA's lanes too).
        _share(m, self.gb_rd, [u.rd for u in units.values()])
        _share(m, self.gb_wr, [u.wr for u in units.values()])
        _share(m, self.dram, [dma.dram, inv.dram])
        _share(m, self.dma, [dma.dma, inv.dma])
        for name in dma_lane_ports(cfg):    # the DMA's further buffer lanes: its own
            connect(m, flipped(getattr(self, name)), getattr(dma, name))
        if cfg.port_words > 1:
            m.d.comb += [core.gb_wrx.en.eq(self.wrx.en), core.gb_wrx.addr.eq(self.wrx.addr),
                         core.gb_wrx.data.eq(self.wrx.data)]
        m.d.comb += [core.gb_wr.en.eq(self.gb_wr.en), core.gb_wr.addr.eq(self.gb_wr.addr),
                     core.gb_wr.data.eq(self.gb_wr.data)]
        return m
