"""Balanced trees: log-depth sums, maxima and selections instead of linear chains.

``sum()`` over Amaranth values builds a chain as deep as it is long; a tree is shallower
hardware and far cheaper to simulate (an event-driven simulator re-evaluates a chain
once per changed input).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from amaranth import Module, Mux, Signal, Value
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


def tree_max(m: Module, terms: Sequence[ValueLike | ValueCastable]) -> ValueLike:
    """Maximum of ``terms`` as a balanced comparator tree. Each comparison uses both its
    operands twice (compare, then select), so every level is a signal of ``m``: as one
    expression the tree would copy each subtree into both uses, exponentially."""
    def larger(a, b):
        value = Value.cast(Mux(a > b, a, b))
        out = Signal(value.shape())
        m.d.comb += out.eq(value)
        return out
    return _tree(terms, larger)


def select(index: ValueLike, options: Sequence[ValueLike]) -> ValueLike:
    """``options[index]`` as a balanced tree of 2:1 multiplexers, one level per bit of
    ``index`` (which must stay below ``len(options)``)."""
    level, bit = list(options), 0
    if not level:
        raise ValueError("a selection needs at least one option")
    index = Value.cast(index)
    while len(level) > 1:
        nxt = [Mux(index[bit], level[i + 1], level[i]) if i + 1 < len(level) else level[i]
               for i in range(0, len(level), 2)]
        level, bit = nxt, bit + 1
    return level[0]
