"""The golden interpreter on every instruction, against closed-form expectations."""

from __future__ import annotations

import numpy as np
import pytest

from firmware import assembler, config, mapper, semantics
from firmware.image import Image
from firmware.isa import (
    ALL_OPCODES,
    RTL_OPCODES,
    Fault,
    Instruction,
    Opcode,
    VecFunc,
    decode,
)
from firmware.packing import pack, unpack
from firmware.programs import directed
from model import golden, reference


def _run(cfg: config.Config, text: str, dram: list[int]) -> golden.GoldenResult:
    return golden.run(Image.build(cfg, assembler.assemble(text), dram))


def _ints(res: golden.GoldenResult, cfg: config.Config, addr: int, words: int,
          bits: int) -> list[int]:
    return unpack(res.dram[addr: addr + words], bits, cfg.dram_bits,
                  words * cfg.dram_bits // bits, signed=True).tolist()


A = [5, -7, 2**31 - 1, -(2**31), 100, -100, 0, 3]
B = [1, 9, 1, -1, -300, 250, 7, -3]


@pytest.mark.parametrize(("func", "expected"), [
    ("ADD", [6, 2, -(2**31), 2**31 - 1, -200, 150, 7, 0]),       # wraps like int32
    ("SUB", [4, -16, 2**31 - 2, -(2**31) + 1, 400, -350, -7, 6]),
])
def test_vec(tiny: config.Config, func: str, expected: list[int]) -> None:
    dram = pack(A, 32, 64) + pack(B, 32, 64)
    res = _run(tiny, f"""
        LOAD gb_addr=0, dram_addr=0, count=8
        VEC func={func}, dst=8, src_a=0, src_b=4, count=4
        STORE dram_addr=8, gb_addr=8, count=4
        HALT""", dram)
    assert res.fault == Fault.NONE
    assert _ints(res, tiny, 8, 4, 32) == expected


# INT8 lanes at the edges: both clip limits, sums just past them, signs mixed, rounding
# of odd sums both ways.
A8 = [127, -128, 127, -128, 100, -100, -1, 0, 1, 126, -127, 5, -5, 64, -64, 3]
B8 = [1, -1, 127, -128, 100, -100, 1, 0, -1, 1, -1, -6, 4, 64, -65, -4]


@pytest.mark.parametrize(("func", "expected"), [
    ("ADD8", [127, -128, 127, -128, 127, -128, 0, 0, 0, 127, -128, -1, -1, 127, -128, -1]),
    ("ADD8_RELU", [127, 0, 127, 0, 127, 0, 0, 0, 0, 127, 0, 0, 0, 127, 0, 0]),
    ("MAX8", [127, -1, 127, -128, 100, -100, 1, 0, 1, 126, -1, 5, 4, 64, -64, 3]),
    # (a + b + 1) >> 1, floor: 129 -> 64, -128 -> -64, -199 -> -100, -127 -> -64.
    ("AVG8", [64, -64, 127, -128, 100, -100, 0, 0, 0, 64, -64, 0, 0, 64, -64, 0]),
])
def test_vec_int8_lanes(tiny: config.Config, func: str, expected: list[int]) -> None:
    words = len(A8) * 8 // tiny.gb_bits
    dram = pack(A8, 8, 64) + pack(B8, 8, 64)
    res = _run(tiny, f"""
        LOAD gb_addr=0, dram_addr=0, count={2 * words}
        VEC func={func}, dst=8, src_a=0, src_b={words}, count={words}
        STORE dram_addr=8, gb_addr=8, count={words}
        HALT""", dram)
    assert res.fault == Fault.NONE
    assert _ints(res, tiny, 8, words, 8) == expected


def test_windowed_vec_runs_every_window_at_its_strides(tiny: config.Config) -> None:
    """Three windows of two words, inputs 3 words apart, results 2 apart (so they pack
    with no gap); the words between the input windows are never read."""
    lanes = tiny.gb_bits // 8
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (9, lanes))
    b = rng.integers(-128, 128, (9, lanes))
    dram = pack(a.ravel(), 8, 64) + pack(b.ravel(), 8, 64)
    res = _run(tiny, """
        LOAD gb_addr=0, dram_addr=0, count=18
        WINDOW count=3, in_stride=3, out_stride=2
        VEC func=MAX8, dst=20, src_a=0, src_b=9, count=2, windowed=1
        STORE dram_addr=40, gb_addr=20, count=6
        HALT""", dram)
    assert res.fault == Fault.NONE
    rows = [3 * w + k for w in range(3) for k in range(2)]      # 0 1 3 4 6 7
    assert _ints(res, tiny, 40, 6, 8) == np.maximum(a[rows], b[rows]).ravel().tolist()


