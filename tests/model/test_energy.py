"""The energy model: each event priced as the config says, counted by hand from the ISA
for single instructions, and the static power over the cycles."""

from __future__ import annotations

import dataclasses

import pytest

from firmware import config
from firmware.isa import Instruction, VecFunc
from model import energy
from model.golden import Executed


def _priced(cfg: config.Config, **prices: float) -> config.Config:
    """``cfg`` with every energy price zero but ``prices`` (and no write energy)."""
    zero = {f.name: 0.0 for f in dataclasses.fields(config.EnergyConfig)}
    return dataclasses.replace(cfg, energy=config.EnergyConfig(**{**zero, **prices}),
                               write=dataclasses.replace(cfg.write, energy_per_pulse_pj=0.0))


def _energy(cfg: config.Config, *insns: Instruction, cycles: int = 0) -> energy.Energy:
    return energy.trace_energy(cfg, [Executed(i) for i in insns], pulses=0, cycles=cycles)


def test_a_vmm_window_converts_every_column_of_every_plane(tiny: config.Config) -> None:
    """One window on ``ncols`` crossbars of ``nrows`` APU rows: a conversion per cell
    column per input bit-plane per crossbar, a shift-and-add per weight column and plane."""
    vmm = Instruction.make("VMM", xbar=0, in_addr=0, out_addr=0, ncols=1, nrows=2)
    planes, xbars = tiny.data.act_bits, 2
    e = _energy(_priced(tiny, adc_conversion_pj=1.0), vmm)
    assert e.compute_pj == planes * xbars * tiny.crossbar.cols
    e = _energy(_priced(tiny, digital_op_pj=1.0), vmm)
    assert e.compute_pj == planes * xbars * tiny.weights_per_row
    # A WINDOW before it multiplies every event by the window count.
    e3 = _energy(_priced(tiny, digital_op_pj=1.0), Instruction.make("WINDOW", count=3), vmm)
    assert e3.compute_pj == 3 * e.compute_pj


def test_a_requantizing_vmm_writes_int8_and_counts_its_requantizations(
        tiny: config.Config) -> None:
    """Two columns requantized: a quarter of the output bytes, and a 32-bit operation per
    output (as the SFU pass it replaces would count)."""
    plain = Instruction.make("VMM", xbar=0, in_addr=0, out_addr=8, ncols=2)
    narrow = Instruction.make("VMM", xbar=0, in_addr=0, out_addr=8, ncols=2, mode=1)
    byte = _priced(tiny, gb_byte_pj=1.0)
    wb, iw, ow = tiny.global_buffer.word_bytes, tiny.input_words, tiny.output_words
    assert _energy(byte, plain).buffer_pj == (iw + 2 * ow) * wb
    assert _energy(byte, narrow).buffer_pj == (iw + 2 * ow // 4) * wb
    op = _priced(tiny, digital_op_pj=1.0)
    assert _energy(op, narrow).compute_pj - _energy(op, plain).compute_pj == \
        2 * tiny.weights_per_row


@pytest.mark.parametrize("op", ["LOAD", "STORE"])
def test_dma_prices_the_buffer_side_only(tiny: config.Config, op: str) -> None:
    insn = Instruction.make(op, gb_addr=0, dram_addr=0, count=5)
    e = _energy(_priced(tiny, gb_byte_pj=1.0), insn)
    assert e.buffer_pj == 5 * tiny.global_buffer.word_bytes
    assert e.compute_pj == e.write_pj == e.static_pj == 0


def test_static_power_over_the_cycles_and_the_powered_banks(tiny: config.Config) -> None:
    cfg = _priced(tiny, static_mw=2.0)
    ns = 1000.0 / cfg.chip.clock_mhz
    assert _energy(cfg, cycles=100).static_pj == pytest.approx(2.0 * 100 * ns)
    cfg = _priced(tiny, gb_mw_per_kb=1.0)
    banks = cfg.global_buffer.bank_bytes
    gated = energy.trace_energy(cfg, [], 0, 100, bank_cycles=(100,) + (0,) * (len(banks) - 1))
    assert gated.static_pj == pytest.approx(100 * ns * banks[0] / 1024)
    assert _energy(cfg, cycles=100).static_pj == pytest.approx(100 * ns * sum(banks) / 1024)


def test_write_pulses_are_priced_per_pulse(tiny: config.Config) -> None:
    e = energy.trace_energy(tiny, [], pulses=7, cycles=0)
    assert e.write_pj == 7 * tiny.write.energy_per_pulse_pj
    assert (e + e).total_pj == 2 * e.total_pj and (e - e).total_pj == 0


def test_a_vec_counts_a_lane_of_its_width_per_word_of_every_window(
        tiny: config.Config) -> None:
    """Two words: an int32 lane per 32 bits for ADD, an INT8 lane per byte for ADD8;
    windowed under a WINDOW of three, three times the words read, added and written."""
    op, byte = _priced(tiny, digital_op_pj=1.0), _priced(tiny, gb_byte_pj=1.0)
    wide = Instruction.make("VEC", func=VecFunc.ADD, dst=0, src_a=0, src_b=0, count=2)
    narrow = Instruction.make("VEC", func=VecFunc.ADD8, dst=0, src_a=0, src_b=0, count=2)
    windowed = Instruction.make("VEC", func=VecFunc.ADD8, dst=0, src_a=0, src_b=0, count=2,
                                windowed=1)
    window = Instruction.make("WINDOW", count=3, in_stride=2, out_stride=2)
    assert _energy(op, wide).compute_pj == 2 * tiny.gb_bits // 32
    assert _energy(op, narrow).compute_pj == 2 * tiny.gb_bits // 8
    assert _energy(op, window, windowed).compute_pj == 3 * 2 * tiny.gb_bits // 8
    assert _energy(op, window, narrow).compute_pj == 2 * tiny.gb_bits // 8
    wb = tiny.global_buffer.word_bytes
    assert _energy(byte, narrow).buffer_pj == 3 * 2 * wb
    assert _energy(byte, window, windowed).buffer_pj == 3 * 3 * 2 * wb
