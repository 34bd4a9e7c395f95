"""The VEC unit alone: lane-wise int32 add and subtract, INT8 saturating adds, maximum
and rounded mean, two cycles a word, ``done`` in cycle ``2 * windows * count + 1`` after
its start; windowed, the WINDOW loop's windows back to back at their strides."""

from __future__ import annotations

import numpy as np
import pytest
from unit_bench import UnitBench

from firmware import config
from firmware.isa import RESET_WINDOW, Instruction, VecFunc, Window
from firmware.packing import pack, unpack
from hdl.sequencer.vec import VecUnit


def _bench(cfg: config.Config, gb: list[int], window: Window = RESET_WINDOW) -> UnitBench:
    unit = VecUnit(cfg)

    def inputs(ctx, cycle: int) -> None:
        ctx.set(unit.window, window._asdict())

    return UnitBench(unit, gb, inputs=inputs)


def _expected(func: VecFunc, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each function as the ISA text defines it, on int64 lanes."""
    s = a + b
    return {VecFunc.ADD: (s + 2**31) % 2**32 - 2**31,
            VecFunc.SUB: (a - b + 2**31) % 2**32 - 2**31,
            VecFunc.ADD8: np.clip(s, -128, 127),
            VecFunc.ADD8_RELU: np.maximum(np.clip(s, -128, 127), 0),
            VecFunc.MAX8: np.maximum(a, b),
            VecFunc.AVG8: np.floor((s + 1) / 2).astype(np.int64)}[func]


def _edges(bits: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` lane pairs: every pair of the edge values of a ``bits``-bit lane (both ends,
    one inside them, -1, 0, 1) first, then random ones."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    edge = [lo, lo + 1, -1, 0, 1, hi - 1, hi]
    pairs = np.array([(x, y) for x in edge for y in edge])
    extra = rng.integers(lo, hi + 1, (max(0, n - len(pairs)), 2))
    both = np.concatenate([pairs, extra])[:n]
    return both[:, 0], both[:, 1]


@pytest.mark.parametrize("func", list(VecFunc))
def test_vec_computes_every_lane_of_its_width(tiny: config.Config, func: VecFunc) -> None:
    bits = 8 if func not in (VecFunc.ADD, VecFunc.SUB) else 32
    lanes = tiny.gb_bits // bits
    count = -(-49 // lanes) + 1           # every edge pair, then random lanes
    a, b = _edges(bits, count * lanes, np.random.default_rng(int(func)))
    gb = [0] * tiny.gb_words
    gb[0:count] = pack(a, bits, tiny.gb_bits)
    gb[count:2 * count] = pack(b, bits, tiny.gb_bits)
    bench = _bench(tiny, gb)
    (trace,) = bench.run([Instruction.make("VEC", dst=2 * count, src_a=0, src_b=count,
                                           count=count, func=int(func))])
    got = unpack(gb[2 * count:3 * count], bits, tiny.gb_bits, count * lanes, signed=True)
    assert (got == _expected(func, a, b)).all()
    assert trace.done == 2 * count + 1
    assert len(trace.when("rd.en")) == 2 * count and len(trace.when("wr.en")) == count
    assert bench.idle_violations == []


def test_saturation_edges_by_hand(tiny: config.Config) -> None:
    """The INT8 clip limits and rounding, written out: 127 + 1, -128 + -1, 127 + 127,
    -128 + -128, and odd sums of both signs."""
    a = np.array([127, -128, 127, -128, -1, 1, -3, 100])
    b = np.array([1, -1, 127, -128, 0, 0, 0, -100])
    want = {VecFunc.ADD8: [127, -128, 127, -128, -1, 1, -3, 0],
            VecFunc.ADD8_RELU: [127, 0, 127, 0, 0, 1, 0, 0],
            VecFunc.MAX8: [127, -1, 127, -128, 0, 1, 0, 100],
            VecFunc.AVG8: [64, -64, 127, -128, 0, 1, -1, 0]}
    for func, expected in want.items():
        gb = [0] * tiny.gb_words
        gb[0], gb[1] = pack(a, 8, tiny.gb_bits)[0], pack(b, 8, tiny.gb_bits)[0]
        _bench(tiny, gb).run([Instruction.make("VEC", dst=2, src_a=0, src_b=1, count=1,
                                               func=int(func))])
        assert unpack(gb[2:3], 8, tiny.gb_bits, 8, signed=True).tolist() == expected, func


@pytest.mark.parametrize("windows", [1, 3])
def test_windowed_vec_walks_the_window_loop_without_a_bubble(tiny: config.Config,
                                                             windows: int) -> None:
    """Windows of two words, inputs 5 words apart and results 3: every window's words
    read a, read b, write in order, a buffer read in every cycle until the last write."""
    count, si, so = 2, 5, 3
    window = Window(count=windows, in_stride=si, out_stride=so)
    rng = np.random.default_rng(windows)
    lanes = tiny.gb_bits // 8
    gb = [int(w) for w in pack(rng.integers(-128, 128, 40 * lanes), 8, tiny.gb_bits)] + \
        [0] * (tiny.gb_words - 40)
    before = list(gb)
    bench = _bench(tiny, gb, window)
    (trace,) = bench.run([Instruction.make("VEC", func=VecFunc.ADD8, dst=60, src_a=0,
                                           src_b=20, count=count, windowed=1)])
    words = [(w * si + j, w * so + j) for w in range(windows) for j in range(count)]
    reads = [trace.cycles[c]["rd.addr"] for c in trace.when("rd.en")]
    assert reads == [r for i, _ in words for r in (i, 20 + i)]
    writes = [trace.cycles[c]["wr.addr"] for c in trace.when("wr.en")]
    assert writes == [60 + o for _, o in words]
    n = windows * count
    assert trace.done == 2 * n + 1
    assert trace.when("rd.en") == list(range(1, 2 * n + 1))   # no bubble between windows
    for i, o in words:
        x, y = (unpack([before[k]], 8, tiny.gb_bits, lanes, signed=True) for k in (i, 20 + i))
        assert unpack([gb[60 + o]], 8, tiny.gb_bits, lanes, signed=True).tolist() == \
            np.clip(x + y, -128, 127).tolist()
    assert bench.idle_violations == []


def test_windowed_vec_reads_what_an_earlier_window_wrote(tiny: config.Config) -> None:
    """Window w writes the word window w + 1 reads as ``a`` (stride 1): a running
    maximum, each read after the write before it (the transparent read port)."""
    lanes = tiny.gb_bits // 8
    b = [-50, -90, 20, 10]
    gb = [0] * tiny.gb_words
    gb[0] = pack([-100] * lanes, 8, tiny.gb_bits)[0]
    gb[8:12] = [pack([v] * lanes, 8, tiny.gb_bits)[0] for v in b]
    _bench(tiny, gb, Window(count=4, in_stride=1, out_stride=1)).run(
        [Instruction.make("VEC", func=VecFunc.MAX8, dst=1, src_a=0, src_b=8, count=1,
                          windowed=1)])
    got = [int(unpack([gb[k]], 8, tiny.gb_bits, lanes, signed=True)[0]) for k in range(5)]
    assert got == [-100, -50, -50, 20, 20]


def test_unwindowed_vec_ignores_the_window_loop(tiny: config.Config) -> None:
    gb = list(range(tiny.gb_words))
    (trace,) = _bench(tiny, gb, Window(count=5, in_stride=3, out_stride=3)).run(
        [Instruction.make("VEC", func=VecFunc.ADD, dst=40, src_a=0, src_b=1, count=2)])
    assert trace.done == 2 * 2 + 1 and len(trace.when("wr.en")) == 2


@pytest.mark.parametrize("windowed", [0, 1])
def test_an_empty_vec_is_done_in_its_start_cycle(tiny: config.Config, windowed: int) -> None:
    (trace,) = _bench(tiny, [0] * tiny.gb_words, Window(count=4, in_stride=2)).run(
        [Instruction.make("VEC", dst=0, src_a=0, src_b=0, count=0, windowed=windowed)])
    assert trace.done == 0
