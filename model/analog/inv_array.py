"""Behavioral model of an analog matrix-inversion (INV) array (Sun et al., PNAS 2019).

Row ``i`` of a conductance array feeds op-amp ``i``'s inverting input and op-amp ``i``
drives column ``i``; Kirchhoff's law closes the loop so the outputs settle to
``V = -G^-1 I`` in one step. Signed matrices use two arrays, ``G = G+ - G-``. What this
model includes, each from the config:

- conductances quantized to ``conductance_bits`` signed levels after scaling the matrix
  to the largest level, with device-to-device programming variation
  (``analog.program_sigma``);
- finite op-amp gain ``A0``: the circuit solves ``(G + D/A0) x = b`` with ``D`` the
  diagonal of the row sums of ``G+ + G-``;
- an input DAC of ``dac_bits`` scaled to the largest input, and an output ADC of
  ``adc_bits`` whose full scale is the next power of two above the largest output (an
  auto-ranging converter: modelling assumption);
- settling time ``tau * ln(2^(adc_bits+1))`` with ``tau = 1 / (2 pi GBW * lambda_min)``,
  ``lambda_min`` the smallest real part of the eigenvalues of ``D^-1 G``.

The same stored matrix computes ``A x`` in open loop (fused VMM/INV), through the same
converters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from firmware.config import INV_LEVEL_BITS, Config
from firmware.packing import unpack
from model.analog.write_physics import RowWrite


class InvError(ValueError):
    """The circuit cannot solve with this matrix; the message says why."""


@dataclass(frozen=True)
class InvSolve:
    """One closed-loop solve: the digitized solution and the circuit's settling time."""

    x: np.ndarray
    settle_s: float


def quantize_symmetric(v: np.ndarray, bits: int, full_scale: float | np.ndarray) -> np.ndarray:
    """Round ``v / full_scale`` to ``bits``-bit signed codes (``±(2^(bits-1)-1)``), clipped,
    and return the values those codes stand for. ``full_scale`` may be an array that
    broadcasts against ``v`` (one converter range per column); a zero range gives zeros."""
    top = (1 << (bits - 1)) - 1
    fs = np.asarray(full_scale, dtype=np.float64)
    safe = np.where(fs > 0, fs, 1.0)
    codes = np.clip(np.rint(np.asarray(v, dtype=np.float64) / safe * top), -top, top)
    return np.where(fs > 0, codes * (safe / top), 0.0)


def _pow2_ceil(value: np.ndarray) -> np.ndarray:
    """The next power of two at or above each value (0 for 0): the auto-ranged ADC scale."""
    v = np.asarray(value, dtype=np.float64)
    return np.where(v > 0, 2.0 ** np.ceil(np.log2(np.where(v > 0, v, 1.0))), 0.0)


INT32 = (-(1 << 31), (1 << 31) - 1)


def digitize(x: np.ndarray, shift: int) -> np.ndarray:
    """The int32 codes an INV instruction stores: ``round(x * 2^shift)``, saturated."""
    return np.clip(np.rint(np.asarray(x) * 2.0 ** shift), *INT32).astype(np.int64)


def matrix_levels(words: list[int], cfg: Config) -> np.ndarray:
    """An INV matrix's signed levels from its main-memory words (INV_WRITE's layout:
    row-major, one int16 per entry)."""
    n = cfg.inv.size
    return unpack(words, INV_LEVEL_BITS, cfg.dram_bits, n * n, signed=True).reshape(n, n)


def program_cost(levels: np.ndarray, cfg: Config) -> list[RowWrite]:
    """Programming an INV array's differential pair, row by row: one block RESET pulse
    erases both arrays' row, then every cell is SET by ``|level|`` levels in parallel."""
    ppl = cfg.write.pulses_per_level
    mag = np.abs(np.asarray(levels, dtype=np.int64))
    return [RowWrite(dec_pulses=1, inc_pulses=int(r.max(initial=0)) * ppl,
                     pulses=int(r.sum()) * ppl) for r in mag]


