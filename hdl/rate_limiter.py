"""Bandwidth limiter: grants at most ``bytes_per_cycle`` of traffic in whole words, up to
``lanes`` words a cycle.

A credit counter gains ``p`` per requesting cycle and a granted word costs
``q * word_bytes`` where ``bytes_per_cycle = p / q``; a cycle grants as many of the
requested words as the credit pays for (at most ``lanes``). Credit is dropped in any
cycle without a request, so every burst starts fresh, and credit beyond one word is not
kept when a requester takes fewer words than it could (it never banks bandwidth). The
k-th word of a burst that keeps requesting ``lanes`` words is granted in its cycle
``max(ceil(k / lanes), ceil(k * word_bytes / bytes_per_cycle))`` (1-based), as
:func:`firmware.config.grant_cycle` states for the models.
"""

from __future__ import annotations

from fractions import Fraction

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class RateLimiter(wiring.Component):
    """Members: ``req`` In, how many words are wanted this cycle (0..``lanes``);
    ``grant`` Out, how many of them may go."""

    def __init__(self, bytes_per_cycle: Fraction, word_bytes: int, lanes: int = 1):
        if bytes_per_cycle <= 0:
            raise ValueError("bandwidth must be positive")
        if lanes < 1:
            raise ValueError("a limiter grants at least one word a cycle")
        self._p = bytes_per_cycle.numerator
        self._cost = bytes_per_cycle.denominator * word_bytes
        self._lanes = lanes
        super().__init__({"req": In(range(lanes + 1)), "grant": Out(range(lanes + 1))})

    def elaborate(self, platform) -> Module:
        m = Module()
        p, cost, lanes = self._p, self._cost, self._lanes
        if p >= lanes * cost:  # the bandwidth fills every lane: never throttles
            m.d.comb += self.grant.eq(self.req)
            return m
        credit = Signal(range(cost + p))
        total = credit + p
        # Words the credit pays for this cycle, at most `lanes` (comparisons with constants).
        paid = sum((total >= j * cost for j in range(1, lanes + 1)), start=0)
        grant = Signal(range(lanes + 1))
        m.d.comb += [grant.eq(Mux(self.req < paid, self.req, paid)), self.grant.eq(grant)]
        left = Signal(range(cost + p))
        m.d.comb += left.eq(total - grant * cost)
        with m.If(self.req != 0):
            m.d.sync += credit.eq(Mux(left >= cost, cost - 1, left))
        with m.Else():
            m.d.sync += credit.eq(0)
        return m
