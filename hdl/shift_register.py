"""Activation shift registers: hold one input vector and present it bit-serially.

The vector is loaded a global-buffer word at a time; each ``shift`` moves every
activation one bit right, so ``plane`` shows bit 0 of all rows, then bit 1, and so on
(least significant plane first; the caller weighs the last plane negatively).
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class ActivationShiftRegister(wiring.Component):
    """Members: ``load``/``load_index``/``load_data`` write one word of activations;
    ``shift`` advances one bit-plane; ``plane`` Out(rows) is the current plane;
    ``acts`` Out(rows x act_bits) the register contents (the whole vector before the
    first shift)."""

    def __init__(self, rows: int, act_bits: int, word_bits: int):
        if word_bits % act_bits or rows * act_bits % word_bits:
            raise ValueError("activations must tile the global-buffer words")
        self._rows, self._act_bits, self._word_bits = rows, act_bits, word_bits
        words = rows * act_bits // word_bits
        super().__init__({
            "load": In(1),
            "load_index": In(range(max(2, words))),
            "load_data": In(word_bits),
            "shift": In(1),
            "plane": Out(rows),
            "acts": Out(rows * act_bits),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        per_word = self._word_bits // self._act_bits
        acts = [Signal(self._act_bits, name=f"act{r}") for r in range(self._rows)]
        for r, act in enumerate(acts):
            m.d.comb += [self.plane[r].eq(act[0]),
                         self.acts.word_select(r, self._act_bits).eq(act)]
            lane = self.load_data.word_select(r % per_word, self._act_bits)
            with m.If(self.load & (self.load_index == r // per_word)):
                m.d.sync += act.eq(lane)
            with m.Elif(self.shift):
                m.d.sync += act.eq(act >> 1)
        return m
