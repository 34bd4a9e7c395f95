"""COMBINE control alone: ``G`` lanes of INT8 coefficients times int32 inputs per group,
four result words per group, in ``groups * (m + ceil(m / lanes) + 5)`` cycles."""

from __future__ import annotations

import numpy as np
import pytest
from unit_bench import UnitBench

from firmware import config
from firmware.isa import Instruction
from firmware.packing import pack, unpack
from hdl.sequencer.combine_ctrl import CombineControl


@pytest.mark.parametrize(("m", "ngroups"), [(1, 1), (3, 2), (4, 1)])
def test_combine_sums_coefficient_lanes(tiny: config.Config, m: int, ngroups: int) -> None:
    rng = np.random.default_rng(m * 10 + ngroups)
    lanes, g = tiny.gb_bits // 32, tiny.gb_bits // 8
    p = rng.integers(-2**31, 2**31, m)
    coef = rng.integers(-128, 128, (ngroups, m, g))
    gb = [0] * tiny.gb_words
    src = pack(p, 32, tiny.gb_bits)
    gb[0:len(src)] = src
    gb[16:16 + ngroups * m] = pack(coef.ravel(), 8, tiny.gb_bits)
    bench = UnitBench(CombineControl(tiny), gb)
    (trace,) = bench.run([Instruction.make("COMBINE", dst=64, src=0, coef=16, m=m,
                                           ngroups=ngroups)])
    want = np.einsum("gil,i->gl", coef, p)
    want = (want + 2**31) % 2**32 - 2**31
    got = unpack(gb[64:64 + 4 * ngroups], 32, tiny.gb_bits, ngroups * g, signed=True)
    assert (got == want.ravel()).all()
    assert trace.done == ngroups * (m + -(-m // lanes) + 5)
    assert bench.idle_violations == []


def test_an_empty_combine_is_done_in_its_start_cycle(tiny: config.Config) -> None:
    (trace,) = UnitBench(CombineControl(tiny), [0] * tiny.gb_words).run(
        [Instruction.make("COMBINE", dst=0, src=0, coef=0, m=0, ngroups=1)])
    assert trace.done == 0
