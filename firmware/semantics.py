"""Each opcode's architectural rules, declared once: operand extents, fault checks, VMM
geometry, and how INT8 weights become cell levels.

:data:`RULES` holds one :class:`Rule` per :class:`~firmware.isa.Opcode`; :func:`check`
applies them in the fault order the chip checks (:data:`FAULT_TESTS`). The golden model
checks every instruction with :func:`check`; golden, timing and energy take the VMM
geometry from here, the golden model and the crossbar models the cell encoding, and the
random program generator the VMM extents (its other drawers keep their own arithmetic,
which draws operands rather than checks them; moving it here would change the generated
programs). The VEC lane arithmetic (:func:`vec_lanes`) serves the golden model and the
integer network's glue alike (pooling, residual sums), so the two cannot drift. The Amaranth decoder
(``hdl/decoder.py``) is an independent implementation, tested against :func:`check`.
Extents are ``(first word, words)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from firmware.config import Config
from firmware.isa import (
    ALL_OPCODES,
    RESET_WINDOW,
    SFU_NARROW,
    VEC_NARROW,
    Fault,
    Instruction,
    Opcode,
    SfuFunc,
    VecFunc,
    VmmOut,
    Window,
)

Span = tuple[int, int]


def words(elements: int, bits: int, word_bits: int) -> int:
    """Words of ``word_bits`` that ``elements`` values of ``bits`` fill (rounded up)."""
    return -(-elements * bits // word_bits)


# ---- VMM geometry: the one place it is computed ----------------------------------------


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


def vmm_xbars_per_window(insn: Instruction) -> int:
    """Crossbars computing one window: every crossbar of one replica."""
    return vmm_rows(insn) * vmm_groups(insn) * vmm_cols(insn)


def vmm_narrow(insn: Instruction) -> bool:
    """Whether a VMM writes requantized INT8 results (its ``mode``) rather than int32."""
    return insn.mode != VmmOut.INT32


def vmm_relu(insn: Instruction) -> bool:
    """Whether a requantizing VMM takes ``max(v, 0)`` first (REQUANT_RELU)."""
    return insn.mode == VmmOut.REQUANT_RELU


def vmm_group_words(cfg: Config, insn: Instruction) -> int:
    """Output words of one column group of one window: int32, or INT8 (a quarter)."""
    words_ = vmm_cols(insn) * cfg.output_words
    return words_ // 4 if vmm_narrow(insn) else words_


def vmm_in_words(cfg: Config, insn: Instruction) -> int:
    """Input words one window reads: one segment per row block."""
    return vmm_rows(insn) * cfg.input_words


def vmm_out_words(cfg: Config, insn: Instruction) -> int:
    """Output words of one window: every column of every column group."""
    return vmm_groups(insn) * vmm_group_words(cfg, insn)


def vmm_xbar_span(cfg: Config, insn: Instruction) -> tuple[int, int]:
    """First and one-past-last crossbar index a VMM reads (the scoreboard's range)."""
    return insn.xbar, insn.xbar + (vmm_apu_rows(insn) - 1) * cfg.apu_cols + vmm_cols(insn)


def vmm_extents(cfg: Config, insn: Instruction, window: Window) -> tuple[Span, Span]:
    """A VMM's input and output extents: first window's first word to last window's last."""
    return ((insn.in_addr, (window.count - 1) * window.in_stride
             + window.segments_extent(vmm_rows(insn), cfg.input_words)),
            (insn.out_addr, (window.count - 1) * window.out_stride + vmm_out_words(cfg, insn)))


def write_xbars(insn: Instruction) -> int:
    """Crossbars a WRITE_START programs in lockstep (its ``nxbars``, 0 taken as 1)."""
    return max(1, insn.nxbars)


def vec_windows(insn: Instruction, window: Window) -> int:
    """Windows a VEC runs: the WINDOW loop's count when ``windowed``, else one."""
    return window.count if insn.windowed else 1


def vec_lane_bits(func: int) -> int:
    """Bits of one lane of a VEC function: INT8 for :data:`~firmware.isa.VEC_NARROW`,
    else int32."""
    return 8 if func in VEC_NARROW else 32


def vec_spans(insn: Instruction, window: Window) -> tuple[Span, Span, Span]:
    """A VEC's extents, result then operands a and b: the first window's first word to
    the last window's last (``in_stride`` apart for a and b, ``out_stride`` for the
    result); all empty when ``count`` is 0."""
    n, count = vec_windows(insn, window), insn.count
    reach_in = (n - 1) * window.in_stride + count if count else 0
    reach_out = (n - 1) * window.out_stride + count if count else 0
    return (insn.dst, reach_out), (insn.src_a, reach_in), (insn.src_b, reach_in)


def wrap32(v: np.ndarray) -> np.ndarray:
    """Wrap integers to int32 two's complement, as the datapath does."""
    return ((np.asarray(v, dtype=np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def vec_lanes(func: VecFunc, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """VEC's lane-wise ``a (op) b``: int32 wrapping (ADD, SUB) or INT8 (ADD8 and
    ADD8_RELU saturating, MAX8, AVG8 the rounded-up mean ``(a + b + 1) >> 1``)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if func == VecFunc.ADD:
        return wrap32(a + b)
    if func == VecFunc.SUB:
        return wrap32(a - b)
    if func == VecFunc.MAX8:
        return np.maximum(a, b)
    if func == VecFunc.AVG8:
        return (a + b + 1) >> 1
    low = 0 if func == VecFunc.ADD8_RELU else -128
    return np.clip(a + b, low, 127)


def sfu_out_words(cfg: Config, insn: Instruction) -> int:
    """GB words an SFU instruction writes (0 when its operands are invalid)."""
    n = insn.count * (cfg.gb_bits // 32)
    if insn.func == SfuFunc.RELU:
        return insn.count
    if insn.func in SFU_NARROW:
        return words(n, 8, cfg.gb_bits)
    if insn.func in (SfuFunc.MAXPOOL, SfuFunc.AVGPOOL) and insn.window:
        return words(n // insn.window, 32, cfg.gb_bits)
    return 0


def combine_spans(cfg: Config, insn: Instruction) -> list[Span]:
    """COMBINE's extents: results, inputs, coefficients (all empty when it does nothing)."""
    if not (insn.m and insn.ngroups):
        return [(insn.dst, 0), (insn.src, 0), (insn.coef, 0)]
    return [(insn.dst, 4 * insn.ngroups), (insn.src, words(insn.m, 32, cfg.gb_bits)),
            (insn.coef, insn.ngroups * insn.m)]


# ---- per-opcode rules -------------------------------------------------------------------


def _never(*_: object) -> bool:
    return False


def _none(*_: object) -> list[Span]:
    return []


@dataclass(frozen=True)
class Rule:
    """One opcode's operand extents and fault checks.

    ``bad_operand(cfg, insn, window)``: a field value is invalid (BAD_OPERAND);
    ``xbar_fault(cfg, insn)``: a crossbar or INV array index or row out of range
    (XBAR_RANGE); ``gb(cfg, insn, window)``: every GB extent it touches (GB_RANGE,
    GATED_BANK); ``gb_reads(cfg, insn, window)``: the GB extents it reads
    (UNINITIALIZED); ``dram(cfg, insn)``: the main-memory extents (DRAM_RANGE);
    ``overlap(cfg, insn, window)``: a VMM's output extent overlaps its input extent
    (VMM_OVERLAP).
    """

    bad_operand: Callable[[Config, Instruction, Window], bool] = _never
    xbar_fault: Callable[[Config, Instruction], bool] = _never
    gb: Callable[[Config, Instruction, Window], list[Span]] = _none
    gb_reads: Callable[[Config, Instruction, Window], list[Span]] = _none
    dram: Callable[[Config, Instruction], list[Span]] = _none
    overlap: Callable[[Config, Instruction, Window], bool] = _never


def _sfu_bad(cfg: Config, insn: Instruction, _w: Window) -> bool:
    if insn.func not in SfuFunc._value2member_map_ or insn.shift > 31:
        return True
    if insn.func == SfuFunc.DIGIT and insn.shift % 8:
        return True
    if insn.src < insn.dst < insn.src + insn.count:
        return True  # the output would overwrite input not yet read
    if insn.func in (SfuFunc.MAXPOOL, SfuFunc.AVGPOOL):
        n = insn.count * (cfg.gb_bits // 32)
        return insn.window == 0 or n % insn.window != 0
    return False


def _combine_bad(cfg: Config, insn: Instruction, _w: Window) -> bool:
    if not (insn.m and insn.ngroups):
        return False
    (d, dn), (s_, sn), (c, cn) = combine_spans(cfg, insn)
    return (d < s_ + sn and s_ < d + dn) or (d < c + cn and c < d + dn)


def _vmm_bad(cfg: Config, insn: Instruction, window: Window) -> bool:
    """A window count the replicas do not divide; an output mode VmmOut lacks, or one
    with ``accumulate``, or INT8 groups that do not fill whole words."""
    if window.count % vmm_replicas(insn) or insn.mode not in VmmOut._value2member_map_:
        return True
    return vmm_narrow(insn) and bool(insn.accumulate
                                     or vmm_cols(insn) * cfg.output_words % 4)


def _vmm_reads(cfg: Config, insn: Instruction, window: Window) -> list[Span]:
    inputs, outputs = vmm_extents(cfg, insn, window)
    return [inputs, outputs] if insn.accumulate else [inputs]


def _vmm_overlap(cfg: Config, insn: Instruction, window: Window) -> bool:
    """Whether a VMM's whole output extent meets its whole input extent: its passes are
    pipelined, so a later pass's inputs may load while an earlier pass's outputs drain."""
    (i0, n_in), (o0, n_out) = vmm_extents(cfg, insn, window)
    return i0 < o0 + n_out and o0 < i0 + n_in


def _inv_index_fault(cfg: Config, insn: Instruction) -> bool:
    return insn.xbar >= cfg.inv.count


def _dma(cfg: Config, insn: Instruction, _w: Window) -> list[Span]:
    return [(insn.gb_addr, insn.count)]


def _dma_dram(cfg: Config, insn: Instruction) -> list[Span]:
    return [(insn.dram_addr, insn.count)]


_PLAIN = Rule()

#: The rules of every opcode.
RULES: dict[Opcode, Rule] = {
    Opcode.NOP: _PLAIN,
    Opcode.HALT: _PLAIN,
    Opcode.SYNC: _PLAIN,
    Opcode.LOAD: Rule(gb=_dma, dram=_dma_dram),
    Opcode.STORE: Rule(gb=_dma, gb_reads=_dma, dram=_dma_dram),
    Opcode.WRITE_START: Rule(
        xbar_fault=lambda cfg, i: (i.xbar + write_xbars(i) > cfg.n_crossbars
                                   or i.row + i.nrows > cfg.crossbar.rows),
        dram=lambda cfg, i: [(i.dram_addr, i.nrows * write_xbars(i) * cfg.delta_row_words)]),
    Opcode.WRITE_WAIT: Rule(xbar_fault=lambda cfg, i: i.xbar >= cfg.n_crossbars),
    Opcode.WINDOW: _PLAIN,
    Opcode.VMM: Rule(
        bad_operand=_vmm_bad,
        xbar_fault=lambda cfg, i: (vmm_xbar_span(cfg, i)[1] > cfg.n_crossbars
                                   or i.xbar % cfg.apu_cols + vmm_cols(i) > cfg.apu_cols),
        gb=lambda cfg, i, w: list(vmm_extents(cfg, i, w)),
        gb_reads=_vmm_reads,
        overlap=_vmm_overlap),
    Opcode.VEC: Rule(
        bad_operand=lambda cfg, i, w: i.func not in VecFunc._value2member_map_,
        gb=lambda cfg, i, w: list(vec_spans(i, w)),
        gb_reads=lambda cfg, i, w: list(vec_spans(i, w)[1:])),
    Opcode.SFU: Rule(
        bad_operand=_sfu_bad,
        gb=lambda cfg, i, w: [(i.src, i.count), (i.dst, sfu_out_words(cfg, i))],
        gb_reads=lambda cfg, i, w: [(i.src, i.count)]),
    Opcode.BANK_GATE: _PLAIN,
    Opcode.INV: Rule(
        bad_operand=lambda cfg, i, w: abs(i.shift) > 31,
        xbar_fault=_inv_index_fault,
        gb=lambda cfg, i, w: [(i.in_addr, cfg.inv_vector_words),
                              (i.out_addr, cfg.inv_vector_words)],
        gb_reads=lambda cfg, i, w: [(i.in_addr, cfg.inv_vector_words)]),
    Opcode.INV_WRITE: Rule(
        xbar_fault=_inv_index_fault,
        dram=lambda cfg, i: [(i.dram_addr, cfg.inv_matrix_words)]),
    Opcode.COMBINE: Rule(
        bad_operand=_combine_bad,
        gb=lambda cfg, i, w: combine_spans(cfg, i),
        gb_reads=lambda cfg, i, w: combine_spans(cfg, i)[1:]),
}

@dataclass(frozen=True)
class _Case:
    """What the fault tests of :func:`check` look at."""

    cfg: Config
    insn: Instruction
    rule: Rule
    implemented: frozenset[Opcode]
    window: Window
    bank_mask: int
    valid: np.ndarray | None


def _gated(c: _Case) -> bool:
    return c.bank_mask != -1 and gated_words(c.cfg, c.bank_mask,
                                             c.rule.gb(c.cfg, c.insn, c.window))


def _unwritten(c: _Case) -> bool:
    return c.valid is not None and any(
        n and not c.valid[a:a + n].all() for a, n in c.rule.gb_reads(c.cfg, c.insn, c.window))


#: The faults :func:`check` (and the RTL decoder) looks for before an instruction
#: executes, in this order, each with its test; the first that holds is raised. The INV
#: arrays' state (UNINITIALIZED, INV_UNSTABLE) and an INV_WRITE's data (BAD_OPERAND once
#: streamed) are checked by the golden model after it.
FAULT_TESTS: dict[Fault, Callable[[_Case], bool]] = {
    Fault.ILLEGAL_OPCODE: lambda c: c.insn.opcode not in c.implemented,
    Fault.BAD_OPERAND: lambda c: c.rule.bad_operand(c.cfg, c.insn, c.window),
    Fault.XBAR_RANGE: lambda c: c.rule.xbar_fault(c.cfg, c.insn),
    Fault.GB_RANGE: lambda c: any(a + n > c.cfg.gb_words
                                  for a, n in c.rule.gb(c.cfg, c.insn, c.window)),
    Fault.VMM_OVERLAP: lambda c: c.rule.overlap(c.cfg, c.insn, c.window),
    Fault.DRAM_RANGE: lambda c: any(a + n > c.cfg.dram_words
                                    for a, n in c.rule.dram(c.cfg, c.insn)),
    Fault.GATED_BANK: _gated,
    Fault.UNINITIALIZED: _unwritten,
}
FAULT_ORDER = tuple(FAULT_TESTS)


def gated_words(cfg: Config, mask: int, spans: list[Span]) -> bool:
    """Whether any word of ``spans`` lies in a bank that ``mask`` gates."""
    for i, (lo, hi) in enumerate(cfg.bank_bounds):
        if not (mask >> i) & 1 and any(a < hi and lo < a + n for a, n in spans if n):
            return True
    return False


def check(cfg: Config, insn: Instruction, implemented: Iterable[Opcode] = ALL_OPCODES,
          window: Window = RESET_WINDOW, bank_mask: int = -1,
          valid: np.ndarray | None = None) -> Fault:
    """The fault an instruction raises before it executes, or ``Fault.NONE``: the first
    of :data:`FAULT_TESTS` that holds (reads of unwritten words only given ``valid``,
    one flag per GB word written since reset)."""
    rule = RULES.get(insn.opcode)
    if rule is None:                      # not an opcode of the ISA at all
        return Fault.ILLEGAL_OPCODE
    case = _Case(cfg, insn, rule, frozenset(implemented), window, bank_mask, valid)
    return next((fault for fault, test in FAULT_TESTS.items() if test(case)), Fault.NONE)


# ---- cell encoding: INT8 weights as cell levels -----------------------------------------
# Signed weights use offset binary: ``w + 2^(weight_bits-1)`` is stored unsigned and split
# into ``slices_per_weight`` cells of ``cell_bits``, least significant slice first; weight
# column ``j`` occupies cell columns ``j*S .. j*S+S-1``. The VMM removes the offset
# digitally after shift-and-add (``y = acc - offset * sum(x)``), so every cell level and
# ADC code stays non-negative. Unused rows and columns stay at level 0.


def weights_to_levels(weights: np.ndarray, cfg: Config) -> np.ndarray:
    """Cell levels (``rows x cols``, uint8) that hold ``weights`` (``k x n``, int8)."""
    w = np.asarray(weights)
    rows, n = w.shape
    if rows > cfg.crossbar.rows or n > cfg.weights_per_row:
        raise ValueError(f"a {rows}x{n} weight block does not fit a crossbar of "
                         f"{cfg.crossbar.rows} rows x {cfg.weights_per_row} weight columns")
    lo, hi = -cfg.weight_offset, cfg.weight_offset - 1
    if w.min(initial=0) < lo or w.max(initial=0) > hi:
        raise ValueError(f"weights must lie in {lo}..{hi}")
    levels = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=np.uint8)
    levels[:rows, :n * cfg.slices_per_weight] = unsigned_levels(
        w.astype(np.int64) + cfg.weight_offset, cfg)
    return levels


def unsigned_levels(held: np.ndarray, cfg: Config) -> np.ndarray:
    """Cell levels (``rows x cols``) of unsigned weights ``held`` (``rows x weight
    columns``): slice ``s`` of column ``j`` at cell column ``j*S + s``."""
    S, b = cfg.slices_per_weight, cfg.crossbar.cell_bits
    u = np.asarray(held, dtype=np.int64)
    levels = np.zeros((u.shape[0], u.shape[1] * S), dtype=np.uint8)
    for s in range(S):
        levels[:, s::S] = (u >> (b * s)) & (cfg.cell_levels - 1)
    return levels


def levels_to_weights(levels: np.ndarray, cfg: Config) -> np.ndarray:
    """Inverse of :func:`weights_to_levels` over the whole crossbar (int64)."""
    S, b = cfg.slices_per_weight, cfg.crossbar.cell_bits
    lv = np.asarray(levels, dtype=np.int64)
    unsigned = sum(lv[:, s::S] << (b * s) for s in range(S))
    return unsigned - cfg.weight_offset
