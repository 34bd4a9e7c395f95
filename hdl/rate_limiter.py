"""Bandwidth limiter: grants at most ``bytes_per_cycle`` of traffic in whole words.

A credit counter gains ``p`` per requesting cycle and a granted word costs
``q * word_bytes`` where ``bytes_per_cycle = p / q``; credit is dropped in any cycle
without a request, so every burst starts fresh and the k-th word of a burst is granted
in its cycle ``max(k, ceil(k * word_bytes / bytes_per_cycle))`` (1-based), as
:func:`firmware.config.grant_cycle` states for the models.
"""

from __future__ import annotations

from fractions import Fraction

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class RateLimiter(wiring.Component):
    """Members: ``req`` In(1), a word is wanted this cycle; ``grant`` Out(1), it may go."""

    def __init__(self, bytes_per_cycle: Fraction, word_bytes: int):
        if bytes_per_cycle <= 0:
            raise ValueError("bandwidth must be positive")
        self._p = bytes_per_cycle.numerator
        self._cost = bytes_per_cycle.denominator * word_bytes
        super().__init__({"req": In(1), "grant": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        if self._p >= self._cost:  # at least a word per cycle: never throttles
            m.d.comb += self.grant.eq(self.req)
            return m
        credit = Signal(range(self._cost + self._p))
        total = credit + self._p
        with m.If(self.req):
            with m.If(total >= self._cost):
                m.d.comb += self.grant.eq(1)
                m.d.sync += credit.eq(total - self._cost)
            with m.Else():
                m.d.sync += credit.eq(total)
        with m.Else():
            m.d.sync += credit.eq(0)
        return m
