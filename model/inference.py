"""Whole-network inference figures at full chip scale: a schedule's program through the
timing and energy models (no golden model: the scheduler costs its writes offline).

Per inference: cycles and inferences per second, write pulses, energy by kind, how much
buffer static energy bank gating saved, the lifespan of the most rewritten crossbar at a
given endurance, and when each layer computed and had its weights written (for a Gantt
chart). The upper bound ARAS compares against, the time to write every weight once, is
the time to write every part once in full-chip group writes (see :func:`upper_bound`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from firmware.config import Config
from firmware.isa import Opcode
from firmware.plan import Schedule
from firmware.semantics import write_xbars
from model import timing
from model.energy import Energy, gb_static_pj, trace_energy

SECONDS_PER_YEAR = 365.25 * 24 * 3600


@dataclass(frozen=True)
class LayerSpan:
    """When a layer's VMMs ran (first start to last end) and when its weights were
    written (first write start to last write end), in cycles; -1 when it had none."""

    name: str
    compute: tuple[int, int]
    write: tuple[int, int]
    compute_cycles: int
    write_cycles: int


@dataclass(frozen=True)
class InferenceFigures:
    """One network under one scheduler on one config, per inference."""

    network: str
    scheduler: str
    config: str
    instructions: int
    cycles: int
    inferences_per_s: float
    stall_cycles: int
    write_busy_cycles: int
    overlap_cycles: int
    pulses: int
    energy: Energy
    gb_static_pj: float
    gb_static_ungated_pj: float
    max_writes_per_crossbar: int
    #: Crossbar rows written (each row of each crossbar of a group write counts once).
    rows_written: int
    layers: tuple[LayerSpan, ...]
    #: Sequencer cycles per opcode name (fetch, decode and stalls included).
    cycles_by_opcode: dict[str, int]
    #: Main-memory words the DMA moved (LOAD and STORE; weight streams apart).
    dma_words: int = 0

    @property
    def bank_saving(self) -> float:
        """Share of the global buffer's static energy that bank gating saved."""
        if not self.gb_static_ungated_pj:
            return 0.0
        return 1.0 - self.gb_static_pj / self.gb_static_ungated_pj

    def lifespan_years(self, endurance: float, rate: float | None = None) -> float:
        """Years until the most rewritten crossbar's cells reach ``endurance`` write
        cycles running ``rate`` inferences per second without pause (default, and at
        most: this throughput); each write of a crossbar is taken as one cycle of every
        cell in it, so this is a lower bound on the lifespan."""
        if not self.max_writes_per_crossbar:
            return float("inf")
        rate = self.inferences_per_s if rate is None else min(rate, self.inferences_per_s)
        return endurance / (self.max_writes_per_crossbar * rate * SECONDS_PER_YEAR)


def evaluate(cfg: Config, plan: Schedule) -> InferenceFigures:
    """Run ``plan`` through the timing and energy models."""
    trace = timing.planned_trace(cfg, plan.program, plan.writes)
    spans: list[timing.Span] = []
    by_opcode: dict[Opcode, int] = {}
    t = timing.simulate_trace(cfg, trace, spans=spans, by_opcode=by_opcode)
    pulses = t.pulses or 0
    e = trace_energy(cfg, trace, pulses, t.cycles, t.bank_active_cycles)
    gb_pj = gb_static_pj(cfg, t.bank_active_cycles)
    gb_ungated_pj = gb_static_pj(cfg, [t.cycles] * len(cfg.global_buffer.bank_bytes))
    rewrites: Counter[int] = Counter()
    rows_written = dma_words = 0
    for insn in plan.program:
        if insn.opcode == Opcode.WRITE_START:
            rewrites.update(range(insn.xbar, insn.xbar + write_xbars(insn)))
            rows_written += insn.nrows * write_xbars(insn)
        elif insn.opcode in (Opcode.LOAD, Opcode.STORE):
            dma_words += insn.count
    return InferenceFigures(
        network=plan.network, scheduler=plan.scheduler, config=cfg.chip.name,
        instructions=len(plan.program), cycles=t.cycles,
        inferences_per_s=cfg.chip.clock_mhz * 1e6 / t.cycles,
        stall_cycles=t.stall_cycles or 0, write_busy_cycles=t.write_busy_cycles or 0,
        overlap_cycles=t.overlap_cycles or 0, pulses=pulses, energy=e,
        gb_static_pj=gb_pj, gb_static_ungated_pj=gb_ungated_pj,
        max_writes_per_crossbar=max(rewrites.values(), default=0),
        rows_written=rows_written, layers=_layer_spans(plan, spans),
        cycles_by_opcode={op.name: c for op, c in sorted(by_opcode.items())},
        dma_words=dma_words)


def _layer_spans(plan: Schedule, spans: list[timing.Span]) -> tuple[LayerSpan, ...]:
    """Per layer: compute and write windows from the timing model's spans."""
    n = len(plan.layer_names)
    compute = [[-1, -1, 0] for _ in range(n)]
    write = [[-1, -1, 0] for _ in range(n)]
    starts = [k for k, insn in enumerate(plan.program) if insn.opcode == Opcode.WRITE_START]
    written = dict(zip(starts, plan.write_layers, strict=True))
    for s in spans:
        if s.opcode == Opcode.WRITE_START:   # a group write serves every layer in it
            touched = [(write, layer) for layer in written[s.index]]
        elif plan.layer_of[s.index] >= 0:
            touched = [(compute, plan.layer_of[s.index])]
        else:
            touched = []
        for table, layer in touched:
            acc = table[layer]
            acc[0] = s.start if acc[0] < 0 else min(acc[0], s.start)
            acc[1] = max(acc[1], s.end)
            acc[2] += s.end - s.start
    names = plan.layer_names
    return tuple(LayerSpan(names[i], (c[0], c[1]), (w[0], w[1]), c[2], w[2])
                 for i, (c, w) in enumerate(zip(compute, write, strict=True)))


def upper_bound(cfg: Config, bound: Schedule) -> int:
    """ARAS's upper bound on performance, as cycles per inference: the time to write
    every layer's weights once with the chip's resources (``bound`` from
    :func:`firmware.schedulers.write_bound`: full-chip group writes, nothing computed)."""
    if bound.scheduler != "write-bound":
        raise ValueError(f"the upper bound needs schedulers.write_bound's program, not "
                         f"'{bound.scheduler}'")
    return timing.simulate_trace(cfg, timing.planned_trace(cfg, bound.program,
                                                           bound.writes)).cycles