class InvArray:
    """One INV array: program a matrix once, then solve (INV) or multiply (VMM) with it."""

    def __init__(self, cfg: Config, index: int = 0):
        self.cfg = cfg
        self.n = cfg.inv.size
        self.rng = np.random.default_rng([cfg.analog.seed, 1 << 20, index])
        self.g = None            # effective conductance matrix G+ - G-, in level units
        self.d = None            # row sums of G+ + G-
        self.scale = 0.0         # matrix units per conductance level
        self.lambda_min = 0.0

    @property
    def stored(self) -> np.ndarray:
        """The matrix the array actually holds, in the units of the programmed matrix."""
        self._need_program()
        return self.g * self.scale

    def program(self, a: np.ndarray) -> None:
        """Map ``a`` (``n x n``, real) onto the differential conductance pair."""
        a = np.asarray(a, dtype=np.float64)
        if a.shape != (self.n, self.n):
            raise InvError(f"an INV array holds a {self.n}x{self.n} matrix, got {a.shape}")
        if not np.isfinite(a).all():
            raise InvError("the matrix has non-finite entries")
        top = self.cfg.inv_level_max
        amax = np.abs(a).max()
        if amax == 0:
            raise InvError("the matrix is all zero")
        self._set(np.clip(np.rint(a / (amax / top)), -top, top), amax / top)

    def program_levels(self, levels: np.ndarray) -> None:
        """Program integer conductance levels directly (one level = one matrix unit)."""
        lv = np.asarray(levels)
        top = self.cfg.inv_level_max
        if lv.shape != (self.n, self.n):
            raise InvError(f"an INV array holds a {self.n}x{self.n} matrix, got {lv.shape}")
        if np.abs(lv).max(initial=0) > top:
            raise InvError(f"levels must lie in -{top}..{top}")
        if not lv.any():
            raise InvError("the matrix is all zero")
        self._set(lv.astype(np.float64), 1.0)

    def _set(self, levels: np.ndarray, scale: float) -> None:
        """Conductances for ``levels`` (with programming variation), then stability checks."""
        self.g = None
        self.scale = scale
        gp, gm = np.maximum(levels, 0), np.maximum(-levels, 0)
        sigma = self.cfg.analog.program_sigma
        if sigma:
            gp = gp * (1 + sigma * self.rng.standard_normal(gp.shape)) * (gp > 0)
            gm = gm * (1 + sigma * self.rng.standard_normal(gm.shape)) * (gm > 0)
        g, d = gp - gm, (gp + gm).sum(axis=1)
        if (d == 0).any():
            rows = np.flatnonzero(d == 0)[:5].tolist()
            raise InvError(f"rows {rows} quantize to all-zero conductances (entries below "
                           f"half a level of the {self.cfg.inv.conductance_bits}-bit range): "
                           "the circuit has no feedback there")
        eig = np.linalg.eigvals(g / d[:, None])
        self.lambda_min = float(eig.real.min())
        if self.lambda_min <= 0:
            raise InvError(
                f"the closed loop is unstable: D^-1 G has an eigenvalue with real part "
                f"{self.lambda_min:.3g} <= 0 after quantization; the INV circuit needs a "
                "positive-definite matrix (add damping, e.g. lambda*I, for ill-conditioned ones)")
        self.g, self.d = g, d

    def program_checked(self, levels: np.ndarray) -> str | None:
        """Program ``levels``; return why the array cannot serve INV (unsolvable, or
        settling beyond ``inv.solve_cycles``), or ``None`` when it can."""
        try:
            self.program_levels(levels)
        except InvError as exc:
            return str(exc)
        settle = self.settle_time_s() * self.cfg.chip.clock_mhz * 1e6
        if settle > self.cfg.inv.solve_cycles:
            return f"settles in {settle:.0f} cycles, beyond inv.solve_cycles " \
                   f"{self.cfg.inv.solve_cycles}"
        return None

    def _need_program(self) -> None:
        if self.g is None:
            raise InvError("the INV array has not been programmed")

    def settle_time_s(self) -> float:
        """Time for the outputs to settle within half an ADC LSB."""
        self._need_program()
        wt = 2 * math.pi * self.cfg.inv.opamp_gbw_mhz * 1e6
        return math.log(2 ** (self.cfg.inv.adc_bits + 1)) / (wt * self.lambda_min)

    def solve(self, b: np.ndarray) -> InvSolve:
        """One-step analog solve of ``A x = b`` through DAC, closed loop and ADC."""
        b = np.asarray(b, dtype=np.float64)
        if b.shape != (self.n,):
            raise InvError(f"the right-hand side must have {self.n} entries, got {b.shape}")
        return InvSolve(self.solve_many(b[:, None])[:, 0], self.settle_time_s())

    def solve_many(self, b: np.ndarray) -> np.ndarray:
        """One analog solve per column of ``b`` (``n x k``): each column is a separate
        operation of the array, with its own DAC and ADC ranges."""
        self._need_program()
        inv = self.cfg.inv
        b = np.asarray(b, dtype=np.float64)
        if b.ndim != 2 or b.shape[0] != self.n:
            raise InvError(f"the right-hand sides must be {self.n} x k, got {b.shape}")
        bq = quantize_symmetric(b, inv.dac_bits, np.abs(b).max(axis=0))
        y = np.linalg.solve(self.g + np.diag(self.d) / inv.opamp_gain, bq)  # closed loop
        yq = quantize_symmetric(y, inv.adc_bits, _pow2_ceil(np.abs(y).max(axis=0)))
        return yq / self.scale

    def vmm(self, x: np.ndarray) -> np.ndarray:
        """Open-loop ``A x`` on the stored matrix, through the same DAC and ADC."""
        self._need_program()
        inv = self.cfg.inv
        x = np.asarray(x, dtype=np.float64)
        xq = quantize_symmetric(x, inv.dac_bits, np.abs(x).max())
        y = self.g @ xq
        return quantize_symmetric(y, inv.adc_bits, _pow2_ceil(np.abs(y).max())) * self.scale
