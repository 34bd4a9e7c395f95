"""Cycle-accurate timing model of the chip, exact against the RTL.

It replays the golden model's execution trace (instructions and, for weight writes,
each row's pulse counts) through the same state machine the RTL sequencer runs, but
jumps over each state in closed form instead of stepping cycles, so it scales to whole
networks. The per-state durations are documented in ``hdl/chip.py`` and
``hdl/write_engine.py``; bandwidth grants follow :func:`firmware.config.grant_cycle`.
Nothing here imports the RTL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from firmware.config import Config
from firmware.cycles import burst_cycles, vmm_pass_cycles
from firmware.isa import SFU_POOLING, Fault, Instruction, Opcode
from firmware.plan import WriteRows
from model.analog.write_physics import RowWrite
from model.golden import (
    Executed,
    GoldenResult,
    vmm_cols,
    vmm_groups,
    vmm_replicas,
    vmm_rows,
    vmm_xbar_span,
    write_xbars,
)


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
    burst of every crossbar's deltas and the last hand-over (``F``), then the group's
    two phases (``P_r``); the next row is fetched while a row's phases run:
    ``F + sum_{r<R-1} max(P_r, F) + P_{R-1}``."""
    fetch = burst_cycles(cfg, nxbars * cfg.delta_row_words) + 1
    phases = [r.cycles(cfg) for r in rows]
    if not phases:
        return 0
    return fetch + sum(max(p, fetch) for p in phases[:-1]) + phases[-1]


def inv_solve_cycles(cfg: Config) -> int:
    """Execute cycles of one INV: read the right-hand side, the fixed analog window,
    write the solution."""
    return 2 * cfg.inv_vector_words + 1 + cfg.inv.solve_cycles


def combine_cycles(cfg: Config, m: int, ngroups: int) -> int:
    """Execute cycles of COMBINE: per group, the input-word and coefficient reads, the
    last multiply-accumulate, four result words."""
    if not (m and ngroups):
        return 0
    return ngroups * (m + -(-m * 32 // cfg.gb_bits) + 5)


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


def simulate_trace(cfg: Config, trace: Iterable[Executed], fault: Fault = Fault.NONE,
                   faulted: Instruction | None = None, spans: list[Span] | None = None,
                   by_opcode: dict[Opcode, int] | None = None) -> TimingResult:
    """Cycle counts of an execution trace that ended in ``fault`` (``faulted``: the
    instruction that faulted after DECODE, if any); with ``spans``, also record when
    each VMM and weight write ran; with ``by_opcode``, add up the cycles the sequencer
    spent on each opcode (fetch, decode and stalls included)."""
    t = 0                      # the cycle in which the current instruction is fetched
    we_free = 0                # first cycle with the write engine idle
    we_span = (0, 0)           # crossbars [first, last) of the write in flight
    we_busy_total = 0
    stall = 0
    pulses = 0
    window_count = 1
    mask_changes = [(0, -1)]   # (first cycle in effect, bank mask)
    halted_at: int | None = None
    prev_op: Opcode | None = None
    started = 0

    def wait_until(start: int, ready: int) -> int:
        """First cycle >= start at which a waiting state may leave (ready = free cycle)."""
        nonlocal stall
        c = max(start, ready)
        stall += c - start
        return c

    for index, entry in enumerate(trace):
        insn = entry.insn
        op = insn.opcode
        if by_opcode is not None and prev_op is not None:   # the previous one's cycles
            by_opcode[prev_op] = by_opcode.get(prev_op, 0) + t - started
        prev_op, started = op, t
        ex = t + 2             # FETCH and DECODE, then the first execute cycle
        if op in (Opcode.NOP, Opcode.WINDOW, Opcode.BANK_GATE):
            if op == Opcode.WINDOW:
                window_count = max(1, insn.count)
            if op == Opcode.BANK_GATE:
                mask_changes.append((ex, insn.mask))  # the register updates after DECODE
            t = ex
        elif op == Opcode.SFU:  # one pre-read cycle, then a word (pooling: an element)
            n = insn.count * (cfg.gb_bits // 32) if insn.func in SFU_POOLING else insn.count
            t = ex + (n + 1 if n else 0)
        elif op == Opcode.VEC:
            t = ex + (2 * insn.count + 1 if insn.count else 0)  # read a, read b, write
        elif op in (Opcode.LOAD, Opcode.STORE):
            t = ex + burst_cycles(cfg, insn.count) if insn.count else ex
        elif op == Opcode.WRITE_START:
            c = wait_until(ex, we_free)
            n = write_xbars(insn)
            duration = group_write_cycles(cfg, entry.rows, n)
            pulses += sum(r.pulses for r in entry.rows)
            we_free, we_span = c + 1 + duration, (insn.xbar, insn.xbar + n)
            we_busy_total += duration
            t = c + 1
            if spans is not None:
                spans.append(Span(index, op, t, we_free))
        elif op == Opcode.WRITE_WAIT:
            c = wait_until(ex, we_free if we_span[0] <= insn.xbar < we_span[1] else 0)
            t = c + 1
        elif op == Opcode.SYNC:
            t = wait_until(ex, we_free) + 1
        elif op == Opcode.VMM:
            first, last = vmm_xbar_span(cfg, insn)
            writing = first < we_span[1] and we_span[0] < last
            c = wait_until(ex, we_free if writing else 0)
            reps = vmm_replicas(insn)
            t = c + 1 + window_count // reps * vmm_pass_cycles(
                cfg, bool(insn.accumulate), vmm_cols(insn), vmm_rows(insn),
                vmm_groups(insn), reps)
            if spans is not None:
                spans.append(Span(index, op, c + 1, t))
        elif op == Opcode.INV:
            t = ex + inv_solve_cycles(cfg)
        elif op == Opcode.COMBINE:
            t = ex + combine_cycles(cfg, insn.m, insn.ngroups)
        elif op == Opcode.INV_WRITE:  # stream the matrix, then program row by row
            t = ex + burst_cycles(cfg, cfg.inv_matrix_words) + sum(
                r.cycles(cfg) for r in entry.rows)
        elif op == Opcode.HALT:
            halted_at = wait_until(ex, we_free) + 1
            if by_opcode is not None:
                by_opcode[op] = by_opcode.get(op, 0) + halted_at - t
            break
        else:
            raise NotImplementedError(
                f"timing model: {op.name} has no cycle rule until the RTL implements it; "
                "run the golden model with implemented=RTL_OPCODES to time a program")

    if halted_at is None:  # a fault at FETCH (pc range) or DECODE, then drain writes
        found = t + (1 if fault == Fault.IMEM_RANGE else 2)
        if faulted is not None:  # bad INV_WRITE data: found once it is streamed
            found += burst_cycles(cfg, cfg.inv_matrix_words)
        halted_at = wait_until(found, we_free) + 1

    if halted_at >= cfg.sim.watchdog_cycles:
        # The watchdog stops the chip mid-program: only cycles and fault are modelled.
        return TimingResult(cfg.sim.watchdog_cycles, Fault.WATCHDOG, None, None, None, None)
    return TimingResult(halted_at, fault, stall, we_busy_total, we_busy_total - stall, pulses,
                        bank_active_cycles(cfg, mask_changes, halted_at))


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
