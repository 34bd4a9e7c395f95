"""VEC: element-wise ``dst = a (op) b`` of two buffer vectors, two cycles a word, in int32
lanes (ADD, SUB, wrapping) or INT8 lanes (ADD8, ADD8_RELU, MAX8, AVG8), over one window
or, ``windowed``, every window of the WINDOW loop back to back.

Even cycle 2k reads ``a[k]`` and writes ``dst[k-1]``; odd cycle 2k+1 reads ``b[k]``,
counting words across the windows without a bubble. The read port is transparent, so
``a[k]`` sees ``dst[k-1]`` if they coincide. The window loop keeps running bases (the
current window's input and output offsets, each advanced by its stride at a window's
end), so it needs no multiplier.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.hdl import ValueLike
from amaranth.lib.wiring import In

from firmware.config import Config
from firmware.isa import GB_ADDR, VecFunc
from hdl.decoder import window_layout
from hdl.interfaces import buffer_ports
from hdl.sequencer.unit import ExecUnit

#: Lane widths of the VEC functions: int32 (ADD, SUB) and INT8 (the rest).
WIDE_BITS, NARROW_BITS = 32, 8


def _lanes(word: Value, bits: int) -> list[Value]:
    """The signed ``bits``-wide lanes of ``word``, lowest first."""
    return [word.word_select(i, bits).as_signed() for i in range(len(word) // bits)]


def _clip(v: ValueLike, lo: int, hi: int) -> Value:
    return Mux(v > hi, hi, Mux(v < lo, lo, v))


def vec_word(func: ValueLike, a: Value, b: Value) -> Value:
    """The result word of VEC function ``func`` on words ``a`` and ``b``: every lane of
    the function's width (``firmware.isa`` VecFunc; an unknown ``func`` faults at
    decode)."""
    func = Value.cast(func)
    wide = Cat(*[Mux(func == VecFunc.SUB, x - y, x + y)[:WIDE_BITS]
                 for x, y in zip(_lanes(a, WIDE_BITS), _lanes(b, WIDE_BITS), strict=True)])
    half = 1 << (NARROW_BITS - 1)                  # INT8: -128 .. 127
    narrow = []
    for x, y in zip(_lanes(a, NARROW_BITS), _lanes(b, NARROW_BITS), strict=True):
        total = x + y                              # 9 bits: no overflow
        lane = Mux(func == VecFunc.ADD8, _clip(total, -half, half - 1),
                   Mux(func == VecFunc.ADD8_RELU, _clip(total, 0, half - 1),
                       Mux(func == VecFunc.MAX8, Mux(x > y, x, y),
                           (total + 1) >> 1)))     # AVG8, arithmetic: floor
        narrow.append(lane[:NARROW_BITS])
    return Mux((func == VecFunc.ADD) | (func == VecFunc.SUB), wide, Cat(*narrow))


class VecUnit(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer), ``window`` (the WINDOW
    registers, from the core)."""

    fsm_name = "vec"

    def __init__(self, cfg: Config, path: str | None = None):
        super().__init__(cfg, {**buffer_ports(cfg), "window": In(window_layout())}, path)

    def elaborate(self, platform) -> Module:
        m = Module()
        ctl, rd, wr, window = self.ctl, self.rd, self.wr, self.window
        f = ctl.insn.args.VEC
        odd = Signal()                             # the cycle reads b (else a)
        more = Signal()                            # a word is left to read
        pending = Signal()                         # a result waits for its write
        j = Signal.like(f.count)                   # word within the window
        windows_left = Signal.like(window.count)   # windows after the current one
        # Offsets of the current window from src_a/src_b and from dst: bases running by
        # in_stride and out_stride. The decoder's extent checks keep every word in the
        # buffer, so addresses never wrap.
        in_base = Signal(GB_ADDR)
        out_base = Signal(GB_ADDR)
        a = Signal.like(rd.data)                   # word a[k], waiting for b[k]
        dst_prev = Signal.like(wr.addr)            # where a[k] (op) b[k] goes
        in_off = in_base + j

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                with m.If(ctl.start):
                    d = ctl.decoded.args.VEC
                    m.d.sync += [odd.eq(0), more.eq(1), pending.eq(0), j.eq(0),
                                 in_base.eq(0), out_base.eq(0),
                                 windows_left.eq(Mux(d.windowed, window.count - 1, 0))]
                    with m.If(d.count == 0):
                        self.finish(m)
                    with m.Else():
                        m.next = "RUN"

            with self.state(m, "RUN"):
                m.d.sync += odd.eq(~odd)
                with m.If(odd):
                    m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src_b + in_off)]
                    last_word = j == f.count - 1
                    m.d.sync += [a.eq(rd.data), pending.eq(1),
                                 dst_prev.eq(f.dst + out_base + j),
                                 j.eq(Mux(last_word, 0, j + 1))]
                    with m.If(last_word):
                        m.d.sync += [in_base.eq(in_base + window.in_stride),
                                     out_base.eq(out_base + window.out_stride),
                                     windows_left.eq(windows_left - 1),
                                     more.eq(windows_left != 0)]
                with m.Else():
                    with m.If(more):
                        m.d.comb += [rd.en.eq(1), rd.addr.eq(f.src_a + in_off)]
                    with m.If(pending):
                        m.d.comb += [wr.en.eq(1), wr.addr.eq(dst_prev),
                                     wr.data.eq(vec_word(f.func, a, rd.data))]
                    with m.If(~more):
                        self.finish(m)
        self.record(fsm)
        return m
