"""The timing model: cycle counts composed by hand from the documented state durations."""

from __future__ import annotations

from firmware import config
from firmware.isa import Fault
from firmware.programs import directed
from model import golden, timing


def test_timing_slice_by_hand(tiny: config.Config) -> None:
    """The slice's cycle count, composed by hand from the documented state durations."""
    img = directed.slice_program(tiny)
    res = timing.simulate(tiny, golden.run(img))
    # WRITE_START: FETCH, DECODE, start cycle; the engine then runs from the next cycle.
    we_start = 2
    rows = golden.run(img).trace[0].rows
    # Per row: 1 delta word at 4 B/cycle from 8-B words = grant in cycle 2, +1 data cycle,
    # +1 hand-over cycle (F = 4), then the two phases; the next row is fetched while a
    # row's phases run, so a row after the first starts max(its predecessor's phases, F)
    # after it.
    fetch = 2 + 1 + 1
    phases = [r.cycles(tiny) for r in rows]
    we_free = we_start + 1 + fetch + sum(max(p, fetch) for p in phases[:-1]) + phases[-1]
    load_end = 3 + 2 + (4 + 1)          # 2 words at one word per 2 cycles: grants at 2, 4
    vmm_start = max(load_end + 2, we_free) + 1
    vmm_end = vmm_start + (2 + 1) + 8 * 4 + 2
    store_end = vmm_end + 2 + (4 + 1)
    halt_end = store_end + 2 + 1
    assert res.cycles == halt_end
    assert res.fault == Fault.NONE

