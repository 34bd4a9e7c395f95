"""The DMA unit alone: LOAD and STORE move their words at the rate limiter's grants and
answer ``done`` in the cycle the last word lands."""

from __future__ import annotations

import pytest
from amaranth import Module
from unit_bench import UnitBench

from firmware import config
from firmware.isa import Fault, Instruction
from hdl.sequencer.dma import DmaUnit

make = Instruction.make


def _bench(cfg: config.Config, grant_every: int, unit=None) -> UnitBench:
    dram = [(0x1111 * (i + 1)) % (1 << cfg.dram_bits) for i in range(64)]
    return UnitBench(unit or DmaUnit(cfg), [0] * cfg.gb_words, dram,
                     grant=lambda cycle: cycle % grant_every == 0)


@pytest.mark.parametrize("grant_every", [1, 3])
@pytest.mark.parametrize("count", [1, 5])
def test_load_then_store_moves_words_at_the_grants(tiny: config.Config, grant_every: int,
                                                   count: int) -> None:
    bench = _bench(tiny, grant_every)
    load, store = bench.run([make("LOAD", gb_addr=4, dram_addr=2, count=count),
                             make("STORE", dram_addr=40, gb_addr=4, count=count)])
    assert bench.gb[4:4 + count] == bench.dram[2:2 + count] == bench.dram[40:40 + count]
    for trace in (load, store):
        grants = [i for i, c in enumerate(trace.cycles) if c.get("dma.req")
                  and (c.get("dram.en") if trace is load else c.get("rd.en"))]
        assert len(grants) == count
        assert trace.done == grants[-1] + 1  # the last word lands a cycle after its grant
        assert trace.fault == Fault.NONE
    assert bench.idle_violations == []


def test_an_empty_transfer_is_done_in_its_start_cycle(tiny: config.Config) -> None:
    bench = _bench(tiny, 1)
    (trace,) = bench.run([make("LOAD", gb_addr=0, dram_addr=0, count=0)])
    assert trace.done == 0 and bench.gb == [0] * tiny.gb_words


def test_abort_returns_to_idle_at_once(tiny: config.Config) -> None:
    bench = _bench(tiny, 1)
    (trace,) = bench.run([make("LOAD", gb_addr=0, dram_addr=0, count=20)], abort_at=3)
    assert trace.done is None
    assert bench.idle_violations == []  # after the abort it drives nothing
    assert 0 < sum(1 for w in bench.gb if w) < 20


class _Leaky(DmaUnit):
    """A broken DMA that keeps the buffer's read port enabled while it idles."""

    def elaborate(self, platform) -> Module:
        m = super().elaborate(platform)
        m.d.comb += self.rd.en.eq(1)
        return m


def test_the_idle_check_sees_a_unit_driving_a_shared_port(tiny: config.Config) -> None:
    bench = _bench(tiny, 1, _Leaky(tiny))
    bench.run([make("LOAD", gb_addr=0, dram_addr=0, count=1)])
    assert bench.idle_violations and {k for _, k in bench.idle_violations} == {"rd.en"}


@pytest.mark.parametrize("count", [1, 3, 7])
def test_a_wide_port_moves_the_words_of_each_grant_at_once(count: int) -> None:
    """Above a word per cycle (small-wide: 1.5 words, a 2-word port), a grant of n words
    reads n consecutive words in its cycle and writes them the next, on both memories;
    the last grant's words land in the done cycle."""
    wide = config.load("small-wide")
    assert wide.port_words == 2
    pattern = [2, 1, 2, 0]   # a grant may be the port's width, one word, or none
    bench = _bench(wide, 1)
    bench.grant = lambda cycle: pattern[cycle % len(pattern)]
    load, store = bench.run([make("LOAD", gb_addr=5, dram_addr=3, count=count),
                             make("STORE", dram_addr=41, gb_addr=5, count=count)])
    assert bench.gb[5:5 + count] == bench.dram[3:3 + count] == bench.dram[41:41 + count]
    for trace, port in ((load, "dram"), (store, "rdx")):
        words = [bin(c.get(f"{port}.en", 0)).count("1") + (port == "rdx" and
                                                            c.get("rd.en", 0))
                 for c in trace.cycles]
        assert sum(words) == count and max(words) == min(2, count)
        last = max(i for i, n in enumerate(words) if n)
        assert trace.done == last + 1
    assert bench.idle_violations == []