def test_windowed_vec_sees_its_earlier_windows_writes(tiny: config.Config) -> None:
    """Each window writes the word the next one reads as ``a``: a running maximum (and a
    WINDOW count of 0 runs one window)."""
    lanes = tiny.gb_bits // 8
    a0 = np.full(lanes, -100)
    b = np.array([[-50] * lanes, [-90] * lanes, [20] * lanes, [10] * lanes])
    dram = pack(a0, 8, 64) + [0] * 4 + pack(b.ravel(), 8, 64)
    res = _run(tiny, """
        LOAD gb_addr=0, dram_addr=0, count=9
        WINDOW count=4, in_stride=1, out_stride=1
        VEC func=MAX8, dst=1, src_a=0, src_b=5, count=1, windowed=1
        WINDOW count=0, in_stride=7, out_stride=7
        VEC func=ADD8, dst=6, src_a=0, src_b=5, count=1, windowed=1
        STORE dram_addr=40, gb_addr=0, count=7
        HALT""", dram)
    assert res.fault == Fault.NONE
    got = np.array(_ints(res, tiny, 40, 7, 8)).reshape(7, lanes)[:, 0].tolist()
    # a[w+1] = max(a[w], b[w]): -50, -50, 20, 20; then one window: -100 + -50 (clipped).
    assert got == [-100, -50, -50, 20, 20, -50, -128]


def test_sfu_functions(tiny: config.Config) -> None:
    v = [-5, 7, 300, -300, 129, 127, 6, 2]
    dram = pack(v, 32, 64)
    res = _run(tiny, """
        LOAD gb_addr=0, dram_addr=0, count=4
        SFU func=RELU, dst=4, src=0, count=4, shift=0, window=1
        SFU func=REQUANT, dst=8, src=0, count=4, shift=1, window=1
        SFU func=MAXPOOL, dst=9, src=0, count=4, shift=0, window=2
        SFU func=AVGPOOL, dst=11, src=0, count=4, shift=2, window=4
        STORE dram_addr=16, gb_addr=4, count=8
        HALT""", dram)
    assert res.fault == Fault.NONE
    assert _ints(res, tiny, 16, 4, 32) == [0, 7, 300, 0, 129, 127, 6, 2]
    # (v + 1) >> 1, clipped to INT8: -2, 4, 150->127, -150->-128, 65, 64, 3, 1
    assert _ints(res, tiny, 20, 1, 8) == [-2, 4, 127, -128, 65, 64, 3, 1]
    assert _ints(res, tiny, 21, 2, 32) == [7, 300, 129, 6]
    # sums 2 and 264 over windows of 4, (s + 2) >> 2
    assert _ints(res, tiny, 23, 1, 32) == [1, 66]


@pytest.mark.parametrize("line", [
    f"VEC func={len(VecFunc)}, dst=0, src_a=0, src_b=0, count=1",
    "SFU func=9, dst=0, src=0, count=1, shift=0, window=1",
    "SFU func=REQUANT, dst=0, src=0, count=1, shift=32, window=1",
    "SFU func=MAXPOOL, dst=0, src=0, count=1, shift=0, window=0",
    "SFU func=AVGPOOL, dst=0, src=0, count=1, shift=0, window=3",
    "INV xbar=0, in_addr=0, out_addr=4, shift=40",
])
def test_bad_operands_fault(tiny: config.Config, line: str) -> None:
    res = _run(tiny, f"NOP\n{line}\nHALT", [])
    assert (res.fault, res.pc, res.executed) == (Fault.BAD_OPERAND, 1, 1)


def test_bank_gating(tiny: config.Config) -> None:
    # tiny banks: 256 B, 256 B, 512 B = words 0-31, 32-63, 64-127.
    ok = _run(tiny, """
        BANK_GATE mask=0b101
        LOAD gb_addr=30, dram_addr=0, count=2
        LOAD gb_addr=64, dram_addr=0, count=2
        BANK_GATE mask=0b111
        LOAD gb_addr=32, dram_addr=0, count=1
        HALT""", [1, 2])
    assert ok.fault == Fault.NONE and ok.gb[30:33] == [1, 2, 1]
    for line in ("LOAD gb_addr=31, dram_addr=0, count=2",      # straddles into bank 1
                 "STORE dram_addr=0, gb_addr=40, count=1",
                 "VMM xbar=0, in_addr=32, out_addr=0, accumulate=0, ncols=1"):
        bad = _run(tiny, f"BANK_GATE mask=0b101\n{line}\nHALT", [1, 2])
        assert (bad.fault, bad.pc) == (Fault.GATED_BANK, 1), line


