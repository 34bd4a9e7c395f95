"""The timing model: cycle counts composed by hand from the documented state durations."""

from __future__ import annotations

import dataclasses

from firmware import config
from firmware.cycles import vmm_stages
from firmware.isa import Fault, Instruction, VecFunc
from firmware.programs import directed
from model import golden, timing
from model.golden import Executed


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
    # One pass: its load (2 words, the last landing), the swap and 8 planes of 4, the hold
    # and its 2 output words.
    vmm_end = vmm_start + (2 + 1) + (1 + 8 * 4) + (1 + 2)
    store_end = vmm_end + 2 + (4 + 1)
    halt_end = store_end + 2 + 1
    assert res.cycles == halt_end
    assert res.fault == Fault.NONE



def _spans(cfg: config.Config, image) -> list[timing.Span]:
    gold = golden.run(image)
    assert gold.fault == Fault.NONE
    spans: list[timing.Span] = []
    timing.simulate_trace(cfg, gold.trace, spans=spans)
    return spans


def test_a_write_lands_between_two_passes_of_a_vmm(tiny: config.Config) -> None:
    """pipeline_write: the two-row write of APU row 1 ends while the VMM over APU row 0
    runs its passes (other crossbars: no stall); the VMM over APU row 1 starts only once
    the last write, of its second crossbar, has ended."""
    spans = _spans(tiny, directed.pipeline_write_program(tiny))
    writes = [s for s in spans if s.opcode.name == "WRITE_START"]
    vmms = [s for s in spans if s.opcode.name == "VMM"]
    assert vmms[0].start < writes[1].end < vmms[0].end
    assert vmms[1].start > writes[-1].end


def _two_engines(cfg: config.Config) -> config.Config:
    return dataclasses.replace(cfg, write=dataclasses.replace(cfg.write, engines=2))


def test_a_dma_burst_holds_the_writes_fetching_beside_it(tiny: config.Config) -> None:
    """shared_port: main memory is one port, so a write fetching while the INV_WRITE's
    matrix streams takes longer than alone (:func:`~model.timing.group_write_cycles`):
    the second write with one engine, both with two (the first is still running)."""
    for cfg, held in ((tiny, [False, True]), (_two_engines(tiny), [True, True])):
        image = directed.shared_port_program(cfg)
        rows = [e.rows for e in golden.run(image).trace
                if e.insn.opcode.name == "WRITE_START"]
        writes = [s for s in _spans(cfg, image) if s.opcode.name == "WRITE_START"]
        longer = [s.end > s.start + timing.group_write_cycles(cfg, r)
                  for s, r in zip(writes, rows, strict=True)]
        assert longer == held, cfg.write.engines


def test_the_regression_guards_the_shared_port(tiny: config.Config, monkeypatch) -> None:
    """The co-simulated programs in which a DMA delays a write: with the timing model's
    holds ignored (as if the engines had a port of their own), their cycles or counters
    differ, so the regression's RTL-equals-timing check fails if the RTL or the model
    stops sharing the port."""
    two = _two_engines(tiny)
    images = {"shared_port": (tiny, directed.shared_port_program(tiny)),
              "shared_port_2engines": (two, directed.shared_port_program(two)),
              "pipeline_write": (tiny, directed.pipeline_write_program(tiny)),
              "inv_level_range_during_write":
                  (tiny, directed.fault_programs(tiny)["inv_level_range_during_write"])}
    held = {name: timing.simulate(cfg, golden.run(img)) for name, (cfg, img) in images.items()}
    monkeypatch.setattr(timing._Sequencer, "port_held", lambda self, start, end: None)
    for name, (cfg, img) in images.items():
        assert timing.simulate(cfg, golden.run(img)) != held[name], name


def test_slow_drains_set_the_pace(tiny: config.Config) -> None:
    """slow_drain on a chip of four APU rows with 2-cycle planes: the accumulating drain
    of four replicas outlasts the compute, so the accumulating VMM takes longer than the
    plain one over the same windows (which the compute paces)."""
    fast = dataclasses.replace(tiny, pe=dataclasses.replace(tiny.pe, count=2),
                               crossbar=dataclasses.replace(tiny.crossbar, bitplane_cycles=2))
    stages = vmm_stages(fast, True, ncols=fast.apu_cols, replicas=4)
    assert stages.drain_loading > stages.compute
    assert vmm_stages(fast, False, ncols=fast.apu_cols, replicas=4).drain <= stages.compute
    plain, acc = (s.end - s.start for s in _spans(fast, directed.slow_drain_program(fast))
                  if s.opcode.name == "VMM")
    assert acc > plain


def test_a_windowed_vec_streams_every_window_without_a_bubble(tiny: config.Config) -> None:
    """WINDOW (next fetch at its first execute cycle), then VEC from cycle 2: FETCH,
    DECODE, and `2 * windows * count + 1` execute cycles (5 for one two-word window, 13
    for three; none for a zero count), then HALT's FETCH, DECODE and one cycle."""
    make = Instruction.make

    def cycles(vec: Instruction) -> int:
        trace = [Executed(make("WINDOW", count=3, in_stride=4, out_stride=2)), Executed(vec),
                 Executed(make("HALT"))]
        return timing.simulate_trace(tiny, trace).cycles

    vec = dict(func=VecFunc.MAX8, dst=0, src_a=0, src_b=0)
    assert cycles(make("VEC", **vec, count=2)) == 2 + 2 + 5 + 3
    assert cycles(make("VEC", **vec, count=2, windowed=1)) == 2 + 2 + 13 + 3
    assert cycles(make("VEC", **vec, count=0, windowed=1)) == 2 + 2 + 0 + 3
