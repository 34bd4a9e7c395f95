"""Special-function unit: one int32 element through ReLU, requantization (optionally
after ReLU), a pooling window (max or average) or digit extraction, as
``firmware/isa.py`` defines ``SFU``.

It is combinational: the sequencer feeds one per lane of a word for the element-wise
functions (a word per cycle) and one element per cycle for pooling, holds the pooling state
(``win``, ``acc``) in its registers from ``win_next``/``acc_next``, and packs ``y`` into
output words whenever ``emit`` is set (INT8 lanes when ``narrow``).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Value, signed
from amaranth.hdl import ValueLike
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from firmware.isa import SFU_NARROW, SPECS, Opcode, SfuFunc

ACC_BITS = 48  # a window of up to 255 int32 elements sums without overflow


def requantize(x: ValueLike, shift: ValueLike, relu: ValueLike) -> Value:
    """REQUANT of the signed int32 ``x`` (of ``max(x, 0)`` when ``relu``):
    ``clip((v + 2^(shift-1)) >> shift, -128, 127)`` for a 5-bit ``shift`` (the SFU's, and
    a requantizing VMM's on its way out)."""
    shift = Value.cast(shift)
    rounding = (Const(1, 32) << shift) >> 1  # 2^(shift-1), 0 for shift 0
    v = Mux(relu & (x < 0), 0, x)
    q = (v + rounding) >> shift
    return Mux(q > 127, 127, Mux(q < -128, -128, q))


class SpecialFunctionUnit(wiring.Component):
    """Members: ``func``, ``shift``, ``window`` from the instruction; ``x`` the element;
    ``win``/``acc`` the pooling state before it; ``y``, ``emit``, ``narrow`` the result;
    ``win_next``/``acc_next`` the state after it."""

    def __init__(self):
        f = {fl.name: fl.width for fl in SPECS[Opcode.SFU].fields}
        super().__init__({
            "func": In(f["func"]),
            "shift": In(f["shift"]),
            "window": In(f["window"]),
            "x": In(signed(32)),
            "win": In(f["window"]),
            "acc": In(signed(ACC_BITS)),
            "y": Out(signed(32)),
            "emit": Out(1),
            "narrow": Out(1),
            "win_next": Out(f["window"]),
            "acc_next": Out(signed(ACC_BITS)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        x, win, acc = self.x, self.win, self.acc
        # The decoder faults a shift over 31, so five bits of it are enough (and keep the
        # rounding constant 32 bits wide instead of 2^8).
        shift = self.shift[:5]
        rounding = (Const(1, 32) << shift) >> 1  # 2^(shift-1), 0 for shift 0
        window_end = win == self.window - 1
        new_max = Mux((win == 0) | (x > acc), x, acc)
        new_sum = Mux(win == 0, x, acc + x)
        m.d.comb += [self.win_next.eq(win), self.acc_next.eq(acc),
                     self.narrow.eq(Cat(self.func == f for f in SFU_NARROW).any())]
        with m.Switch(self.func):
            with m.Case(SfuFunc.RELU):
                m.d.comb += [self.y.eq(Mux(x < 0, 0, x)), self.emit.eq(1)]
            with m.Case(SfuFunc.REQUANT, SfuFunc.REQUANT_RELU):
                m.d.comb += [self.y.eq(requantize(x, shift,
                                                  self.func == SfuFunc.REQUANT_RELU)),
                             self.emit.eq(1)]
            with m.Case(SfuFunc.DIGIT):  # balanced base-256 digit at bit `shift`
                biased = (x.as_unsigned() + 0x80808080)[:32]
                m.d.comb += [self.y.eq((biased >> shift)[:8] - 128), self.emit.eq(1)]
            with m.Case(SfuFunc.MAXPOOL, SfuFunc.AVGPOOL):
                is_max = self.func == SfuFunc.MAXPOOL
                m.d.comb += [
                    self.acc_next.eq(Mux(is_max, new_max, new_sum)),
                    self.win_next.eq(Mux(window_end, 0, win + 1)),
                    self.y.eq(Mux(is_max, new_max, (new_sum + rounding) >> shift)),
                    self.emit.eq(window_end),
                ]
        return m
