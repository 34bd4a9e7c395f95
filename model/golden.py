"""Golden model: a numpy interpreter of the ISA, bit-exact with the RTL.

It executes an image against a config and the analog crossbar models and yields the
final global-buffer and main-memory contents, the fault code and value counters. Time
is not modelled here (see :mod:`model.timing`); checks happen in the same order as in
the RTL decoder so that bad firmware faults identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firmware.config import Config
from firmware.image import Image
from firmware.isa import SPECS, Fault, Instruction, Opcode, decode
from firmware.packing import pack, unpack
from model.crossbar import Crossbar
from model.write_physics import RowWrite


@dataclass(frozen=True)
class Executed:
    """One executed instruction and, for a weight write, the cost of each row."""

    insn: Instruction
    rows: tuple[RowWrite, ...] = ()


@dataclass
class GoldenResult:
    """Final state after HALT or a fault."""

    gb: list[int]
    dram: list[int]
    fault: Fault
    pc: int
    executed: int
    pulses: int = 0
    saturated_cells: int = 0
    trace: list[Executed] = field(default_factory=list)


def check(cfg: Config, insn: Instruction) -> Fault:
    """The fault an instruction raises at decode, or ``Fault.NONE`` (same order as RTL)."""
    op = insn.opcode
    if not SPECS[op].rtl:
        return Fault.ILLEGAL_OPCODE
    if op in (Opcode.LOAD, Opcode.STORE):
        if insn.gb_addr + insn.count > cfg.gb_words:
            return Fault.GB_RANGE
        if insn.dram_addr + insn.count > cfg.dram_words:
            return Fault.DRAM_RANGE
    elif op == Opcode.WRITE_START:
        if insn.xbar >= cfg.n_crossbars or insn.row + insn.nrows > cfg.crossbar.rows:
            return Fault.XBAR_RANGE
        if insn.dram_addr + insn.nrows * cfg.delta_row_words > cfg.dram_words:
            return Fault.DRAM_RANGE
    elif op == Opcode.WRITE_WAIT and insn.xbar >= cfg.n_crossbars:
        return Fault.XBAR_RANGE
    return Fault.NONE


def vmm_window_fault(cfg: Config, insn: Instruction, window: tuple[int, int, int]) -> Fault:
    """Range checks of a VMM against the current window registers."""
    count, in_stride, out_stride = window
    if insn.xbar >= cfg.n_crossbars:
        return Fault.XBAR_RANGE
    last_in = insn.in_addr + (count - 1) * in_stride + cfg.input_words
    last_out = insn.out_addr + (count - 1) * out_stride + cfg.output_words
    if last_in > cfg.gb_words or last_out > cfg.gb_words:
        return Fault.GB_RANGE
    return Fault.NONE


def bit_serial_vmm(xbar: Crossbar, x: np.ndarray, cfg: Config) -> np.ndarray:
    """int32 outputs of one VMM, recombined exactly as the RTL shift-and-add does.

    Plane ``b`` of the INT8 inputs (two's complement, LSB first) is read through the ADCs;
    cell slice ``s`` of weight column ``j`` weighs ``2^(cell_bits*s)``, plane ``b`` weighs
    ``2^b`` (``-2^7`` for the sign plane), codes weigh ``2^adc_lsb_shift``; the offset of
    the offset-binary weights is removed with the digitally accumulated ``sum(x)``.
    """
    S, cb = cfg.slices_per_weight, cfg.crossbar.cell_bits
    nb = cfg.data.act_bits
    xu = np.asarray(x, dtype=np.int64) & ((1 << nb) - 1)
    planes = (xu[None, :] >> np.arange(nb)[:, None]) & 1
    codes = xbar.read_planes(planes)                       # nb x cols
    partial = sum(codes[:, s::S] << (cb * s) for s in range(S)) << cfg.analog.adc_lsb_shift
    weight = np.array([1 << b for b in range(nb)], dtype=np.int64)
    weight[-1] = -weight[-1]  # two's complement: the MSB plane weighs -2^(nb-1)
    acc = weight @ partial
    xsum = int(weight @ planes.sum(axis=1))
    y = acc - cfg.weight_offset * xsum
    return ((y + (1 << 31)) % (1 << 32)) - (1 << 31)  # wrap to int32 as the RTL does


class Golden:
    """Interpreter state: memories, crossbars and the VMM window registers."""

    def __init__(self, image: Image):
        cfg = self.cfg = image.config
        self.image = image
        self.gb = [0] * cfg.gb_words
        self.dram = list(image.dram)
        self.xbars = [Crossbar(cfg, i) for i in range(cfg.n_crossbars)]
        self.window = (1, 0, 0)
        self.pulses = 0
        self.saturated = 0

    def run(self) -> GoldenResult:
        """Execute from pc 0 until HALT or a fault (bounded: there are no branches)."""
        cfg = self.cfg
        trace: list[Executed]
        pc, executed, trace = 0, 0, []
        fault = Fault.NONE
        while True:
            if pc >= cfg.imem.depth:
                fault = Fault.IMEM_RANGE
                break
            # Instruction memory past the program is zero, which decodes as NOP.
            word = self.image.imem[pc] if pc < len(self.image.imem) else 0
            try:
                insn = decode(word)
            except ValueError:
                fault = Fault.ILLEGAL_OPCODE
                break
            fault = check(cfg, insn)
            if fault == Fault.NONE and insn.opcode == Opcode.VMM:
                fault = vmm_window_fault(cfg, insn, self.window)
            if fault != Fault.NONE:
                break
            executed += 1
            if insn.opcode == Opcode.HALT:
                trace.append(Executed(insn))
                break
            trace.append(Executed(insn, tuple(self.execute(insn))))
            pc += 1
        return GoldenResult(list(self.gb), list(self.dram), fault, pc, executed,
                            self.pulses, self.saturated, trace)

    def execute(self, insn: Instruction) -> list[RowWrite]:
        """Apply one legal instruction's effect on values; return the rows it wrote."""
        cfg = self.cfg
        op = insn.opcode
        if op == Opcode.LOAD:
            for k in range(insn.count):
                self.gb[insn.gb_addr + k] = self.dram[insn.dram_addr + k]
        elif op == Opcode.STORE:
            for k in range(insn.count):
                self.dram[insn.dram_addr + k] = self.gb[insn.gb_addr + k]
        elif op == Opcode.WRITE_START:
            xbar, rw = self.xbars[insn.xbar], cfg.delta_row_words
            rows = []
            for r in range(insn.nrows):
                words = self.dram[insn.dram_addr + r * rw: insn.dram_addr + (r + 1) * rw]
                deltas = unpack(words, cfg.write.delta_bits, cfg.dram_bits,
                                cfg.crossbar.cols, signed=True)
                w = xbar.program_row(insn.row + r, deltas)
                self.pulses += w.pulses
                self.saturated += w.saturated
                rows.append(w)
            return rows
        elif op == Opcode.WINDOW:
            self.window = (max(1, insn.count), insn.in_stride, insn.out_stride)
        elif op == Opcode.VMM:
            count, in_stride, out_stride = self.window
            for k in range(count):
                self._vmm(insn, insn.in_addr + k * in_stride, insn.out_addr + k * out_stride)
        # NOP, SYNC, WRITE_WAIT: no effect on values.
        return []

    def _vmm(self, insn: Instruction, in_addr: int, out_addr: int) -> None:
        cfg = self.cfg
        words = self.gb[in_addr: in_addr + cfg.input_words]
        x = unpack(words, cfg.data.act_bits, cfg.gb_bits, cfg.crossbar.rows, signed=True)
        y = bit_serial_vmm(self.xbars[insn.xbar], x, cfg)
        if insn.accumulate:
            old = unpack(self.gb[out_addr: out_addr + cfg.output_words], cfg.data.acc_bits,
                         cfg.gb_bits, cfg.weights_per_row, signed=True)
            y = ((old + y + (1 << 31)) % (1 << 32)) - (1 << 31)
        self.gb[out_addr: out_addr + cfg.output_words] = pack(y, cfg.data.acc_bits, cfg.gb_bits)


def run(image: Image) -> GoldenResult:
    """Run an image on the golden model."""
    return Golden(image).run()
