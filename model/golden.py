"""Golden model: a numpy interpreter of every instruction in ``firmware/isa.py``.

It executes an image against a config and the analog models (crossbars, INV arrays) and
yields the final global-buffer and main-memory contents, the fault code and value
counters. Time is not modelled here (see :mod:`model.timing`). Faults are raised before
an instruction has any effect, by the rules of :mod:`firmware.semantics` (in the order
the RTL decoder checks them) and then the INV arrays' state; each opcode's effect is
one method of :class:`Golden`, dispatched through :data:`EFFECTS`. Run it with
``implemented=RTL_OPCODES`` to interpret only what the RTL executes, as the co-simulation
does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from firmware.image import Image
from firmware.isa import ALL_OPCODES, Fault, Instruction, Opcode, SfuFunc, VecFunc, Window, decode
from firmware.packing import pack, unpack
from firmware.semantics import (
    check,
    vec_lane_bits,
    vec_lanes,
    vec_windows,
    vmm_apu_rows,
    vmm_cols,
    vmm_group_words,
    vmm_groups,
    vmm_narrow,
    vmm_relu,
    vmm_replicas,
    vmm_rows,
    words,
    wrap32,
    write_xbars,
)
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


def _round_shift(v: np.ndarray, shift: int) -> np.ndarray:
    """``(v + 2^(shift-1)) >> shift``, arithmetic (round half up)."""
    v = np.asarray(v, dtype=np.int64)
    return (v + ((1 << shift) >> 1)) >> shift


def requantize(v: np.ndarray, shift: int, relu: bool) -> np.ndarray:
    """REQUANT (of ``max(v, 0)`` when ``relu``): ``clip((v + 2^(shift-1)) >> shift, -128,
    127)``, as the SFU and a requantizing VMM compute it."""
    v = np.asarray(v, dtype=np.int64)
    return np.clip(_round_shift(np.maximum(v, 0) if relu else v, shift), -128, 127)


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
        return EFFECTS[insn.opcode](self, insn)

    def _no_effect(self, insn: Instruction) -> list[RowWrite]:
        """NOP, HALT, SYNC, WRITE_WAIT: no effect on values."""
        return []

    def _load(self, insn: Instruction) -> list[RowWrite]:
        for k in range(insn.count):
            self.gb[insn.gb_addr + k] = self.dram[insn.dram_addr + k]
        self.valid[insn.gb_addr: insn.gb_addr + insn.count] = True
        return []

    def _store(self, insn: Instruction) -> list[RowWrite]:
        for k in range(insn.count):
            self.dram[insn.dram_addr + k] = self.gb[insn.gb_addr + k]
        return []

    def _window(self, insn: Instruction) -> list[RowWrite]:
        self.window = Window.of(insn)
        return []

    def _bank_gate(self, insn: Instruction) -> list[RowWrite]:
        self.bank_mask = insn.mask
        return []

    def _vmm_loop(self, insn: Instruction) -> list[RowWrite]:
        """The window loop, ``replicas`` windows a pass."""
        win = self.window
        step = vmm_replicas(insn)
        for k in range(0, win.count, step):
            self._vmm(insn, insn.in_addr + k * win.in_stride, insn.out_addr + k * win.out_stride)
        return []

    def _vec(self, insn: Instruction) -> list[RowWrite]:
        """Window by window, word by word: an overlapping dst feeds later words."""
        func, win = VecFunc(insn.func), self.window
        bits = vec_lane_bits(func)
        for w in range(vec_windows(insn, win)):
            a0, d0 = w * win.in_stride, w * win.out_stride
            for k in range(insn.count):
                a = self.read(insn.src_a + a0 + k, 1, bits)
                b = self.read(insn.src_b + a0 + k, 1, bits)
                self.write(insn.dst + d0 + k, vec_lanes(func, a, b), bits)
        return []

    def _inv(self, insn: Instruction) -> list[RowWrite]:
        cfg = self.cfg
        b = self.read(insn.in_addr, cfg.inv_vector_words, 32)[:cfg.inv.size]
        self._record("inv_solve", insn.xbar, b, shift=insn.shift)
        x = self.invs[insn.xbar].solve(b.astype(np.float64)).x
        self.write(insn.out_addr, digitize(x, insn.shift), 32)
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

    def _combine(self, insn: Instruction) -> list[RowWrite]:
        if not (insn.m and insn.ngroups):
            return []
        g = self.cfg.gb_bits // 8
        p = self.read(insn.src, words(insn.m, 32, self.cfg.gb_bits), 32)[:insn.m]
        coef = self.read(insn.coef, insn.ngroups * insn.m, 8).reshape(insn.ngroups, insn.m, g)
        y = np.einsum("gil,i->gl", coef.astype(np.int64), p.astype(np.int64))
        self.write(insn.dst, wrap32(y.ravel()), 32)
        return []

    def _sfu(self, insn: Instruction) -> list[RowWrite]:
        v = self.read(insn.src, insn.count, 32)
        func = SfuFunc(insn.func)
        if func == SfuFunc.RELU:
            self.write(insn.dst, np.maximum(v, 0), 32)
        elif func in (SfuFunc.REQUANT, SfuFunc.REQUANT_RELU):
            self.write(insn.dst, requantize(v, insn.shift, func == SfuFunc.REQUANT_RELU), 8)
        elif func == SfuFunc.DIGIT:
            u = (v.astype(np.int64) + 0x80808080) & 0xFFFFFFFF
            self.write(insn.dst, ((u >> insn.shift) & 0xFF) - 128, 8)
        else:
            win = v.reshape(-1, insn.window)
            out = win.max(axis=1) if func == SfuFunc.MAXPOOL else \
                wrap32(_round_shift(win.sum(axis=1), insn.shift))
            self.write(insn.dst, out, 32)
        return []

    def _vmm(self, insn: Instruction, in_addr: int, out_addr: int) -> None:
        """One pass of the window loop: ``replicas`` windows from ``in_addr``, each on
        its copy of the weights, every column group of it in parallel."""
        cfg = self.cfg
        iw, ac = cfg.input_words, cfg.apu_cols
        nrows, ngroups, replicas = vmm_rows(insn), vmm_groups(insn), vmm_replicas(insn)
        # A VMM's outputs never meet its inputs (VMM_OVERLAP), so the order in which the
        # pipelined chip loads, computes and drains its passes does not show in values.
        inputs = [[self.read(in_addr + r * self.window.in_stride + self.window.segment(k, iw),
                             iw, cfg.data.act_bits)[:cfg.crossbar.rows] for k in range(nrows)]
                  for r in range(replicas)]
        # One read transaction per pass: APU row (r * ngroups + g) * nrows + k takes
        # replica r's segment k.
        self._record("xbar_read", insn.xbar,
                     [x for xs in inputs for _ in range(ngroups) for x in xs],
                     ncols=vmm_cols(insn), nrows=vmm_apu_rows(insn))
        narrow = vmm_narrow(insn)
        for r, xs in enumerate(inputs):
            for g in range(ngroups):
                first = insn.xbar + (r * ngroups + g) * nrows * ac
                sums = []
                for c in range(vmm_cols(insn)):  # an APU row's crossbars share its inputs
                    # Each crossbar's result is digital (after its ADCs and shift-and-add);
                    # the accumulation units sum the row blocks.
                    y = wrap32(sum(bit_serial_vmm(self.xbars[first + k * ac + c], x, cfg,
                                                  insn.zero)
                                   for k, x in enumerate(xs)))
                    sums.append(y)
                    if narrow:
                        continue
                    if insn.shift:
                        y = wrap32(y << insn.shift)
                    addr = (out_addr + r * self.window.out_stride
                            + (g * vmm_cols(insn) + c) * cfg.output_words)
                    if insn.accumulate:
                        old = self.read(addr, cfg.output_words, cfg.data.acc_bits)
                        y = wrap32(old[:len(y)] + y)
                    self.write(addr, y, cfg.data.acc_bits)
                if narrow:  # the group's outputs requantized, INT8, column by column
                    self.write(out_addr + r * self.window.out_stride
                               + g * vmm_group_words(cfg, insn),
                               requantize(np.concatenate(sums), insn.shift,
                                          vmm_relu(insn)), 8)


#: Each opcode's effect on the golden model's state: a :class:`Golden` method returning
#: the rows it wrote (a weight write's cost, for the timing model).
EFFECTS: dict[Opcode, Callable[[Golden, Instruction], list[RowWrite]]] = {
    Opcode.NOP: Golden._no_effect,
    Opcode.HALT: Golden._no_effect,
    Opcode.SYNC: Golden._no_effect,
    Opcode.LOAD: Golden._load,
    Opcode.STORE: Golden._store,
    Opcode.WRITE_START: Golden._write_rows,
    Opcode.WRITE_WAIT: Golden._no_effect,
    Opcode.WINDOW: Golden._window,
    Opcode.VMM: Golden._vmm_loop,
    Opcode.VEC: Golden._vec,
    Opcode.SFU: Golden._sfu,
    Opcode.BANK_GATE: Golden._bank_gate,
    Opcode.INV: Golden._inv,
    Opcode.INV_WRITE: Golden._inv_write,
    Opcode.COMBINE: Golden._combine,
}


def run(image: Image, implemented: Iterable[Opcode] = ALL_OPCODES) -> GoldenResult:
    """Run an image on the golden model."""
    return Golden(image, implemented).run()