def _inv_image(cfg: config.Config, levels: np.ndarray, b: np.ndarray, shift: int) -> Image:
    n = cfg.inv.size
    b_words = pack(b, 32, cfg.dram_bits)
    dram = pack(levels.ravel(), 16, cfg.dram_bits) + b_words
    b_addr, nb = len(dram) - len(b_words), len(b_words)
    text = f"""
        INV_WRITE xbar=0, dram_addr=0
        LOAD gb_addr=0, dram_addr={b_addr}, count={nb}
        INV xbar=0, in_addr=0, out_addr={nb}, shift={shift}
        STORE dram_addr={b_addr + nb}, gb_addr={nb}, count={nb}
        HALT"""
    assert n == len(b)
    return Image.build(cfg, assembler.assemble(text), dram)


def test_inv_instruction_solves(tiny: config.Config) -> None:
    n = tiny.inv.size
    rng = np.random.default_rng(0)
    m = rng.standard_normal((n, n))
    a = m @ m.T + n * np.eye(n)
    levels = np.rint(a / np.abs(a).max() * 127).astype(int)
    b = rng.integers(-1000, 1000, n)
    img = _inv_image(tiny, levels, b, shift=16)
    res = golden.run(img)
    assert res.fault == Fault.NONE
    nb = len(pack(b, 32, 64))
    b_addr = len(pack(levels.ravel(), 16, 64))
    x = np.array(_ints(res, tiny, b_addr + nb, nb, 32)[:n]) / 2**16
    x_true = np.linalg.solve(levels, b)
    assert np.linalg.norm(x - x_true) / np.linalg.norm(x_true) < 2**-5
    # The ideal reference removes converters and finite gain: exact to the output's LSB.
    ideal = reference.run(img)
    xi = np.array(_ints(ideal, tiny, b_addr + nb, nb, 32)[:n]) / 2**16
    assert np.abs(xi - x_true).max() <= 2**-16


@pytest.mark.parametrize(("setup", "fault"), [
    ("", Fault.UNINITIALIZED),                   # never written
    ("INV_WRITE xbar=0, dram_addr=0", Fault.INV_UNSTABLE),   # -I: unstable loop
])
def test_inv_faults(tiny: config.Config, setup: str, fault: Fault) -> None:
    n = tiny.inv.size
    dram = pack((-np.eye(n, dtype=int)).ravel(), 16, 64)
    load = f"LOAD gb_addr=0, dram_addr=0, count={tiny.inv.size * 32 // tiny.gb_bits}"
    res = _run(tiny, f"{load}\n{setup}\nINV xbar=0, in_addr=0, out_addr=4, shift=0\nHALT",
               dram)
    assert res.fault == fault


def test_inv_write_faults(tiny: config.Config) -> None:
    n = tiny.inv.size
    big = np.eye(n, dtype=int) * 200       # beyond the 8-bit level range
    res = _run(tiny, "INV_WRITE xbar=0, dram_addr=0\nHALT", pack(big.ravel(), 16, 64))
    assert res.fault == Fault.BAD_OPERAND
    res = _run(tiny, "INV_WRITE xbar=1, dram_addr=0\nHALT", [])
    assert res.fault == Fault.XBAR_RANGE
    res = _run(tiny, f"INV_WRITE xbar=0, dram_addr={tiny.dram_words - 1}\nHALT", [])
    assert res.fault == Fault.DRAM_RANGE


def test_rtl_subset_faults_on_the_rest(tiny: config.Config) -> None:
    """A golden model told the RTL lacks an opcode faults on it (every opcode has RTL
    now; the option stays for opcodes added to the ISA before the RTL)."""
    text = "INV_WRITE xbar=0, dram_addr=0\nHALT"
    img = Image.build(tiny, assembler.assemble(text), [])
    assert RTL_OPCODES == ALL_OPCODES
    assert golden.run(img, RTL_OPCODES - {Opcode.INV_WRITE}).fault == Fault.ILLEGAL_OPCODE


