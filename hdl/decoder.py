"""Instruction decoder: field views and decode-time fault checks, all from ``firmware/isa.py``."""

from __future__ import annotations

from amaranth import Module, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firmware.config import Config
from firmware.isa import INSN_BITS, OPCODE_BITS, SPECS, Fault, Opcode


def instruction_layout() -> data.StructLayout:
    """The 128-bit instruction as an opcode and a union of per-instruction field structs."""
    members = {
        spec.name: data.StructLayout({
            f.name: signed(f.width) if f.signed else unsigned(f.width) for f in spec.fields
        })
        for spec in SPECS.values() if spec.fields  # no zero-width members in the Verilog
    }
    return data.StructLayout({"opcode": unsigned(OPCODE_BITS), "args": data.UnionLayout(members)})


def window_layout() -> data.StructLayout:
    """The VMM window registers set by ``WINDOW``."""
    f = {fl.name: fl.width for fl in SPECS[Opcode.WINDOW].fields}
    return data.StructLayout({"count": f["count"], "in_stride": f["in_stride"],
                              "out_stride": f["out_stride"]})


class InstructionDecoder(wiring.Component):
    """Splits an instruction word into fields and flags the fault it would raise.

    Members
    -------
    insn : In(128)
        Raw instruction word.
    window : In(window_layout())
        Current VMM window registers (count already forced to at least 1).
    decoded : Out(instruction_layout())
        Field view of ``insn``.
    fault : Out(Fault)
        ``Fault.NONE`` or the decode-time fault (illegal opcode, address ranges).
    """

    def __init__(self, cfg: Config):
        self._cfg = cfg
        super().__init__({
            "insn": In(INSN_BITS),
            "window": In(window_layout()),
            "decoded": Out(instruction_layout()),
            "fault": Out(8),
        })

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        layout = instruction_layout()
        m.d.comb += self.decoded.as_value().eq(self.insn[:layout.size])
        a = self.decoded.args
        fault = self.fault

        with m.Switch(self.decoded.opcode):
            for spec in SPECS.values():
                if not spec.rtl:
                    continue
                with m.Case(spec.opcode):
                    op = spec.opcode
                    if op in (Opcode.LOAD, Opcode.STORE):
                        f = getattr(a, spec.name)
                        with m.If(f.gb_addr + f.count > cfg.gb_words):
                            m.d.comb += fault.eq(Fault.GB_RANGE)
                        with m.Elif(f.dram_addr + f.count > cfg.dram_words):
                            m.d.comb += fault.eq(Fault.DRAM_RANGE)
                    elif op == Opcode.WRITE_START:
                        f = a.WRITE_START
                        with m.If((f.xbar >= cfg.n_crossbars)
                                  | (f.row + f.nrows > cfg.crossbar.rows)):
                            m.d.comb += fault.eq(Fault.XBAR_RANGE)
                        with m.Elif(f.dram_addr + f.nrows * cfg.delta_row_words
                                    > cfg.dram_words):
                            m.d.comb += fault.eq(Fault.DRAM_RANGE)
                    elif op == Opcode.WRITE_WAIT:
                        with m.If(a.WRITE_WAIT.xbar >= cfg.n_crossbars):
                            m.d.comb += fault.eq(Fault.XBAR_RANGE)
                    elif op == Opcode.VMM:
                        f, w = a.VMM, self.window
                        last_in = f.in_addr + (w.count - 1) * w.in_stride + cfg.input_words
                        last_out = f.out_addr + (w.count - 1) * w.out_stride + cfg.output_words
                        with m.If(f.xbar >= cfg.n_crossbars):
                            m.d.comb += fault.eq(Fault.XBAR_RANGE)
                        with m.Elif((last_in > cfg.gb_words) | (last_out > cfg.gb_words)):
                            m.d.comb += fault.eq(Fault.GB_RANGE)
            with m.Default():
                m.d.comb += fault.eq(Fault.ILLEGAL_OPCODE)
        return m
