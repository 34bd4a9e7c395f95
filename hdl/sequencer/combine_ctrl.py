"""COMBINE control: streams BasisN's inputs and coefficient words through the
combination unit and writes each group's results.

Per input: its word is read (once per word of inputs), then its coefficient word; the
lanes take that word in the cycle it arrives. Each group of ``m`` inputs ends with its
results, four words.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data

from firmware.config import Config
from firmware.isa import COUNT
from hdl.combine import CombineUnit
from hdl.interfaces import buffer_ports
from hdl.sequencer.unit import ExecUnit

OUT_WORDS = 4  # result words per group


class CombineControl(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer)."""

    fsm_name = "cmb"

    def __init__(self, cfg: Config, path: str | None = None):
        super().__init__(cfg, buffer_ports(cfg), path or "sequencer.combine_ctrl")

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        ctl, rd, wr = self.ctl, self.rd, self.wr
        m.submodules.combine = cmb = CombineUnit(cfg.gb_bits)
        max_count = (1 << COUNT) - 1
        lanes = cfg.gb_bits // 32
        i = Signal(range(max_count + 1))    # next input
        g = Signal(range(max_count + 1))    # current group
        coef = Signal(32)                   # next coefficient word
        pword = Signal(cfg.gb_bits)         # the input word of input i
        fresh = Signal()                    # that word is arriving this cycle
        p = Signal(signed(32))              # the input of the coefficients arriving
        mac = Signal()                      # a coefficient word arrives this cycle
        acc = Signal(data.ArrayLayout(signed(32), cfg.gb_bits // 8))
        word_idx = Signal(range(OUT_WORDS))

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                f = ctl.decoded.args.COMBINE
                with m.If(ctl.start):
                    m.d.sync += [i.eq(0), g.eq(0), coef.eq(f.coef), mac.eq(0), acc.eq(0)]
                    with m.If((f.m == 0) | (f.ngroups == 0)):
                        self.finish(m)
                    with m.Else():
                        m.next = "P"

            with self.state(m, "P"):  # read the word holding input i
                f = ctl.insn.args.COMBINE
                m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src + i // lanes)]
                m.d.sync += [fresh.eq(1), mac.eq(0)]
                m.next = "C"

            with self.state(m, "C"):  # read input i's coefficient word
                f = ctl.insn.args.COMBINE
                word = Mux(fresh, rd.data, pword)
                with m.If(fresh):
                    m.d.sync += pword.eq(rd.data)
                m.d.comb += [rd.en.eq(1), rd.addr.eq(coef)]
                m.d.sync += [
                    p.eq(word.word_select(i % lanes if lanes > 1 else 0, 32)),
                    fresh.eq(0), mac.eq(1), i.eq(i + 1), coef.eq(coef + 1),
                ]
                with m.If(i + 1 == f.m):
                    m.next = "DRAIN"
                with m.Elif((i + 1) % lanes == 0):
                    m.next = "P"

            with self.state(m, "DRAIN"):  # the last coefficient word arrives
                m.d.sync += [mac.eq(0), word_idx.eq(0)]
                m.next = "OUT"

            with self.state(m, "OUT"):  # the group's results
                f = ctl.insn.args.COMBINE
                per = cfg.gb_bits // 32
                with m.Switch(word_idx):
                    for w in range(OUT_WORDS):
                        with m.Case(w):
                            m.d.comb += wr.data.eq(Cat(*[acc[w * per + k] for k in range(per)]))
                m.d.comb += [wr.en.eq(1), wr.addr.eq(f.dst + g * OUT_WORDS + word_idx)]
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == OUT_WORDS - 1):
                    m.d.sync += [acc.eq(0), i.eq(0), g.eq(g + 1)]
                    with m.If(g + 1 == f.ngroups):
                        self.finish(m)
                    with m.Else():
                        m.next = "P"
        self.record(fsm)

        # The lanes take a coefficient word in the cycle it arrives.
        m.d.comb += [cmb.coefs.eq(rd.data), cmb.p.eq(p), cmb.acc.eq(acc)]
        with m.If(mac):
            m.d.sync += acc.eq(cmb.acc_next)
        return m
