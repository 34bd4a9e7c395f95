"""The schedulers' offline write costs: row figures from unsigned weights equal the write
physics' on cell levels (that a planned trace times as the golden run:
``tests/firmware/schedulers/test_schedulers.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware import config
from firmware.semantics import unsigned_levels
from firmware.write_plan import write_rows
from model.analog.write_physics import RowWrite, write_cost


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
