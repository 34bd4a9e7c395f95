"""Reduction trees (sum, max, select) against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth import Module, Signal
from block_bench import run_block

from hdl.arith import select, tree_max, tree_sum


@pytest.mark.parametrize("n", [1, 5, 8, 33])
def test_trees_sum_maximize_and_select(n: int) -> None:
    """The balanced trees give the sum, the maximum and ``options[index]`` of their terms
    (odd counts included), with each maximum level a signal of its own."""
    rng = np.random.default_rng(n)
    m = Module()
    terms = [Signal(8, name=f"t{i}") for i in range(n)]
    index = Signal(range(max(2, n)))
    total, largest, picked = Signal(16), Signal(8), Signal(8)
    m.d.comb += [total.eq(tree_sum(terms)), largest.eq(tree_max(m, terms)),
                 picked.eq(select(index, terms))]
    seen: list[tuple[int, int, int]] = []
    draws = rng.integers(0, 256, (4, n))

    async def tb(ctx):
        for row in draws:
            for t, v in zip(terms, row, strict=True):
                ctx.set(t, int(v))
            for i in range(n):
                ctx.set(index, i)
                await ctx.delay(1e-9)
                seen.append((ctx.get(total), ctx.get(largest), ctx.get(picked)))

    run_block(m, tb)
    assert seen == [(int(row.sum()), int(row.max()), int(row[i]))
                    for row in draws for i in range(n)]

