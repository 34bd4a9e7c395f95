"""VEC: element-wise int32 add or subtract of two buffer vectors, two cycles a word.

Even cycle 2k reads ``a[k]`` and writes ``dst[k-1]``; odd cycle 2k+1 reads ``b[k]``.
The read port is transparent, so ``a[k]`` sees ``dst[k-1]`` if they coincide.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal

from firmware.config import Config
from firmware.isa import COUNT, VecFunc
from hdl.interfaces import buffer_ports
from hdl.sequencer.unit import ExecUnit


class VecUnit(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer)."""

    fsm_name = "vec"

    def __init__(self, cfg: Config, path: str | None = None):
        super().__init__(cfg, buffer_ports(cfg), path)

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        ctl, rd, wr = self.ctl, self.rd, self.wr
        max_count = (1 << COUNT) - 1
        lanes = cfg.gb_bits // 32
        c = Signal(range(2 * max_count + 2))  # cycle within the VEC: 2 per word, +1
        a = Signal(cfg.gb_bits)               # word a[k], waiting for b[k]

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                with m.If(ctl.start):
                    m.d.sync += c.eq(0)
                    with m.If(ctl.decoded.args.VEC.count == 0):
                        self.finish(m)
                    with m.Else():
                        m.next = "RUN"

            with self.state(m, "RUN"):
                f = ctl.insn.args.VEC
                k = c[1:]
                m.d.sync += c.eq(c + 1)
                result = Cat(*[
                    Mux(f.func == VecFunc.SUB,
                        a.word_select(i, 32) - rd.data.word_select(i, 32),
                        a.word_select(i, 32) + rd.data.word_select(i, 32))[:32]
                    for i in range(lanes)])
                with m.If(c[0]):
                    m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src_b + k)]
                    m.d.sync += a.eq(rd.data)
                with m.Else():
                    with m.If(k < f.count):
                        m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src_a + k)]
                    with m.If(k != 0):
                        m.d.comb += [wr.en.eq(1), wr.addr.eq(f.dst + k - 1),
                                     wr.data.eq(result)]
                    with m.If(k == f.count):
                        self.finish(m)
        self.record(fsm)
        return m
