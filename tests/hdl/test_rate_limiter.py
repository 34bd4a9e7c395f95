"""The rate limiter grants words at the configured bandwidth's formula, several a cycle
when the bandwidth is above one word per cycle, and averages exactly that bandwidth."""

from __future__ import annotations

from fractions import Fraction

import pytest
from block_bench import run_block

from firmware.config import grant_cycle, port_words
from hdl.rate_limiter import RateLimiter


def _grants(dut: RateLimiter, wants: list[int], bursts: int = 1) -> list[list[int]]:
    """Per burst, the words granted in each cycle while the requester asks for
    ``wants[cycle]`` words (a burst ends with the list; a cycle without a request follows)."""
    seen: list[list[int]] = []

    async def tb(ctx):
        for _ in range(bursts):
            got = []
            for want in wants:
                ctx.set(dut.req, want)
                got.append(ctx.get(dut.grant))
                await ctx.tick()
            ctx.set(dut.req, 0)   # a gap between bursts drops the credit
            await ctx.tick()
            seen.append(got)

    run_block(dut, tb)
    return seen


def _cycles_of_words(per_cycle: list[int]) -> list[int]:
    """The 1-based cycle of each granted word."""
    return [c + 1 for c, n in enumerate(per_cycle) for _ in range(n)]


#: (bytes per cycle, word bytes): below, at and above one word per cycle, fractional.
RATES = [
    (Fraction(1, 3), 8), (Fraction(4), 8), (Fraction(96, 5), 16),   # aras: 1.2 words
    (Fraction(8), 8), (Fraction(20), 8),                            # 2.5 words
    (Fraction(32), 8), (Fraction(24), 8),                           # 4 and 3 words
]


@pytest.mark.parametrize(("bpc", "word"), RATES)
def test_rate_limiter_grants_match_formula(bpc: Fraction, word: int) -> None:
    """A port as wide as the bandwidth needs, always asked for all its lanes: word k in
    cycle ``ceil(k * word / bpc)``, the same in a second burst after a gap."""
    lanes = port_words(bpc, word)
    dut = RateLimiter(bpc, word, lanes)
    n = 12
    cycles = grant_cycle(n, bpc, word)
    got = [_cycles_of_words(g)[:n] for g in _grants(dut, [lanes] * cycles, bursts=2)]
    expected = [grant_cycle(k, bpc, word) for k in range(1, n + 1)]
    assert got == [expected, expected]


@pytest.mark.parametrize(("bpc", "word", "lanes"), [
    (Fraction(96, 5), 16, 1),   # aras, a one-word requester
    (Fraction(20), 8, 1), (Fraction(20), 8, 2),   # narrower than the bandwidth needs
    (Fraction(4), 8, 2),        # wider than it needs: the bandwidth binds
])
def test_a_narrow_requester_is_limited_by_its_lanes(bpc: Fraction, word: int,
                                                    lanes: int) -> None:
    """A requester that takes at most ``lanes`` words from a limiter at least as wide as
    the port: ``max(ceil(k / lanes), ceil(k * word / bpc))``; it banks no credit."""
    dut = RateLimiter(bpc, word, max(lanes, port_words(bpc, word)))
    n = 10
    cycles = grant_cycle(n, bpc, word, lanes)
    (got,) = _grants(dut, [lanes] * cycles)
    assert _cycles_of_words(got)[:n] == [grant_cycle(k, bpc, word, lanes)
                                         for k in range(1, n + 1)]


def _average_error(bpc: Fraction, word: int, lanes: int, n: int) -> int:
    """Words granted in ``n`` cycles of a burst asking for every lane, less the
    bandwidth's ``floor(n * bpc / word)``."""
    (got,) = _grants(RateLimiter(bpc, word, lanes), [lanes] * n)
    return sum(got) - int(n * bpc / word)


@pytest.mark.parametrize(("bpc", "word"), RATES)
def test_rate_limiter_averages_exactly_the_bandwidth(bpc: Fraction, word: int) -> None:
    """Over any run of cycles, the granted bytes are the bandwidth's, to the word."""
    for n in (1, 7, 50, 97):
        assert _average_error(bpc, word, port_words(bpc, word), n) == 0


def test_the_average_check_fails_on_one_word_per_cycle() -> None:
    """The old limiter (one lane: a word per cycle at most) is caught by the average
    check at the rates above a word per cycle, and passes it below."""
    assert _average_error(Fraction(96, 5), 16, 1, 50) == 50 - 60   # aras: 16 of 19.2 GB/s
    assert _average_error(Fraction(20), 8, 1, 50) == 50 - 125
    assert _average_error(Fraction(4), 8, 1, 50) == 0


def test_rate_limiter_refuses_zero_lanes() -> None:
    with pytest.raises(ValueError, match="at least one word"):
        RateLimiter(Fraction(4), 8, 0)
