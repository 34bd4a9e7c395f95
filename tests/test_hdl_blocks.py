"""Each Amaranth block in Amaranth's simulator, checked against the model it must match."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from amaranth import ClockDomain, Module, Signal
from amaranth.sim import Simulator

from firmware import config, mapper, semantics
from firmware.config import grant_cycle
from firmware.isa import (
    ALL_OPCODES,
    OPCODE_BITS,
    RTL_OPCODES,
    SPECS,
    Fault,
    Instruction,
    Window,
    encode,
)
from firmware.packing import pack, random_words, unpack
from hdl.arith import select, tree_max, tree_sum
from hdl.decoder import InstructionDecoder
from hdl.rate_limiter import RateLimiter
from hdl.shift_accumulator import ShiftAccumulator
from hdl.shift_register import ActivationShiftRegister
from hdl.write_engine import WriteEngine
from model import timing
from model.analog.crossbar import Crossbar
from model.analog.write_physics import RowWrite, row_cost


def _run(dut, testbench) -> None:
    # Declare the sync domain here so purely combinational blocks can be ticked too.
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-9)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("n", [1, 5, 8, 33])
def test_trees_sum_maximize_and_select(n: int) -> None:
    """The balanced trees give the sum, the maximum and ``options[index]`` of their terms
    (odd counts included), with each maximum level a signal of its own."""
    rng = np.random.default_rng(n)
    m = Module()
    terms = [Signal(8, name=f"t{i}") for i in range(n)]
    index = Signal(range(max(2, n)))
    total, largest, picked = Signal(16), Signal(8), Signal(8)
    m.d.comb += [total.eq(tree_sum(terms)), largest.eq(tree_max(m, terms)),
                 picked.eq(select(index, terms))]
    seen: list[tuple[int, int, int]] = []
    draws = rng.integers(0, 256, (4, n))

    async def tb(ctx):
        for row in draws:
            for t, v in zip(terms, row, strict=True):
                ctx.set(t, int(v))
            for i in range(n):
                ctx.set(index, i)
                await ctx.delay(1e-9)
                seen.append((ctx.get(total), ctx.get(largest), ctx.get(picked)))

    _run(m, tb)
    assert seen == [(int(row.sum()), int(row.max()), int(row[i]))
                    for row in draws for i in range(n)]


@pytest.mark.parametrize(("bpc", "word"), [
    (Fraction(4), 8), (Fraction(96, 5), 16), (Fraction(1, 3), 8), (Fraction(8), 8),
    (Fraction(32), 8),
])
def test_rate_limiter_grants_match_formula(bpc: Fraction, word: int) -> None:
    dut = RateLimiter(bpc, word)
    n = 12
    grants: list[int] = []

    async def tb(ctx):
        for _ in range(2):  # a gap between bursts drops the credit
            ctx.set(dut.req, 1)
            got, cycle = [], 0
            while len(got) < n:
                cycle += 1
                if ctx.get(dut.grant):
                    got.append(cycle)
                await ctx.tick()
            ctx.set(dut.req, 0)
            await ctx.tick()
            grants.append(got)

    _run(dut, tb)
    expected = [grant_cycle(k, bpc, word) for k in range(1, n + 1)]
    assert grants == [expected, expected]


def test_shift_register_presents_planes_lsb_first(tiny: config.Config) -> None:
    """Three APU rows: one word written into rows 0 and 2 at once (a broadcast), row 1
    on its own; every row presents its vector LSB plane first, and ``acts`` shows all
    planes (plane-major) before the first shift."""
    rows, bits = tiny.crossbar.rows, tiny.gb_bits
    dut = ActivationShiftRegister(3, rows, 8, bits)
    rng = np.random.default_rng(3)
    x, y = rng.integers(-128, 128, rows), rng.integers(-128, 128, rows)
    planes: list[int] = []
    acts: list[int] = []

    async def tb(ctx):
        for mask, vec in ((0b101, x), (0b010, y)):
            for i, w in enumerate(pack(vec, 8, bits)):
                ctx.set(dut.ld.load, 1)
                ctx.set(dut.ld.rows, mask)
                ctx.set(dut.ld.word, i)
                ctx.set(dut.ld.data, w)
                await ctx.tick()
        ctx.set(dut.ld.load, 0)
        acts.append(ctx.get(dut.acts))
        for _ in range(8):
            planes.append(ctx.get(dut.plane))
            ctx.set(dut.ld.shift, 1)
            await ctx.tick()

    _run(dut, tb)
    vecs = [x & 0xFF, y & 0xFF, x & 0xFF]
    expected = [sum(int((vecs[a][r] >> b) & 1) << (a * rows + r)
                    for a in range(3) for r in range(rows)) for b in range(8)]
    assert planes == expected
    assert acts == [sum(p << (b * 3 * rows) for b, p in enumerate(expected))]


@pytest.mark.parametrize("seed", range(3))
def test_shift_accumulator_matches_golden(tiny: config.Config, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xbar = Crossbar(tiny)
    xbar.levels[:] = semantics.weights_to_levels(
        rng.integers(-128, 128, (tiny.crossbar.rows, tiny.weights_per_row)), tiny)
    x = rng.integers(-128, 128, tiny.crossbar.rows)
    dut = ShiftAccumulator(tiny)
    out: list[int] = []

    async def tb(ctx):
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for b in range(8):
            bits = (x & 0xFF) >> b & 1
            codes = xbar.read_plane(bits)
            ctx.set(dut.valid, 1)
            ctx.set(dut.plane_index, b)
            ctx.set(dut.plane_bits, sum(int(v) << r for r, v in enumerate(bits)))
            ctx.set(dut.codes.as_value(), pack(codes, tiny.code_field_bits,
                                               tiny.crossbar.cols * tiny.code_field_bits)[0])
            await ctx.tick()
        ctx.set(dut.valid, 0)
        out.extend(ctx.get(dut.result[j]) for j in range(tiny.weights_per_row))

    _run(dut, tb)
    assert out == xbar.vmm(x).tolist()


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
    dut = InstructionDecoder(tiny)
    seen: list[tuple[int, int, int]] = []

    combos = [(w, mk, v) for w in windows for mk in masks for v in valids]

    async def tb(ctx):
        for window, mask, valid in combos:
            ctx.set(dut.window, window._asdict())
            ctx.set(dut.bank_mask, mask)
            ctx.set(dut.gb_valid, valid)
            for insn in cases:
                ctx.set(dut.insn, encode(insn))
                seen.append((ctx.get(dut.fault), ctx.get(dut.decoded.opcode),
                             ctx.get(dut.decoded.as_value())))

    _run(dut, tb)
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
    """Every opcode byte the ISA does not define decodes as ILLEGAL_OPCODE."""
    dut = InstructionDecoder(tiny)
    got = {}

    async def tb(ctx):
        for op in range(1 << OPCODE_BITS):
            ctx.set(dut.insn, op | (0x1234 << OPCODE_BITS))
            got[op] = Fault(ctx.get(dut.fault))

    _run(dut, tb)
    for op, fault in got.items():
        assert (fault == Fault.ILLEGAL_OPCODE) == (op not in ALL_OPCODES), op


def _drive_write(cfg: config.Config, mem: list[int], first: int, nxbars: int, base: int,
                 nrows: int) -> tuple[list[tuple[int, int, int]], int, int]:
    """Run one WRITE_START through the write engine over main memory ``mem``: the
    hand-overs ``(xbar, row, deltas word)``, the busy cycles and the pulse count."""
    dut = WriteEngine(cfg)
    handed: list[tuple[int, int, int]] = []
    result = {}

    async def tb(ctx):
        ctx.set(dut.cmd.xbar, first)
        ctx.set(dut.cmd.nxbars, nxbars)
        ctx.set(dut.cmd.dram_addr, base)
        ctx.set(dut.cmd.row, 0)
        ctx.set(dut.cmd.nrows, nrows)
        ctx.set(dut.cmd.start, 1)
        await ctx.tick()
        ctx.set(dut.cmd.start, 0)
        busy, rdata = 0, 0
        while ctx.get(dut.scoreboard.busy):
            busy += 1
            ctx.set(dut.mem.rdata, rdata)
            if ctx.get(dut.xbar_wr.valid):
                handed.append((ctx.get(dut.xbar_wr.id), ctx.get(dut.xbar_wr.row),
                               ctx.get(dut.xbar_wr.deltas.as_value())))
            en, addr = ctx.get(dut.mem.en), ctx.get(dut.mem.addr)
            await ctx.tick()
            rdata = mem[addr] if en else rdata  # synchronous memory: data next cycle
            if busy > 100_000:
                raise AssertionError("write engine never finished")
        result["busy"] = busy
        result["pulses"] = ctx.get(dut.pulses)

    _run(dut, tb)
    return handed, result["busy"], result["pulses"]


@pytest.mark.parametrize("nxbars", [1, 3])
def test_write_engine_rows_match_write_model(tiny: config.Config, nxbars: int) -> None:
    """Deltas handed over crossbar by crossbar, pulse count and busy time all as the write
    model says, for one crossbar and for a lockstep group."""
    rng = np.random.default_rng(9)
    shape = (tiny.crossbar.rows, tiny.crossbar.cols)
    old = [rng.integers(0, tiny.cell_levels, shape) for _ in range(nxbars)]
    new = [rng.integers(0, tiny.cell_levels, shape) for _ in range(nxbars)]
    for o, n in zip(old, new, strict=True):
        n[2] = o[2]  # a row with no change anywhere: no pulses, no phases
    words = mapper.group_delta_words(old, new, tiny)
    nrows, base, first = 5, 3, 1
    rw = tiny.delta_row_words
    handed, busy, pulses = _drive_write(tiny, [0] * base + words, first, nxbars, base, nrows)
    xbars = [Crossbar(tiny) for _ in range(nxbars)]
    for x, o in zip(xbars, old, strict=True):
        x.levels[:] = o
    rows = [RowWrite.lockstep([x.program_row(r, n[r] - o[r])
                               for x, o, n in zip(xbars, old, new, strict=True)])
            for r in range(nrows)]
    order = [(first + k, r) for r in range(nrows) for k in range(nxbars)]
    assert [(x, r) for x, r, _ in handed] == order
    assert [w for _, _, w in handed] == [words[(r * nxbars + k) * rw]
                                         for r in range(nrows) for k in range(nxbars)]
    assert pulses == sum(r.pulses for r in rows)
    assert busy == timing.group_write_cycles(tiny, rows, nxbars)
    assert rows[2].pulses == 0


@pytest.mark.parametrize("nxbars", [1, 2])
def test_write_engine_times_every_delta_value(tiny: config.Config, nxbars: int) -> None:
    """Every value a delta field holds, the most negative included (it once wrapped to a
    zero-length phase): rows of one value each, both orders of all values, arbitrary
    words; pulses and busy time as the write model says."""
    cols, bits = tiny.crossbar.cols, tiny.write.delta_bits
    values = tiny.delta_values
    span = len(values)
    ramp = np.array([values[c % span] for c in range(cols)])
    rows = [np.full(cols, v) for v in values] + [ramp, ramp[::-1]]
    words = [w for d in rows for w in pack(d, bits, tiny.dram_bits)]
    words += random_words(np.random.default_rng(4), 6 * tiny.delta_row_words, tiny.dram_bits)
    nrows = len(words) // (nxbars * tiny.delta_row_words)
    handed, busy, pulses = _drive_write(tiny, words, 0, nxbars, 0, nrows)
    deltas = [unpack(words[i * tiny.delta_row_words:(i + 1) * tiny.delta_row_words], bits,
                     tiny.dram_bits, cols, signed=True) for i in range(nrows * nxbars)]
    model = [RowWrite.lockstep([row_cost(deltas[r * nxbars + k], tiny) for k in range(nxbars)])
             for r in range(nrows)]
    assert len(handed) == nrows * nxbars
    assert pulses == sum(r.pulses for r in model)
    assert busy == timing.group_write_cycles(tiny, model, nxbars)
    assert max(r.dec_pulses for r in model) == span // 2 * tiny.write.pulses_per_level


def test_global_buffer_ports() -> None:
    """Synchronous reads, transparent to a same-cycle write; the host port reads and
    clears words."""
    from hdl.global_buffer import GlobalBuffer
    dut = GlobalBuffer(depth=16, width=64)
    seen = {}

    async def tb(ctx):
        for addr, value in ((3, 0x1111), (4, 0x2222)):
            ctx.set(dut.wr.en, 1)
            ctx.set(dut.wr.addr, addr)
            ctx.set(dut.wr.data, value)
            await ctx.tick()
        # Read word 4 while writing it: the read returns the new value.
        ctx.set(dut.wr.addr, 4)
        ctx.set(dut.wr.data, 0x3333)
        ctx.set(dut.rd.en, 1)
        ctx.set(dut.rd.addr, 4)
        await ctx.tick()
        ctx.set(dut.wr.en, 0)
        seen["transparent"] = ctx.get(dut.rd.data)
        ctx.set(dut.rd.addr, 3)
        await ctx.tick()
        seen["plain"] = ctx.get(dut.rd.data)
        ctx.set(dut.rd.en, 0)
        await ctx.tick()
        seen["held"] = ctx.get(dut.rd.data)      # no enable: the last data stays
        ctx.set(dut.dbg_addr, 3)
        await ctx.tick()
        seen["dbg"] = ctx.get(dut.dbg_data)
        ctx.set(dut.dbg_we, 1)                   # host clear of word 3
        await ctx.tick()
        ctx.set(dut.dbg_we, 0)
        await ctx.tick()
        seen["cleared"] = ctx.get(dut.dbg_data)

    _run(dut, tb)
    assert seen == {"transparent": 0x3333, "plain": 0x1111, "held": 0x1111, "dbg": 0x1111,
                    "cleared": 0}


@pytest.mark.parametrize(("func", "shift", "window"), [
    ("RELU", 0, 1), ("REQUANT", 0, 1), ("REQUANT", 3, 1), ("REQUANT", 31, 1),
    ("REQUANT_RELU", 0, 1), ("REQUANT_RELU", 5, 1),
    ("MAXPOOL", 0, 1), ("MAXPOOL", 0, 3), ("AVGPOOL", 2, 4), ("AVGPOOL", 0, 5),
    ("DIGIT", 0, 1), ("DIGIT", 8, 1), ("DIGIT", 16, 1), ("DIGIT", 24, 1),
])
def test_sfu_element_stream(func: str, shift: int, window: int) -> None:
    """The SFU on a stream of int32 elements, against the ISA's closed-form definitions."""
    from firmware.isa import SfuFunc
    from hdl.sfu import SpecialFunctionUnit
    rng = np.random.default_rng(window + shift)
    xs = [int(v) for v in rng.integers(-(2**31), 2**31, size=window * 6)]
    xs[:3] = [2**31 - 1, -(2**31), 0]
    dut = SpecialFunctionUnit()
    got: list[int] = []

    async def tb(ctx):
        ctx.set(dut.func, SfuFunc[func])
        ctx.set(dut.shift, shift)
        ctx.set(dut.window, window)
        win, acc = 0, 0
        for x in xs:
            ctx.set(dut.x, x)
            ctx.set(dut.win, win)
            ctx.set(dut.acc, acc)
            if ctx.get(dut.emit):
                got.append(ctx.get(dut.y))
            win, acc = ctx.get(dut.win_next), ctx.get(dut.acc_next)
        assert ctx.get(dut.narrow) == (func in ("REQUANT", "REQUANT_RELU", "DIGIT"))

    _run(dut, tb)
    rnd = (1 << shift) >> 1
    if func == "RELU":
        want = [max(x, 0) for x in xs]
    elif func == "REQUANT":
        want = [min(127, max(-128, (x + rnd) >> shift)) for x in xs]
    elif func == "REQUANT_RELU":
        want = [min(127, (max(x, 0) + rnd) >> shift) for x in xs]
    elif func == "DIGIT":
        # Balanced base-256: the digit is the residue of x's rest at this position in
        # -128..127 (lower digits taken out first).
        want = []
        for x in xs:
            rest = x
            for _ in range(shift // 8):
                d = (rest + 128) % 256 - 128
                rest = (rest - d) // 256
            want.append((rest + 128) % 256 - 128)
    else:
        groups = [xs[i:i + window] for i in range(0, len(xs), window)]
        if func == "MAXPOOL":
            want = [max(g) for g in groups]
        else:  # the sum, rounded and shifted, wraps to int32
            want = [(((sum(g) + rnd) >> shift) + 2**31) % 2**32 - 2**31 for g in groups]
    assert got == want


@pytest.mark.parametrize("word_bits", [64, 128])
def test_combine_lanes_multiply_accumulate(word_bits: int) -> None:
    """The COMBINE lanes against numpy: INT8 coefficients times an int32, wrapping."""
    from hdl.combine import CombineUnit
    rng = np.random.default_rng(word_bits)
    lanes = word_bits // 8
    dut = CombineUnit(word_bits)
    coefs = rng.integers(-128, 128, size=(20, lanes))
    ps = rng.integers(-(2**31), 2**31, size=20)
    ps[:2] = [-(2**31), 2**31 - 1]
    got = []

    async def tb(ctx):
        acc = [0] * lanes
        for c, p in zip(coefs, ps, strict=True):
            ctx.set(dut.coefs, pack(c, 8, word_bits)[0])
            ctx.set(dut.p, int(p))
            for lane in range(lanes):
                ctx.set(dut.acc[lane], acc[lane])
            acc = [ctx.get(dut.acc_next[lane]) for lane in range(lanes)]
        got.extend(acc)

    _run(dut, tb)
    want = (coefs.astype(object) * ps[:, None].astype(object)).sum(axis=0)
    assert got == [int((v + 2**31) % 2**32 - 2**31) for v in want]
