"""The cycle formulas the scheduler and the timing model share, against hand counts."""

from __future__ import annotations

from fractions import Fraction

from firmware import config
from firmware.config import grant_cycle
from firmware.cycles import (
    burst_cycles,
    row_write_floor,
    vmm_cycles,
    vmm_pass_cycles,
    vmm_stages,
    write_burst_cycles,
)


def test_a_resnet50_1x1_window_on_the_aras_chip(aras: config.Config) -> None:
    """A 1x1 64->256 layer's window: 8 input words (and their last landing), the swap and
    8 planes of 12 cycles, the hold and 8 crossbars' 8 output words. Pipelined, a pass
    costs the longest, the crossbars' 96 cycles (and the swap), not issue 16's
    8 + 1 + 96 + 64 = 169."""
    assert (aras.input_words, aras.output_words) == (8, 8)
    assert vmm_stages(aras, False, ncols=8) == (8 + 1, 1 + 96, 1 + 64, 1 + 64)
    assert vmm_pass_cycles(aras, False, ncols=8) == 1 + 96
    # Accumulating, the drain reads after the stage's load: 8 + 64 + 1, still within.
    assert vmm_stages(aras, True, ncols=8).drain_loading == 8 + 64 + 1
    assert vmm_pass_cycles(aras, True, ncols=8) == 1 + 96
    # Eight replicas: 512 output words a pass, the drain the longest.
    assert vmm_pass_cycles(aras, False, ncols=8, replicas=8) == 1 + 8 * 64


def test_requantized_drains_write_a_quarter_of_the_words(aras: config.Config) -> None:
    """INT8 results: the 8 crossbars' 256 outputs are 16 words, not 64."""
    assert vmm_stages(aras, False, ncols=8, narrow=True).drain == 1 + 16
    assert vmm_stages(aras, False, ncols=8, replicas=8, narrow=True).drain == 1 + 8 * 16


def test_the_window_loop_is_its_stages(tiny: config.Config) -> None:
    """Stage s loads pass s, computes s - 1, drains s - 2, and lasts the longest of them:
    counted stage by stage here for 1 to 5 passes, plain and accumulating."""
    planes = tiny.data.act_bits * tiny.crossbar.bitplane_cycles
    for accumulate in (False, True):
        for passes in range(1, 6):
            load, out = 3 * tiny.input_words, 3 * 3 * 2 * tiny.output_words
            total = 0
            for s in range(passes + 2):
                active = []
                if s < passes:
                    active.append(load + 1)
                if 1 <= s <= passes:
                    active.append(planes + 1)
                if s >= 2:
                    active.append(out + 1 + (load if accumulate and s < passes else 0))
                total += max(active)
            assert vmm_cycles(tiny, accumulate, ncols=2, nrows=1, ngroups=3, replicas=3,
                              passes=passes) == total


def test_replicas_and_groups_multiply_what_they_should(tiny: config.Config) -> None:
    base = vmm_stages(tiny, False)
    planes = tiny.data.act_bits * tiny.crossbar.bitplane_cycles
    # Replicas load and write their own windows; groups share the loads.
    two = vmm_stages(tiny, False, replicas=2)
    assert (two.load - base.load, two.drain - base.drain) == \
        (tiny.input_words, tiny.output_words)
    assert vmm_stages(tiny, False, ngroups=2).drain - base.drain == tiny.output_words
    assert vmm_stages(tiny, False, nrows=3).load - base.load == 2 * tiny.input_words
    assert base == (tiny.input_words + 1, planes + 1, tiny.output_words + 1,
                    tiny.output_words + 1)


def test_a_full_range_row_write_floor(tiny: config.Config) -> None:
    w = tiny.write
    per_row = 2 * (tiny.cell_levels - 1) * w.pulses_per_level * w.pulse_cycles
    assert row_write_floor(tiny) == tiny.crossbar.rows * per_row


def _first_cycle_with_bytes(k: int, bpc: Fraction, word: int) -> int:
    """Hand count: the first cycle by whose end ``bpc`` per cycle has carried k words."""
    c = 0
    while c * bpc < k * word:
        c += 1
    return c


def test_bursts_average_exactly_the_bandwidth(aras: config.Config) -> None:
    """A burst's k-th word is due in the first cycle the bandwidth has carried its bytes,
    below, at and above a word per cycle (aras: 1.2 16-byte words); the old rule of at
    most a word per cycle (``lanes=1``) is late above one word per cycle."""
    rates = [(Fraction(4), 8), (Fraction(8), 8), (aras.dram_bytes_per_cycle, 16),
             (Fraction(20), 8)]
    for bpc, word in rates:
        for k in range(1, 40):
            assert grant_cycle(k, bpc, word) == _first_cycle_with_bytes(k, bpc, word)
    assert burst_cycles(aras, 120) == 100 + 1   # 1920 bytes at 19.2 B/cycle, then data
    assert grant_cycle(120, aras.dram_bytes_per_cycle, 16, lanes=1) == 120   # 16 GB/s
    assert aras.port_words == 2
    # Each of aras's two write engines has half the bandwidth: 0.6 words a cycle.
    assert aras.write.engines == 2 and aras.write_fetch_words == 1
    assert write_burst_cycles(aras, 120) == 200 + 1        # 1920 bytes at 9.6 B/cycle
