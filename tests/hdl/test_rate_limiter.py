"""The DMA rate limiter grants words at the configured bandwidth's formula."""

from __future__ import annotations

from fractions import Fraction

import pytest
from block_bench import run_block

from firmware.config import grant_cycle
from hdl.rate_limiter import RateLimiter


@pytest.mark.parametrize(("bpc", "word"), [
    (Fraction(4), 8), (Fraction(96, 5), 16), (Fraction(1, 3), 8), (Fraction(8), 8),
    (Fraction(32), 8),
])
def test_rate_limiter_grants_match_formula(bpc: Fraction, word: int) -> None:
    dut = RateLimiter(bpc, word)
    n = 12
    grants: list[int] = []

    async def tb(ctx):
        for _ in range(2):  # a gap between bursts drops the credit
            ctx.set(dut.req, 1)
            got, cycle = [], 0
            while len(got) < n:
                cycle += 1
                if ctx.get(dut.grant):
                    got.append(cycle)
                await ctx.tick()
            ctx.set(dut.req, 0)
            await ctx.tick()
            grants.append(got)

    run_block(dut, tb)
    expected = [grant_cycle(k, bpc, word) for k in range(1, n + 1)]
    assert grants == [expected, expected]

