"""Golden model: a numpy interpreter of every instruction in ``firmware/isa.py``.

It executes an image against a config and the analog models (crossbars, INV arrays) and
yields the final global-buffer and main-memory contents, the fault code and value
counters. Time is not modelled here (see :mod:`model.timing`). Faults are raised before
an instruction has any effect, in the order the RTL decoder checks them; run it with
``implemented=RTL_OPCODES`` to interpret only what the RTL executes, as the co-simulation
does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from firmware.config import Config
from firmware.image import Image
from firmware.isa import (
    ALL_OPCODES,
    RESET_WINDOW,
    SFU_NARROW,
    Fault,
    Instruction,
    Opcode,
    SfuFunc,
    VecFunc,
    Window,
    decode,
)
from firmware.packing import pack, unpack
from model.analog.crossbar import Crossbar, bit_serial_vmm
from model.analog.inv_array import InvArray, digitize, matrix_levels, program_cost
from model.analog.write_physics import RowWrite


@dataclass(frozen=True)
class Executed:
    """One executed instruction and, for a weight write, the cost of each row."""

    insn: Instruction
    rows: tuple[RowWrite, ...] = ()


#: The analog ports whose transactions the golden model predicts, in the words the
#: co-simulation's scoreboard reports them.
PORTS = {"xbar_read": "crossbar read", "row_write": "row write",
         "inv_program": "INV program", "inv_solve": "INV solve"}


@dataclass(frozen=True)
class Transaction:
    """One analog-port transaction as the golden model predicts the RTL makes it.

    ``port`` is a key of :data:`PORTS`; ``pc`` and ``insn`` the instruction that makes
    it; ``xbar`` the crossbar or INV array; ``fields`` the port's other scalars (a read's
    ``ncols``/``nrows``, a write's ``row``, a solve's ``shift``); ``data`` what the RTL
    sends (a read's INT8 inputs, one row per APU row; a write's deltas; an INV matrix's
    levels; a right-hand side); ``result`` what the analog side holds after it (a written
    row's levels), if anything.
    """

    port: str
    pc: int
    insn: Instruction
    xbar: int
    fields: tuple[tuple[str, int], ...]
    data: np.ndarray
    result: np.ndarray | None = None


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
    #: The instruction that faulted after DECODE (only INV_WRITE, on its data), else None.
    faulted: Instruction | None = None
    #: Every analog-port transaction, in the order the program makes them.
    transactions: list[Transaction] = field(default_factory=list)

    def port_counts(self) -> dict[str, int]:
        """Transactions per analog port (every port of :data:`PORTS`, zeros included)."""
        counts = dict.fromkeys(PORTS, 0)
        for t in self.transactions:
            counts[t.port] += 1
        return counts


def wrap32(v: np.ndarray) -> np.ndarray:
    """Wrap integers to int32 two's complement, as the datapath does."""
    return ((np.asarray(v, dtype=np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def _words(elements: int, bits: int, word_bits: int) -> int:
    return -(-elements * bits // word_bits)


def sfu_out_words(cfg: Config, insn: Instruction) -> int:
    """GB words an SFU instruction writes (0 when its operands are invalid)."""
    n = insn.count * (cfg.gb_bits // 32)
    if insn.func == SfuFunc.RELU:
        return insn.count
    if insn.func in SFU_NARROW:
        return _words(n, 8, cfg.gb_bits)
    if insn.func in (SfuFunc.MAXPOOL, SfuFunc.AVGPOOL) and insn.window:
        return _words(n // insn.window, 32, cfg.gb_bits)
    return 0


def vmm_cols(insn: Instruction) -> int:
    """Crossbars per APU row a VMM drives (its ``ncols``, 0 taken as 1)."""
    return max(1, insn.ncols)


def vmm_rows(insn: Instruction) -> int:
    """APU rows a VMM drives in parallel (its ``nrows``, 0 taken as 1)."""
    return max(1, insn.nrows)


def vmm_groups(insn: Instruction) -> int:
    """Column groups a VMM computes in parallel (its ``ngroups``, 0 taken as 1)."""
    return max(1, insn.ngroups)


def vmm_replicas(insn: Instruction) -> int:
    """Windows a VMM computes at once on copies of its weights (``replicas``, 0 as 1)."""
    return max(1, insn.replicas)


def vmm_apu_rows(insn: Instruction) -> int:
    """APU rows a VMM drives: row blocks of every column group of every replica."""
    return vmm_rows(insn) * vmm_groups(insn) * vmm_replicas(insn)


def vmm_out_words(cfg: Config, insn: Instruction) -> int:
    """Output words of one window: every column of every column group."""
    return vmm_groups(insn) * vmm_cols(insn) * cfg.output_words


def vmm_xbar_span(cfg: Config, insn: Instruction) -> tuple[int, int]:
    """First and one-past-last crossbar index a VMM reads (the scoreboard's range)."""
    return insn.xbar, insn.xbar + (vmm_apu_rows(insn) - 1) * cfg.apu_cols + vmm_cols(insn)


def write_xbars(insn: Instruction) -> int:
    """Crossbars a WRITE_START programs in lockstep (its ``nxbars``, 0 taken as 1)."""
    return max(1, insn.nxbars)


def _operand_fault(cfg: Config, insn: Instruction) -> bool:
    op = insn.opcode
    if op == Opcode.VEC:
        return insn.func not in VecFunc._value2member_map_
    if op == Opcode.SFU:
        if insn.func not in SfuFunc._value2member_map_ or insn.shift > 31:
            return True
        if insn.func == SfuFunc.DIGIT and insn.shift % 8:
            return True
        if insn.src < insn.dst < insn.src + insn.count:
            return True  # the output would overwrite input not yet read
        if insn.func in (SfuFunc.MAXPOOL, SfuFunc.AVGPOOL):
            n = insn.count * (cfg.gb_bits // 32)
            return insn.window == 0 or n % insn.window != 0
    if op == Opcode.INV:
        return abs(insn.shift) > 31
    if op == Opcode.COMBINE and insn.m and insn.ngroups:
        (d, dn), (s_, sn), (c, cn) = combine_spans(cfg, insn)
        return (d < s_ + sn and s_ < d + dn) or (d < c + cn and c < d + dn)
    return False


def combine_spans(cfg: Config, insn: Instruction) -> list[tuple[int, int]]:
    """COMBINE's ``(first word, words)`` extents: results, inputs, coefficients (all
    empty when it does nothing)."""
    if not (insn.m and insn.ngroups):
        return [(insn.dst, 0), (insn.src, 0), (insn.coef, 0)]
    return [(insn.dst, 4 * insn.ngroups), (insn.src, _words(insn.m, 32, cfg.gb_bits)),
            (insn.coef, insn.ngroups * insn.m)]


def vmm_extents(cfg: Config, insn: Instruction, window: Window
                ) -> tuple[tuple[int, int], tuple[int, int]]:
    """A VMM's input and output extents: first window's first word to last window's last."""
    return ((insn.in_addr, (window.count - 1) * window.in_stride
             + window.segments_extent(vmm_rows(insn), cfg.input_words)),
            (insn.out_addr, (window.count - 1) * window.out_stride + vmm_out_words(cfg, insn)))


def gb_spans(cfg: Config, insn: Instruction, window: Window
             ) -> list[tuple[int, int]]:
    """The ``(first word, words)`` extents of the global buffer an instruction touches
    (for a VMM, from its first window's first word to its last window's last word)."""
    op = insn.opcode
    inv_words = cfg.inv_vector_words
    if op in (Opcode.LOAD, Opcode.STORE):
        return [(insn.gb_addr, insn.count)]
    if op == Opcode.VMM:
        return list(vmm_extents(cfg, insn, window))
    if op == Opcode.VEC:
        return [(insn.dst, insn.count), (insn.src_a, insn.count), (insn.src_b, insn.count)]
    if op == Opcode.SFU:
        return [(insn.src, insn.count), (insn.dst, sfu_out_words(cfg, insn))]
    if op == Opcode.INV:
        return [(insn.in_addr, inv_words), (insn.out_addr, inv_words)]
    if op == Opcode.COMBINE:
        return combine_spans(cfg, insn)
    return []


def gb_read_spans(cfg: Config, insn: Instruction, window: Window
                  ) -> list[tuple[int, int]]:
    """The ``(first word, words)`` extents an instruction reads from the global buffer."""
    op = insn.opcode
    if op == Opcode.STORE:
        return [(insn.gb_addr, insn.count)]
    if op == Opcode.VMM:
        inputs, outputs = vmm_extents(cfg, insn, window)
        return [inputs, outputs] if insn.accumulate else [inputs]
    if op == Opcode.VEC:
        return [(insn.src_a, insn.count), (insn.src_b, insn.count)]
    if op == Opcode.SFU:
        return [(insn.src, insn.count)]
    if op == Opcode.INV:
        return [(insn.in_addr, cfg.inv_vector_words)]
    if op == Opcode.COMBINE:
        return combine_spans(cfg, insn)[1:]
    return []


def check(cfg: Config, insn: Instruction, implemented: Iterable[Opcode] = ALL_OPCODES,
          window: Window = RESET_WINDOW, bank_mask: int = -1,
          valid: np.ndarray | None = None) -> Fault:
    """The fault an instruction raises before it executes, or ``Fault.NONE``.

    Order: opcode, operand values, crossbar/array index and rows, GB range, DRAM range,
    gated banks, then (given ``valid``, one flag per GB word written since reset) reads
    of unwritten words (the RTL decoder checks in the same order).
    """
    op = insn.opcode
    if op not in implemented:
        return Fault.ILLEGAL_OPCODE
    if _operand_fault(cfg, insn) or (op == Opcode.VMM and window.count % vmm_replicas(insn)):
        return Fault.BAD_OPERAND
    if op == Opcode.WRITE_START and (insn.xbar + write_xbars(insn) > cfg.n_crossbars
                                     or insn.row + insn.nrows > cfg.crossbar.rows):
        return Fault.XBAR_RANGE
    if op == Opcode.WRITE_WAIT and insn.xbar >= cfg.n_crossbars:
        return Fault.XBAR_RANGE
    if op == Opcode.VMM and (vmm_xbar_span(cfg, insn)[1] > cfg.n_crossbars
                             or insn.xbar % cfg.apu_cols + vmm_cols(insn) > cfg.apu_cols):
        return Fault.XBAR_RANGE
    if op in (Opcode.INV, Opcode.INV_WRITE) and insn.xbar >= cfg.inv.count:
        return Fault.XBAR_RANGE
    spans = gb_spans(cfg, insn, window)
    if any(a + n > cfg.gb_words for a, n in spans):
        return Fault.GB_RANGE
    if op in (Opcode.LOAD, Opcode.STORE) and insn.dram_addr + insn.count > cfg.dram_words:
        return Fault.DRAM_RANGE
    if op == Opcode.WRITE_START and \
            insn.dram_addr + insn.nrows * write_xbars(insn) * cfg.delta_row_words \
            > cfg.dram_words:
        return Fault.DRAM_RANGE
    if op == Opcode.INV_WRITE and insn.dram_addr + cfg.inv_matrix_words > cfg.dram_words:
        return Fault.DRAM_RANGE
    if bank_mask != -1 and gated_words(cfg, bank_mask, spans):
        return Fault.GATED_BANK
    if valid is not None and any(n and not valid[a:a + n].all()
                                 for a, n in gb_read_spans(cfg, insn, window)):
        return Fault.UNINITIALIZED
    return Fault.NONE


def gated_words(cfg: Config, mask: int, spans: list[tuple[int, int]]) -> bool:
    """Whether any word of ``spans`` lies in a bank that ``mask`` gates."""
    for i, (lo, hi) in enumerate(cfg.bank_bounds):
        if not (mask >> i) & 1 and any(a < hi and lo < a + n for a, n in spans if n):
            return True
    return False


def _round_shift(v: np.ndarray, shift: int) -> np.ndarray:
    """``(v + 2^(shift-1)) >> shift``, arithmetic (round half up)."""
    v = np.asarray(v, dtype=np.int64)
    return (v + ((1 << shift) >> 1)) >> shift


class Golden:
    """Interpreter state: memories, crossbars, INV arrays, window and bank-mask registers."""

    def __init__(self, image: Image, implemented: Iterable[Opcode] = ALL_OPCODES):
        cfg = self.cfg = image.config
        self.image = image
        self.implemented = frozenset(implemented)
        self.gb = [0] * cfg.gb_words
        self.valid = np.zeros(cfg.gb_words, dtype=bool)  # written since reset
        self.dram = list(image.dram)
        self.xbars = [Crossbar(cfg, i) for i in range(cfg.n_crossbars)]
        self.invs = [InvArray(cfg, i) for i in range(cfg.inv.count)]
        self.inv_state: list[str | None] = [None] * cfg.inv.count  # None: never written
        self.window = Window()
        self.bank_mask = -1
        self.pulses = 0
        self.saturated = 0
        self.transactions: list[Transaction] = []
        self._pc = 0
        self._insn: Instruction | None = None

    def _record(self, port: str, xbar: int, data: np.ndarray, result: np.ndarray | None = None,
                **fields: int) -> None:
        """Note one analog-port transaction of the instruction being executed."""
        self.transactions.append(Transaction(port, self._pc, self._insn, xbar,
                                             tuple(fields.items()), np.array(data),
                                             None if result is None else np.array(result)))

    def fault_of(self, insn: Instruction) -> Fault:
        """The fault ``insn`` raises in the current state, or ``Fault.NONE``."""
        fault = check(self.cfg, insn, self.implemented, self.window, self.bank_mask,
                      self.valid)
        if fault != Fault.NONE or insn.opcode not in (Opcode.INV, Opcode.INV_WRITE):
            return fault
        if insn.opcode == Opcode.INV_WRITE:
            levels = self._inv_levels(insn)
            top = self.cfg.inv_level_max
            return Fault.BAD_OPERAND if np.abs(levels).max() > top else Fault.NONE
        state = self.inv_state[insn.xbar]
        if state is None:
            return Fault.UNINITIALIZED
        return Fault.INV_UNSTABLE if state != "ok" else Fault.NONE

    def run(self) -> GoldenResult:
        """Execute from pc 0 until HALT or a fault (bounded: there are no branches)."""
        cfg = self.cfg
        trace: list[Executed] = []
        pc, executed = 0, 0
        fault = Fault.NONE
        faulted = None
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
            fault = self.fault_of(insn)
            if fault != Fault.NONE:
                # INV_WRITE's only BAD_OPERAND is on its data: found while streaming it.
                if insn.opcode == Opcode.INV_WRITE and fault == Fault.BAD_OPERAND:
                    faulted = insn
                break
            executed += 1
            if insn.opcode == Opcode.HALT:
                trace.append(Executed(insn))
                break
            self._pc, self._insn = pc, insn
            trace.append(Executed(insn, tuple(self.execute(insn))))
            pc += 1
        return GoldenResult(list(self.gb), list(self.dram), fault, pc, executed,
                            self.pulses, self.saturated, trace, faulted, self.transactions)

    # ---- global-buffer element access ----

    def read(self, addr: int, words: int, bits: int, signed: bool = True) -> np.ndarray:
        n = words * self.cfg.gb_bits // bits
        return unpack(self.gb[addr: addr + words], bits, self.cfg.gb_bits, n, signed)

    def write(self, addr: int, values: np.ndarray, bits: int) -> None:
        words = pack(values, bits, self.cfg.gb_bits)
        self.gb[addr: addr + len(words)] = words
        self.valid[addr: addr + len(words)] = True

    def _inv_levels(self, insn: Instruction) -> np.ndarray:
        return matrix_levels(self.dram[insn.dram_addr: insn.dram_addr
                                       + self.cfg.inv_matrix_words], self.cfg)

    def execute(self, insn: Instruction) -> list[RowWrite]:
        """Apply one legal instruction's effect on values; return the rows it wrote."""
        cfg = self.cfg
        op = insn.opcode
        if op == Opcode.LOAD:
            for k in range(insn.count):
                self.gb[insn.gb_addr + k] = self.dram[insn.dram_addr + k]
            self.valid[insn.gb_addr: insn.gb_addr + insn.count] = True
        elif op == Opcode.STORE:
            for k in range(insn.count):
                self.dram[insn.dram_addr + k] = self.gb[insn.gb_addr + k]
        elif op == Opcode.WRITE_START:
            return self._write_rows(insn)
        elif op == Opcode.WINDOW:
            self.window = Window.of(insn)
        elif op == Opcode.VMM:
            win = self.window
            step = vmm_replicas(insn)
            for k in range(0, win.count, step):
                self._vmm(insn, insn.in_addr + k * win.in_stride,
                          insn.out_addr + k * win.out_stride)
        elif op == Opcode.VEC:
            for k in range(insn.count):  # word by word: an overlapping dst feeds later words
                a = self.read(insn.src_a + k, 1, 32)
                b = self.read(insn.src_b + k, 1, 32)
                self.write(insn.dst + k, wrap32(a + b if insn.func == VecFunc.ADD else a - b),
                           32)
        elif op == Opcode.SFU:
            self._sfu(insn)
        elif op == Opcode.BANK_GATE:
            self.bank_mask = insn.mask
        elif op == Opcode.INV_WRITE:
            return self._inv_write(insn)
        elif op == Opcode.COMBINE:
            self._combine(insn)
        elif op == Opcode.INV:
            n = cfg.inv.size
            b = self.read(insn.in_addr, cfg.inv_vector_words, 32)[:n]
            self._record("inv_solve", insn.xbar, b, shift=insn.shift)
            x = self.invs[insn.xbar].solve(b.astype(np.float64)).x
            self.write(insn.out_addr, digitize(x, insn.shift), 32)
        # NOP, HALT, SYNC, WRITE_WAIT: no effect on values.
        return []

    def _inv_write(self, insn: Instruction) -> list[RowWrite]:
        """Program an INV array; record whether it can serve INV. The rows' cost is
        timing only: the chip's pulse counter counts crossbar writes."""
        levels = self._inv_levels(insn)
        self._record("inv_program", insn.xbar, levels)
        self.inv_state[insn.xbar] = self.invs[insn.xbar].program_checked(levels) or "ok"
        return program_cost(levels, self.cfg)

    def _write_rows(self, insn: Instruction) -> list[RowWrite]:
        """Program the group row by row; each returned row is the whole group's."""
        cfg = self.cfg
        n, rw = write_xbars(insn), cfg.delta_row_words
        rows = []
        for r in range(insn.nrows):
            group = []
            for k in range(n):
                addr = insn.dram_addr + (r * n + k) * rw
                deltas = unpack(self.dram[addr: addr + rw], cfg.write.delta_bits,
                                cfg.dram_bits, cfg.crossbar.cols, signed=True)
                xbar = self.xbars[insn.xbar + k]
                w = xbar.program_row(insn.row + r, deltas)
                self._record("row_write", insn.xbar + k, deltas, xbar.levels[insn.row + r],
                             row=insn.row + r)
                self.pulses += w.pulses
                self.saturated += w.saturated
                group.append(w)
            rows.append(RowWrite.lockstep(group))
        return rows

    def _combine(self, insn: Instruction) -> None:
        if not (insn.m and insn.ngroups):
            return
        g = self.cfg.gb_bits // 8
        p = self.read(insn.src, _words(insn.m, 32, self.cfg.gb_bits), 32)[:insn.m]
        coef = self.read(insn.coef, insn.ngroups * insn.m, 8).reshape(insn.ngroups, insn.m, g)
        y = np.einsum("gil,i->gl", coef.astype(np.int64), p.astype(np.int64))
        self.write(insn.dst, wrap32(y.ravel()), 32)

    def _sfu(self, insn: Instruction) -> None:
        v = self.read(insn.src, insn.count, 32)
        func = SfuFunc(insn.func)
        if func == SfuFunc.RELU:
            self.write(insn.dst, np.maximum(v, 0), 32)
        elif func in (SfuFunc.REQUANT, SfuFunc.REQUANT_RELU):
            if func == SfuFunc.REQUANT_RELU:
                v = np.maximum(v, 0)
            self.write(insn.dst, np.clip(_round_shift(v, insn.shift), -128, 127), 8)
        elif func == SfuFunc.DIGIT:
            u = (v.astype(np.int64) + 0x80808080) & 0xFFFFFFFF
            self.write(insn.dst, ((u >> insn.shift) & 0xFF) - 128, 8)
        else:
            win = v.reshape(-1, insn.window)
            out = win.max(axis=1) if func == SfuFunc.MAXPOOL else \
                wrap32(_round_shift(win.sum(axis=1), insn.shift))
            self.write(insn.dst, out, 32)

    def _vmm(self, insn: Instruction, in_addr: int, out_addr: int) -> None:
        """One pass of the window loop: ``replicas`` windows from ``in_addr``, each on
        its copy of the weights, every column group of it in parallel."""
        cfg = self.cfg
        iw, ac = cfg.input_words, cfg.apu_cols
        nrows, ngroups, replicas = vmm_rows(insn), vmm_groups(insn), vmm_replicas(insn)
        # Every replica's inputs are loaded into the shift registers before any result of
        # the pass is written (an output extent may overlap a later replica's inputs).
        inputs = [[self.read(in_addr + r * self.window.in_stride + self.window.segment(k, iw),
                             iw, cfg.data.act_bits)[:cfg.crossbar.rows] for k in range(nrows)]
                  for r in range(replicas)]
        # One read transaction per pass: APU row (r * ngroups + g) * nrows + k takes
        # replica r's segment k.
        self._record("xbar_read", insn.xbar,
                     [x for xs in inputs for _ in range(ngroups) for x in xs],
                     ncols=vmm_cols(insn), nrows=vmm_apu_rows(insn))
        for r, xs in enumerate(inputs):
            for g in range(ngroups):
                first = insn.xbar + (r * ngroups + g) * nrows * ac
                for c in range(vmm_cols(insn)):  # an APU row's crossbars share its inputs
                    # Each crossbar's result is digital (after its ADCs and shift-and-add);
                    # the accumulation units sum the row blocks.
                    y = wrap32(sum(bit_serial_vmm(self.xbars[first + k * ac + c], x, cfg,
                                                  insn.zero)
                                   for k, x in enumerate(xs)))
                    if insn.shift:
                        y = wrap32(y << insn.shift)
                    addr = (out_addr + r * self.window.out_stride
                            + (g * vmm_cols(insn) + c) * cfg.output_words)
                    if insn.accumulate:
                        old = self.read(addr, cfg.output_words, cfg.data.acc_bits)
                        y = wrap32(old[:len(y)] + y)
                    self.write(addr, y, cfg.data.acc_bits)


def run(image: Image, implemented: Iterable[Opcode] = ALL_OPCODES) -> GoldenResult:
    """Run an image on the golden model."""
    return Golden(image, implemented).run()
