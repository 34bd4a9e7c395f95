"""The activation shift registers present bit-planes LSB first."""

from __future__ import annotations

import numpy as np
from block_bench import run_block

from firmware import config
from firmware.packing import pack
from hdl.shift_register import ActivationShiftRegister


def test_shift_register_presents_planes_lsb_first(tiny: config.Config) -> None:
    """Three APU rows: one word written into rows 0 and 2 at once (a broadcast), row 1
    on its own, into the second set; after the swap every row presents its vector LSB
    plane first, and ``acts`` shows all planes (plane-major) before the first shift. The
    next vectors load into the second set while the first shifts, unseen until the
    next swap."""
    rows, bits = tiny.crossbar.rows, tiny.gb_bits
    dut = ActivationShiftRegister(3, rows, 8, bits)
    rng = np.random.default_rng(3)
    x, y = rng.integers(-128, 128, rows), rng.integers(-128, 128, rows)
    planes: list[int] = []
    acts: list[int] = []
    ys = pack(y, 8, bits)

    async def tb(ctx):
        for mask, vec in ((0b101, x), (0b010, y)):
            for i, w in enumerate(pack(vec, 8, bits)):
                ctx.set(dut.ld.load, 1)
                ctx.set(dut.ld.rows, mask)
                ctx.set(dut.ld.word, i)
                ctx.set(dut.ld.data, w)
                await ctx.tick()
        ctx.set(dut.ld.load, 0)
        acts.append(ctx.get(dut.acts))          # nothing swapped in yet
        ctx.set(dut.ld.swap, 1)
        await ctx.tick()
        ctx.set(dut.ld.swap, 0)
        acts.append(ctx.get(dut.acts))
        for b in range(8):
            planes.append(ctx.get(dut.plane))
            ctx.set(dut.ld.shift, 1)
            # The next vectors (y everywhere) load into the second set meanwhile.
            ctx.set(dut.ld.load, b < len(ys))
            if b < len(ys):
                ctx.set(dut.ld.rows, 0b111)
                ctx.set(dut.ld.word, b)
                ctx.set(dut.ld.data, ys[b])
            await ctx.tick()
        ctx.set(dut.ld.load, 0)
        ctx.set(dut.ld.shift, 0)
        ctx.set(dut.ld.swap, 1)
        await ctx.tick()
        acts.append(ctx.get(dut.acts))

    run_block(dut, tb)
    vecs = [x & 0xFF, y & 0xFF, x & 0xFF]
    expected = [sum(int((vecs[a][r] >> b) & 1) << (a * rows + r)
                    for a in range(3) for r in range(rows)) for b in range(8)]
    assert planes == expected
    plane_major = sum(p << (b * 3 * rows) for b, p in enumerate(expected))
    ys_planes = [sum(int((y[r] & 0xFF) >> b & 1) << (a * rows + r)
                     for a in range(3) for r in range(rows)) for b in range(8)]
    assert acts == [0, plane_major, sum(p << (b * 3 * rows) for b, p in enumerate(ys_planes))]

