"""SFU control: streams buffer words through the special-function units and packs
their results into output words.

Element-wise functions take a word per cycle (one SFU per int32 lane); pooling takes one
element per cycle through the first SFU, which holds the window's running max or sum.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed

from firmware.config import Config
from firmware.isa import COUNT, SFU_POOLING
from hdl.arith import select
from hdl.interfaces import buffer_ports
from hdl.sequencer.unit import ExecUnit
from hdl.sfu import ACC_BITS, SpecialFunctionUnit


class SfuControl(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer)."""

    fsm_name = "sfu"

    def __init__(self, cfg: Config, path: str | None = None):
        super().__init__(cfg, buffer_ports(cfg), path or "sequencer.sfu_ctrl")

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        ctl, rd, wr = self.ctl, self.rd, self.wr
        lanes = cfg.gb_bits // 32
        # One SFU per int32 lane of a buffer word.
        m.submodules.sfu = sfu = SpecialFunctionUnit()
        sfus = [sfu]
        for k in range(1, lanes):
            m.submodules[f"sfu{k}"] = lane_sfu = SpecialFunctionUnit()
            sfus.append(lane_sfu)

        max_count = (1 << COUNT) - 1
        e = Signal(range(max_count * lanes + 1))  # element being processed
        word_in = Signal(cfg.gb_bits)             # the input word of the current element
        out = Signal(cfg.gb_bits)                 # output word being packed
        fill = Signal(range(cfg.gb_bits // 8 + 1))
        dst = Signal(32)
        acc = Signal(signed(ACC_BITS))  # running max or sum of a pooling window
        win = Signal(8)                 # elements of the window seen so far

        def emit(packed, full) -> None:
            """Write the output word being packed once ``full``, else keep packing."""
            with m.If(full):
                m.d.comb += [wr.en.eq(1), wr.addr.eq(dst), wr.data.eq(packed)]
                m.d.sync += [out.eq(0), fill.eq(0), dst.eq(dst + 1)]
            with m.Else():
                m.d.sync += [out.eq(packed), fill.eq(fill + 1)]

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                f = ctl.decoded.args.SFU
                with m.If(ctl.start):
                    m.d.sync += [e.eq(0), fill.eq(0), out.eq(0), win.eq(0), dst.eq(f.dst)]
                    with m.If(f.count == 0):
                        self.finish(m)
                    with m.Else():
                        m.next = "READ"

            with self.state(m, "READ"):  # fetch the first input word
                f = ctl.insn.args.SFU
                m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src)]
                pooling = Cat(f.func == fn for fn in SFU_POOLING).any()
                with m.If(pooling):
                    m.next = "POOL"
                with m.Else():
                    m.next = "WORDS"

            with self.state(m, "WORDS"):  # element-wise: one input word per cycle
                f = ctl.insn.args.SFU
                with m.If(e + 1 < f.count):  # prefetch the next word
                    m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src + e + 1)]
                for k, unit in enumerate(sfus):
                    m.d.comb += [unit.func.eq(f.func), unit.shift.eq(f.shift),
                                 unit.window.eq(f.window), unit.x.eq(rd.data.word_select(k, 32))]
                last = e == f.count - 1
                m.d.sync += e.eq(e + 1)
                with m.If(sfu.narrow):  # INT8 results: an output word per 4 input words
                    per_out = cfg.gb_bits // 8 // lanes
                    ys = Cat(u.y[:8] for u in sfus).as_unsigned()
                    packed = out | select(fill, [(ys << (k * 8 * lanes))[:cfg.gb_bits]
                                                 for k in range(per_out)])
                    emit(packed, (fill == per_out - 1) | last)
                with m.Else():
                    m.d.comb += [wr.en.eq(1), wr.addr.eq(dst),
                                 wr.data.eq(Cat(u.y for u in sfus))]
                    m.d.sync += dst.eq(dst + 1)
                with m.If(last):
                    self.finish(m)

            with self.state(m, "POOL"):  # pooling: one int32 element per cycle
                f = ctl.insn.args.SFU
                n = f.count * lanes
                lane = e[:max(1, (lanes - 1).bit_length())] if lanes > 1 else 0
                word = Mux(lane == 0, rd.data, word_in)
                with m.If(lane == 0):
                    m.d.sync += word_in.eq(rd.data)
                with m.If((lane == lanes - 1) & (e + 1 < n)):  # prefetch the next word
                    m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src + (e + 1) // lanes)]
                m.d.comb += [
                    sfu.func.eq(f.func), sfu.shift.eq(f.shift), sfu.window.eq(f.window),
                    sfu.x.eq(word.word_select(lane, 32)), sfu.win.eq(win), sfu.acc.eq(acc),
                ]
                m.d.sync += [acc.eq(sfu.acc_next), win.eq(sfu.win_next)]
                y, narrow = sfu.y, sfu.narrow
                # Pack the output: int8 lanes for REQUANT and DIGIT, int32 otherwise.
                out_lanes = Mux(narrow, cfg.gb_bits // 8, lanes)
                packed = Signal(cfg.gb_bits)
                # (Slots placed by a mux over constant shifts: a shift by the fill count
                # would be hundreds of bits wide.)
                with m.If(narrow):
                    m.d.comb += packed.eq(out | select(
                        fill, [(y[:8].as_unsigned() << (k * 8))[:cfg.gb_bits]
                               for k in range(cfg.gb_bits // 8)]))
                with m.Else():
                    m.d.comb += packed.eq(out | select(
                        fill, [(y.as_unsigned() << (k * 32))[:cfg.gb_bits]
                               for k in range(lanes)]))
                last = e == n - 1
                m.d.sync += e.eq(e + 1)
                with m.If(sfu.emit):
                    emit(packed, (fill == out_lanes - 1) | last)
                with m.If(last):
                    self.finish(m)
        self.record(fsm)
        return m
