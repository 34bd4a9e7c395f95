"""Mapper, packing, golden model and timing formulas."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware import config, semantics
from firmware.isa import RTL_OPCODES, Fault, Instruction
from firmware.packing import pack, unpack
from firmware.programs import directed
from model import golden, timing


@given(st.sampled_from([2, 4, 8, 32]), st.data())
def test_pack_unpack_round_trip(bits: int, data) -> None:
    signed = data.draw(st.booleans())
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    vals = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=40))
    words = pack(vals, bits, 64)
    assert len(words) == -(-len(vals) * bits // 64)
    assert unpack(words, bits, 64, len(vals), signed).tolist() == vals


@given(st.sampled_from([(2, 64), (4, 128), (7, 1792), (8, 64), (16, 64), (32, 64)]),
       st.data())
def test_vectorized_packing_equals_reference_loop(widths: tuple[int, int], data) -> None:
    from firmware.packing import _pack_slow, _unpack_slow
    bits, word_bits = widths
    vals = np.array(data.draw(st.lists(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1),
                                       min_size=1, max_size=300)))
    words = pack(vals, bits, word_bits)
    assert words == _pack_slow(vals, bits, word_bits)
    assert (unpack(words, bits, word_bits, len(vals), True)
            == _unpack_slow(words, bits, word_bits, len(vals), True)).all()


def test_pack_rejects_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="element 1 = 16 does not fit 4 bits"):
        pack([1, 16], 4, 64)


@pytest.mark.parametrize("seed", range(5))
def test_mapper_round_trip(tiny: config.Config, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(tiny.crossbar.rows, tiny.weights_per_row))
    levels = semantics.weights_to_levels(w, tiny)
    assert levels.max() < tiny.cell_levels
    assert (semantics.levels_to_weights(levels, tiny) == w).all()


def test_mapper_rejects_oversized_blocks(tiny: config.Config) -> None:
    with pytest.raises(ValueError, match="does not fit a crossbar"):
        semantics.weights_to_levels(np.zeros((17, 4), dtype=int), tiny)
    with pytest.raises(ValueError, match="weights must lie in -128..127"):
        semantics.weights_to_levels(np.full((2, 2), 128), tiny)


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
    (Instruction.make("VEC", func=2, dst=0, src_a=0, src_b=0, count=1), Fault.BAD_OPERAND),
    (Instruction.make("HALT"), Fault.NONE),
])
def test_golden_decode_faults(tiny: config.Config, insn: Instruction, fault: Fault) -> None:
    assert semantics.check(tiny, insn, RTL_OPCODES) == fault


def test_timing_slice_by_hand(tiny: config.Config) -> None:
    """The slice's cycle count, composed by hand from the documented state durations."""
    img = directed.slice_program(tiny)
    res = timing.simulate(tiny, golden.run(img))
    # WRITE_START: FETCH, DECODE, start cycle; the engine then runs from the next cycle.
    we_start = 2
    rows = golden.run(img).trace[0].rows
    # Per row: 1 delta word at 4 B/cycle from 8-B words = grant in cycle 2, +1 data cycle,
    # +1 hand-over cycle (F = 4), then the two phases; the next row is fetched while a
    # row's phases run, so a row after the first starts max(its predecessor's phases, F)
    # after it.
    fetch = 2 + 1 + 1
    phases = [r.cycles(tiny) for r in rows]
    we_free = we_start + 1 + fetch + sum(max(p, fetch) for p in phases[:-1]) + phases[-1]
    load_end = 3 + 2 + (4 + 1)          # 2 words at one word per 2 cycles: grants at 2, 4
    vmm_start = max(load_end + 2, we_free) + 1
    vmm_end = vmm_start + (2 + 1) + 8 * 4 + 2
    store_end = vmm_end + 2 + (4 + 1)
    halt_end = store_end + 2 + 1
    assert res.cycles == halt_end
    assert res.fault == Fault.NONE


