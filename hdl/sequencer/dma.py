"""DMA: LOAD (main memory to buffer) and STORE (buffer to main memory), a word per
rate-limiter grant.

A granted word's read is issued in the grant's cycle and its data written the next;
the instruction completes in the cycle its last word lands.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib.wiring import Out

from firmware.config import Config
from firmware.isa import COUNT, Opcode
from hdl.interfaces import GrantRequest, MainMemoryPort, buffer_ports
from hdl.sequencer.unit import ExecUnit


class DmaUnit(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer), ``dram`` (main
    memory), ``dma`` (the rate limiter)."""

    fsm_name = "dma"

    def __init__(self, cfg: Config, path: str | None = None):
        super().__init__(cfg, {**buffer_ports(cfg), "dram": Out(MainMemoryPort(cfg.dram_bits)),
                               "dma": Out(GrantRequest())}, path)

    def elaborate(self, platform) -> Module:
        m = Module()
        ctl, rd, wr, dram = self.ctl, self.rd, self.wr, self.dram
        max_count = (1 << COUNT) - 1
        src = Signal(32)
        dst = Signal(32)
        left = Signal(range(max_count + 1))   # words not yet granted
        landing = Signal(range(max_count + 1))  # words not yet landed
        pending = Signal()                    # a read granted last cycle lands this cycle
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
                m.d.comb += self.dma.req.eq(left != 0)
                with m.If(self.dma.grant):
                    m.d.sync += [src.eq(src + 1), left.eq(left - 1)]
                    with m.If(is_store):
                        m.d.comb += [rd.en.eq(1), rd.addr.eq(src)]
                    with m.Else():
                        m.d.comb += [dram.en.eq(1), dram.addr.eq(src)]
                m.d.sync += pending.eq(self.dma.grant)
                with m.If(pending):
                    m.d.sync += [dst.eq(dst + 1), landing.eq(landing - 1)]
                    with m.If(is_store):
                        m.d.comb += [dram.en.eq(1), dram.we.eq(1), dram.addr.eq(dst),
                                     dram.wdata.eq(rd.data)]
                    with m.Else():
                        m.d.comb += [wr.en.eq(1), wr.addr.eq(dst), wr.data.eq(dram.rdata)]
                    with m.If(landing == 1):
                        self.finish(m)
        self.record(fsm)
        return m
