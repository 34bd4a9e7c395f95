"""The instruction decoder: its faults and fields against the golden model, and the VMM
geometry it exports (each count field read as the ISA reads it, 0 as 1, and the products
the sequencer and the chip use) as firmware.semantics declares them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth import ClockDomain, Module
from amaranth.sim import Simulator
from block_bench import decode_under, run_block

from firmware import config, semantics
from firmware.isa import (
    ALL_OPCODES,
    INSN_BITS,
    OPCODE_BITS,
    RTL_OPCODES,
    SPECS,
    Fault,
    Instruction,
    Window,
    decode,
    encode,
)
from hdl.decoder import InstructionDecoder


def test_geometry_matches_the_golden_model(tiny: config.Config) -> None:
    cfg = tiny
    dut = InstructionDecoder(cfg)
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    cases = list(itertools.product([0, 1, 2], [0, 1, 3], [0, 2], [0, 1, 2]))
    seen = []

    async def tb(ctx):
        for ncols, nrows, ngroups, reps in cases:
            insn = Instruction.make("VMM", xbar=0, in_addr=0, out_addr=0, ncols=ncols,
                                    nrows=nrows, ngroups=ngroups, replicas=reps)
            ctx.set(dut.insn, encode(insn))
            geo = {k: ctx.get(getattr(dut.geometry, k)) for k in dut.geometry.shape().members}
            seen.append((insn, geo))

    sim = Simulator(top)
    sim.add_testbench(tb)
    sim.run()
    for insn, geo in seen:
        cols, rows = semantics.vmm_cols(insn), semantics.vmm_rows(insn)
        groups, reps = semantics.vmm_groups(insn), semantics.vmm_replicas(insn)
        assert geo == {"cols": cols, "rows": rows, "groups": groups, "reps": reps,
                       "apu_rows": rows * groups * reps,
                       "in_words": reps * rows * cfg.input_words,
                       "group_words": cols * cfg.output_words,
                       "out_words": reps * groups * cols * cfg.output_words}


def test_decoder_faults_and_fields_match_golden(tiny: config.Config) -> None:
    rng = np.random.default_rng(5)
    cases = []
    for spec in SPECS.values():
        for _ in range(40):
            args = {}
            for f in spec.fields:
                # Mostly small values near the limits, sometimes anything that fits.
                hi = (1 << f.width) - 1
                v = int(rng.integers(0, min(hi, 300) + 1)) if rng.random() < 0.8 \
                    else int(rng.integers(0, hi + 1))
                args[f.name] = v - (1 << f.width) if f.signed and v >> (f.width - 1) else v
            cases.append(Instruction.make(spec.opcode, **args))
    # Boundaries of every range check, one word inside and one outside.
    gbw, dw, rows = tiny.gb_words, tiny.dram_words, tiny.crossbar.rows
    for k in (0, 1):
        cases += [
            Instruction.make("LOAD", gb_addr=gbw - 2 + k, dram_addr=dw - 2, count=2),
            Instruction.make("LOAD", gb_addr=0, dram_addr=dw - 2 + k, count=2),
            Instruction.make("STORE", dram_addr=dw - 2 + k, gb_addr=gbw - 2, count=2),
            Instruction.make("WRITE_START", xbar=tiny.n_crossbars - 1 + k, dram_addr=0, row=0,
                             nrows=1),
            Instruction.make("WRITE_START", xbar=0, dram_addr=0, row=rows - 2 + k, nrows=2),
            Instruction.make("WRITE_START", xbar=0, dram_addr=dw - 2 * tiny.delta_row_words + k,
                             row=0, nrows=2),
            Instruction.make("VMM", xbar=0, in_addr=gbw - tiny.input_words + k, out_addr=0,
                             accumulate=0),
            # Row blocks and lockstep groups at the edge of the chip.
            Instruction.make("VMM", xbar=tiny.apu_cols * (tiny.n_apu_rows - 2) + k, in_addr=0,
                             out_addr=0, accumulate=0, ncols=1, nrows=2),
            Instruction.make("VMM", xbar=0, in_addr=gbw - 2 * tiny.input_words + k,
                             out_addr=0, accumulate=0, nrows=2),
            Instruction.make("WRITE_START", xbar=1 + k, dram_addr=0, row=0, nrows=1,
                             nxbars=tiny.n_crossbars - 1),
            Instruction.make("WRITE_START", xbar=0, dram_addr=dw - 6 * tiny.delta_row_words + k,
                             row=0, nrows=2, nxbars=3),
        ]
    windows = [Window(1, 0, 0), Window(3, 40, 2), Window(200, 1, 0), Window(2, 3, 1, 1, 40),
               Window(1, 0, 0, 2, 1), Window(4, 2, 2, 3, 0)]
    masks = [0xFFFFFFFF, 0b101, 0b010, 0]
    all_valid = (1 << tiny.gb_words) - 1
    valids = [all_valid, all_valid & ~(1 << 5), int(rng.integers(0, 1 << 62)) << 40]
    combos = [(w, mk, v) for w in windows for mk in masks for v in valids]
    seen = decode_under(tiny, cases, combos, lambda ctx, dut: (
        ctx.get(dut.fault), ctx.get(dut.decoded.opcode), ctx.get(dut.decoded.as_value())))
    faults_seen = set()
    for i, (fault, opcode, value) in enumerate(seen):
        (window, mask, valid), insn = combos[i // len(cases)], cases[i % len(cases)]
        flags = np.array([(valid >> w) & 1 for w in range(tiny.gb_words)], dtype=bool)
        want = semantics.check(tiny, insn, RTL_OPCODES, window,
                            -1 if mask == 0xFFFFFFFF else mask, flags)
        assert fault == want, (insn, window)
        assert opcode == insn.opcode and value == encode(insn)
        faults_seen.add(Fault(fault))
    assert {Fault.NONE, Fault.GB_RANGE, Fault.DRAM_RANGE, Fault.XBAR_RANGE,
            Fault.GATED_BANK, Fault.UNINITIALIZED, Fault.BAD_OPERAND} <= faults_seen


def test_decoder_refuses_unknown_opcodes(tiny: config.Config) -> None:
    """Every opcode byte the ISA does not define decodes as ILLEGAL_OPCODE (the rest of
    the word zero, which every defined opcode takes)."""
    dut = InstructionDecoder(tiny)
    got = {}

    async def tb(ctx):
        for op in range(1 << OPCODE_BITS):
            ctx.set(dut.insn, op)
            got[op] = Fault(ctx.get(dut.fault))

    run_block(dut, tb)
    for op, fault in got.items():
        assert (fault == Fault.ILLEGAL_OPCODE) == (op not in ALL_OPCODES), op


def test_decoder_refuses_bits_outside_the_fields(tiny: config.Config) -> None:
    """A word with a bit set past an RTL instruction's last field, or any bit of a
    field-less one, is ILLEGAL_OPCODE, as firmware.isa.decode refuses it; the same
    instruction without that bit is not."""
    dut = InstructionDecoder(tiny)
    words = {}
    for spec in SPECS.values():
        if spec.rtl:
            end = OPCODE_BITS + sum(f.width for f in spec.fields)
            if end < INSN_BITS:
                words[spec.name] = (int(spec.opcode), int(spec.opcode) | 1 << (INSN_BITS - 1))
    got = {}

    async def tb(ctx):
        for name, (clean, stray) in words.items():
            ctx.set(dut.insn, clean)
            got[name, False] = Fault(ctx.get(dut.fault))
            ctx.set(dut.insn, stray)
            got[name, True] = Fault(ctx.get(dut.fault))

    run_block(dut, tb)
    assert {"NOP", "STORE", "WINDOW"} <= set(words)
    for name, (_, stray) in words.items():
        assert got[name, True] == Fault.ILLEGAL_OPCODE, name
        assert got[name, False] != Fault.ILLEGAL_OPCODE, name
        with pytest.raises(ValueError, match="outside its fields"):
            decode(stray)


def test_decoder_checks_every_window_of_a_windowed_vec(tiny: config.Config) -> None:
    """Three windows of two words, inputs 30 words apart, results 20: a last window past
    the buffer's end, into a gated bank or over an unwritten word faults, though the
    first window alone (the same VEC unwindowed) would not; a zero count touches
    nothing."""
    gbw = tiny.gb_words

    def vec(windowed: int, **f: int) -> Instruction:
        return Instruction.make("VEC", **{"func": 4, "dst": 0, "src_a": 0, "src_b": 0,
                                          "count": 2, "windowed": windowed, **f})

    reaches = [dict(src_a=gbw - 61), dict(src_b=gbw - 61), dict(dst=gbw - 41)]
    cases = [vec(w, **f) for f in reaches for w in (0, 1)]
    cases += [vec(1, src_a=gbw - 62), vec(1, count=0, src_a=gbw, src_b=gbw, dst=gbw),
              vec(0), vec(1)]
    window = Window(count=3, in_stride=30, out_stride=20)
    everything = (1 << tiny.gb_words) - 1
    states = [(window, 0xFFFFFFFF, everything), (window, 0b001, everything),
              (window, 0xFFFFFFFF, everything & ~(1 << 45))]
    got = decode_under(tiny, cases, states, lambda ctx, dut: Fault(ctx.get(dut.fault)))
    n = len(cases)
    in_range, gated, unwritten = got[:n], got[n:2 * n], got[2 * n:]
    assert in_range == [Fault.NONE, Fault.GB_RANGE] * 3 + [Fault.NONE] * 4
    # Bank 0 (words 0-31) alone powered: the first window from word 0 fits, the rest not.
    assert gated[7:] == [Fault.NONE, Fault.NONE, Fault.GATED_BANK]
    # Word 45 lies between the windows of a and b from 0 (inside their extents).
    assert unwritten[7:] == [Fault.NONE, Fault.NONE, Fault.UNINITIALIZED]
