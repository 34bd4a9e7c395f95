"""Constrained-random programs over the RTL instruction set, seeded and reproducible.

Each program gets a main memory with arbitrary words (contents nobody chose: weight
writes read them as deltas of every value a field holds, loads bring them into the
global buffer as activations, INV right-hand sides and COMBINE coefficients, INV_WRITE
sometimes as a matrix), activation vectors, row deltas of random weight sets (from an
erased array) and of random level steps (which may saturate cells), INV matrices
(solvable, unstable, out of range), and scratch space. Nine programs in ten first load
the whole global buffer from a random place of main memory (reads of unwritten words
fault). Instructions are drawn with weights; operands are drawn so that most
instructions are legal (VMM and windowed VEC extents fit the buffer under the current
window, weight writes address whole delta rows), and a gated bank is usually powered
again before it is used. VECs draw every function, half of them windowed. In a quarter
of the programs one field
of one instruction is then redrawn over every value its width holds (most of them out
of range), and a few programs end in a deliberate fault instead of HALT.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from firmware.config import Config
from firmware.image import Image
from firmware.isa import (
    ALL_OPCODES,
    INSN_BITS,
    OPCODE_BITS,
    Instruction,
    Opcode,
    SfuFunc,
    VecFunc,
    VmmOut,
    Window,
    encode,
)
from firmware.mapper import row_delta_words
from firmware.packing import pack, random_words
from firmware.programs.directed import solvable_inv_levels
from firmware.semantics import vec_spans, vmm_extents, weights_to_levels, words

#: How often each opcode is drawn (relative weights; HALT only ends a program).
WEIGHTS = {Opcode.LOAD: 4, Opcode.STORE: 2, Opcode.WRITE_START: 3, Opcode.WRITE_WAIT: 1,
           Opcode.SYNC: 1, Opcode.NOP: 1, Opcode.WINDOW: 2, Opcode.VMM: 5,
           Opcode.BANK_GATE: 1, Opcode.VEC: 2, Opcode.SFU: 2, Opcode.INV_WRITE: 0.5,
           Opcode.INV: 1, Opcode.COMBINE: 1}
FAULTS = ("illegal_word", "random_word", "bad_operand", "gb_range", "dram_range",
          "xbar_range")
#: Share of programs in which one field of one instruction is redrawn over its whole width.
WILD_FIELD_RATE = 0.25
#: Share of VECs drawn to run the window loop (when its windows fit the buffer).
VEC_WINDOWED_RATE = 0.5
#: Share of VMMs whose output extent is drawn without regard to their input extent.
OVERLAP_RATE = 0.05
#: Fields whose every value is legal and whose large values only make a program long
#: (thousands of VMM windows): the watchdog program covers that, at a known cost.
TAME_FIELDS = frozenset({(Opcode.WINDOW, "count")})


class _Drawer:
    """A random program's state while it is drawn: the image's main-memory layout, the
    window and bank-mask registers, the INV arrays holding a solvable matrix, and the
    program so far. Each ``_op`` method draws one instruction of its opcode (sometimes
    with a BANK_GATE or an INV_WRITE before it, sometimes none)."""

    def __init__(self, cfg: Config, rng: np.random.Generator):
        self.cfg, self.rng = cfg, rng
        R = cfg.crossbar.rows
        rw = cfg.delta_row_words
        gbw = cfg.gb_words
        self.all_on = (1 << len(cfg.global_buffer.bank_bytes)) - 1

        # Arbitrary words first, at least a buffer's worth, so the initial LOAD can fill
        # the whole buffer with them.
        dram: list[int] = random_words(rng, max(gbw, 2 * R * rw), cfg.dram_bits)
        arbitrary = 0
        acts = rng.integers(-128, 128, size=8 * R)
        dram += pack(acts, cfg.data.act_bits, cfg.dram_bits)
        self.delta_sets = [arbitrary]
        erased = np.zeros((R, cfg.crossbar.cols), dtype=np.int64)
        for _ in range(2):
            w = rng.integers(-128, 128, size=(R, cfg.weights_per_row))
            self.delta_sets.append(len(dram))
            dram += row_delta_words(erased, weights_to_levels(w, cfg), cfg)
        steps = rng.integers(-(cfg.cell_levels - 1), cfg.cell_levels,
                             size=(R, cfg.crossbar.cols))
        self.delta_sets.append(len(dram))
        dram += row_delta_words(np.zeros_like(steps), steps, cfg)
        # INV matrices: diagonally dominant (solvable; small levels keep programming
        # short), unstable (-5 I), and one with a level out of range.
        n_inv = cfg.inv.size
        good = solvable_inv_levels(cfg, rng)
        bad_level = good.copy()
        bad_level[int(rng.integers(0, n_inv)), int(rng.integers(0, n_inv))] = \
            cfg.inv_level_max + 1
        self.inv_mats = []
        for mat in (good, -5 * np.eye(n_inv, dtype=np.int64), bad_level):
            self.inv_mats.append(len(dram))
            dram += pack(mat.ravel(), 16, cfg.dram_bits)
        self.inv_mats.append(arbitrary)
        self.used = len(dram)
        self.scratch, self.scratch_words = self.used, 64
        dram += [0] * self.scratch_words
        self.dram = dram

        self.window = Window()
        self.mask = self.all_on
        self.inv_ready: set[int] = set()   # INV arrays holding the solvable matrix
        self.program: list[Instruction] = []

    def gb_ok(self, spans: list[tuple[int, int]]) -> None:
        """Usually power every bank again before an access would touch a gated one."""
        cfg = self.cfg
        touches = any(n and a < hi and lo < a + n and not (self.mask >> i) & 1
                      for a, n in spans for i, (lo, hi) in enumerate(cfg.bank_bounds))
        if touches and self.rng.random() < 0.9:
            self.program.append(Instruction.make("BANK_GATE", mask=self.all_on))
            self.mask = self.all_on

    def _load(self) -> None:
        rng, gbw = self.rng, self.cfg.gb_words
        n = int(rng.integers(0, 2 * self.cfg.input_words + 1))
        gb = int(rng.integers(0, gbw - n + 1))
        self.gb_ok([(gb, n)])
        self.program.append(Instruction.make("LOAD", gb_addr=gb, count=n,
                                             dram_addr=int(rng.integers(0, self.used - n + 1))))

    def _store(self) -> None:
        rng, gbw = self.rng, self.cfg.gb_words
        n = int(rng.integers(0, 9))
        gb = int(rng.integers(0, gbw - n + 1))
        self.gb_ok([(gb, n)])
        self.program.append(Instruction.make(
            "STORE", gb_addr=gb, count=n,
            dram_addr=self.scratch + int(rng.integers(0, self.scratch_words - n + 1))))

    def _write_start(self) -> None:
        cfg, rng = self.cfg, self.rng
        R, n_xbar = cfg.crossbar.rows, cfg.n_crossbars
        xbar = int(rng.integers(0, n_xbar))
        # A third of the writes program a lockstep group of crossbars.
        nx = int(rng.integers(1, min(3, n_xbar - xbar) + 1)) if rng.random() < 0.3 else 1
        row = int(rng.integers(0, R))
        base = self.delta_sets[int(rng.integers(0, len(self.delta_sets)))]
        fit = (self.used - base) // (nx * cfg.delta_row_words)  # the group's rows left
        nrows = int(rng.integers(1, min(R - row, fit) + 1))
        self.program.append(Instruction.make("WRITE_START", xbar=xbar, dram_addr=base,
                                             row=row, nrows=nrows, nxbars=nx))

    def _write_wait(self) -> None:
        self.program.append(Instruction.make(
            "WRITE_WAIT", xbar=int(self.rng.integers(0, self.cfg.n_crossbars))))

    def _nop(self) -> None:
        self.program.append(Instruction.make("NOP"))

    def _sync(self) -> None:
        self.program.append(Instruction.make("SYNC"))

    def _halt(self) -> None:
        """Never drawn (weight 0): every program ends in one."""
        self.program.append(Instruction.make("HALT"))

    def _window(self) -> None:
        rng, iw, ow = self.rng, self.cfg.input_words, self.cfg.output_words
        count = int(rng.integers(0, 4))
        si, so = int(rng.integers(0, 2 * iw + 1)), int(rng.integers(0, 2 * ow + 1))
        group = int(rng.choice([0, 0, 1, 2]))        # segment groups half the time
        gs = int(rng.integers(0, 3 * iw + 1)) if group else 0
        insn = Instruction.make("WINDOW", count=count, in_stride=si, out_stride=so,
                                seg_group=group, group_stride=gs)
        self.window = Window.of(insn)
        self.program.append(insn)

    def _vmm(self) -> None:
        cfg, rng, window = self.cfg, self.rng, self.window
        n_xbar, gbw = cfg.n_crossbars, cfg.gb_words
        xbar = int(rng.integers(0, n_xbar))
        ncols = int(rng.integers(1, cfg.apu_cols - xbar % cfg.apu_cols + 1))
        # Row blocks: as many APU rows as fit after the first, drawn uniformly; a third of
        # the time several column groups or replicas (of a window count they divide)
        # share those rows.
        fit = (n_xbar - ncols - xbar) // cfg.apu_cols + 1
        nrows = int(rng.integers(1, fit + 1))
        ngroups = replicas = 1
        if rng.random() < 0.5:
            nrows = int(rng.integers(1, fit + 1))
            ngroups = int(rng.integers(1, fit // nrows + 1))
            reps = [r for r in range(2, fit + 1) if window.count % r == 0]
            if reps and rng.random() < 0.6:     # replicas, with what rows remain
                replicas = int(rng.choice(reps))
                nrows = int(rng.integers(1, fit // replicas + 1))
                ngroups = int(rng.integers(1, fit // (replicas * nrows) + 1))
        # (The int32 extents: a requantizing VMM's INT8 outputs are a prefix of them.)
        geometry = Instruction.make("VMM", ncols=ncols, nrows=nrows, ngroups=ngroups)
        (_, in_ext), (_, out_ext) = vmm_extents(cfg, geometry, window)
        if in_ext > gbw or out_ext > gbw:
            return
        a_in = int(rng.integers(0, gbw - in_ext + 1))
        # Outputs clear of the inputs (the passes are pipelined), but for a few drawn
        # anywhere (mostly a VMM_OVERLAP fault).
        clear = [a for a in range(gbw - out_ext + 1)
                 if a + out_ext <= a_in or a_in + in_ext <= a]
        if rng.random() < OVERLAP_RATE:
            a_out = int(rng.integers(0, gbw - out_ext + 1))
        elif clear:
            a_out = int(rng.choice(clear))
        else:
            return
        self.gb_ok([(a_in, in_ext), (a_out, out_ext)])
        shift = int(rng.integers(0, 32)) if rng.random() < 0.3 else 0
        accumulate = int(rng.integers(0, 2))
        # A third of the plain VMMs whose groups' INT8 outputs fill whole words requantize.
        mode = 0
        if not accumulate and ncols * cfg.output_words % 4 == 0 and rng.random() < 0.3:
            mode = int(rng.choice([VmmOut.REQUANT, VmmOut.REQUANT_RELU]))
        self.program.append(Instruction.make("VMM", xbar=xbar, in_addr=a_in, out_addr=a_out,
                                             accumulate=accumulate, ncols=ncols,
                                             nrows=nrows, shift=shift, ngroups=ngroups,
                                             replicas=replicas, mode=mode))

    def _vec(self) -> None:
        rng, gbw = self.rng, self.cfg.gb_words
        n = int(rng.integers(0, 2 * self.cfg.output_words + 1))
        func = int(rng.integers(0, len(VecFunc)))
        # Some run the window loop, when its windows fit the buffer; half of those set
        # it first, strides around the window's words (windows that overlap or leave
        # gaps).
        windowed = int(rng.random() < VEC_WINDOWED_RATE)
        if windowed and rng.random() < 0.5:
            insn = Instruction.make("WINDOW", count=int(rng.integers(2, 5)),
                                    in_stride=int(rng.integers(0, 2 * n + 1)),
                                    out_stride=int(rng.integers(0, 2 * n + 1)))
            self.window = Window.of(insn)
            self.program.append(insn)
        probe = Instruction.make("VEC", func=func, dst=0, src_a=0, src_b=0, count=n,
                                 windowed=windowed)
        (_, out_ext), (_, in_ext), _ = vec_spans(probe, self.window)
        if max(in_ext, out_ext) > gbw:
            windowed, in_ext, out_ext = 0, n, n
        dst = int(rng.integers(0, gbw - out_ext + 1))
        sa, sb = (int(rng.integers(0, gbw - in_ext + 1)) for _ in range(2))
        self.gb_ok([(dst, out_ext), (sa, in_ext), (sb, in_ext)])
        self.program.append(Instruction.make("VEC", func=func, dst=dst, src_a=sa, src_b=sb,
                                             count=n, windowed=windowed))

    def _sfu(self) -> None:
        cfg, rng, gbw = self.cfg, self.rng, self.cfg.gb_words
        count = int(rng.integers(0, 2 * cfg.output_words + 1))
        n = count * (cfg.gb_bits // 32)
        func = SfuFunc(int(rng.integers(0, len(SfuFunc))))
        windows = [w for w in range(1, 9) if n % w == 0] or [1]
        pool = int(rng.choice(windows)) if func in (SfuFunc.MAXPOOL, SfuFunc.AVGPOOL) else 1
        shift = 8 * int(rng.integers(0, 4)) if func == SfuFunc.DIGIT else \
            int(rng.integers(0, 12))
        src = int(rng.integers(0, gbw - count + 1))
        # dst never inside (src, src + count): that faults, and the fault is tested apart.
        dst = int(rng.choice([src, int(rng.integers(0, max(1, src))),
                              min(gbw - count, src + count)]))
        self.gb_ok([(src, count), (dst, count)])
        self.program.append(Instruction.make("SFU", func=func, dst=dst, src=src, count=count,
                                             shift=shift, window=pool))

    def _inv_write(self) -> None:
        rng = self.rng
        # Solvable, unstable, one level out of range, or arbitrary words.
        which = int(rng.choice(4, p=[0.86, 0.06, 0.03, 0.05]))
        xid = int(rng.integers(0, self.cfg.inv.count))
        self.program.append(Instruction.make("INV_WRITE", xbar=xid,
                                             dram_addr=self.inv_mats[which]))
        self.inv_ready.discard(xid)
        if which == 0:
            self.inv_ready.add(xid)

    def _inv(self) -> None:
        cfg, rng = self.cfg, self.rng
        inv_words = cfg.inv_vector_words
        src, dst = (int(rng.integers(0, cfg.gb_words - inv_words + 1)) for _ in range(2))
        self.gb_ok([(src, inv_words), (dst, inv_words)])
        # Mostly on a solvable array (programmed first if none is); otherwise it faults
        # UNINITIALIZED or INV_UNSTABLE.
        if not self.inv_ready and rng.random() < 0.9:
            self.program.append(Instruction.make("INV_WRITE", xbar=0,
                                                 dram_addr=self.inv_mats[0]))
            self.inv_ready.add(0)
        ready = sorted(self.inv_ready) if self.inv_ready and rng.random() < 0.95 else \
            list(range(cfg.inv.count))
        self.program.append(Instruction.make("INV", xbar=int(rng.choice(ready)),
                                             in_addr=src, out_addr=dst,
                                             shift=int(rng.integers(-8, 9))))

    def _combine(self) -> None:
        cfg, rng, gbw = self.cfg, self.rng, self.cfg.gb_words
        mm, ng = int(rng.integers(0, 3 * (cfg.gb_bits // 32) + 2)), int(rng.integers(0, 3))
        pw, cw, dw = words(mm, 32, cfg.gb_bits), mm * ng, 4 * ng
        if pw + cw + dw > gbw:
            return
        src = int(rng.integers(0, gbw - pw - cw + 1))
        coef = src + pw if rng.random() < 0.5 else int(rng.integers(0, gbw - cw + 1))
        # dst clear of both inputs, unless drawn to overlap (a BAD_OPERAND fault).
        free = [a for a in range(gbw - dw + 1)
                if (a + dw <= src or a >= src + pw) and (a + dw <= coef or a >= coef + cw)]
        dst = int(rng.choice(free)) if free and rng.random() < 0.97 else src
        self.gb_ok([(src, pw), (coef, cw), (dst, dw)])
        self.program.append(Instruction.make("COMBINE", dst=dst, src=src, coef=coef, m=mm,
                                             ngroups=ng))

    def _bank_gate(self) -> None:
        self.mask = int(self.rng.integers(0, self.all_on + 1))
        self.program.append(Instruction.make("BANK_GATE", mask=self.mask))


#: How to draw each opcode (a :class:`_Drawer` method).
DRAWERS: dict[Opcode, Callable[[_Drawer], None]] = {
    Opcode.NOP: _Drawer._nop,
    Opcode.HALT: _Drawer._halt,
    Opcode.SYNC: _Drawer._sync,
    Opcode.LOAD: _Drawer._load,
    Opcode.STORE: _Drawer._store,
    Opcode.WRITE_START: _Drawer._write_start,
    Opcode.WRITE_WAIT: _Drawer._write_wait,
    Opcode.WINDOW: _Drawer._window,
    Opcode.VMM: _Drawer._vmm,
    Opcode.VEC: _Drawer._vec,
    Opcode.SFU: _Drawer._sfu,
    Opcode.BANK_GATE: _Drawer._bank_gate,
    Opcode.INV: _Drawer._inv,
    Opcode.INV_WRITE: _Drawer._inv_write,
    Opcode.COMBINE: _Drawer._combine,
}


def random_program(cfg: Config, seed: int, max_len: int = 24, fault_rate: float = 0.1) -> Image:
    """One random program for ``cfg``; the same seed gives the same image."""
    rng = np.random.default_rng([seed, 0x5EED])
    d = _Drawer(cfg, rng)
    # Most programs start by initializing the whole buffer; the others mostly end in an
    # UNINITIALIZED fault at their first read, which is worth covering too.
    if rng.random() < 0.9:
        d.program.append(Instruction.make(
            "LOAD", gb_addr=0, count=cfg.gb_words,
            dram_addr=int(rng.integers(0, d.used - cfg.gb_words + 1))))
    names = [op.name for op in WEIGHTS]
    probs = np.array(list(WEIGHTS.values()), dtype=float)
    for _ in range(int(rng.integers(3, max_len + 1))):
        DRAWERS[Opcode[str(rng.choice(names, p=probs / probs.sum()))]](d)

    program = d.program
    if program and rng.random() < WILD_FIELD_RATE:
        k = int(rng.integers(0, len(program)))
        program[k] = _wild_field(program[k], rng)
    words_ = [encode(i) for i in program]
    if rng.random() < fault_rate:
        words_.append(_fault_word(cfg, str(rng.choice(FAULTS)), rng))
    words_.append(encode(Instruction.make("HALT")))
    return Image(cfg, words_, d.dram)


def _wild_field(insn: Instruction, rng: np.random.Generator) -> Instruction:
    """``insn`` with one field redrawn over its whole width: uniformly, or one of the
    values at the edges (0, 1, the largest, the sign boundary)."""
    fields = [f for f in insn.spec.fields if (insn.opcode, f.name) not in TAME_FIELDS]
    if not fields:
        return insn
    f = fields[int(rng.integers(0, len(fields)))]
    lo, hi = f.bounds
    value = int(rng.choice(f.edge_values())) if rng.random() < 0.5 else \
        int(rng.integers(lo, hi + 1))
    return Instruction.make(insn.opcode, **{**dict(insn.args), f.name: value})


def _fault_word(cfg: Config, kind: str, rng: np.random.Generator) -> int:
    if kind == "illegal_word":   # an opcode no instruction has
        unused = sorted(set(range(1 << OPCODE_BITS)) - {int(op) for op in ALL_OPCODES})
        return int(rng.choice(unused))
    if kind == "random_word":    # 128 arbitrary bits: a bad opcode or stray bits, mostly
        return random_words(rng, 1, INSN_BITS)[0]
    insn = {
        "bad_operand": Instruction.make("VEC", func=9, dst=0, src_a=0, src_b=0, count=1),
        "gb_range": Instruction.make("LOAD", gb_addr=cfg.gb_words, dram_addr=0, count=1),
        "dram_range": Instruction.make("STORE", dram_addr=cfg.dram_words - 1, gb_addr=0,
                                       count=2),
        "xbar_range": Instruction.make("WRITE_WAIT", xbar=cfg.n_crossbars),
    }[kind]
    return encode(insn)
