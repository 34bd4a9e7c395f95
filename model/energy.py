"""Energy of a program run, from the golden model's trace and the timing model's cycles.

Events and their prices (``[energy]`` and ``write.energy_per_pulse_pj`` of the config):

- write: crossbar pulses (the golden model counts them) and INV programming pulses;
- compute: ADC conversions (each crossbar column per bit-plane of a VMM window; an INV
  solve's DAC and ADC), 32-bit digital operations (shift-and-add per weight column and
  plane, VEC lanes, SFU elements, COMBINE multiply-accumulates), INV op-amps powered
  for the whole solve window;
- buffer: global-buffer bytes read and written (main-memory energy is not modelled);
- static: the chip's static power over the run's cycles, and each global-buffer bank's
  over the cycles it was powered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from firmware.config import Config
from firmware.isa import Opcode
from model.golden import Executed, GoldenResult, vmm_cols, vmm_groups, vmm_out_words, vmm_rows


@dataclass(frozen=True)
class Energy:
    """Energy by kind, in picojoules."""

    write_pj: float = 0.0
    compute_pj: float = 0.0
    buffer_pj: float = 0.0
    static_pj: float = 0.0

    @property
    def total_pj(self) -> float:
        return self.write_pj + self.compute_pj + self.buffer_pj + self.static_pj

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.write_pj + other.write_pj, self.compute_pj + other.compute_pj,
                      self.buffer_pj + other.buffer_pj, self.static_pj + other.static_pj)

    def __sub__(self, other: Energy) -> Energy:
        return Energy(self.write_pj - other.write_pj, self.compute_pj - other.compute_pj,
                      self.buffer_pj - other.buffer_pj, self.static_pj - other.static_pj)


def cycle_ns(cfg: Config) -> float:
    return 1000.0 / cfg.chip.clock_mhz


def gb_static_pj(cfg: Config, bank_cycles: Iterable[int]) -> float:
    """Static energy of the global buffer's banks, each powered ``bank_cycles`` cycles
    (in config order)."""
    banks = cfg.global_buffer.bank_bytes
    return cfg.energy.gb_mw_per_kb * cycle_ns(cfg) * sum(
        c * size / 1024 for c, size in zip(bank_cycles, banks, strict=True))


def energy(cfg: Config, golden: GoldenResult, cycles: int,
           bank_cycles: tuple[int, ...] | None = None) -> Energy:
    """Energy of the run whose golden result is ``golden`` and which took ``cycles``;
    ``bank_cycles`` (the timing model's powered cycles per global-buffer bank; default:
    every bank powered throughout) prices the buffer's static power."""
    return trace_energy(cfg, golden.trace, golden.pulses, cycles, bank_cycles)


def trace_energy(cfg: Config, trace: Iterable[Executed], pulses: int, cycles: int,
                 bank_cycles: tuple[int, ...] | None = None) -> Energy:
    """:func:`energy` of an execution trace whose weight writes took ``pulses``."""
    e = cfg.energy
    gb_bytes = cfg.global_buffer.word_bytes
    lanes = cfg.gb_bits // 32
    planes = cfg.data.act_bits
    n_inv = cfg.inv.size
    conversions = ops = buffer_bytes = 0
    inv_solves = 0
    write_pulses = pulses
    windows = 1
    for entry in trace:
        insn, op = entry.insn, entry.insn.opcode
        if op == Opcode.WINDOW:
            windows = max(1, insn.count)
        elif op == Opcode.VMM:   # per window: every crossbar of one replica
            xbars = vmm_rows(insn) * vmm_groups(insn) * vmm_cols(insn)
            conversions += windows * xbars * planes * cfg.crossbar.cols
            ops += windows * xbars * planes * cfg.weights_per_row
            out_words = vmm_out_words(cfg, insn) * (2 if insn.accumulate else 1)
            buffer_bytes += windows * (vmm_rows(insn) * cfg.input_words + out_words) * gb_bytes
        elif op == Opcode.VEC:
            ops += insn.count * lanes
            buffer_bytes += 3 * insn.count * gb_bytes
        elif op == Opcode.SFU:
            ops += insn.count * lanes
            buffer_bytes += 2 * insn.count * gb_bytes
        elif op in (Opcode.LOAD, Opcode.STORE):
            buffer_bytes += insn.count * gb_bytes
        elif op == Opcode.COMBINE:  # G multiply-accumulates per coefficient word
            ops += insn.m * insn.ngroups * (cfg.gb_bits // 8)
            buffer_bytes += (insn.m * insn.ngroups + -(-insn.m * 32 // cfg.gb_bits)
                             + 4 * insn.ngroups) * gb_bytes
        elif op == Opcode.INV:
            inv_solves += 1
            conversions += 2 * n_inv
            buffer_bytes += 2 * cfg.inv_vector_words * gb_bytes
        elif op == Opcode.INV_WRITE:  # streamed from main memory past the buffer
            write_pulses += sum(r.pulses for r in entry.rows)
    banks = cfg.global_buffer.bank_bytes
    opamp_pj = inv_solves * n_inv * e.inv_opamp_mw * cfg.inv.solve_cycles * cycle_ns(cfg)
    return Energy(
        write_pj=write_pulses * cfg.write.energy_per_pulse_pj,
        compute_pj=conversions * e.adc_conversion_pj + ops * e.digital_op_pj + opamp_pj,
        buffer_pj=buffer_bytes * e.gb_byte_pj,
        static_pj=e.static_mw * cycles * cycle_ns(cfg) + gb_static_pj(
            cfg, bank_cycles if bank_cycles is not None else [cycles] * len(banks)),
    )
