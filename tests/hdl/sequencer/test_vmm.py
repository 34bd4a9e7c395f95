"""The VMM window loop alone: held while the scoreboard says a crossbar of the VMM is
being written, then per window pass the load (``in_words + 1`` cycles), every bit-plane
(``bitplane_cycles`` each, one crossbar request per pass) and the output words (one a
cycle, plus one when accumulating)."""

from __future__ import annotations

import pytest
from unit_bench import UnitBench

from firmware import config
from firmware.isa import Instruction
from hdl.sequencer.vmm import VmmLoop


def _word(index: int, base: int) -> int:
    return 1000 + index + 100 * base


@pytest.mark.parametrize("busy", [0, 3])
@pytest.mark.parametrize("count", [1, 2])
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
        ctx.set(unit.scoreboard.busy, cycle < busy + 3)
        ctx.set(unit.scoreboard.busy_xbar, 0)
        ctx.set(unit.scoreboard.busy_n, 1)
        ctx.set(unit.acc.out_word, _word(ctx.get(unit.acc.out_index),
                                         ctx.get(unit.acc.sum_base)))

    gb = [7] * cfg.gb_words
    bench = UnitBench(unit, gb, inputs=inputs)
    (trace,) = bench.run([Instruction.make("VMM", xbar=0, in_addr=0, out_addr=64, ncols=ncols,
                                           nrows=nrows, ngroups=1, replicas=1,
                                           accumulate=accumulate)])
    planes, bpc = cfg.data.act_bits, cfg.crossbar.bitplane_cycles
    per_pass = (in_words + 1) + planes * bpc + out_words + accumulate
    assert trace.done == busy + 1 + count * per_pass
    assert sum(1 for c in trace.cycles if c.get("xbar.valid")) == count
    assert len(trace.when("shreg.load")) == count * in_words
    assert len(trace.when("acc.valid")) == len(trace.when("shreg.shift")) == count * planes
    assert len(trace.when("wr.en")) == count * out_words
    first_load = trace.when("acc.clear")[0]
    assert first_load == busy + 2  # stalled in cycles 1..busy, then one cycle to go
    lane = (1 << 32) - 1
    for p in range(count):
        for j in range(out_words):
            word = _word(j, 0)
            if accumulate:
                word = sum((((7 >> (32 * i)) & lane) + ((word >> (32 * i)) & lane)) & lane
                           << (32 * i) for i in range(cfg.gb_bits // 32))
            assert gb[64 + p * out_stride + j] == word
    assert bench.idle_violations == []
