"""Crossbar, write physics, mapper, packing, golden model and timing formulas."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware import config, mapper, regression
from firmware.isa import RTL_OPCODES, Fault, Instruction
from firmware.packing import pack, unpack
from model import golden, timing
from model.analog.crossbar import Crossbar


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
    levels = mapper.weights_to_levels(w, tiny)
    assert levels.max() < tiny.cell_levels
    assert (mapper.levels_to_weights(levels, tiny) == w).all()


def test_mapper_rejects_oversized_blocks(tiny: config.Config) -> None:
    with pytest.raises(ValueError, match="does not fit a crossbar"):
        mapper.weights_to_levels(np.zeros((17, 4), dtype=int), tiny)
    with pytest.raises(ValueError, match="weights must lie in -128..127"):
        mapper.weights_to_levels(np.full((2, 2), 128), tiny)


@pytest.mark.parametrize("seed", range(10))
def test_ideal_vmm_equals_integer_matmul(tiny: config.Config, seed: int) -> None:
    """16 rows x level 3 = 48 < 63: the 6-bit ADC never clips, so the VMM is exact."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(tiny.crossbar.rows, tiny.weights_per_row))
    x = rng.integers(-128, 128, size=tiny.crossbar.rows)
    if seed == 0:  # the extremes of INT8 on both operands
        w[:] = -128
        x[:] = -128
    elif seed == 1:
        w[:] = 127
        x[:] = 127
    xbar = Crossbar(tiny)
    xbar.levels[:] = mapper.weights_to_levels(w, tiny)
    assert xbar.vmm(x).tolist() == (x @ w).tolist()


def test_adc_clips_at_full_scale(tiny: config.Config) -> None:
    big = dataclasses.replace(tiny, crossbar=dataclasses.replace(tiny.crossbar, rows=32))
    xbar = Crossbar(big)
    xbar.levels[:] = 3
    codes = xbar.read_plane(np.ones(32, dtype=int))
    assert (codes == 63).all()  # 96 clipped to the 6-bit maximum
    assert (xbar.read_plane(np.zeros(32, dtype=int)) == 0).all()
    with pytest.raises(ValueError, match="P x 32 arrays of 0/1"):
        xbar.read_plane(np.full(32, 2))


def test_write_physics_two_phases(tiny: config.Config) -> None:
    xbar = Crossbar(tiny)
    xbar.levels[0, :3] = [3, 0, 2]
    deltas = np.zeros(tiny.crossbar.cols, dtype=int)
    deltas[:3] = [-2, 3, -1]
    w = xbar.program_row(0, deltas)
    assert (w.dec_pulses, w.inc_pulses, w.pulses, w.saturated) == (2, 3, 6, 0)
    assert w.cycles(tiny) == 5 * tiny.write.pulse_cycles  # slowest cell of each phase
    assert xbar.levels[0, :3].tolist() == [1, 3, 1]
    assert xbar.writes[0, :4].tolist() == [1, 1, 1, 0]


def test_zero_delta_write_costs_nothing(tiny: config.Config) -> None:
    w = Crossbar(tiny).program_row(3, np.zeros(tiny.crossbar.cols, dtype=int))
    assert (w.pulses, w.cycles(tiny), w.energy_pj(tiny)) == (0, 0, 0.0)


def test_write_saturates_and_counts(tiny: config.Config) -> None:
    xbar = Crossbar(tiny)
    deltas = np.zeros(tiny.crossbar.cols, dtype=int)
    deltas[0] = -1
    assert xbar.program_row(0, deltas).saturated == 1
    assert xbar.levels[0, 0] == 0


def test_golden_slice_pulses_equal_levels_written(tiny: config.Config) -> None:
    img = regression.slice_program(tiny)
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
    assert golden.check(tiny, insn, RTL_OPCODES) == fault


def test_timing_slice_by_hand(tiny: config.Config) -> None:
    """The slice's cycle count, composed by hand from the documented state durations."""
    img = regression.slice_program(tiny)
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


def _noisy(cfg: config.Config, **kw) -> config.Config:
    return dataclasses.replace(cfg, analog=dataclasses.replace(cfg.analog, **kw))


def _programmed(cfg: config.Config, seed: int = 0, index: int = 0):
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(cfg.crossbar.rows, cfg.weights_per_row))
    xbar = Crossbar(cfg, index)
    xbar.set_levels(mapper.weights_to_levels(w, cfg))
    return xbar, w, rng.integers(-128, 128, size=cfg.crossbar.rows)


def test_noise_is_seeded_and_deterministic(tiny: config.Config) -> None:
    cfg = _noisy(tiny, program_sigma=0.1, read_sigma=1.0, seed=3)
    a, w, x = _programmed(cfg)
    b, _, _ = _programmed(cfg)
    assert (a.conductance == b.conductance).all()
    ya, yb = a.vmm(x), b.vmm(x)
    assert (ya == yb).all()
    assert (ya != x @ w).any()  # the noise does change results, but not wildly
    assert np.abs(ya - x @ w).max() < 0.25 * np.abs(x @ w).max()
    other, _, _ = _programmed(_noisy(cfg, seed=4))
    assert not (other.conductance == a.conductance).all()
    assert Crossbar(cfg, 1).rng.random() != Crossbar(cfg, 0).rng.random()


