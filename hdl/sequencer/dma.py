"""DMA: LOAD (main memory to buffer) and STORE (buffer to main memory), the words of
each rate-limiter grant at once.

The main-memory port is ``port_words`` words wide (as wide as the bandwidth needs), and
so is the DMA's path to the buffer: lane 0 is the buffer port every unit shares, the
others the buffer's DMA lanes (``rdx``/``wrx``). A grant of ``n`` words reads ``n``
consecutive words in the grant's cycle and writes them the next; the instruction
completes in the cycle its last words land.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib.wiring import Out

from firmware.config import Config
from firmware.isa import COUNT, Opcode
from hdl.interfaces import (
    GrantRequest,
    MainMemoryPort,
    buffer_ports,
    dma_lane_ports,
    lane_mask,
)
from hdl.sequencer.unit import ExecUnit


class DmaUnit(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer; ``rdx``/``wrx`` its
    further lanes, for a port of several words), ``dram`` (main memory), ``dma`` (the
    rate limiter)."""

    fsm_name = "dma"

    def __init__(self, cfg: Config, path: str | None = None):
        lanes = cfg.port_words
        super().__init__(cfg, {**buffer_ports(cfg), **dma_lane_ports(cfg),
                               "dram": Out(MainMemoryPort(cfg.dram_bits, lanes)),
                               "dma": Out(GrantRequest(lanes))}, path)

    def elaborate(self, platform) -> Module:
        m = Module()
        ctl, rd, wr, dram = self.ctl, self.rd, self.wr, self.dram
        lanes, bits = self._cfg.port_words, self._cfg.gb_bits
        max_count = (1 << COUNT) - 1
        src = Signal(32)
        dst = Signal(32)
        left = Signal(range(max_count + 1))   # words not yet granted
        landing = Signal(range(max_count + 1))  # words not yet landed
        pending = Signal(range(lanes + 1))    # words granted last cycle land this cycle
        is_store = Signal()

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                d = ctl.decoded
                store = d.opcode == Opcode.STORE
                f_ld, f_st = d.args.LOAD, d.args.STORE
                count = Mux(store, f_st.count, f_ld.count)
                with m.If(ctl.start):
                    m.d.sync += [
                        is_store.eq(store),
                        src.eq(Mux(store, f_st.gb_addr, f_ld.dram_addr)),
                        dst.eq(Mux(store, f_st.dram_addr, f_ld.gb_addr)),
                        left.eq(count), landing.eq(count), pending.eq(0),
                    ]
                    with m.If(count == 0):
                        self.finish(m)
                    with m.Else():
                        m.next = "RUN"

            with self.state(m, "RUN"):
                grant = self.dma.grant
                m.d.comb += self.dma.req.eq(Mux(left < lanes, left, lanes))
                with m.If(grant != 0):
                    m.d.sync += [src.eq(src + grant), left.eq(left - grant)]
                    with m.If(is_store):
                        m.d.comb += [rd.en.eq(1), rd.addr.eq(src)]
                        if lanes > 1:
                            m.d.comb += [self.rdx.en.eq(lane_mask(grant, lanes)[1:]),
                                         self.rdx.addr.eq(src + 1)]
                    with m.Else():
                        m.d.comb += [dram.en.eq(lane_mask(grant, lanes)), dram.addr.eq(src)]
                m.d.sync += pending.eq(grant)
                with m.If(pending != 0):
                    m.d.sync += [dst.eq(dst + pending), landing.eq(landing - pending)]
                    with m.If(is_store):
                        m.d.comb += [dram.en.eq(lane_mask(pending, lanes)), dram.we.eq(1),
                                     dram.addr.eq(dst)]
                        m.d.comb += dram.wdata.word_select(0, bits).eq(rd.data)
                        if lanes > 1:
                            m.d.comb += dram.wdata[bits:].eq(self.rdx.data)
                    with m.Else():
                        m.d.comb += [wr.en.eq(1), wr.addr.eq(dst),
                                     wr.data.eq(dram.rdata.word_select(0, bits))]
                        if lanes > 1:
                            m.d.comb += [self.wrx.en.eq(lane_mask(pending, lanes)[1:]),
                                         self.wrx.addr.eq(dst + 1),
                                         self.wrx.data.eq(dram.rdata[bits:])]
                    with m.If(landing == pending):
                        self.finish(m)
        self.record(fsm)
        return m
