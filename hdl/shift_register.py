"""Activation shift registers, double-buffered: hold the input vectors of a set of APU
rows and present them bit-serially, while the next vectors load into a second set.

Each APU row has ``rows`` activations, loaded a global-buffer word at a time; one load
may write the same word into several APU rows at once (``load_rows`` is a mask), which
is how column groups that share a layer's inputs get them without reloading. Loads go
to the second set; ``swap`` copies it into the first, the one shown and shifted, so a
window pass loads while the previous one computes (the PE buffer of ARAS's Fig. 4(b)
holds both sets: ``pe.buffer_bytes``). Each ``shift`` moves every activation one bit
right, so ``plane`` shows bit 0 of all rows, then bit 1, and so on (least significant
plane first; the caller weighs the last plane negatively).

The register is stored plane-major (bit ``b`` of every lane together, plane 0 first),
and ``acts`` shows it so: a shift is then one move of the whole register by a plane, and
the current plane one slice, which an event-driven simulator does in a few word
operations instead of re-assembling the vector lane by lane.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdl.interfaces import ActivationLoad


class ActivationShiftRegister(wiring.Component):
    """Members: ``ld`` (:class:`~hdl.interfaces.ActivationLoad`): ``load`` with ``rows``
    (a mask of APU rows), ``word`` (word of each masked row's segment) and ``data``
    writes one word of activations into the second set; ``swap`` copies the second set
    into the first (taking precedence over ``shift``, which advances the first set one
    bit-plane; a load in the same cycle goes to the second set alike); ``plane``
    Out(apu_rows x rows) is the current plane; ``acts`` Out(act_bits x apu_rows x rows)
    the register contents, plane-major (all planes of the vectors before the first
    shift): bit ``b`` of lane ``a * rows + r`` is ``acts[b * apu_rows * rows + a * rows +
    r]``."""

    def __init__(self, apu_rows: int, rows: int, act_bits: int, word_bits: int):
        if word_bits % act_bits or rows * act_bits % word_bits:
            raise ValueError("activations must tile the global-buffer words")
        self._apu_rows, self._rows = apu_rows, rows
        self._act_bits, self._word_bits = act_bits, word_bits
        words = rows * act_bits // word_bits
        super().__init__({
            "ld": In(ActivationLoad(apu_rows, words, word_bits)),
            "plane": Out(apu_rows * rows),
            "acts": Out(apu_rows * rows * act_bits),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        nb, wb, rows = self._act_bits, self._word_bits, self._rows
        per_word = wb // nb                     # activations in a buffer word
        lanes = self._apu_rows * rows
        acts = Signal(lanes * nb)
        staged = Signal(lanes * nb)             # the second set, loading
        m.d.comb += [self.acts.eq(acts), self.plane.eq(acts[:lanes])]
        # A word's activations, transposed: plane b's bits of its lanes side by side.
        planes = [Cat(self.ld.data[i * nb + b] for i in range(per_word)) for b in range(nb)]
        with m.If(self.ld.load):
            with m.Switch(self.ld.word):
                for w in range(rows // per_word):
                    with m.Case(w):
                        for a in range(self._apu_rows):
                            with m.If(self.ld.rows[a]):
                                for b in range(nb):
                                    lo = b * lanes + a * rows + w * per_word
                                    m.d.sync += staged[lo:lo + per_word].eq(planes[b])
        with m.If(self.ld.swap):
            m.d.sync += acts.eq(staged)
        with m.Elif(self.ld.shift):
            m.d.sync += acts.eq(acts[lanes:])
        return m
