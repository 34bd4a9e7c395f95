"""Balanced reduction trees: log-depth sums and maxima instead of linear chains.

``sum()`` over Amaranth values builds a chain as deep as it is long; a tree is shallower
hardware and far cheaper to simulate (an event-driven simulator re-evaluates a chain
once per changed input).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from amaranth import Mux
from amaranth.hdl import ValueCastable, ValueLike


def _tree(terms: Sequence[ValueLike], combine: Callable) -> ValueLike:
    level = list(terms)
    if not level:
        raise ValueError("a reduction tree needs at least one term")
    while len(level) > 1:
        nxt = [combine(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def tree_sum(terms: Sequence[ValueLike | ValueCastable]) -> ValueLike:
    """Sum of ``terms`` as a balanced adder tree."""
    return _tree(terms, lambda a, b: a + b)


def tree_max(terms: Sequence[ValueLike | ValueCastable]) -> ValueLike:
    """Maximum of ``terms`` as a balanced comparator tree."""
    return _tree(terms, lambda a, b: Mux(a > b, a, b))
