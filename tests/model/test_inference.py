"""Full-scale inference figures: the same numbers as the golden run's timing and energy
where both exist, layer spans in order, and the reports' rows built on them."""

from __future__ import annotations

import pytest
from nets import CNN, PADDED, case

from firmware import config, schedulers
from firmware.isa import RTL_OPCODES, Opcode
from model import golden, timing
from model.energy import energy
from model.inference import evaluate, upper_bound


@pytest.mark.parametrize("name", list(schedulers.SCHEDULERS))
def test_figures_equal_the_golden_runs(name: str) -> None:
    cfg = config.load("small")
    qs, x, shifts = case(PADDED, 3)
    plan = schedulers.schedule(cfg, PADDED, qs, name, x, shifts)
    res = golden.run(plan.image, RTL_OPCODES)
    t = timing.simulate(cfg, res)
    f = evaluate(cfg, plan)
    assert (f.cycles, f.pulses, f.stall_cycles, f.overlap_cycles) == \
        (t.cycles, res.pulses, t.stall_cycles, t.overlap_cycles)
    assert f.energy == energy(cfg, res, t.cycles, t.bank_active_cycles)
    assert f.inferences_per_s == pytest.approx(cfg.chip.clock_mhz * 1e6 / t.cycles)
    # Layer by layer: each layer computes after the one before it has finished.
    spans = f.layers
    assert [s.name for s in spans] == [layer.name for layer in PADDED.layers]
    for a, b in zip(spans, spans[1:], strict=False):
        assert a.compute[0] < a.compute[1] <= b.compute[0]
    for s in spans:   # a layer's first part is written before it computes
        assert 0 <= s.write[0] < s.write[1] and s.write_cycles > 0
        assert s.write[0] < s.compute[0]
    # Every write of a crossbar counts once towards its wear.
    writes: dict[int, int] = {}
    for e in res.trace:
        if e.insn.opcode == Opcode.WRITE_START:
            for xb in range(e.insn.xbar, e.insn.xbar + max(1, e.insn.nxbars)):
                writes[xb] = writes.get(xb, 0) + 1
    assert f.max_writes_per_crossbar == max(writes.values())
    if name in ("+banks", "+replication", "+reuse"):      # the schedulers that gate banks
        assert 0.2 < f.bank_saving < 1
    else:
        assert f.bank_saving == 0


def test_upper_bound_writes_every_weight_once_in_full_chip_groups() -> None:
    cfg = config.load("small")
    qs, _, _ = case(CNN, 0)
    bound = schedulers.write_bound(cfg, CNN, qs)
    assert all(insn.opcode in (Opcode.WRITE_START, Opcode.HALT) for insn in bound.program)
    # Every layer's parts are written exactly once, as many per group as the chip holds.
    naive = schedulers.schedule(cfg, CNN, qs, "naive")
    assert {j for w in bound.write_layers for j in w} == set(range(len(CNN.layers)))
    assert len(bound.writes) <= len(naive.writes)
    assert sum(sum(w.changes) for w in bound.writes) <= sum(sum(w.changes) for w in naive.writes)
    cycles = upper_bound(cfg, bound)
    for name in schedulers.SCHEDULERS:
        f = evaluate(cfg, schedulers.schedule(cfg, CNN, qs, name))
        assert cycles < f.cycles, name
    with pytest.raises(ValueError, match="write_bound"):
        upper_bound(cfg, naive)


