"""Behavioral model of one analog ReRAM crossbar: bit-plane reads and row writes.

Cells hold integer levels ``0 .. 2^cell_bits - 1``. A read drives one binary input
plane on the rows; each column's current is ``sum_r x_r * level_rc`` (in level units)
and its ADC code is that current clipped to ``2^adc_bits - 1`` (ideal device, full scale
of one level per code). A row write applies signed level deltas in two polarity phases
(decrease, then increase); each phase lasts as long as its slowest cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config


@dataclass(frozen=True)
class RowWrite:
    """Cost of programming one row: pulses of the slowest cell in each phase, all pulses."""

    dec_pulses: int
    inc_pulses: int
    pulses: int
    saturated: int

    def cycles(self, cfg: Config) -> int:
        """Latency of the two phases in clock cycles."""
        return (self.dec_pulses + self.inc_pulses) * cfg.write.pulse_cycles

    def energy_pj(self, cfg: Config) -> float:
        return self.pulses * cfg.write.energy_per_pulse_pj


class Crossbar:
    """One crossbar's cell levels and endurance counters."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        shape = (cfg.crossbar.rows, cfg.crossbar.cols)
        self.levels = np.zeros(shape, dtype=np.int64)
        self.writes = np.zeros(shape, dtype=np.int64)
        self.max_code = (1 << cfg.crossbar.adc_bits) - 1

    def read_plane(self, bits: np.ndarray) -> np.ndarray:
        """ADC codes of all columns for one binary input plane (length ``rows``)."""
        b = np.asarray(bits, dtype=np.int64)
        if b.shape != (self.cfg.crossbar.rows,) or ((b != 0) & (b != 1)).any():
            raise ValueError(f"an input plane is {self.cfg.crossbar.rows} bits of 0/1")
        return np.minimum(b @ self.levels, self.max_code)

    def program_row(self, row: int, deltas: np.ndarray) -> RowWrite:
        """Apply signed level ``deltas`` to ``row``; levels saturate at the cell's range."""
        d = np.asarray(deltas, dtype=np.int64)
        if d.shape != (self.cfg.crossbar.cols,):
            raise ValueError(f"a row write takes {self.cfg.crossbar.cols} deltas")
        if not 0 <= row < self.cfg.crossbar.rows:
            raise ValueError(f"row {row} out of range 0..{self.cfg.crossbar.rows - 1}")
        ppl = self.cfg.write.pulses_per_level
        target = self.levels[row] + d
        clipped = np.clip(target, 0, self.cfg.cell_levels - 1)
        self.levels[row] = clipped
        self.writes[row] += d != 0
        return RowWrite(
            dec_pulses=int(max(0, -d.min(initial=0))) * ppl,
            inc_pulses=int(max(0, d.max(initial=0))) * ppl,
            pulses=int(np.abs(d).sum()) * ppl,
            saturated=int((clipped != target).sum()),
        )
