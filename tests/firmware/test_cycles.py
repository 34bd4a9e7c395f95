"""The cycle formulas the scheduler and the timing model share, against hand counts."""

from __future__ import annotations

from firmware import config
from firmware.cycles import row_write_floor, vmm_pass_cycles


def test_a_resnet50_1x1_window_on_the_aras_chip(aras: config.Config) -> None:
    """A 1x1 64->256 layer's window: 8 input words, a request cycle, 8 planes of 12
    cycles, 8 crossbars' 8 output words (issue 16's 8 + 1 + 96 + 64 = 169)."""
    assert (aras.input_words, aras.output_words) == (8, 8)
    assert vmm_pass_cycles(aras, False, ncols=8) == 8 + 1 + 96 + 64
    assert vmm_pass_cycles(aras, True, ncols=8) == 8 + 1 + 96 + 64 + 1


def test_replicas_and_groups_multiply_what_they_should(tiny: config.Config) -> None:
    base = vmm_pass_cycles(tiny, False)
    planes = tiny.data.act_bits * tiny.crossbar.bitplane_cycles
    # Replicas load and write their own windows; groups share the loads.
    assert vmm_pass_cycles(tiny, False, replicas=2) - base == \
        tiny.input_words + tiny.output_words
    assert vmm_pass_cycles(tiny, False, ngroups=2) - base == tiny.output_words
    assert vmm_pass_cycles(tiny, False, nrows=3) - base == 2 * tiny.input_words
    assert base == tiny.input_words + 1 + planes + tiny.output_words


def test_a_full_range_row_write_floor(tiny: config.Config) -> None:
    w = tiny.write
    per_row = 2 * (tiny.cell_levels - 1) * w.pulses_per_level * w.pulse_cycles
    assert row_write_floor(tiny) == tiny.crossbar.rows * per_row
