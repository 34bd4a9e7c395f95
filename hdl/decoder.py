"""Instruction decoder: field views and decode-time fault checks, all from ``firmware/isa.py``."""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.hdl import ValueLike
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firmware.config import Config
from firmware.isa import (
    INSN_BITS,
    OPCODE_BITS,
    SFU_NARROW,
    SPECS,
    Fault,
    Opcode,
    SfuFunc,
    VecFunc,
    VmmOut,
)
from hdl.shapes import FIELD_SHAPES, FaultShape, OpcodeShape


def one_if_zero(value: ValueLike) -> Value:
    """A count field as the ISA reads it: 0 is taken as 1 (``firmware.isa``'s fields say
    which do)."""
    return Mux(value == 0, 1, value)


def _field_shape(op: Opcode, f) -> object:
    return FIELD_SHAPES.get((op, f.name)) or (signed(f.width) if f.signed else unsigned(f.width))


def instruction_layout() -> data.StructLayout:
    """The 128-bit instruction as an opcode and a union of per-instruction field structs
    (the opcode and the function fields as enum shapes, :mod:`hdl.shapes`)."""
    members = {
        spec.name: data.StructLayout({f.name: _field_shape(spec.opcode, f) for f in spec.fields})
        for spec in SPECS.values() if spec.fields  # no zero-width members in the Verilog
    }
    return data.StructLayout({"opcode": OpcodeShape, "args": data.UnionLayout(members)})


def vmm_geometry(f, cfg: Config) -> dict[str, Value]:
    """A VMM's geometry from its fields ``f``: columns, row blocks, column groups and
    replicas (each 0 read as 1), the APU rows it drives, its input words, one column
    group's output words (a quarter of them INT8, requantized) and its output words per
    window pass."""
    cols, rows = one_if_zero(f.ncols), one_if_zero(f.nrows)
    groups, reps = one_if_zero(f.ngroups), one_if_zero(f.replicas)
    wide = cols * cfg.output_words
    group_words = Mux(f.mode != VmmOut.INT32, wide >> 2, wide)
    return {"cols": cols, "rows": rows, "groups": groups, "reps": reps,
            "apu_rows": rows * groups * reps, "in_words": reps * rows * cfg.input_words,
            "group_words": group_words, "out_words": reps * groups * group_words}


def geometry_layout(cfg: Config) -> data.StructLayout:
    """The decoder's :func:`vmm_geometry` output, each member as wide as its expression."""
    fields = Signal(instruction_layout()).args.VMM
    return data.StructLayout({k: v.shape() for k, v in vmm_geometry(fields, cfg).items()})


def window_layout() -> data.StructLayout:
    """The VMM window registers set by ``WINDOW``."""
    f = {fl.name: fl.width for fl in SPECS[Opcode.WINDOW].fields}
    return data.StructLayout({name: f[name] for name in (
        "count", "in_stride", "out_stride", "seg_group", "group_stride")})


