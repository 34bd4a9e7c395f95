"""Shift-and-add accumulators: recombine ADC codes across cell slices and input planes.

For plane ``b`` the codes of weight column ``j``'s slices ``s`` add up as
``sum_s code[j*S+s] << (cell_bits*s)``, times the ADC's LSB ``2^adc_lsb_shift``; that
partial is added ``<< b`` (subtracted for the last, sign plane). The popcount of each
plane is accumulated alike, and the offset-binary weight offset is removed at the
output: ``y = acc - (offset + zero) * sum(x)`` (``zero``: the VMM's extra weight offset,
partial weight reuse).
``hold`` copies the corrected sums into the output registers that ``result`` shows, so a
window pass's results drain while the accumulators sum the next pass (in the same
cycle, ``clear`` may zero the sums: the registers take the sums before it).
All arithmetic wraps at ``acc_bits``, as in the golden model.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firmware.config import Config
from hdl.arith import tree_sum


class ShiftAccumulator(wiring.Component):
    """Members: ``clear`` zeroes the sums; ``valid`` with ``plane_index``, ``codes``
    (cols x ``code_field_bits``: zero-extended ADC codes) and ``plane_bits`` (rows) adds
    one plane; ``zero`` the extra weight offset; ``hold`` registers the offset-corrected
    int32 vector, which ``result`` shows."""

    def __init__(self, cfg: Config):
        self._cfg = cfg
        c = cfg.crossbar
        super().__init__({
            "clear": In(1),
            "hold": In(1),
            "valid": In(1),
            "plane_index": In(range(cfg.data.act_bits)),
            "codes": In(data.ArrayLayout(cfg.code_field_bits, c.cols)),
            "plane_bits": In(c.rows),
            "zero": In(signed(8)),
            "result": Out(data.ArrayLayout(signed(cfg.data.acc_bits), cfg.weights_per_row)),
        })

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        S, cb, nb = cfg.slices_per_weight, cfg.crossbar.cell_bits, cfg.data.act_bits
        width = cfg.data.acc_bits
        last = self.plane_index == nb - 1
        xsum = Signal(signed(width))
        popcount = Signal(range(cfg.crossbar.rows + 1))
        m.d.comb += popcount.eq(tree_sum([self.plane_bits[r] for r in range(cfg.crossbar.rows)]))
        with m.If(self.clear):
            m.d.sync += xsum.eq(0)
        with m.Elif(self.valid):
            step = popcount << self.plane_index
            with m.If(last):
                m.d.sync += xsum.eq(xsum - step)
            with m.Else():
                m.d.sync += xsum.eq(xsum + step)
        accs = []
        for j in range(cfg.weights_per_row):
            acc = Signal(signed(width), name=f"acc{j}")
            accs.append(acc)
            partial = tree_sum([self.codes[j * S + s] << (cb * s) for s in range(S)]) \
                << cfg.analog.adc_lsb_shift
            step = partial << self.plane_index
            with m.If(self.clear):
                m.d.sync += acc.eq(0)
            with m.Elif(self.valid):
                with m.If(last):
                    m.d.sync += acc.eq(acc - step)
                with m.Else():
                    m.d.sync += acc.eq(acc + step)
        # The weights' offset: offset binary, plus the VMM's `zero` (partial reuse).
        offset = Signal(signed(cfg.data.weight_bits + 2))
        m.d.comb += offset.eq(cfg.weight_offset + self.zero)
        correction = Signal(signed(width))
        m.d.comb += correction.eq(xsum * offset)
        # One assignment of the whole vector (not one per element): Verilog simulators
        # then drive the port as one net rather than resolving eight partial drivers.
        held = Signal(width * cfg.weights_per_row)
        with m.If(self.hold):
            m.d.sync += held.eq(Cat((acc - correction)[:width] for acc in accs))
        m.d.comb += self.result.as_value().eq(held)
        return m
