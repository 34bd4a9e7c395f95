"""The COMBINE unit's lanes multiply and accumulate."""

from __future__ import annotations

import numpy as np
import pytest
from block_bench import run_block

from firmware.packing import pack


@pytest.mark.parametrize("word_bits", [64, 128])
def test_combine_lanes_multiply_accumulate(word_bits: int) -> None:
    """The COMBINE lanes against numpy: INT8 coefficients times an int32, wrapping."""
    from hdl.combine import CombineUnit
    rng = np.random.default_rng(word_bits)
    lanes = word_bits // 8
    dut = CombineUnit(word_bits)
    coefs = rng.integers(-128, 128, size=(20, lanes))
    ps = rng.integers(-(2**31), 2**31, size=20)
    ps[:2] = [-(2**31), 2**31 - 1]
    got = []

    async def tb(ctx):
        acc = [0] * lanes
        for c, p in zip(coefs, ps, strict=True):
            ctx.set(dut.coefs, pack(c, 8, word_bits)[0])
            ctx.set(dut.p, int(p))
            for lane in range(lanes):
                ctx.set(dut.acc[lane], acc[lane])
            acc = [ctx.get(dut.acc_next[lane]) for lane in range(lanes)]
        got.extend(acc)

    run_block(dut, tb)
    want = (coefs.astype(object) * ps[:, None].astype(object)).sum(axis=0)
    assert got == [int((v + 2**31) % 2**32 - 2**31) for v in want]

