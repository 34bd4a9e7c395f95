"""INV control alone: INV_WRITE streams and checks the levels, then counts the array's
programming time; INV reads the right-hand side, counts the solve window and writes the
solution; INV faults on an array never programmed or unable to solve."""

from __future__ import annotations

import numpy as np
import pytest
from unit_bench import UnitBench

from firmware import config
from firmware.isa import Fault, Instruction
from firmware.packing import pack
from hdl.sequencer.inv import InvControl

make = Instruction.make


def _bench(cfg: config.Config, levels: np.ndarray, ok: int, x: int) -> UnitBench:
    """The unit over a matrix of ``levels``; the limiter grants the port's every word."""
    unit = InvControl(cfg)

    def inputs(ctx, cycle: int) -> None:
        ctx.set(unit.inv.ok, ok)
        ctx.set(unit.inv.resp_x, x)

    gb = [0] * cfg.gb_words
    gb[0:cfg.inv_vector_words] = range(1, cfg.inv_vector_words + 1)
    return UnitBench(unit, gb, pack(levels.ravel(), 16, cfg.dram_bits), inputs=inputs,
                     grant=lambda cycle: cfg.port_words)


def _levels(cfg: config.Config, top: int | None = None) -> np.ndarray:
    n = cfg.inv.size
    levels = np.array([[(r % 3) * (-1) ** c for c in range(n)] for r in range(n)])
    if top is not None:
        levels[n // 2, 1] = top
    return levels


@pytest.mark.parametrize(("name", "grants"), [("tiny", [1]), ("small-wide", [2]),
                                               ("small-wide", [1, 2, 0, 2])])
def test_write_then_solve(name: str, grants: list[int]) -> None:
    """The matrix streams a grant's words per cycle (small-wide: up to two, rows ending
    on either lane), each row's time added once its last word is in; then the solve."""
    cfg = config.load(name)
    levels = _levels(cfg)
    x = int.from_bytes(np.arange(cfg.inv.size * 4, dtype=np.uint8).tobytes(), "little")
    bench = _bench(cfg, levels, ok=1, x=x)
    bench.grant = lambda cycle: grants[cycle % len(grants)]
    write, solve = bench.run([make("INV_WRITE", xbar=0, dram_addr=0),
                              make("INV", xbar=0, in_addr=0, out_addr=32, shift=0)],
                             limit=20000)
    ppl, pulse = cfg.write.pulses_per_level, cfg.write.pulse_cycles
    program = sum((1 + int(np.abs(row).max()) * ppl) * pulse for row in levels)
    streamed = write.when("inv.wr_valid")
    if grants == [cfg.port_words]:
        assert len(streamed) == -(-cfg.inv_matrix_words // cfg.port_words)
    assert sum(c.get("inv.wr_count", 0) for c in write.cycles) == cfg.inv_matrix_words
    assert write.done == streamed[-1] + program and write.when("inv.wr_done") == [write.done]
    words = cfg.inv_vector_words
    # Reads in cycles 1..words (landing a cycle later), the window, a word out per cycle.
    assert solve.when("inv.req_valid") == [words + 2]
    assert solve.done == (words + 1) + cfg.inv.solve_cycles + words
    per = cfg.gb_bits
    assert bench.gb[32:32 + words] == [(x >> (w * per)) & ((1 << per) - 1)
                                       for w in range(words)]
    assert bench.idle_violations == []


@pytest.mark.parametrize(("ok", "first", "fault"), [
    (1, "INV", Fault.UNINITIALIZED), (0, "INV_WRITE", Fault.INV_UNSTABLE)])
def test_inv_faults_at_its_start(tiny: config.Config, ok: int, first: str,
                                 fault: Fault) -> None:
    bench = _bench(tiny, _levels(tiny), ok=ok, x=0)
    insns = [make("INV", xbar=0, in_addr=0, out_addr=32, shift=0)]
    if first == "INV_WRITE":
        insns.insert(0, make("INV_WRITE", xbar=0, dram_addr=0))
    trace = bench.run(insns, limit=20000)[-1]
    assert trace.fault == fault and len(trace.cycles) == 1


@pytest.mark.parametrize("name", ["tiny", "small-wide"])
def test_a_level_out_of_range_faults_once_streamed(name: str) -> None:
    tiny = config.load(name)
    bench = _bench(tiny, _levels(tiny, top=tiny.inv_level_max + 1), ok=1, x=0)
    (trace,) = bench.run([make("INV_WRITE", xbar=0, dram_addr=0)], limit=20000)
    assert trace.fault == Fault.BAD_OPERAND
    assert len(trace.cycles) - 1 == trace.when("inv.wr_valid")[-1]  # at the last word
