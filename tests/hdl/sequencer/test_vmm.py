"""The VMM window loop alone: held while the scoreboard says a crossbar of the VMM is
being written, then pipelined: pass k+1's input words load while pass k's bit-planes
are read (``bitplane_cycles`` each, one crossbar request per pass) and pass k-1's output
words drain (one a cycle; accumulating, read a cycle before the write, after the stage's
loads)."""

from __future__ import annotations

import pytest
from unit_bench import UnitBench

from firmware import config
from firmware.isa import Instruction
from hdl.sequencer.vmm import VmmLoop


def _word(index: int, base: int) -> int:
    return 1000 + index + 100 * base


@pytest.mark.parametrize("busy", [0, 3])
@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("accumulate", [0, 1])
def test_vmm_loads_reads_every_plane_and_writes(tiny: config.Config, busy: int, count: int,
                                                accumulate: int) -> None:
    cfg = tiny
    unit = VmmLoop(cfg)
    nrows, ncols = cfg.n_apu_rows, 1
    in_words, out_words = nrows * cfg.input_words, ncols * cfg.output_words
    in_stride, out_stride = in_words, out_words

    def inputs(ctx, cycle: int) -> None:
        ctx.set(unit.window.count, count)
        ctx.set(unit.window.in_stride, in_stride)
        ctx.set(unit.window.out_stride, out_stride)
        for name, value in dict(cols=ncols, rows=nrows, groups=1, reps=1, apu_rows=nrows,
                                in_words=in_words, group_words=out_words,
                                out_words=out_words).items():
            ctx.set(getattr(unit.geometry, name), value)
        # Busy in the first `busy` cycles of WAIT (after two idle cycles and the start).
        ctx.set(unit.scoreboard[0].busy, cycle < busy + 3)
        ctx.set(unit.scoreboard[0].busy_xbar, 0)
        ctx.set(unit.scoreboard[0].busy_n, 1)
        ctx.set(unit.acc.out_word, _word(ctx.get(unit.acc.out_index),
                                         ctx.get(unit.acc.sum_base)))

    gb = [7] * cfg.gb_words
    bench = UnitBench(unit, gb, inputs=inputs)
    (trace,) = bench.run([Instruction.make("VMM", xbar=0, in_addr=0, out_addr=64, ncols=ncols,
                                           nrows=nrows, ngroups=1, replicas=1,
                                           accumulate=accumulate)])
    planes, bpc = cfg.data.act_bits, cfg.crossbar.bitplane_cycles
    # Stage s loads pass s, computes s - 1, drains s - 2; each activity counts from the
    # stage's first cycle (the swap and the hold), the stage lasts as long as the longest.
    load, compute = in_words + 1, planes * bpc + 1
    stages = []
    for st in range(count + 2):
        lengths = []
        if st < count:
            lengths.append(load)
        if 1 <= st <= count:
            lengths.append(compute)
        if st >= 2:
            lengths.append(out_words + 1 + (in_words if accumulate and st < count else 0))
        stages.append(max(lengths))
    assert trace.done == busy + 1 + sum(stages)
    assert sum(1 for c in trace.cycles if c.get("xbar.valid")) == count
    assert len(trace.when("shreg.load")) == count * in_words
    assert len(trace.when("shreg.swap")) == len(trace.when("acc.clear")) == count
    assert len(trace.when("acc.hold")) == count
    assert len(trace.when("acc.valid")) == len(trace.when("shreg.shift")) == count * planes
    assert len(trace.when("wr.en")) == count * out_words
    assert trace.when("rd.en")[0] == busy + 2  # stalled in cycles 1..busy, then go
    # Overlap: pass 1's words load while pass 0's planes are read, and pass 0's outputs
    # are written while pass 1's planes are read.
    valid = trace.when("acc.valid")
    if count > 1:
        assert trace.when("shreg.load")[in_words] < valid[planes - 1]
        assert trace.when("wr.en")[0] < valid[2 * planes - 1]
    lane = (1 << 32) - 1
    for p in range(count):
        for j in range(out_words):
            word = _word(j, 0)
            if accumulate:
                word = sum((((7 >> (32 * i)) & lane) + ((word >> (32 * i)) & lane)) & lane
                           << (32 * i) for i in range(cfg.gb_bits // 32))
            assert gb[64 + p * out_stride + j] == word
    assert bench.idle_violations == []
