"""Behavioral model of one analog ReRAM VMM crossbar: bit-plane reads and row writes.

Cells hold integer levels ``0 .. 2^cell_bits - 1``; a cell's conductance is its level
times ``1 + program_sigma * N(0,1)``, the error drawn each time the cell is programmed
(device-to-device variation). A read drives one binary input plane on the rows; each
column's current is ``sum_r x_r * g_rc`` in units of one level's current, plus
``read_sigma * N(0,1)`` read noise, and its ADC code is
``clip(round(I / 2^adc_lsb_shift), 0, 2^adc_bits - 1)`` (saturating). With no variation
and noise and a shift of 0 the codes are exact integer column sums, clipped at full scale.

All randomness comes from one generator per crossbar seeded by ``(analog.seed, index)``,
and draws happen in call order, so a model driven by the RTL and one driven by the golden
interpreter see the same numbers.
"""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.semantics import weights_to_levels
from model.analog.write_physics import RowWrite, row_cost


class Crossbar:
    """One crossbar's levels, conductances and per-cell write (endurance) counters."""

    def __init__(self, cfg: Config, index: int = 0):
        self.cfg = cfg
        shape = (cfg.crossbar.rows, cfg.crossbar.cols)
        self.levels = np.zeros(shape, dtype=np.int64)
        self.conductance = np.zeros(shape, dtype=np.float64)
        self.writes = np.zeros(shape, dtype=np.int64)
        self.max_code = (1 << cfg.crossbar.adc_bits) - 1
        self.rng = np.random.default_rng([cfg.analog.seed, index])
        a = cfg.analog
        self.ideal = a.program_sigma == 0 and a.read_sigma == 0

    def set_weights(self, weights: np.ndarray) -> None:
        """Program an INT8 weight block (``k x n``, ``k <= rows``, ``n <= weights_per_row``)
        through the offset-binary mapping of :mod:`firmware.semantics` (no write cost)."""
        self.set_levels(weights_to_levels(weights, self.cfg))

    def vmm(self, x: np.ndarray) -> np.ndarray:
        """int32 outputs of a bit-serial VMM of INT8 ``x`` (length ``rows``), as the chip
        computes them (see :func:`bit_serial_vmm`)."""
        return bit_serial_vmm(self, x, self.cfg)

    def set_levels(self, levels: np.ndarray) -> None:
        """Program the whole array at once (no write cost), e.g. to set up a test."""
        lv = np.asarray(levels, dtype=np.int64)
        if lv.shape != self.levels.shape:
            raise ValueError(f"levels must have shape {self.levels.shape}, got {lv.shape}")
        for r in range(lv.shape[0]):
            self.program_row(r, lv[r] - self.levels[r])

    def read_planes(self, planes: np.ndarray) -> np.ndarray:
        """ADC codes (``P x cols``) for ``P`` binary input planes (``P x rows``)."""
        b = np.asarray(planes)
        rows = self.cfg.crossbar.rows
        if b.ndim != 2 or b.shape[1] != rows or (b.size and (b.min() < 0 or b.max() > 1)):
            raise ValueError(f"input planes are P x {rows} arrays of 0/1")
        shift = self.cfg.analog.adc_lsb_shift
        if self.ideal:
            # Integer sums, exact in float64 (far below 2^53), through the fast BLAS path.
            current = (b.astype(np.float64) @ self.levels.astype(np.float64)).astype(np.int64)
            if shift:
                current = (current + ((1 << shift) >> 1)) >> shift  # round half up
            # Sums of levels are never negative: only full scale clips (this runs per VMM
            # window in co-simulation, and np.clip costs more than the product).
            return np.minimum(current, self.max_code)
        current = b.astype(np.float64) @ self.conductance
        if self.cfg.analog.read_sigma:
            current = current + self.cfg.analog.read_sigma * self.rng.standard_normal(
                current.shape)
        codes = np.floor(current / (1 << shift) + 0.5).astype(np.int64)
        return np.clip(codes, 0, self.max_code)

    def read_plane(self, bits: np.ndarray) -> np.ndarray:
        """ADC codes of all columns for one binary input plane (length ``rows``)."""
        return self.read_planes(np.asarray(bits)[None, :])[0]

    def program_row(self, row: int, deltas: np.ndarray) -> RowWrite:
        """Apply signed level ``deltas`` to ``row``; levels saturate at the cell's range."""
        d = np.asarray(deltas, dtype=np.int64)
        if d.shape != (self.cfg.crossbar.cols,):
            raise ValueError(f"a row write takes {self.cfg.crossbar.cols} deltas")
        if not 0 <= row < self.cfg.crossbar.rows:
            raise ValueError(f"row {row} out of range 0..{self.cfg.crossbar.rows - 1}")
        target = self.levels[row] + d
        clipped = np.clip(target, 0, self.cfg.cell_levels - 1)
        changed = d != 0
        self.levels[row] = clipped
        self.writes[row] += changed
        sigma = self.cfg.analog.program_sigma
        err = 1.0 + sigma * self.rng.standard_normal(int(changed.sum())) if sigma else 1.0
        self.conductance[row, changed] = clipped[changed] * err
        cost = row_cost(d, self.cfg)
        return RowWrite(cost.dec_pulses, cost.inc_pulses, cost.pulses, cost.skipped,
                        int((clipped != target).sum()))


def bit_serial_vmm(xbar: Crossbar, x: np.ndarray, cfg: Config, zero: int = 0) -> np.ndarray:
    """int32 outputs of one VMM, recombined exactly as the RTL shift-and-add does.

    Plane ``b`` of the INT8 inputs (two's complement, LSB first) is read through the ADCs;
    cell slice ``s`` of weight column ``j`` weighs ``2^(cell_bits*s)``, plane ``b`` weighs
    ``2^b`` (``-2^7`` for the sign plane), codes weigh ``2^adc_lsb_shift``; the offset of
    the offset-binary weights (plus ``zero`` for weights shifted for partial reuse) is
    removed with the digitally accumulated ``sum(x)``.
    """
    S, cb = cfg.slices_per_weight, cfg.crossbar.cell_bits
    nb = cfg.data.act_bits
    xu = np.asarray(x, dtype=np.int64) & ((1 << nb) - 1)
    planes = (xu[None, :] >> np.arange(nb)[:, None]) & 1
    codes = xbar.read_planes(planes)                       # nb x cols
    partial = sum(codes[:, s::S] << (cb * s) for s in range(S)) << cfg.analog.adc_lsb_shift
    weight = np.array([1 << b for b in range(nb)], dtype=np.int64)
    weight[-1] = -weight[-1]  # two's complement: the MSB plane weighs -2^(nb-1)
    acc = weight @ partial
    xsum = int(weight @ planes.sum(axis=1))
    y = acc - (cfg.weight_offset + zero) * xsum
    return ((y + (1 << 31)) % (1 << 32)) - (1 << 31)  # wrap to int32 as the RTL does
