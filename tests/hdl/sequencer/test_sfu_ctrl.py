"""SFU control alone: element-wise functions a word per cycle, pooling an element per
cycle, results packed into words, ``done`` in the cycle of the last element."""

from __future__ import annotations

import numpy as np
import pytest
from unit_bench import UnitBench

from firmware import config
from firmware.isa import Instruction, SfuFunc
from firmware.packing import pack, unpack
from hdl.sequencer.sfu_ctrl import SfuControl


def _run(cfg: config.Config, values: np.ndarray, **fields):
    gb = [0] * cfg.gb_words
    words = pack(values, 32, cfg.gb_bits)
    gb[0:len(words)] = words
    bench = UnitBench(SfuControl(cfg), gb)
    (trace,) = bench.run([Instruction.make("SFU", dst=64, src=0, count=len(words), **fields)])
    assert bench.idle_violations == []
    return trace, gb


@pytest.mark.parametrize("count", [1, 3])
def test_relu_takes_a_word_per_cycle(tiny: config.Config, count: int) -> None:
    lanes = tiny.gb_bits // 32
    v = np.random.default_rng(count).integers(-2**31, 2**31, count * lanes)
    trace, gb = _run(tiny, v, func=int(SfuFunc.RELU), shift=0, window=0)
    assert (unpack(gb[64:64 + count], 32, tiny.gb_bits, v.size, signed=True)
            == np.maximum(v, 0)).all()
    assert trace.done == 1 + count  # the first word's read, then a word per cycle
    assert len(trace.when("wr.en")) == count


def test_requant_packs_four_words_into_one(tiny: config.Config) -> None:
    lanes = tiny.gb_bits // 32
    count = 2 * 4 // lanes + 1   # INT8 results: more than a word, the last part-filled
    v = np.random.default_rng(3).integers(-4000, 4000, count * lanes)
    trace, gb = _run(tiny, v, func=int(SfuFunc.REQUANT), shift=4, window=0)
    want = np.clip(np.floor(v / 16 + 0.5), -128, 127)
    got = unpack(gb[64:64 + len(trace.when("wr.en"))], 8, tiny.gb_bits, v.size, signed=True)
    assert (got == want).all()
    assert len(trace.when("wr.en")) == -(-v.size * 8 // tiny.gb_bits)
    assert trace.done == 1 + count


@pytest.mark.parametrize("window", [1, 2])
def test_maxpool_takes_an_element_per_cycle(tiny: config.Config, window: int) -> None:
    lanes = tiny.gb_bits // 32
    v = np.random.default_rng(window).integers(-2**31, 2**31, 2 * lanes)
    trace, gb = _run(tiny, v, func=int(SfuFunc.MAXPOOL), shift=0, window=window)
    out = v.reshape(-1, window).max(axis=1)
    n_out = -(-out.size * 32 // tiny.gb_bits)
    assert (unpack(gb[64:64 + n_out], 32, tiny.gb_bits, out.size, signed=True) == out).all()
    assert trace.done == 1 + v.size  # the first word's read, then an element per cycle