def test_parallel_vmm_sums_row_blocks_after_group_write(tiny: config.Config) -> None:
    """A lockstep write of every crossbar, then one VMM over both APU rows: each output
    column is the sum over row blocks of the block's input segment times its weights."""
    rng = np.random.default_rng(11)
    R, cols, nrb = tiny.crossbar.rows, tiny.apu_cols, tiny.n_apu_rows
    w = rng.integers(-128, 128, (nrb, cols, R, tiny.weights_per_row))
    x = rng.integers(-128, 128, (nrb, R))
    new = [semantics.weights_to_levels(w[k, c], tiny) for k in range(nrb) for c in range(cols)]
    old = [np.zeros_like(lv) for lv in new]
    xs = pack(x.ravel(), 8, tiny.dram_bits)
    deltas = mapper.group_delta_words(old, new, tiny)
    iw, ow = tiny.input_words, tiny.output_words
    out = len(xs) + len(deltas)
    text = f"""
        WRITE_START xbar=0, dram_addr={len(xs)}, row=0, nrows={R}, nxbars={nrb * cols}
        LOAD gb_addr=0, dram_addr=0, count={nrb * iw}
        VMM xbar=0, in_addr=0, out_addr={nrb * iw}, accumulate=0, ncols={cols}, nrows={nrb}
        STORE dram_addr={out}, gb_addr={nrb * iw}, count={cols * ow}
        HALT"""
    res = _run(tiny, text, xs + deltas + [0] * cols * ow)
    assert res.fault == Fault.NONE
    got = np.array(_ints(res, tiny, out, cols * ow, 32)).reshape(cols, -1)
    for c in range(cols):
        assert got[c].tolist() == sum(x[k] @ w[k, c] for k in range(nrb)).tolist()
    # The group is programmed row by row in lockstep: every row's pulses are counted.
    assert res.pulses == sum(int(np.abs(lv.astype(int)).sum()) for lv in new)


