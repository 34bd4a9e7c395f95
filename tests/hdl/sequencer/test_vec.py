"""The VEC unit alone: lane-wise int32 add and subtract, two cycles a word, ``done``
in cycle ``2 * count + 1`` after its start."""

from __future__ import annotations

import numpy as np
import pytest
from unit_bench import UnitBench

from firmware import config
from firmware.isa import Instruction, VecFunc
from firmware.packing import pack, unpack
from hdl.sequencer.vec import VecUnit


@pytest.mark.parametrize("func", [VecFunc.ADD, VecFunc.SUB])
@pytest.mark.parametrize("count", [1, 4])
def test_vec_adds_or_subtracts_lanes(tiny: config.Config, func: VecFunc, count: int) -> None:
    rng = np.random.default_rng(count)
    lanes = tiny.gb_bits // 32
    a = rng.integers(-2**31, 2**31, (count, lanes))
    b = rng.integers(-2**31, 2**31, (count, lanes))
    gb = [0] * tiny.gb_words
    gb[0:count] = pack(a.ravel(), 32, tiny.gb_bits)
    gb[16:16 + count] = pack(b.ravel(), 32, tiny.gb_bits)
    bench = UnitBench(VecUnit(tiny), gb)
    (trace,) = bench.run([Instruction.make("VEC", dst=32, src_a=0, src_b=16, count=count,
                                           func=int(func))])
    want = (a - b) if func == VecFunc.SUB else (a + b)
    got = unpack(gb[32:32 + count], 32, tiny.gb_bits, count * lanes, signed=True)
    got = got.reshape(count, lanes)
    assert (got == ((want + 2**31) % 2**32 - 2**31)).all()
    assert trace.done == 2 * count + 1
    assert len(trace.when("rd.en")) == 2 * count and len(trace.when("wr.en")) == count
    assert bench.idle_violations == []


def test_an_empty_vec_is_done_in_its_start_cycle(tiny: config.Config) -> None:
    (trace,) = UnitBench(VecUnit(tiny), [0] * tiny.gb_words).run(
        [Instruction.make("VEC", dst=0, src_a=0, src_b=0, count=0)])
    assert trace.done == 0
