"""Cycle-accurate timing model of the chip, exact against the RTL.

It replays the golden model's execution trace (instructions and, for weight writes,
each row's pulse counts) through the same state machine the RTL sequencer runs, but
jumps over each state in closed form instead of stepping cycles, so it scales to whole
networks. Each opcode's cycle rule is one entry of :data:`CYCLE_RULES`, its docstring
the rule (``docs/cycles.md`` is generated from them by :mod:`model.cycles_doc`); the RTL
implements them in ``hdl/``; bandwidth grants follow :func:`firmware.config.grant_cycle`.
Nothing here imports the RTL.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from firmware.config import Config
from firmware.cycles import burst_cycles, vec_cycles, vmm_cycles, write_burst_cycles
from firmware.isa import SFU_POOLING, Fault, Instruction, Opcode
from firmware.plan import WriteRows
from firmware.semantics import (
    vmm_cols,
    vmm_groups,
    vmm_narrow,
    vmm_replicas,
    vmm_rows,
    vmm_xbar_span,
    words,
    write_xbars,
)
from model.analog.write_physics import RowWrite
from model.golden import Executed, GoldenResult


@dataclass(frozen=True)
class TimingResult:
    """Cycle counts as the RTL's performance counters report them (``None``: not
    modelled after a watchdog stop)."""

    cycles: int
    fault: Fault
    stall_cycles: int | None
    write_busy_cycles: int | None
    overlap_cycles: int | None
    pulses: int | None
    bank_active_cycles: tuple[int, ...] = ()


def group_write_cycles(cfg: Config, rows: Iterable[RowWrite], nxbars: int = 1) -> int:
    """Write-engine cycles of a lockstep write of ``nxbars`` crossbars: per row, one
    burst of every crossbar's deltas at one engine's share of the bandwidth
    (:func:`~firmware.cycles.write_burst_cycles`) and the last hand-over (``F``), then
    the group's two phases (``P_r``); the next row is fetched while a row's phases run:
    ``F + sum_{r<R-1} max(P_r, F) + P_{R-1}``."""
    fetch = write_burst_cycles(cfg, nxbars * cfg.delta_row_words) + 1
    phases = [r.cycles(cfg) for r in rows]
    if not phases:
        return 0
    return fetch + sum(max(p, fetch) for p in phases[:-1]) + phases[-1]


def held_write_end(cfg: Config, rows: Iterable[RowWrite], nxbars: int, start: int,
                   holds: Sequence[tuple[int, int]]) -> int:
    """First idle cycle of a lockstep write of ``nxbars`` crossbars whose first fetch
    cycle is ``start``, when its engine may request no main-memory word in the cycles
    ``[a, b)`` of ``holds`` (sorted, disjoint; the port is another's then). A held fetch
    resumes as a fresh burst (the limiter drops its credit in a cycle without a request).
    Row ``r``'s phases and row ``r + 1``'s fetch start in cycle ``T_r``: ``T_0`` the first
    fetch's end, ``T_{r+1} = max(fetch end from T_r, T_r + P_r)``; the write ends at
    ``T_{R-1} + P_{R-1}``. Without holds this is ``start +`` :func:`group_write_cycles`."""
    phases = [r.cycles(cfg) for r in rows]
    if not phases:
        return start
    total = nxbars * cfg.delta_row_words
    starts = [a for a, _ in holds]

    def granted(s: int, j: int) -> int:
        """Cycle of word ``j``'s grant in a burst that starts requesting in ``s``."""
        return s + write_burst_cycles(cfg, j) - 2

    def fetched(f: int) -> int:
        """Cycle in which a row's phases may start when its fetch starts in ``f``: the
        last word's grant, its landing, the hand-over, then the next cycle."""
        left, s = total, f
        k = bisect.bisect_right(starts, s) - 1      # the last hold starting at or before s
        while True:
            if k >= 0 and s < holds[k][1]:          # held: the burst starts when it ends
                s = holds[k][1]
            if k + 1 == len(holds) or granted(s, left) < holds[k + 1][0]:
                return granted(s, left) + 3
            # The words granted before the next hold; the rest burst after it.
            got = bisect.bisect_left(range(left + 1), holds[k + 1][0],
                                     key=lambda j, s=s: granted(s, j)) - 1
            left, s, k = left - got, holds[k + 1][0], k + 1

    t = fetched(start)
    for p in phases[:-1]:
        t = max(fetched(t), t + p)
    return t + phases[-1]


def inv_solve_cycles(cfg: Config) -> int:
    """Execute cycles of one INV: read the right-hand side, the fixed analog window,
    write the solution."""
    return 2 * cfg.inv_vector_words + 1 + cfg.inv.solve_cycles


def combine_cycles(cfg: Config, m: int, ngroups: int) -> int:
    """Execute cycles of COMBINE: per group, the input-word and coefficient reads, the
    last multiply-accumulate, four result words."""
    if not (m and ngroups):
        return 0
    return ngroups * (m + words(m, 32, cfg.gb_bits) + 5)


@dataclass(frozen=True)
class Span:
    """When instruction ``index`` of the trace did its work: a VMM from its first
    window to its last, a weight write from its first row fetch to its last pulse."""

    index: int
    opcode: Opcode
    start: int
    end: int


def simulate(cfg: Config, golden: GoldenResult) -> TimingResult:
    """Cycle counts of the program whose golden execution is ``golden``."""
    return simulate_trace(cfg, golden.trace, golden.fault, golden.faulted)


def planned_trace(cfg: Config, program: Iterable[Instruction], writes: Iterable[WriteRows]
                  ) -> list[Executed]:
    """The execution trace of a straight-line, fault-free program whose weight writes
    the scheduler costed offline (``writes``: one per WRITE_START, in order), as the
    golden model would record it: what the timing and energy models need at full chip
    scale, where running the golden model is out of reach."""
    costs = iter(writes)
    ppl = cfg.write.pulses_per_level
    trace = []
    for insn in program:
        rows: tuple[RowWrite, ...] = ()
        if insn.opcode == Opcode.WRITE_START:
            w = next(costs)
            rows = tuple(RowWrite(d * ppl, i * ppl, c * ppl)
                         for d, i, c in zip(w.dec.tolist(), w.inc.tolist(),
                                            w.changes.tolist(), strict=True))
        trace.append(Executed(insn, rows))
        if insn.opcode == Opcode.HALT:
            break
    return trace


#: Cycles every instruction spends before it executes: FETCH, then DECODE (where the
#: decode-time faults are found and the window and bank-mask registers update).
FETCH_CYCLES = 1
DECODE_CYCLES = 1
#: Cycles from the drain of the last weight write to ``halted`` (HALT or a fault).
HALT_CYCLES = 1


@dataclass
class _Flight:
    """A weight write as its engine runs it: its first fetch cycle, rows, crossbars and
    the cycles main memory was the DMA's since it started; where its busy interval and
    span are recorded (to move their end when a later DMA delays it)."""

    start: int
    rows: tuple[RowWrite, ...]
    nxbars: int
    holds: list[tuple[int, int]]
    busy: int
    span: int | None


class _Sequencer:
    """The sequencer's state as the timing model tracks it between instructions.

    Each ``_op`` method is one opcode's cycle rule: given the instruction's first execute
    cycle ``ex`` (after FETCH and DECODE), it returns the cycle in which the next
    instruction is fetched. Its docstring is the rule, as ``docs/cycles.md`` prints it.
    """

    def __init__(self, cfg: Config, spans: list[Span] | None):
        self.cfg = cfg
        self.spans = spans
        # Per write engine: its first idle cycle and the crossbars [first, last) of its
        # write in flight (or last done); every write's busy interval, for the counters.
        self.we_free = [0] * cfg.write.engines
        self.we_span = [(0, 0)] * cfg.write.engines
        self.we_busy: list[tuple[int, int]] = []
        self.flights: list[_Flight | None] = [None] * cfg.write.engines
        self.stall = 0
        self.pulses = 0
        self.window_count = 1
        self.mask_changes = [(0, -1)]   # (first cycle in effect, bank mask)

    def writes_done(self, first: int = 0, last: int | None = None) -> int:
        """First cycle from which no engine writes a crossbar of ``[first, last)`` (any
        crossbar by default)."""
        return max((free for free, (a, b) in zip(self.we_free, self.we_span, strict=True)
                    if last is None or (a < last and first < b)), default=0)

    @property
    def busy_cycles(self) -> int:
        """Cycles at least one engine was writing (the union of the busy intervals)."""
        total, reach = 0, 0
        for start, end in sorted(self.we_busy):
            total += max(0, end - max(start, reach))
            reach = max(reach, end)
        return total

    def port_held(self, start: int, end: int) -> None:
        """The DMA requests main memory in the cycles ``[start, end)``: the engines may
        not, so each write still running then may end later (:func:`held_write_end`).
        The sequencer waits for its DMA, so holds arrive in time order: a write's end,
        when a later instruction waits for it, is final."""
        for e, flight in enumerate(self.flights):
            if flight is None or self.we_free[e] <= start:
                continue
            flight.holds.append((start, end))
            free = held_write_end(self.cfg, flight.rows, flight.nxbars, flight.start,
                                  flight.holds)
            self.we_free[e] = free
            self.we_busy[flight.busy] = (flight.start, free)
            if self.spans is not None and flight.span is not None:
                span = self.spans[flight.span]
                self.spans[flight.span] = Span(span.index, span.opcode, span.start, free)

    def wait_until(self, start: int, ready: int) -> int:
        """First cycle >= start at which a waiting state may leave (ready = free cycle)."""
        c = max(start, ready)
        self.stall += c - start
        return c

    def _plain(self, index: int, entry: Executed, ex: int) -> int:
        """none: the next instruction is fetched in the first execute cycle."""
        return ex

    def _window(self, index: int, entry: Executed, ex: int) -> int:
        """none (the window registers update at DECODE)."""
        self.window_count = max(1, entry.insn.count)
        return ex

    def _bank_gate(self, index: int, entry: Executed, ex: int) -> int:
        """none (the bank mask updates after DECODE; banks are powered from then)."""
        self.mask_changes.append((ex, entry.insn.mask))
        return ex

    def _sfu(self, index: int, entry: Executed, ex: int) -> int:
        """`n + 1` if `n` else 0: one pre-read cycle, then one cycle per word (`n = count`),
        or per element for the pooling functions (`n = count * word_bits / 32`)."""
        insn = entry.insn
        n = insn.count * (self.cfg.gb_bits // 32) if insn.func in SFU_POOLING else insn.count
        return ex + (n + 1 if n else 0)

    def _vec(self, index: int, entry: Executed, ex: int) -> int:
        """`2 * n * count + 1` if `count` else 0, `n` the window count when `windowed`,
        else 1: per word read a, read b, write, pipelined across the windows too."""
        insn = entry.insn
        return ex + vec_cycles(insn.count, self.window_count if insn.windowed else 1)

    def _dma(self, index: int, entry: Executed, ex: int) -> int:
        """`burst(count)` if `count` else 0 (one main-memory burst through the
        `port_words`-wide port; the write engines may not fetch until its last grant)."""
        count = entry.insn.count
        if not count:
            return ex
        end = ex + burst_cycles(self.cfg, count)
        self.port_held(ex, end - 1)     # it requests until its last grant
        return end

    def _write_start(self, index: int, entry: Executed, ex: int) -> int:
        """wait until a write engine is idle and no write in flight touches a crossbar of
        the group, then 1 (the hand-over to the lowest idle engine); the lockstep write
        then runs in the background (see below), its fetches held while a DMA has main
        memory."""
        insn = entry.insn
        n = write_xbars(insn)
        c = self.wait_until(ex, max(min(self.we_free),
                                    self.writes_done(insn.xbar, insn.xbar + n)))
        e = next(k for k, free in enumerate(self.we_free) if free <= c)
        duration = group_write_cycles(self.cfg, entry.rows, n)
        self.pulses += sum(r.pulses for r in entry.rows)
        self.we_free[e], self.we_span[e] = c + 1 + duration, (insn.xbar, insn.xbar + n)
        self.flights[e] = _Flight(c + 1, entry.rows, n, [], len(self.we_busy),
                                  None if self.spans is None else len(self.spans))
        self.we_busy.append((c + 1, c + 1 + duration))
        if self.spans is not None:
            self.spans.append(Span(index, insn.opcode, c + 1, self.we_free[e]))
        return c + 1

    def _write_wait(self, index: int, entry: Executed, ex: int) -> int:
        """wait until no write to `xbar` is in flight, then 1."""
        xbar = entry.insn.xbar
        return self.wait_until(ex, self.writes_done(xbar, xbar + 1)) + 1

    def _sync(self, index: int, entry: Executed, ex: int) -> int:
        """wait until every write engine is idle, then 1."""
        return self.wait_until(ex, self.writes_done()) + 1

    def _vmm(self, index: int, entry: Executed, ex: int) -> int:
        """wait while a write touches any crossbar of its span, then `1 + ` the pipelined
        window loop of `P = windows / replicas` passes: stage `s` (0 .. `P + 1`) loads
        pass `s` (`L = replicas * nrows * input_words + 1`), computes pass `s - 1` (`C =
        act_bits * bitplane_cycles + 1`) and drains pass `s - 2` (`D = replicas * ngroups
        * ncols * output_words + 1`, a quarter of the words requantized to INT8, plus
        `L - 1` when it accumulates in a stage that also loads), as long as the
        longest: `L + C + D` for one pass, else `L + max(L, C) + (P - 2) * max(L, C, D)
        + max(C, D) + D`."""
        insn = entry.insn
        c = self.wait_until(ex, self.writes_done(*vmm_xbar_span(self.cfg, insn)))
        reps = vmm_replicas(insn)
        t = c + 1 + vmm_cycles(self.cfg, bool(insn.accumulate), vmm_cols(insn),
                               vmm_rows(insn), vmm_groups(insn), reps,
                               self.window_count // reps, vmm_narrow(insn))
        if self.spans is not None:
            self.spans.append(Span(index, insn.opcode, c + 1, t))
        return t

    def _inv(self, index: int, entry: Executed, ex: int) -> int:
        """`2 * inv_vector_words + 1 + inv.solve_cycles`: read b, the analog window,
        write x."""
        return ex + inv_solve_cycles(self.cfg)

    def _combine(self, index: int, entry: Executed, ex: int) -> int:
        """`ngroups * (m + ceil(m * 32 / word_bits) + 5)` if `m` and `ngroups` else 0."""
        return ex + combine_cycles(self.cfg, entry.insn.m, entry.insn.ngroups)

    def _inv_write(self, index: int, entry: Executed, ex: int) -> int:
        """`burst(inv_matrix_words)` to stream the matrix (the write engines may not fetch
        until its last grant), then per row one RESET pulse and
        the row's slowest cell's SET pulses (`(1 + max |level| * pulses_per_level) *
        pulse_cycles`)."""
        streamed = ex + burst_cycles(self.cfg, self.cfg.inv_matrix_words)
        self.port_held(ex, streamed - 1)
        return streamed + sum(r.cycles(self.cfg) for r in entry.rows)

    def _halt(self, index: int, entry: Executed, ex: int) -> int:
        """wait until every write engine is idle, then 1: the cycle `halted` rises."""
        return self.wait_until(ex, self.writes_done()) + HALT_CYCLES


#: Each opcode's cycle rule (a :class:`_Sequencer` method; its docstring says the rule).
CYCLE_RULES: dict[Opcode, Callable[[_Sequencer, int, Executed, int], int]] = {
    Opcode.NOP: _Sequencer._plain,
    Opcode.HALT: _Sequencer._halt,
    Opcode.SYNC: _Sequencer._sync,
    Opcode.LOAD: _Sequencer._dma,
    Opcode.STORE: _Sequencer._dma,
    Opcode.WRITE_START: _Sequencer._write_start,
    Opcode.WRITE_WAIT: _Sequencer._write_wait,
    Opcode.WINDOW: _Sequencer._window,
    Opcode.VMM: _Sequencer._vmm,
    Opcode.VEC: _Sequencer._vec,
    Opcode.SFU: _Sequencer._sfu,
    Opcode.BANK_GATE: _Sequencer._bank_gate,
    Opcode.INV: _Sequencer._inv,
    Opcode.INV_WRITE: _Sequencer._inv_write,
    Opcode.COMBINE: _Sequencer._combine,
}


def simulate_trace(cfg: Config, trace: Iterable[Executed], fault: Fault = Fault.NONE,
                   faulted: Instruction | None = None, spans: list[Span] | None = None,
                   by_opcode: dict[Opcode, int] | None = None) -> TimingResult:
    """Cycle counts of an execution trace that ended in ``fault`` (``faulted``: the
    instruction that faulted after DECODE, if any); with ``spans``, also record when
    each VMM and weight write ran; with ``by_opcode``, add up the cycles the sequencer
    spent on each opcode (fetch, decode and stalls included)."""
    seq = _Sequencer(cfg, spans)
    t = 0                      # the cycle in which the current instruction is fetched
    halted_at: int | None = None
    prev_op: Opcode | None = None
    started = 0
    for index, entry in enumerate(trace):
        op = entry.insn.opcode
        if by_opcode is not None and prev_op is not None:   # the previous one's cycles
            by_opcode[prev_op] = by_opcode.get(prev_op, 0) + t - started
        prev_op, started = op, t
        nxt = CYCLE_RULES[op](seq, index, entry, t + FETCH_CYCLES + DECODE_CYCLES)
        if op == Opcode.HALT:
            halted_at = nxt
            if by_opcode is not None:
                by_opcode[op] = by_opcode.get(op, 0) + halted_at - t
            break
        t = nxt

    if halted_at is None:  # a fault at FETCH (pc range) or DECODE, then drain writes
        found = t + (FETCH_CYCLES if fault == Fault.IMEM_RANGE else FETCH_CYCLES + DECODE_CYCLES)
        if faulted is not None:  # bad INV_WRITE data: found once it is streamed
            seq.port_held(found, found + burst_cycles(cfg, cfg.inv_matrix_words) - 1)
            found += burst_cycles(cfg, cfg.inv_matrix_words)
        halted_at = seq.wait_until(found, seq.writes_done()) + HALT_CYCLES

    if halted_at >= cfg.sim.watchdog_cycles:
        # The watchdog stops the chip mid-program: only cycles and fault are modelled.
        return TimingResult(cfg.sim.watchdog_cycles, Fault.WATCHDOG, None, None, None, None)
    busy = seq.busy_cycles
    return TimingResult(halted_at, fault, seq.stall, busy, busy - seq.stall, seq.pulses,
                        bank_active_cycles(cfg, seq.mask_changes, halted_at))


def bank_active_cycles(cfg: Config, changes: list[tuple[int, int]], end: int
                       ) -> tuple[int, ...]:
    """Cycles each global-buffer bank was powered in ``[0, end)`` given the mask history."""
    counts = [0] * len(cfg.global_buffer.bank_bytes)
    bounds = [c for c, _ in changes[1:]] + [end]
    for (start, mask), stop in zip(changes, bounds, strict=True):
        for i in range(len(counts)):
            if (mask >> i) & 1:
                counts[i] += max(0, min(stop, end) - start)
    return tuple(counts)
