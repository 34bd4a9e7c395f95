"""The activation shift registers present bit-planes LSB first."""

from __future__ import annotations

import numpy as np
from block_bench import run_block

from firmware import config
from firmware.packing import pack
from hdl.shift_register import ActivationShiftRegister


def test_shift_register_presents_planes_lsb_first(tiny: config.Config) -> None:
    """Three APU rows: one word written into rows 0 and 2 at once (a broadcast), row 1
    on its own; every row presents its vector LSB plane first, and ``acts`` shows all
    planes (plane-major) before the first shift."""
    rows, bits = tiny.crossbar.rows, tiny.gb_bits
    dut = ActivationShiftRegister(3, rows, 8, bits)
    rng = np.random.default_rng(3)
    x, y = rng.integers(-128, 128, rows), rng.integers(-128, 128, rows)
    planes: list[int] = []
    acts: list[int] = []

    async def tb(ctx):
        for mask, vec in ((0b101, x), (0b010, y)):
            for i, w in enumerate(pack(vec, 8, bits)):
                ctx.set(dut.ld.load, 1)
                ctx.set(dut.ld.rows, mask)
                ctx.set(dut.ld.word, i)
                ctx.set(dut.ld.data, w)
                await ctx.tick()
        ctx.set(dut.ld.load, 0)
        acts.append(ctx.get(dut.acts))
        for _ in range(8):
            planes.append(ctx.get(dut.plane))
            ctx.set(dut.ld.shift, 1)
            await ctx.tick()

    run_block(dut, tb)
    vecs = [x & 0xFF, y & 0xFF, x & 0xFF]
    expected = [sum(int((vecs[a][r] >> b) & 1) << (a * rows + r)
                    for a in range(3) for r in range(rows)) for b in range(8)]
    assert planes == expected
    assert acts == [sum(p << (b * 3 * rows) for b, p in enumerate(expected))]

