"""The shift-and-add accumulators against the golden model."""

from __future__ import annotations

import numpy as np
import pytest
from block_bench import run_block

from firmware import config, semantics
from firmware.packing import pack
from hdl.shift_accumulator import ShiftAccumulator
from model.analog.crossbar import Crossbar


@pytest.mark.parametrize("seed", range(3))
def test_shift_accumulator_matches_golden(tiny: config.Config, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xbar = Crossbar(tiny)
    xbar.levels[:] = semantics.weights_to_levels(
        rng.integers(-128, 128, (tiny.crossbar.rows, tiny.weights_per_row)), tiny)
    x = rng.integers(-128, 128, tiny.crossbar.rows)
    dut = ShiftAccumulator(tiny)
    out: list[int] = []
    before: list[int] = []

    async def tb(ctx):
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        for b in range(8):
            bits = (x & 0xFF) >> b & 1
            codes = xbar.read_plane(bits)
            ctx.set(dut.valid, 1)
            ctx.set(dut.plane_index, b)
            ctx.set(dut.plane_bits, sum(int(v) << r for r, v in enumerate(bits)))
            ctx.set(dut.codes.as_value(), pack(codes, tiny.code_field_bits,
                                               tiny.crossbar.cols * tiny.code_field_bits)[0])
            await ctx.tick()
        ctx.set(dut.valid, 0)
        before.extend(ctx.get(dut.result[j]) for j in range(tiny.weights_per_row))
        # The hold registers the sums; clearing in the same cycle does not reach them.
        ctx.set(dut.hold, 1)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.hold, 0)
        ctx.set(dut.clear, 0)
        out.extend(ctx.get(dut.result[j]) for j in range(tiny.weights_per_row))

    run_block(dut, tb)
    assert out == xbar.vmm(x).tolist()
    assert before == [0] * tiny.weights_per_row   # nothing held until the hold

