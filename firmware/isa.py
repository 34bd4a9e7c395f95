"""The instruction set: the single source of truth for opcodes, fields and semantics.

Every instruction is one 128-bit word: an 8-bit opcode in bits [7:0], then the
instruction's fields packed upward from bit 8 in the order listed, unused bits zero.
The Amaranth decoder (``hdl/decoder.py``), the assembler, the golden interpreter and the
timing model all read the tables here; nothing else declares an opcode. What each opcode
touches and when it faults (extents, fault checks, VMM geometry) is declared once, beside
it, in :mod:`firmware.semantics`.

Addresses are in words: global-buffer (GB) words of ``global_buffer.word_bytes`` and
main-memory (DRAM) words of ``main_memory.word_bytes``. ``rtl`` marks the instructions
the RTL executes today; any other opcode makes the RTL raise ``ILLEGAL_OPCODE``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

INSN_BITS = 128
OPCODE_BITS = 8


class Opcode(enum.IntEnum):
    NOP = 0x00
    HALT = 0x01
    SYNC = 0x02
    LOAD = 0x03
    STORE = 0x04
    WRITE_START = 0x05
    WRITE_WAIT = 0x06
    WINDOW = 0x07
    VMM = 0x08
    VEC = 0x09
    SFU = 0x0A
    BANK_GATE = 0x0B
    INV = 0x0C
    INV_WRITE = 0x0D
    COMBINE = 0x0E


class VecFunc(enum.IntEnum):
    """Element-wise vector operations: int32 lanes (refinement residuals, partial sums)
    and INT8 lanes (the glue between layers: residual adds, pooling)."""

    ADD = 0
    SUB = 1
    ADD8 = 2
    ADD8_RELU = 3
    MAX8 = 4
    AVG8 = 5


#: VEC functions on INT8 lanes (``word_bits / 8`` a word); the others are int32.
VEC_NARROW = frozenset({VecFunc.ADD8, VecFunc.ADD8_RELU, VecFunc.MAX8, VecFunc.AVG8})


class SfuFunc(enum.IntEnum):
    """Special-function unit operations on int32 accumulator vectors."""

    RELU = 0
    REQUANT = 1
    MAXPOOL = 2
    AVGPOOL = 3
    DIGIT = 4
    REQUANT_RELU = 5


class VmmOut(enum.IntEnum):
    """What a VMM writes: its int32 sums, or (one pass of a layer) the SFU's REQUANT or
    REQUANT_RELU of them, INT8, on their way to the buffer."""

    INT32 = 0
    REQUANT = 1
    REQUANT_RELU = 2


#: SFU functions with INT8 results (four per int32 input), and those over windows of
#: consecutive elements (one element per cycle; the others take a word per cycle).
SFU_NARROW = frozenset({SfuFunc.REQUANT, SfuFunc.REQUANT_RELU, SfuFunc.DIGIT})
SFU_POOLING = frozenset({SfuFunc.MAXPOOL, SfuFunc.AVGPOOL})


class Fault(enum.IntEnum):
    """Fault codes latched by the chip when it halts on bad firmware."""

    NONE = 0
    ILLEGAL_OPCODE = 1
    IMEM_RANGE = 2
    GB_RANGE = 3
    DRAM_RANGE = 4
    XBAR_RANGE = 5
    GATED_BANK = 6
    WATCHDOG = 7
    UNINITIALIZED = 8
    BAD_OPERAND = 9
    INV_UNSTABLE = 10
    VMM_OVERLAP = 11


FAULT_TEXT = {
    Fault.NONE: "no fault",
    Fault.ILLEGAL_OPCODE: "illegal or unimplemented opcode",
    Fault.IMEM_RANGE: "program counter ran past the end of instruction memory",
    Fault.GB_RANGE: "global-buffer address out of range",
    Fault.DRAM_RANGE: "main-memory address out of range",
    Fault.XBAR_RANGE: "crossbar index or row out of range",
    Fault.GATED_BANK: "access to a power-gated global-buffer bank",
    Fault.WATCHDOG: "watchdog expired: the program ran longer than sim.watchdog_cycles",
    Fault.UNINITIALIZED: "read of a global-buffer word not written since reset (checked "
                         "over each read operand's extent, first to last word)",
    Fault.BAD_OPERAND: "a field or operand value is invalid for its instruction",
    Fault.INV_UNSTABLE: "the INV array's matrix cannot be solved by the closed loop "
                        "(not positive definite after quantization, a row without feedback, "
                        "or settling slower than inv.solve_cycles)",
    Fault.VMM_OVERLAP: "a VMM's output extent overlaps its input extent (its window passes "
                       "are pipelined: a later pass's inputs would load while an earlier "
                       "pass's outputs drain)",
}


@dataclass(frozen=True)
class Field:
    """One instruction field: ``width`` bits, unsigned unless ``signed``; the assembler
    lets an ``optional`` field be left out (it is then 0)."""

    name: str
    width: int
    doc: str
    signed: bool = False
    optional: bool = False

    @property
    def bounds(self) -> tuple[int, int]:
        """The smallest and largest value the field holds."""
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    def edge_values(self) -> list[int]:
        """The values at the edges of what the field holds (both ends, 0 and 1, the sign
        boundary), where encodings and range checks break first."""
        lo, hi = self.bounds
        half = 1 << (self.width - 1)
        return sorted({v for v in (lo, lo + 1, 0, 1, hi - 1, hi, half - 1, half)
                       if lo <= v <= hi})


@dataclass(frozen=True)
class InsnSpec:
    """An instruction: opcode, ordered fields, semantics, and whether the RTL runs it."""

    opcode: Opcode
    fields: tuple[Field, ...]
    doc: str
    rtl: bool = False

    @property
    def name(self) -> str:
        return self.opcode.name

    def field_offsets(self) -> dict[str, tuple[int, int]]:
        """``{field: (lsb, width)}`` inside the 128-bit word."""
        offsets, pos = {}, OPCODE_BITS
        for f in self.fields:
            offsets[f.name] = (pos, f.width)
            pos += f.width
        return offsets


GB_ADDR = 24
DRAM_ADDR = 32
COUNT = 16
XBAR = 16

_SPECS = [
    InsnSpec(Opcode.NOP, (), "Do nothing for one instruction slot.", rtl=True),
    InsnSpec(Opcode.HALT, (), "Stop; the chip raises `halted` and keeps its state for dump.",
             rtl=True),
    InsnSpec(Opcode.SYNC, (),
             "Wait until every write engine is idle (all weight writes done).", rtl=True),
    InsnSpec(Opcode.LOAD, (
        Field("gb_addr", GB_ADDR, "first GB word written"),
        Field("dram_addr", DRAM_ADDR, "first DRAM word read"),
        Field("count", COUNT, "words to move"),
    ), "DMA `count` words from main memory to the global buffer at the main-memory "
       "bandwidth.", rtl=True),
    InsnSpec(Opcode.STORE, (
        Field("dram_addr", DRAM_ADDR, "first DRAM word written"),
        Field("gb_addr", GB_ADDR, "first GB word read"),
        Field("count", COUNT, "words to move"),
    ), "DMA `count` words from the global buffer to main memory at the main-memory "
       "bandwidth.", rtl=True),
    InsnSpec(Opcode.WRITE_START, (
        Field("xbar", XBAR, "crossbar index"),
        Field("dram_addr", DRAM_ADDR, "first DRAM word of the row deltas"),
        Field("row", COUNT, "first crossbar row written"),
        Field("nrows", COUNT, "rows written"),
        Field("nxbars", XBAR, "crossbars `xbar ..` written in lockstep (0 is taken as 1)",
              optional=True),
    ), "Start a background weight write of `nxbars` consecutive crossbars in lockstep: for "
       "each row, stream every crossbar's signed cell deltas for that row (`write.delta_bits` "
       "each, computed offline; main memory holds row after row, crossbar after crossbar "
       "within a row, each crossbar's row in `delta_row_words` words, its deltas one bit "
       "stream from the first word's least significant bit, so a delta may straddle two "
       "words), one burst per "
       "crossbar, then program the row of all of them at once in two polarity phases "
       "(decrease, then increase); each phase lasts as long as the slowest cell of the "
       "group's row. Every value a delta field holds is legal, the most negative included: "
       "a cell with delta `d` gets `|d| * write.pulses_per_level` pulses in its phase "
       "(counted in `pulses`, and setting the phase's length if it is the slowest) and its "
       "level moves by `d`, saturating at 0 and `2^cell_bits - 1` (pulses past the end of "
       "the range are still applied). Compute on a crossbar of the group stalls until the "
       "write is done.",
        rtl=True),
    InsnSpec(Opcode.WRITE_WAIT, (
        Field("xbar", XBAR, "crossbar index"),
    ), "Barrier: wait until no write to `xbar` is in flight.", rtl=True),
    InsnSpec(Opcode.WINDOW, (
        Field("count", COUNT, "windows per VMM or windowed VEC (0 is taken as 1)"),
        Field("in_stride", GB_ADDR, "GB words between consecutive input windows"),
        Field("out_stride", GB_ADDR, "GB words between consecutive output vectors"),
        Field("seg_group", 8, "input segments per group (0: no groups, all consecutive)",
              optional=True),
        Field("group_stride", GB_ADDR, "GB words from one segment group's start to the next",
              optional=True),
    ), "Set the sliding-window loop that following VMMs run, and windowed VECs (count and "
       "strides only) (reset: count 1, strides 0, no groups). Within a VMM's window, row "
       "block `k`'s input segment starts at word "
       "`(k // seg_group) * group_stride + (k % seg_group) * input_words` (just "
       "`k * input_words` when `seg_group` is 0): a convolution keeps each kernel row's "
       "segments together and jumps one feature-map row between kernel rows.", rtl=True),
    InsnSpec(Opcode.VMM, (
        Field("xbar", XBAR, "crossbar index"),
        Field("in_addr", GB_ADDR, "GB word of the first input vector (INT8, `rows` values)"),
        Field("out_addr", GB_ADDR, "GB word of the first output vector (int32 per weight column)"),
        Field("accumulate", 1, "1: add to the int32 outputs already there"),
        Field("ncols", 8, "crossbars of the APU row sharing the inputs, from `xbar` "
                          "(0 is taken as 1)"),
        Field("nrows", 16, "APU rows computing in parallel, each on its own input segment, "
                           "their outputs summed (0 is taken as 1)", optional=True),
        Field("shift", 5, "left shift of every result before it is written or added "
                          "(wrapping): weights sliced across crossbars, wide inputs sliced "
                          "into digits", optional=True),
        Field("ngroups", 8, "column groups computing in parallel on the same input "
                            "segments, each `nrows` APU rows (0 is taken as 1)",
              optional=True),
        Field("replicas", 8, "copies of the weights computing consecutive windows in "
                             "parallel, each `ngroups * nrows` APU rows; the window count "
                             "must be a multiple (0 is taken as 1)", optional=True),
        Field("zero", 8, "extra offset of the stored weights (partial weight reuse): the "
                         "offset removed digitally is `(2^(weight_bits-1) + zero) * "
                         "sum(x)`", signed=True, optional=True),
        Field("mode", 2, "VmmOut: 0 int32 sums; 1 REQUANT, 2 REQUANT_RELU: INT8 results, "
                         "`shift` their rounding right shift", optional=True),
    ), "Vector-matrix multiply for each window on `nrows` consecutive APU rows of `ncols` "
       "crossbars each, all computing in parallel. Row block `k` (crossbars "
       "`xbar + k * apu_cols + c`) takes the input segment at `in_addr + k * input_words`; "
       "inputs enter bit-serially (LSB first, MSB plane negative), each plane is read out "
       "through the ADCs and recombined by shift-and-add across planes and cell slices, one "
       "accumulator per crossbar; the offset-binary weight offset is removed digitally, and "
       "the accumulation units sum the row blocks. Column `c`'s sum goes to `out_addr + c * "
       "output_words` (plus the window's out stride). With `ngroups` and `replicas`, APU "
       "row `(r * ngroups + g) * nrows + k` holds row block `k` of column group `g` of "
       "replica `r`: every group of a replica reads the same segments (loaded once), "
       "replica `r` computes the window `r` after the first (`in_stride`, `out_stride`), "
       "and group `g`'s column `c` goes to `out_addr + (g * ncols + c) * output_words`; "
       "the window loop advances `replicas` windows at a time. The window passes are "
       "pipelined: while the crossbars compute pass `k`, pass `k+1`'s inputs load into the "
       "second set of activation registers and pass `k-1`'s results drain from the output "
       "registers, so a VMM whose output extent (first window's first word to last "
       "window's last) overlaps its input extent faults VMM_OVERLAP. With `mode` REQUANT or "
       "REQUANT_RELU the results pass through the SFU's arithmetic on their way out "
       "(`clip((v + 2^(shift-1)) >> shift, -128, 127)`, of `max(v, 0)` for REQUANT_RELU) "
       "and are written INT8, packed: group `g`'s outputs (column by column) fill "
       "`ncols * output_words / 4` words from `out_addr + g * ncols * output_words / 4` "
       "(plus the window's out stride); `mode` 3, `mode` with `accumulate` (partial sums "
       "stay int32), or a group whose INT8 outputs do not fill whole words fault "
       "BAD_OPERAND. The first row block's "
       "crossbars must lie in one APU row; the scoreboard stalls the VMM while a write "
       "touches any crossbar from its first to its last.", rtl=True),
    InsnSpec(Opcode.VEC, (
        Field("func", 4, "VecFunc"),
        Field("dst", GB_ADDR, "GB word of the result"),
        Field("src_a", GB_ADDR, "GB word of operand a"),
        Field("src_b", GB_ADDR, "GB word of operand b"),
        Field("count", COUNT, "GB words processed (per window when `windowed`)"),
        Field("windowed", 1, "1: run the WINDOW loop: window w reads `src_a + w * "
                             "in_stride`, `src_b + w * in_stride` and writes `dst + w * "
                             "out_stride`, `count` words each", optional=True),
    ), "Element-wise `dst = a (op) b` over `count` words. int32 lanes, wrapping: ADD, SUB "
       "(e.g. refinement residuals). INT8 lanes (`word_bits / 8` a word), the glue between "
       "layers: ADD8 `clip(a + b, -128, 127)` (a residual add), ADD8_RELU `max(ADD8, 0)`, "
       "MAX8 `max(a, b)` (max pooling, one pair at a time), AVG8 `(a + b + 1) >> 1` (the "
       "rounded mean of a pair: average pooling of 2^k elements as a tree). With "
       "`windowed`, the WINDOW loop's `count` windows run back to back (a pooling window's "
       "strided rows or columns); without, one window at the given addresses. Streams "
       "word by word in increasing order (read a[k], read b[k], write dst[k]), so an "
       "overlapping `dst` is seen by later words. Another `func` faults BAD_OPERAND.",
       rtl=True),
    InsnSpec(Opcode.SFU, (
        Field("func", 4, "SfuFunc"),
        Field("dst", GB_ADDR, "GB word of the result"),
        Field("src", GB_ADDR, "GB word of the int32 input"),
        Field("count", COUNT, "input GB words (int32 elements)"),
        Field("shift", 8, "REQUANT, AVGPOOL: rounding arithmetic right shift (0..31); "
                          "DIGIT: the digit's position (0, 8, 16 or 24)"),
        Field("window", 8, "MAXPOOL, AVGPOOL: consecutive elements per window (>= 1)"),
    ), "Special functions on the int32 elements of `count` words: RELU (int32 out); "
       "REQUANT `clip((v + 2^(shift-1)) >> shift, -128, 127)` (INT8 out); REQUANT_RELU, "
       "REQUANT of `max(v, 0)` (INT8 out: a layer's activation in one pass); MAXPOOL, and "
       "AVGPOOL `(sum + 2^(shift-1)) >> shift`, over consecutive windows (int32 out, one per "
       "window; the element count must be a multiple of `window`); DIGIT "
       "`(((v + 0x80808080) >> shift) & 255) - 128` (INT8 out): the balanced base-256 "
       "digits `d_0..d_3` of `v` (`v = sum d_k 2^(8k)` modulo 2^32), which a VMM with "
       "`shift = 8k` turns into an exact product with an int32 vector. Results are packed from "
       "`dst`, the last word zero-padded. Bad `func`, `shift` or `window`, or a `dst` inside "
       "the input past `src` (which would overwrite input not yet read), fault BAD_OPERAND. "
       "The RTL takes one input word per cycle (all its lanes at once), one element per "
       "cycle for the pooling functions.", rtl=True),
    InsnSpec(Opcode.BANK_GATE, (
        Field("mask", 32, "bit i = 1 powers bank i; 0 gates it"),
    ), "Set the global-buffer bank power mask (reset: all on). Banks occupy the GB word "
       "space in config order; an instruction whose GB operand extent (first to last word, "
       "all VMM windows included) touches a gated bank faults GATED_BANK. Gating keeps "
       "contents (retention gating).", rtl=True),
    InsnSpec(Opcode.INV, (
        Field("xbar", XBAR, "INV array index"),
        Field("in_addr", GB_ADDR, "GB word of the right-hand side b (`inv.size` int32)"),
        Field("out_addr", GB_ADDR, "GB word of the solution x (`inv.size` int32)"),
        Field("shift", 8, "fraction bits of x (-31..31): x_int = round(x * 2^shift), "
                          "saturated", signed=True),
    ), "Solve `A x = b` in one step on the closed-loop INV array holding `A` (in conductance "
       "levels), through its DAC, op-amps and ADC, within the fixed window of "
       "`inv.solve_cycles`. An array never written faults UNINITIALIZED; one whose matrix "
       "the loop cannot solve, or not settle within the window, faults INV_UNSTABLE. "
       "Cycles: read b, the window, write x.", rtl=True),
    InsnSpec(Opcode.INV_WRITE, (
        Field("xbar", XBAR, "INV array index"),
        Field("dram_addr", DRAM_ADDR, "first DRAM word of the matrix"),
    ), "Program INV array `xbar` with its `inv.size` x `inv.size` matrix of signed "
       "conductance levels, row-major, one int16 per entry packed in main-memory words. "
       "The matrix streams in at the main-memory bandwidth, then the differential pair is "
       "programmed row by row: one RESET pulse erases the row, then each cell is SET by "
       "`|level| * write.pulses_per_level` pulses, all in parallel (the chip's `pulses` "
       "counter counts crossbar writes only). A level beyond +-(2^(conductance_bits-1)-1) "
       "faults BAD_OPERAND once the matrix has streamed in; the array keeps its old "
       "matrix.", rtl=True),
    InsnSpec(Opcode.COMBINE, (
        Field("dst", GB_ADDR, "GB word of the int32 results (4 words per group)"),
        Field("src", GB_ADDR, "GB word of the int32 inputs p"),
        Field("coef", GB_ADDR, "GB word of the INT8 coefficients"),
        Field("m", COUNT, "inputs p[0..m-1]"),
        Field("ngroups", COUNT, "output groups of `G = word_bits / 8` outputs"),
    ), "BasisN's combination after the ADCs: `y[g*G + l] = sum_i c[g, i, l] * p[i]`, int32 "
       "wrapping, INT8 coefficients. Coefficient word `coef + g*m + i` holds "
       "`c[g, i, 0..G-1]`; group `g`'s results go to `dst + 4g` (G int32). Per group the "
       "unit streams the coefficient words through `G` multiply-accumulate lanes, reading "
       "a new input word every `word_bits / 32` inputs: `m + ceil(m * 32 / word_bits) + 5` "
       "cycles a group. A `dst` extent overlapping the inputs or coefficients faults "
       "BAD_OPERAND; `m = 0` or `ngroups = 0` does nothing.", rtl=True),
]

RTL_OPCODES = frozenset(s.opcode for s in _SPECS if s.rtl)
ALL_OPCODES = frozenset(s.opcode for s in _SPECS)

SPECS: dict[Opcode, InsnSpec] = {s.opcode: s for s in _SPECS}
BY_NAME: dict[str, InsnSpec] = {s.name: s for s in _SPECS}

for _s in _SPECS:
    _end = OPCODE_BITS + sum(f.width for f in _s.fields)
    assert _end <= INSN_BITS, f"{_s.name} needs {_end} bits"


@dataclass(frozen=True)
class Instruction:
    """A decoded instruction: an opcode and a value for each of its fields."""

    opcode: Opcode
    args: tuple[tuple[str, int], ...] = ()

    @classmethod
    def make(cls, opcode: Opcode | str, **args: int) -> Instruction:
        spec = BY_NAME[opcode] if isinstance(opcode, str) else SPECS[opcode]
        names = [f.name for f in spec.fields]
        unknown = set(args) - set(names)
        if unknown:
            raise ValueError(f"{spec.name}: unknown field(s) {sorted(unknown)}; "
                             f"expected {names}")
        return cls(spec.opcode, tuple((n, int(args.get(n, 0))) for n in names))

    @property
    def spec(self) -> InsnSpec:
        return SPECS[self.opcode]

    def __getattr__(self, name: str) -> int:
        for n, v in self.args:
            if n == name:
                return v
        raise AttributeError(name)


def check_field(spec: InsnSpec, f: Field, value: int) -> None:
    """Raise ValueError if ``value`` does not fit field ``f`` of ``spec``."""
    lo, hi = f.bounds
    if not lo <= value <= hi:
        raise ValueError(f"{spec.name}.{f.name} = {value} does not fit {f.width} "
                         f"{'signed' if f.signed else 'unsigned'} bits ({lo}..{hi})")


def encode(insn: Instruction) -> int:
    """Pack an instruction into its 128-bit word."""
    spec = insn.spec
    word = int(spec.opcode)
    offsets = spec.field_offsets()
    values = dict(insn.args)
    for f in spec.fields:
        v = values[f.name]
        check_field(spec, f, v)
        lsb, width = offsets[f.name]
        word |= (v & ((1 << width) - 1)) << lsb
    return word


def decode(word: int) -> Instruction:
    """Unpack a 128-bit word; raise ValueError for an unknown opcode or stray bits."""
    if not 0 <= word < (1 << INSN_BITS):
        raise ValueError(f"instruction word {word:#x} is not a {INSN_BITS}-bit value")
    op = word & ((1 << OPCODE_BITS) - 1)
    try:
        spec = SPECS[Opcode(op)]
    except ValueError:
        raise ValueError(f"unknown opcode {op:#04x} in word {word:#034x}") from None
    args, used = [], (1 << OPCODE_BITS) - 1
    for f in spec.fields:
        lsb, width = spec.field_offsets()[f.name]
        v = (word >> lsb) & ((1 << width) - 1)
        if f.signed and v >> (width - 1):
            v -= 1 << width
        args.append((f.name, v))
        used |= ((1 << width) - 1) << lsb
    if word & ~used:
        raise ValueError(f"{spec.name}: word {word:#034x} has bits set outside its fields")
    return Instruction(spec.opcode, tuple(args))


class Window(NamedTuple):
    """The VMM window registers (``WINDOW``), at their reset values by default."""

    count: int = 1
    in_stride: int = 0
    out_stride: int = 0
    seg_group: int = 0
    group_stride: int = 0

    @classmethod
    def of(cls, insn: Instruction) -> Window:
        return cls(max(1, insn.count), insn.in_stride, insn.out_stride, insn.seg_group,
                   insn.group_stride)

    def segment(self, k: int, input_words: int) -> int:
        """First word of row block ``k``'s input segment, relative to the window's start."""
        if self.seg_group == 0:
            return k * input_words
        return (k // self.seg_group) * self.group_stride + (k % self.seg_group) * input_words

    def segments_extent(self, nrows: int, input_words: int) -> int:
        """Words from a window's start to the end of its farthest input segment."""
        g = self.seg_group or nrows
        last_group = (nrows - 1) // g
        ends = [last_group * self.group_stride + (nrows - 1 - last_group * g) * input_words]
        if last_group:  # an earlier, full group may reach farther (small group stride)
            ends.append((last_group - 1) * self.group_stride + (g - 1) * input_words)
        return max(ends) + input_words


#: The window registers after reset.
RESET_WINDOW = Window()