def test_batched_reads_draw_like_single_reads(tiny: config.Config) -> None:
    """The golden model reads 8 planes at once; the RTL-driven model one at a time."""
    cfg = _noisy(tiny, program_sigma=0.05, read_sigma=0.8, seed=5)
    a, _, _ = _programmed(cfg)
    b, _, _ = _programmed(cfg)
    planes = np.random.default_rng(1).integers(0, 2, size=(8, cfg.crossbar.rows))
    assert (a.read_planes(planes) == np.stack([b.read_plane(p) for p in planes])).all()


def test_read_noise_statistics(tiny: config.Config) -> None:
    sigma = 2.0
    cfg = _noisy(tiny, read_sigma=sigma, seed=9)
    xbar = Crossbar(cfg)
    xbar.set_levels(np.ones((cfg.crossbar.rows, cfg.crossbar.cols), dtype=int))
    planes = np.ones((4000, cfg.crossbar.rows), dtype=int)  # 16 levels: far from clipping
    codes = xbar.read_planes(planes)
    assert abs(codes.mean() - 16) < 0.05
    # Rounding to a code adds 1/12 LSB^2 of variance to the Gaussian's.
    assert abs(codes.std() - np.sqrt(sigma**2 + 1 / 12)) < 0.05


def test_programming_variation_statistics(tiny: config.Config) -> None:
    cfg = _noisy(tiny, program_sigma=0.1, seed=2)
    xbar = Crossbar(cfg)
    xbar.set_levels(np.full((cfg.crossbar.rows, cfg.crossbar.cols), 2))
    rel = xbar.conductance / 2 - 1
    assert abs(rel.mean()) < 0.03 and abs(rel.std() - 0.1) < 0.02
    # Rewriting some cells redraws only those.
    before = xbar.conductance.copy()
    d = np.zeros(cfg.crossbar.cols, dtype=int)
    d[:3] = 1
    xbar.program_row(0, d)
    assert (xbar.conductance[0, 3:] == before[0, 3:]).all()
    assert (xbar.conductance[0, :3] != before[0, :3]).all()


def test_adc_lsb_shift_rounds_and_rescales(tiny: config.Config) -> None:
    cfg = _noisy(tiny, adc_lsb_shift=2)
    xbar = Crossbar(cfg)
    levels = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=int)
    levels[:, 0] = 3                        # 48 levels -> code 12
    levels[:5, 1] = 1                       # 5 levels -> round(5/4) = 1
    levels[:6, 2] = 1                       # 6 levels -> round(6/4) = 2 (half up)
    xbar.set_levels(levels)
    assert xbar.read_plane(np.ones(cfg.crossbar.rows, dtype=int))[:3].tolist() == [12, 1, 2]
    a, w, x = _programmed(cfg)
    err = np.abs(a.vmm(x) - x @ w)
    # Each code is off by at most half an LSB (2 levels), weighed by slice and plane.
    bound = 2 * sum(4**s for s in range(4)) * sum(2**b for b in range(8))
    assert 0 < err.max() <= bound


def test_write_cost_of_weight_blocks(tiny: config.Config, aras: config.Config) -> None:
    from model.analog.write_physics import weight_write_cost, write_cost
    rng = np.random.default_rng(4)
    w_old = rng.integers(-128, 128, size=(tiny.crossbar.rows, tiny.weights_per_row))
    same = weight_write_cost(w_old, w_old, tiny)
    assert (same.cycles, same.pulses, same.energy_pj) == (0, 0, 0.0)
    assert same.skipped_cells == tiny.crossbar.rows * tiny.crossbar.cols
    w_new = w_old.copy()
    w_new[0, 0] ^= 0b01000001               # flips the low bit of two of its four cells
    cost = weight_write_cost(w_old, w_new, tiny)
    assert cost.pulses == 2
    assert cost.skipped_cells == tiny.crossbar.rows * tiny.crossbar.cols - 2
    assert cost.energy_pj == 2 * tiny.write.energy_per_pulse_pj
    # Erased to all-max needs only the increase phase: 128 rows x 3 pulses x 1000 cycles.
    assert write_cost(np.zeros((128, 128), dtype=int), np.full((128, 128), 3),
                      aras).cycles == 384_000
    # The ARAS worst case: every row swings cells both ways, 128 x 2 x 3 x 1000 cycles.
    checker = np.indices((128, 128)).sum(axis=0) % 2 * 3
    worst = write_cost(checker, 3 - checker, aras)
    assert worst.cycles == 768_000 == aras.full_write_cycles
    with pytest.raises(ValueError, match="new levels must lie in 0..3"):
        write_cost(np.zeros((2, 2)), np.full((2, 2), 4), tiny)


@pytest.mark.parametrize(("cell_bits", "adc_bits", "delta_bits"), [(1, 5, 2), (2, 6, 4), (4, 8, 8)])
def test_ideal_vmm_exact_for_every_cell_width(tiny: config.Config, cell_bits: int,
                                              adc_bits: int, delta_bits: int) -> None:
    """1, 2 and 4 bits per cell (8, 4 and 2 slices per weight) with ADCs that never clip."""
    cfg = dataclasses.replace(
        tiny, crossbar=dataclasses.replace(tiny.crossbar, cell_bits=cell_bits,
                                           adc_bits=adc_bits),
        write=dataclasses.replace(tiny.write, delta_bits=delta_bits))
    cfg.validate()
    rng = np.random.default_rng(cell_bits)
    w = rng.integers(-128, 128, size=(cfg.crossbar.rows, cfg.weights_per_row))
    x = rng.integers(-128, 128, size=cfg.crossbar.rows)
    xbar = Crossbar(cfg)
    xbar.set_weights(w)
    assert xbar.levels.max() <= cfg.cell_levels - 1
    assert xbar.vmm(x).tolist() == (x @ w).tolist()