class InstructionDecoder(wiring.Component):
    """Splits an instruction word into fields and flags the fault it would raise.

    Checks, in the golden model's order: opcode, operand values, crossbar index and
    rows, global-buffer range, a VMM's output extent over its input extent, main-memory
    range, gated banks, reads of unwritten words. A GB operand's extent runs from its
    first to its last word (all windows of a VMM or a windowed VEC included).

    Members
    -------
    insn : In(128)
        Raw instruction word.
    window : In(window_layout())
        Current VMM window registers (count already forced to at least 1).
    bank_mask : In(32)
        Current bank power mask (bit i powers bank i).
    gb_valid : In(gb_words)
        Bit w is set once global-buffer word w has been written since reset.
    decoded : Out(instruction_layout())
        Field view of ``insn``.
    geometry : Out(geometry_layout(cfg))
        The VMM geometry of ``insn`` read as a VMM (:func:`vmm_geometry`), decoded once
        here for the decode checks, the sequencer and the chip.
    fault : Out(FaultShape)
        ``Fault.NONE`` or the decode-time fault.
    """

    def __init__(self, cfg: Config):
        self._cfg = cfg
        super().__init__({
            "insn": In(INSN_BITS),
            "window": In(window_layout()),
            "bank_mask": In(32),
            "gb_valid": In(cfg.gb_words),
            "decoded": Out(instruction_layout()),
            "geometry": Out(geometry_layout(cfg)),
            "fault": Out(FaultShape),
        })

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        layout = instruction_layout()
        m.d.comb += self.decoded.as_value().eq(self.insn[:layout.size])
        a = self.decoded.args
        w = self.window
        geo = self.geometry
        for name, value in vmm_geometry(a.VMM, cfg).items():
            m.d.comb += getattr(geo, name).eq(value)

        xbar_bad = Signal()
        dram_bad = Signal()
        overlap = Signal()
        operand_bad = Signal()
        spans: list[tuple[Signal, Signal]] = [(Signal(40, name=f"span{i}_start"),
                                               Signal(40, name=f"span{i}_words"))
                                              for i in range(3)]
        legal = Signal()
        # Read extents, checked against the written-since-reset bits (checked last, so
        # they are only meaningful once the ranges above are known to be in bounds).
        reads: list[tuple[Signal, Signal]] = [(Signal(40, name=f"read{i}_start"),
                                               Signal(40, name=f"read{i}_words"))
                                              for i in range(2)]

        # How far the window loop reaches past its first window, in input and output
        # words (VMM and windowed VEC extents both start from these).
        in_reach = Signal(40)
        out_reach = Signal(40)
        m.d.comb += [in_reach.eq((w.count - 1) * w.in_stride),
                     out_reach.eq((w.count - 1) * w.out_stride)]

        def span(i: int, first, words) -> None:
            m.d.comb += [spans[i][0].eq(first), spans[i][1].eq(words)]

        def read(i: int, first, words) -> None:
            m.d.comb += [reads[i][0].eq(first), reads[i][1].eq(words)]

        with m.Switch(self.decoded.opcode):
            for spec in SPECS.values():
                if not spec.rtl:
                    continue
                with m.Case(spec.opcode):
                    # Bits outside the opcode and its fields make the word illegal (as
                    # firmware.isa.decode refuses it).
                    used = (1 << OPCODE_BITS) - 1
                    for lsb, width in spec.field_offsets().values():
                        used |= ((1 << width) - 1) << lsb
                    stray = ((1 << INSN_BITS) - 1) & ~used
                    m.d.comb += legal.eq((self.insn & stray) == 0)
                    op = spec.opcode
                    if op in (Opcode.LOAD, Opcode.STORE):
                        f = getattr(a, spec.name)
                        span(0, f.gb_addr, f.count)
                        if op == Opcode.STORE:
                            read(0, f.gb_addr, f.count)
                        m.d.comb += dram_bad.eq(f.dram_addr + f.count > cfg.dram_words)
                    elif op == Opcode.WRITE_START:
                        f = a.WRITE_START
                        nx = one_if_zero(f.nxbars)
                        m.d.comb += [
                            xbar_bad.eq((f.xbar + nx > cfg.n_crossbars)
                                        | (f.row + f.nrows > cfg.crossbar.rows)),
                            dram_bad.eq(f.dram_addr + f.nrows * nx * cfg.delta_row_words
                                        > cfg.dram_words),
                        ]
                    elif op == Opcode.WRITE_WAIT:
                        m.d.comb += xbar_bad.eq(a.WRITE_WAIT.xbar >= cfg.n_crossbars)
                    elif op == Opcode.VMM:
                        f = a.VMM
                        ncols, nrows, ngroups = geo.cols, geo.rows, geo.groups
                        reps, apu_rows = geo.reps, geo.apu_rows
                        narrow = f.mode != VmmOut.INT32
                        m.d.comb += [
                            operand_bad.eq((w.count % reps != 0)
                                           | (f.mode > max(VmmOut))
                                           | (narrow & (f.accumulate
                                                        | ((ncols * cfg.output_words)[:2]
                                                           != 0)))),
                            xbar_bad.eq(
                                (f.xbar + (apu_rows - 1) * cfg.apu_cols + ncols
                                 > cfg.n_crossbars)
                                | (f.xbar % cfg.apu_cols + ncols > cfg.apu_cols)),
                        ]
                        # Farthest segment end (firmware.isa.Window.segments_extent).
                        iw = cfg.input_words
                        g = Mux(w.seg_group == 0, nrows, w.seg_group)
                        last_group = (nrows - 1) // g
                        end_last = (last_group * w.group_stride
                                    + (nrows - 1 - last_group * g) * iw)
                        end_full = (last_group - 1) * w.group_stride + (g - 1) * iw
                        seg_ext = Mux((last_group != 0) & (end_full > end_last),
                                      end_full, end_last) + iw
                        in_ext = in_reach + seg_ext
                        out_ext = out_reach + ngroups * geo.group_words
                        m.d.comb += overlap.eq((f.in_addr < f.out_addr + out_ext)
                                               & (f.out_addr < f.in_addr + in_ext))
                        span(0, f.in_addr, in_ext)
                        span(1, f.out_addr, out_ext)
                        read(0, f.in_addr, in_ext)
                        read(1, f.out_addr, Mux(f.accumulate, out_ext, 0))
                    elif op == Opcode.SFU:
                        f = a.SFU
                        lanes = cfg.gb_bits // 32
                        n = f.count * lanes
                        pool = (f.func == SfuFunc.MAXPOOL) | (f.func == SfuFunc.AVGPOOL)
                        m.d.comb += operand_bad.eq(
                            (f.func > max(SfuFunc)) | (f.shift > 31)
                            | ((f.func == SfuFunc.DIGIT) & (f.shift[:3] != 0))
                            | ((f.src < f.dst) & (f.dst < f.src + f.count))
                            | (pool & ((f.window == 0)
                                       | (n % one_if_zero(f.window) != 0))))
                        out_words = Mux(
                            f.func == SfuFunc.RELU, f.count,
                            Mux(Cat(f.func == fn for fn in SFU_NARROW).any(),
                                (n * 8 + cfg.gb_bits - 1) // cfg.gb_bits,
                                ((n // one_if_zero(f.window)) * 32 + cfg.gb_bits - 1)
                                // cfg.gb_bits))
                        span(0, f.src, f.count)
                        span(1, f.dst, Mux(operand_bad, 0, out_words))
                        read(0, f.src, f.count)
                    elif op == Opcode.INV:
                        f = a.INV
                        words = cfg.inv_vector_words
                        m.d.comb += [operand_bad.eq((f.shift > 31) | (f.shift < -31)),
                                     xbar_bad.eq(f.xbar >= cfg.inv.count)]
                        span(0, f.in_addr, words)
                        span(1, f.out_addr, words)
                        read(0, f.in_addr, words)
                    elif op == Opcode.COMBINE:
                        f = a.COMBINE
                        act = (f.m != 0) & (f.ngroups != 0)
                        dst_w = Mux(act, 4 * f.ngroups, 0)
                        src_w = Mux(act, (f.m * 32 + cfg.gb_bits - 1) // cfg.gb_bits, 0)
                        coef_w = Mux(act, f.ngroups * f.m, 0)
                        overlaps = lambda a0, an, b0, bn: (a0 < b0 + bn) & (b0 < a0 + an)  # noqa: E731
                        m.d.comb += operand_bad.eq(act & (
                            overlaps(f.dst, dst_w, f.src, src_w)
                            | overlaps(f.dst, dst_w, f.coef, coef_w)))
                        span(0, f.dst, dst_w)
                        span(1, f.src, src_w)
                        span(2, f.coef, coef_w)
                        read(0, f.src, src_w)
                        read(1, f.coef, coef_w)
                    elif op == Opcode.INV_WRITE:
                        f = a.INV_WRITE
                        words = cfg.inv_matrix_words
                        m.d.comb += [xbar_bad.eq(f.xbar >= cfg.inv.count),
                                     dram_bad.eq(f.dram_addr + words > cfg.dram_words)]
                    elif op == Opcode.VEC:
                        # Every window (windowed): first window's first word to the
                        # last window's last; nothing at all for a zero count.
                        f = a.VEC
                        some = f.count != 0
                        vec_in = Mux(some, Mux(f.windowed, in_reach, 0) + f.count, 0)
                        vec_out = Mux(some, Mux(f.windowed, out_reach, 0) + f.count, 0)
                        m.d.comb += operand_bad.eq(f.func > max(VecFunc))
                        span(0, f.dst, vec_out)
                        span(1, f.src_a, vec_in)
                        span(2, f.src_b, vec_in)
                        read(0, f.src_a, vec_in)
                        read(1, f.src_b, vec_in)

        gb_bad = Signal()
        gated = Signal()
        m.d.comb += gb_bad.eq(Cat(first + words > cfg.gb_words for first, words in spans).any())
        m.d.comb += gated.eq(Cat(
            (words != 0) & (first < hi) & (first + words > lo) & ~self.bank_mask[i]
            for first, words in spans for i, (lo, hi) in enumerate(cfg.bank_bounds)).any())

        # Unwritten words of a read extent [first, first + n): the written-since-reset
        # bits shifted down by `first`, masked to their low n bits. Both are right shifts
        # of gb_words-wide vectors (a left shift would widen them to 2^abits more bits,
        # which Verilator computes word by word every cycle).
        gbw = cfg.gb_words
        abits = gbw.bit_length()
        unwritten = Signal()
        hits = []
        for first, words in reads:
            n = Mux(words > gbw, gbw, words)[:abits]
            low_n = Const((1 << gbw) - 1, gbw) >> (gbw - n)[:abits]
            hits.append(((~self.gb_valid >> first[:abits]) & low_n).any())
        m.d.comb += unwritten.eq(Cat(*hits).any())

        # The first failing check names the fault (the golden model's order).
        priority = [(~legal, Fault.ILLEGAL_OPCODE), (operand_bad, Fault.BAD_OPERAND),
                    (xbar_bad, Fault.XBAR_RANGE), (gb_bad, Fault.GB_RANGE),
                    (overlap, Fault.VMM_OVERLAP), (dram_bad, Fault.DRAM_RANGE),
                    (gated, Fault.GATED_BANK), (unwritten, Fault.UNINITIALIZED)]
        for i, (failed, code) in enumerate(priority):
            with (m.If if i == 0 else m.Elif)(failed):
                m.d.comb += self.fault.eq(code)
        return m
