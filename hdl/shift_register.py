"""Activation shift registers: hold the input vectors of a set of APU rows and present
them bit-serially.

Each APU row has ``rows`` activations, loaded a global-buffer word at a time; one load
may write the same word into several APU rows at once (``load_rows`` is a mask), which
is how column groups that share a layer's inputs get them without reloading. Each
``shift`` moves every activation one bit right, so ``plane`` shows bit 0 of all rows,
then bit 1, and so on (least significant plane first; the caller weighs the last plane
negatively).
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class ActivationShiftRegister(wiring.Component):
    """Members: ``load`` with ``load_rows`` (a mask of APU rows), ``load_word`` (word of
    each masked row's segment) and ``load_data`` writes one word of activations;
    ``shift`` advances one bit-plane; ``plane`` Out(apu_rows x rows) is the current
    plane; ``acts`` Out(apu_rows x rows x act_bits) the register contents (the whole
    vectors before the first shift)."""

    def __init__(self, apu_rows: int, rows: int, act_bits: int, word_bits: int):
        if word_bits % act_bits or rows * act_bits % word_bits:
            raise ValueError("activations must tile the global-buffer words")
        self._apu_rows, self._rows = apu_rows, rows
        self._act_bits, self._word_bits = act_bits, word_bits
        words = rows * act_bits // word_bits
        super().__init__({
            "load": In(1),
            "load_rows": In(apu_rows),
            "load_word": In(range(max(2, words))),
            "load_data": In(word_bits),
            "shift": In(1),
            "plane": Out(apu_rows * rows),
            "acts": Out(apu_rows * rows * act_bits),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        per_word = self._word_bits // self._act_bits
        for a in range(self._apu_rows):
            for r in range(self._rows):
                i = a * self._rows + r
                act = Signal(self._act_bits, name=f"act{a}_{r}")
                m.d.comb += [self.plane[i].eq(act[0]),
                             self.acts.word_select(i, self._act_bits).eq(act)]
                lane = self.load_data.word_select(r % per_word, self._act_bits)
                with m.If(self.load & self.load_rows[a] & (self.load_word == r // per_word)):
                    m.d.sync += act.eq(lane)
                with m.Elif(self.shift):
                    m.d.sync += act.eq(act >> 1)
        return m
