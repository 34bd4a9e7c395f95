"""The scheduler's offline write costs: row figures from unsigned weights equal the write
physics' on cell levels, and a planned trace times exactly as the golden model's."""

from __future__ import annotations

import numpy as np
import pytest
from nets import CNN, PADDED, STREAMED, TINY, case

from firmware import config, scheduler
from firmware.isa import RTL_OPCODES, Fault
from firmware.semantics import unsigned_levels
from firmware.write_plan import write_rows
from model import golden, timing
from model.write_physics import RowWrite, write_cost


@pytest.mark.parametrize("cfg_name", ["tiny", "small", "aras"])
def test_row_figures_equal_the_write_physics(cfg_name: str) -> None:
    cfg = config.load(cfg_name)
    rng = np.random.default_rng(5)
    shape = (cfg.crossbar.rows, 3, cfg.weights_per_row)
    old = rng.integers(0, 256, shape).astype(np.uint8)
    new = old.copy()
    change = rng.random(shape) < 0.3          # most weights kept, as partial reuse does
    new[change] = rng.integers(0, 256, int(change.sum()))
    got = write_rows(old, new, cfg)
    costs = [write_cost(unsigned_levels(old[:, x], cfg), unsigned_levels(new[:, x], cfg), cfg)
             for x in range(3)]
    for r in range(cfg.crossbar.rows):
        want = RowWrite.lockstep([c.rows[r] for c in costs])
        ppl = cfg.write.pulses_per_level
        assert (got.dec[r] * ppl, got.inc[r] * ppl, got.changes[r] * ppl) == \
            (want.dec_pulses, want.inc_pulses, want.pulses)
    unchanged = write_rows(old, old, cfg)
    assert not unchanged.dec.any() and not unchanged.inc.any() and not unchanged.changes.any()


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
@pytest.mark.parametrize("name", list(scheduler.SCHEDULERS))
def test_planned_trace_times_as_the_golden_run(cfg_name: str, net, name: str) -> None:
    """What the full-scale report runs (program plus offline write costs, no golden
    model) gives the cycles, counters and pulses of the golden run of the same image."""
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, 1)
    plan = scheduler.schedule(cfg, net, qs, name, x, shifts)
    res = golden.run(plan.image, RTL_OPCODES)
    assert res.fault == Fault.NONE
    planned = timing.simulate_trace(cfg, timing.planned_trace(cfg, plan.program, plan.writes))
    assert planned == timing.simulate(cfg, res)
    assert planned.pulses == res.pulses
    # Without main-memory contents the program and costs are the same.
    bare = scheduler.schedule(cfg, net, qs, name, shifts=shifts)
    assert bare.image is None and bare.program == plan.program
    assert [w.changes.tolist() for w in bare.writes] == [w.changes.tolist()
                                                          for w in plan.writes]
