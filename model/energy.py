"""Energy of a program run, from the golden model's trace and the timing model's cycles.

Events and their prices (``[energy]`` and ``write.energy_per_pulse_pj`` of the config):

- write: crossbar pulses (the golden model counts them) and INV programming pulses;
- compute: ADC conversions (each crossbar column per bit-plane of a VMM window; an INV
  solve's DAC and ADC), digital operations, each priced as a 32-bit one (shift-and-add
  per weight column and plane, VEC lanes, int32 or INT8, SFU elements, COMBINE
  multiply-accumulates), INV op-amps powered for the whole solve window;
- buffer: global-buffer bytes read and written (main-memory energy is not modelled);
  the pipelined VMM's second activation set and held results are registers on the
  path of those same bytes (each loaded or drained word crosses them once), not a
  buffer of their own, and are not priced apart;
- static: the chip's static power over the run's cycles, and each global-buffer bank's
  over the cycles it was powered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from firmware.config import Config
from firmware.isa import Opcode
from firmware.semantics import (
    vec_lane_bits,
    vmm_cols,
    vmm_groups,
    vmm_in_words,
    vmm_narrow,
    vmm_out_words,
    vmm_xbars_per_window,
    words,
)
from model.golden import Executed, GoldenResult


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


@dataclass
class _Events:
    """Event counts of a trace so far, and the window count the next VMM (or windowed
    VEC) runs."""

    conversions: int = 0
    ops: int = 0
    buffer_bytes: int = 0
    inv_solves: int = 0
    write_pulses: int = 0
    windows: int = 1


def _none(cfg: Config, entry: Executed, ev: _Events) -> None:
    """No event priced (control, barriers, bank gating: their cycles are static power)."""


def _window(cfg: Config, entry: Executed, ev: _Events) -> None:
    """Sets the window count the following VMMs and windowed VECs run."""
    ev.windows = max(1, entry.insn.count)


def _vmm(cfg: Config, entry: Executed, ev: _Events) -> None:
    """Per window, every crossbar of one replica: a conversion per column and bit-plane,
    a shift-and-add per weight column and plane, a requantization per output when it
    requantizes (as the SFU's, one 32-bit operation each); its input and output words
    (twice with ``accumulate``; a quarter of them INT8)."""
    insn = entry.insn
    xbars = vmm_xbars_per_window(insn)
    planes = cfg.data.act_bits
    ev.conversions += ev.windows * xbars * planes * cfg.crossbar.cols
    ev.ops += ev.windows * xbars * planes * cfg.weights_per_row
    if vmm_narrow(insn):
        ev.ops += ev.windows * vmm_groups(insn) * vmm_cols(insn) * cfg.weights_per_row
    out_words = vmm_out_words(cfg, insn) * (2 if insn.accumulate else 1)
    ev.buffer_bytes += ev.windows * (vmm_in_words(cfg, insn) + out_words) \
        * cfg.global_buffer.word_bytes


def _vec(cfg: Config, entry: Executed, ev: _Events) -> None:
    """An operation per lane of the function's width (int32 or INT8) of every word of
    every window it runs; two words read and one written per word."""
    insn = entry.insn
    n = insn.count * (ev.windows if insn.windowed else 1)
    ev.ops += n * (cfg.gb_bits // vec_lane_bits(insn.func))
    ev.buffer_bytes += 3 * n * cfg.global_buffer.word_bytes


def _sfu(cfg: Config, entry: Executed, ev: _Events) -> None:
    """A 32-bit operation per lane; a word read and one written per input word."""
    ev.ops += entry.insn.count * (cfg.gb_bits // 32)
    ev.buffer_bytes += 2 * entry.insn.count * cfg.global_buffer.word_bytes


def _dma(cfg: Config, entry: Executed, ev: _Events) -> None:
    """The buffer side of the transfer (main-memory energy is not modelled)."""
    ev.buffer_bytes += entry.insn.count * cfg.global_buffer.word_bytes


def _combine(cfg: Config, entry: Executed, ev: _Events) -> None:
    """``word_bits / 8`` multiply-accumulates per coefficient word; its coefficient,
    input and result words."""
    insn = entry.insn
    ev.ops += insn.m * insn.ngroups * (cfg.gb_bits // 8)
    ev.buffer_bytes += (insn.m * insn.ngroups + words(insn.m, 32, cfg.gb_bits)
                        + 4 * insn.ngroups) * cfg.global_buffer.word_bytes


def _inv(cfg: Config, entry: Executed, ev: _Events) -> None:
    """A DAC and an ADC conversion per unknown, the op-amps over the solve window;
    the right-hand side read and the solution written."""
    ev.inv_solves += 1
    ev.conversions += 2 * cfg.inv.size
    ev.buffer_bytes += 2 * cfg.inv_vector_words * cfg.global_buffer.word_bytes


def _inv_write(cfg: Config, entry: Executed, ev: _Events) -> None:
    """Its programming pulses (streamed from main memory past the buffer)."""
    ev.write_pulses += sum(r.pulses for r in entry.rows)


#: Each opcode's priced events (a weight write's pulses come from the golden model's
#: count, ``pulses``, so WRITE_START adds none here).
EVENTS: dict[Opcode, Callable[[Config, Executed, _Events], None]] = {
    Opcode.NOP: _none,
    Opcode.HALT: _none,
    Opcode.SYNC: _none,
    Opcode.LOAD: _dma,
    Opcode.STORE: _dma,
    Opcode.WRITE_START: _none,
    Opcode.WRITE_WAIT: _none,
    Opcode.WINDOW: _window,
    Opcode.VMM: _vmm,
    Opcode.VEC: _vec,
    Opcode.SFU: _sfu,
    Opcode.BANK_GATE: _none,
    Opcode.INV: _inv,
    Opcode.INV_WRITE: _inv_write,
    Opcode.COMBINE: _combine,
}


def trace_energy(cfg: Config, trace: Iterable[Executed], pulses: int, cycles: int,
                 bank_cycles: tuple[int, ...] | None = None) -> Energy:
    """:func:`energy` of an execution trace whose weight writes took ``pulses``."""
    e = cfg.energy
    ev = _Events(write_pulses=pulses)
    for entry in trace:
        EVENTS[entry.insn.opcode](cfg, entry, ev)
    banks = cfg.global_buffer.bank_bytes
    opamp_pj = ev.inv_solves * cfg.inv.size * e.inv_opamp_mw * cfg.inv.solve_cycles \
        * cycle_ns(cfg)
    return Energy(
        write_pj=ev.write_pulses * cfg.write.energy_per_pulse_pj,
        compute_pj=ev.conversions * e.adc_conversion_pj + ev.ops * e.digital_op_pj + opamp_pj,
        buffer_pj=ev.buffer_bytes * e.gb_byte_pj,
        static_pj=e.static_mw * cycles * cycle_ns(cfg) + gb_static_pj(
            cfg, bank_cycles if bank_cycles is not None else [cycles] * len(banks)),
    )
