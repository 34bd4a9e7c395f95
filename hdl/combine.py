"""BasisN's combination unit: ``G`` multiply-accumulate lanes after the ADCs.

Each step takes one coefficient word (``G = word_bits / 8`` INT8 coefficients, one per
output lane) and one int32 input ``p`` and adds ``c[l] * p`` to lane ``l``, wrapping at 32
bits, as ``firmware/isa.py`` defines ``COMBINE``. It is combinational: the sequencer
holds the lanes in registers (``acc`` in, ``acc_next`` out) and streams the words.
"""

from __future__ import annotations

from amaranth import Cat, Module, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class CombineUnit(wiring.Component):
    """Members: ``coefs`` (a word of INT8 coefficients), ``p`` (the input), ``acc`` (the
    lanes before), ``acc_next`` (the lanes after)."""

    def __init__(self, word_bits: int):
        self._lanes = word_bits // 8
        super().__init__({
            "coefs": In(word_bits),
            "p": In(signed(32)),
            "acc": In(data.ArrayLayout(signed(32), self._lanes)),
            "acc_next": Out(data.ArrayLayout(signed(32), self._lanes)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes = [(self.acc[lane] + self.coefs.word_select(lane, 8).as_signed() * self.p)[:32]
                 for lane in range(self._lanes)]
        # One assignment of the whole vector: a Verilog simulator drives it as one net.
        m.d.comb += self.acc_next.as_value().eq(Cat(lanes))
        return m
