"""The write engine's rows and timing against the write model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from block_bench import run_block

from firmware import config, mapper
from firmware.packing import pack, random_words, unpack
from hdl.write_engine import WriteEngine
from model import timing
from model.analog.crossbar import Crossbar
from model.analog.write_physics import RowWrite, row_cost


def _drive_write(cfg: config.Config, mem: list[int], first: int, nxbars: int, base: int,
                 nrows: int, holds: list[tuple[int, int]] = ()
                 ) -> tuple[list[tuple[int, int, int]], int, int]:
    """Run one WRITE_START through the write engine over main memory ``mem``, ``hold``
    raised in the cycles ``[a, b)`` of ``holds`` (counted from the first busy cycle): the
    hand-overs ``(xbar, row, deltas word)``, the busy cycles and the pulse count."""
    dut = WriteEngine(cfg)
    handed: list[tuple[int, int, int]] = []
    result = {}

    async def tb(ctx):
        ctx.set(dut.cmd.xbar, first)
        ctx.set(dut.cmd.nxbars, nxbars)
        ctx.set(dut.cmd.dram_addr, base)
        ctx.set(dut.cmd.row, 0)
        ctx.set(dut.cmd.nrows, nrows)
        ctx.set(dut.cmd.start, 1)
        await ctx.tick()
        ctx.set(dut.cmd.start, 0)
        busy, rdata = 0, 0
        while ctx.get(dut.scoreboard.busy):
            ctx.set(dut.hold, any(a <= busy < b for a, b in holds))
            busy += 1
            ctx.set(dut.mem.rdata, rdata)
            if ctx.get(dut.xbar_wr.valid):
                handed.append((ctx.get(dut.xbar_wr.id), ctx.get(dut.xbar_wr.row),
                               ctx.get(dut.xbar_wr.deltas.as_value())))
            en, addr = ctx.get(dut.mem.en), ctx.get(dut.mem.addr)
            await ctx.tick()
            if en:  # synchronous memory: data next cycle, lane i from word addr + i
                rdata = sum(mem[addr + i] << (i * cfg.dram_bits)
                            for i in range(en.bit_length()) if en >> i & 1)
            if busy > 100_000:
                raise AssertionError("write engine never finished")
        result["busy"] = busy
        result["pulses"] = ctx.get(dut.pulses)

    run_block(dut, tb)
    return handed, result["busy"], result["pulses"]


def _wide(gbps: float) -> config.Config:
    """small at ``gbps``: above a word per cycle its port is several words wide."""
    small = config.load("small")
    return dataclasses.replace(small, main_memory=dataclasses.replace(
        small.main_memory, bandwidth_gbps=gbps))


#: tiny (half a word per cycle); small-wide (1.5 words, a 2-word fetch: the bandwidth
#: binds); small at 2.5 words (a 3-word port, the fetch one 2-word crossbar row a cycle).
WRITE_CONFIGS = [pytest.param(lambda: config.load("tiny"), id="tiny"),
                 pytest.param(lambda: config.load("small-wide"), id="small-wide"),
                 pytest.param(lambda: _wide(20.0), id="small-2.5-words")]


@pytest.mark.parametrize("make_cfg", WRITE_CONFIGS)
@pytest.mark.parametrize("nxbars", [1, 3])
def test_write_engine_rows_match_write_model(make_cfg, nxbars: int) -> None:
    """Deltas handed over crossbar by crossbar, pulse count and busy time all as the write
    model says, for one crossbar and for a lockstep group, at rates below and above a
    word per cycle."""
    tiny = make_cfg()
    rng = np.random.default_rng(9)
    shape = (tiny.crossbar.rows, tiny.crossbar.cols)
    old = [rng.integers(0, tiny.cell_levels, shape) for _ in range(nxbars)]
    new = [rng.integers(0, tiny.cell_levels, shape) for _ in range(nxbars)]
    for o, n in zip(old, new, strict=True):
        n[2] = o[2]  # a row with no change anywhere: no pulses, no phases
    words = mapper.group_delta_words(old, new, tiny)
    nrows, base, first = 5, 3, 1
    rw = tiny.delta_row_words
    handed, busy, pulses = _drive_write(tiny, [0] * base + words, first, nxbars, base, nrows)
    xbars = [Crossbar(tiny) for _ in range(nxbars)]
    for x, o in zip(xbars, old, strict=True):
        x.levels[:] = o
    rows = [RowWrite.lockstep([x.program_row(r, n[r] - o[r])
                               for x, o, n in zip(xbars, old, new, strict=True)])
            for r in range(nrows)]
    order = [(first + k, r) for r in range(nrows) for k in range(nxbars)]
    assert [(x, r) for x, r, _ in handed] == order
    bits = tiny.dram_bits
    assert [w for _, _, w in handed] == [
        sum(words[(r * nxbars + k) * rw + i] << (i * bits) for i in range(rw))
        for r in range(nrows) for k in range(nxbars)]
    assert pulses == sum(r.pulses for r in rows)
    assert busy == timing.group_write_cycles(tiny, rows, nxbars)
    assert rows[2].pulses == 0


@pytest.mark.parametrize("nxbars", [1, 2])
def test_write_engine_times_every_delta_value(tiny: config.Config, nxbars: int) -> None:
    """Every value a delta field holds, the most negative included (it once wrapped to a
    zero-length phase): rows of one value each, both orders of all values, arbitrary
    words; pulses and busy time as the write model says."""
    cols, bits = tiny.crossbar.cols, tiny.write.delta_bits
    values = tiny.delta_values
    span = len(values)
    ramp = np.array([values[c % span] for c in range(cols)])
    rows = [np.full(cols, v) for v in values] + [ramp, ramp[::-1]]
    words = [w for d in rows for w in pack(d, bits, tiny.dram_bits)]
    words += random_words(np.random.default_rng(4), 6 * tiny.delta_row_words, tiny.dram_bits)
    nrows = len(words) // (nxbars * tiny.delta_row_words)
    handed, busy, pulses = _drive_write(tiny, words, 0, nxbars, 0, nrows)
    deltas = [unpack(words[i * tiny.delta_row_words:(i + 1) * tiny.delta_row_words], bits,
                     tiny.dram_bits, cols, signed=True) for i in range(nrows * nxbars)]
    model = [RowWrite.lockstep([row_cost(deltas[r * nxbars + k], tiny) for k in range(nxbars)])
             for r in range(nrows)]
    assert len(handed) == nrows * nxbars
    assert pulses == sum(r.pulses for r in model)
    assert busy == timing.group_write_cycles(tiny, model, nxbars)
    assert max(r.dec_pulses for r in model) == span // 2 * tiny.write.pulses_per_level



def _random_holds(rng: np.random.Generator, span: int) -> list[tuple[int, int]]:
    """Disjoint hold intervals over ``span`` cycles: short and long, some adjacent."""
    holds, t = [], int(rng.integers(0, 4))
    while t < span:
        length = int(rng.choice([1, 2, 3, 7, 20]))
        holds.append((t, t + length))
        t += length + int(rng.choice([0, 1, 2, 5, 13]))
    return holds


@pytest.mark.parametrize("make_cfg", WRITE_CONFIGS)
@pytest.mark.parametrize("nxbars", [1, 3])
def test_a_held_write_ends_when_the_held_model_says(make_cfg, nxbars: int) -> None:
    """With ``hold`` raised in random cycles (the main-memory port is another's), the
    deltas still arrive whole and in order, and the write ends in the cycle
    :func:`~model.timing.held_write_end` computes; the model that ignores holds misses."""
    cfg = make_cfg()
    rng = np.random.default_rng(17 + nxbars)
    rw, nrows = cfg.delta_row_words, 6
    words = random_words(rng, nrows * nxbars * rw, cfg.dram_bits)
    plain, free_busy, _ = _drive_write(cfg, words, 0, nxbars, 0, nrows)
    deltas = [unpack(words[i * rw:(i + 1) * rw], cfg.write.delta_bits, cfg.dram_bits,
                     cfg.crossbar.cols, signed=True) for i in range(nrows * nxbars)]
    model = [RowWrite.lockstep([row_cost(deltas[r * nxbars + k], cfg) for k in range(nxbars)])
             for r in range(nrows)]
    assert timing.held_write_end(cfg, model, nxbars, 0, []) == free_busy == \
        timing.group_write_cycles(cfg, model, nxbars)
    missed = 0
    for trial in range(4):
        holds = _random_holds(rng, 2 * free_busy)
        handed, busy, _ = _drive_write(cfg, words, 0, nxbars, 0, nrows, holds)
        assert handed == plain, f"trial {trial}: deltas changed under holds {holds}"
        assert busy == timing.held_write_end(cfg, model, nxbars, 0, holds), f"trial {trial}"
        missed += busy != free_busy
    assert missed, "no hold delayed the write: the test would not see a model ignoring them"