def test_digits_and_shifted_vmm_give_an_exact_wide_product(small) -> None:
    """SFU DIGIT splits int32 inputs into four INT8 digits; VMMs with shift 8k summed
    give W x modulo 2^32 exactly, as the refinement residual needs."""
    rng = np.random.default_rng(4)
    cfg = small
    n = cfg.crossbar.rows
    x = rng.integers(-(2**31), 2**31, size=n)
    w = rng.integers(-128, 128, size=(cfg.weights_per_row, n))
    want = ((w @ x.astype(object)) + 2**31) % 2**32 - 2**31
    words_x = -(-n * 32 // cfg.gb_bits)
    lines = [f"LOAD gb_addr=0, dram_addr=0, count={words_x}"]
    digits = 64
    for k in range(4):
        lines.append(f"SFU func=4, dst={digits + k * cfg.input_words}, src=0, "
                     f"count={words_x}, shift={8 * k}, window=0")
    lines.append(f"WRITE_START xbar=0, dram_addr={words_x}, row=0, nrows={n}")
    lines.append("SYNC")
    for k in range(4):
        lines.append(f"VMM xbar=0, in_addr={digits + k * cfg.input_words}, out_addr=128, "
                     f"accumulate={int(k > 0)}, ncols=1, shift={8 * k}")
    lines.append("HALT")
    from firmware.mapper import row_delta_words
    from firmware.semantics import weights_to_levels
    levels = weights_to_levels(w.T, cfg)
    dram = pack(x, 32, cfg.dram_bits) + row_delta_words(np.zeros_like(levels), levels, cfg)
    res = _run(cfg, "\n".join(lines), dram)
    assert res.fault == Fault.NONE
    got = unpack(res.gb[128:128 + cfg.output_words], 32, cfg.gb_bits, len(want), signed=True)
    assert got.tolist() == [int(v) for v in want]


def test_combine_sums_coefficient_weighted_inputs(small) -> None:
    """COMBINE's layout by hand: coefficient word g*m + i holds c[g, i, 0..G-1]."""
    rng = np.random.default_rng(6)
    G, m, groups = small.gb_bits // 8, 5, 2
    p = rng.integers(-(2**20), 2**20, size=m)
    c = rng.integers(-128, 128, size=(groups, m, G))
    pw = -(-m * 32 // small.gb_bits)
    dram = pack(p, 32, small.dram_bits) + pack(c.ravel(), 8, small.dram_bits)
    text = (f"LOAD gb_addr=0, dram_addr=0, count={pw + groups * m}\n"
            f"COMBINE dst=100, src=0, coef={pw}, m={m}, ngroups={groups}\nHALT")
    res = _run(small, text, dram)
    assert res.fault == Fault.NONE
    got = unpack(res.gb[100:100 + 4 * groups], 32, small.gb_bits, groups * G, signed=True)
    want = [int(sum(int(c[g, i, lane]) * int(p[i]) for i in range(m)))
            for g in range(groups) for lane in range(G)]
    assert got.tolist() == [(v + 2**31) % 2**32 - 2**31 for v in want]
    overlap = _run(small, text.replace("dst=100", f"dst={pw}"), dram)
    assert overlap.fault == Fault.BAD_OPERAND


def test_a_vmm_whose_outputs_overlap_its_inputs_faults(tiny) -> None:
    """Replica 0's results would land on replica 1's inputs: with pipelined passes the
    VMM faults VMM_OVERLAP before it has any effect (the writes and load before it ran)."""
    image = directed.vmm_overlap_program(tiny)
    gold = golden.run(image, RTL_OPCODES)
    assert gold.fault == Fault.VMM_OVERLAP
    assert gold.trace[-1].insn.opcode.name == "WINDOW"
    assert gold.port_counts()["xbar_read"] == 0


def _weights_and_inputs(cfg: config.Config, image: Image) -> tuple[np.ndarray, np.ndarray]:
    """The integer weights of the first crossbar an image's first (lockstep, from erased
    cells: the deltas are the levels) write programs, and the input vectors its first
    LOAD brings, read back from the image itself."""
    insns = [decode(w) for w in image.imem]
    write = next(i for i in insns if i.opcode.name == "WRITE_START")
    load = next(i for i in insns if i.opcode.name == "LOAD")
    rows, cols, rw = cfg.crossbar.rows, cfg.crossbar.cols, cfg.delta_row_words
    n = max(1, write.nxbars)
    # Crossbar 0's deltas: the first of each row's group of n.
    levels = np.array([unpack(image.dram[write.dram_addr + r * n * rw:
                                         write.dram_addr + (r * n + 1) * rw],
                              cfg.write.delta_bits, cfg.dram_bits, cols, signed=True)
                       for r in range(rows)])
    S, cb = cfg.slices_per_weight, cfg.crossbar.cell_bits
    w = sum(levels[:, s::S] << (cb * s) for s in range(S)) - cfg.weight_offset
    iw = cfg.input_words
    xs = np.stack([unpack(image.dram[load.dram_addr + k * iw: load.dram_addr + (k + 1) * iw],
                          cfg.data.act_bits, cfg.dram_bits, rows, signed=True)
                   for k in range(load.count // iw)])
    return w, xs


def test_pipelined_passes_compute_every_window(tiny) -> None:
    """pipeline: six windows plain, accumulated, then accumulated two at a time on two
    replicas with a shift of 2: every window's output is `(1 + 1 + 4) * x @ W`, checked
    against integer x @ W from the image itself."""
    image = directed.pipeline_program(tiny)
    w, xs = _weights_and_inputs(tiny, image)
    gold = golden.run(image, RTL_OPCODES)
    assert gold.fault == Fault.NONE
    out = image.regions["outputs"]
    y = unpack(gold.dram[out.addr: out.addr + out.count], 32, tiny.dram_bits, out.elements,
               signed=True).reshape(len(xs), tiny.apu_cols, -1)
    for c in range(tiny.apu_cols):     # every crossbar of the row holds the same weights
        assert (y[:, c] == 6 * (xs.astype(np.int64) @ w)).all()


def _requant(v: np.ndarray, shift: int, relu: bool) -> np.ndarray:
    v = np.maximum(v, 0) if relu else v
    return np.clip((v + ((1 << shift) >> 1)) >> shift, -128, 127)


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_requantizing_vmms_write_int8_activations(name: str) -> None:
    """requant: each VMM's outputs are the SFU's REQUANT (after ReLU where asked) of
    integer x @ W, INT8, packed group after group and window after window, computed here
    from the image itself."""
    cfg = config.load(name)
    image = directed.requant_program(cfg)
    w, xs = _weights_and_inputs(cfg, image)
    y = np.tile(xs.astype(np.int64) @ w, cfg.apu_cols)   # every crossbar of a row alike
    want = np.concatenate([_requant(y, 9, True).ravel(),
                           np.concatenate([_requant(y, 7, False)] * 2, axis=1).ravel(),
                           _requant(y, 0, True).ravel()])
    gold = golden.run(image, RTL_OPCODES)
    assert gold.fault == Fault.NONE
    out = image.regions["outputs"]
    got = unpack(gold.dram[out.addr: out.addr + out.count], 8, cfg.dram_bits, out.elements,
                 signed=True)
    assert got.tolist() == want.tolist()
    assert len(set(want.tolist())) > 10 and {-128, 0, 127} <= set(want.tolist())


def test_every_delta_value_moves_levels_as_the_isa_says(tiny) -> None:
    """delta_values: levels move by every delta value and saturate at 0 and the top level,
    as docs/isa.md's WRITE_START says; the unit-vector VMMs read them back exactly."""
    image = directed.delta_values_program(tiny)
    rows, cols, rw = tiny.crossbar.rows, tiny.crossbar.cols, tiny.delta_row_words
    levels = np.zeros((4, rows, cols), dtype=np.int64)
    for insn in (decode(w) for w in image.imem):
        if insn.opcode != Opcode.WRITE_START:
            continue
        n = max(1, insn.nxbars)
        for r in range(insn.nrows):
            for k in range(n):
                at = insn.dram_addr + (r * n + k) * rw
                d = unpack(image.dram[at: at + rw], tiny.write.delta_bits, tiny.dram_bits,
                           cols, signed=True)
                row = levels[insn.xbar + k, insn.row + r]
                row[:] = np.clip(row + d, 0, tiny.cell_levels - 1)
    assert {int(v) for v in np.unique(np.concatenate([
        unpack(image.dram[a: a + rw], tiny.write.delta_bits, tiny.dram_bits, cols,
               signed=True) for a in range(len(image.dram))]))} >= set(tiny.delta_values)
    S, cb = tiny.slices_per_weight, tiny.crossbar.cell_bits
    weights = sum(levels[:, :, s::S] << (cb * s) for s in range(S)) - tiny.weight_offset
    gold = golden.run(image, RTL_OPCODES)
    out = image.regions["outputs"]
    y = unpack(gold.dram[out.addr: out.addr + out.count], 32, tiny.dram_bits, out.elements,
               signed=True)
    assert gold.fault == Fault.NONE
    assert (y.reshape(weights.shape) == weights).all()


def test_golden_slice_pulses_equal_levels_written(tiny: config.Config) -> None:
    img = directed.slice_program(tiny)
    g = golden.Golden(img)
    assert all(x.levels.sum() == 0 for x in g.xbars)  # crossbars start erased
    res = g.run()
    assert res.pulses == int(g.xbars[0].levels.sum())  # from erased, pulses = levels


@pytest.mark.parametrize(("insn", "fault"), [
    (Instruction.make("LOAD", gb_addr=127, dram_addr=0, count=2), Fault.GB_RANGE),
    (Instruction.make("LOAD", gb_addr=126, dram_addr=0, count=2), Fault.NONE),
    (Instruction.make("STORE", dram_addr=4095, gb_addr=0, count=2), Fault.DRAM_RANGE),
    (Instruction.make("WRITE_START", xbar=4, dram_addr=0, row=0, nrows=1), Fault.XBAR_RANGE),
    (Instruction.make("WRITE_START", xbar=3, dram_addr=0, row=15, nrows=2), Fault.XBAR_RANGE),
    (Instruction.make("WRITE_START", xbar=3, dram_addr=4095, row=0, nrows=2), Fault.DRAM_RANGE),
    (Instruction.make("WRITE_WAIT", xbar=4), Fault.XBAR_RANGE),
    (Instruction.make("INV", xbar=0, in_addr=0, out_addr=2, shift=-32), Fault.BAD_OPERAND),
    (Instruction.make("INV", xbar=1, in_addr=0, out_addr=2, shift=0), Fault.XBAR_RANGE),
    (Instruction.make("INV", xbar=0, in_addr=121, out_addr=2, shift=0), Fault.GB_RANGE),
    (Instruction.make("INV_WRITE", xbar=0, dram_addr=4090), Fault.DRAM_RANGE),
    (Instruction.make("VEC", func=len(VecFunc), dst=0, src_a=0, src_b=0, count=1),
     Fault.BAD_OPERAND),
    (Instruction.make("HALT"), Fault.NONE),
])
def test_golden_decode_faults(tiny: config.Config, insn: Instruction, fault: Fault) -> None:
    assert semantics.check(tiny, insn, RTL_OPCODES) == fault

