"""High-precision inversion from low-precision analog parts (RePAST, HP-INV style).

Two primitives only: the ~8-bit analog INV array (:mod:`model.analog.inv_array`) and a
bit-sliced VMM that computes residuals with ``vmm_weight_bits`` of matrix and
``vmm_input_bits`` of vector precision. Iterative refinement
``x += INV(b - A x)`` gains about ``-log2(kappa * eps_inv)`` bits per step while
``kappa * eps_inv < 1``; with an exact INV of ``A_H`` it is RePAST's Neumann series
``x = sum_k (-A_H^-1 A_L)^k A_H^-1 b``. For ill-conditioned matrices the analog INV
serves instead as the preconditioner of flexible conjugate gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firmware.config import Config
from model.analog.inv_array import InvArray, InvError

SLICE_BITS = 16  # integer slices whose products are exact in int64 for n <= 2^30


class BitSlicedVMM:
    """``A x`` as bit-sliced crossbars compute it: ``A`` and ``x`` as signed fixed point,
    integer products exact (ideal per-slice ADCs), recombined digitally."""

    def __init__(self, a: np.ndarray, weight_bits: int, input_bits: int):
        a = np.asarray(a, dtype=np.float64)
        self.shape = a.shape
        top = (1 << (weight_bits - 1)) - 1
        self.a_scale = np.abs(a).max() / top if np.abs(a).max() else 1.0
        self.a_slices = self._slices(np.rint(a / self.a_scale).astype(object), weight_bits)
        self.input_bits = input_bits

    @staticmethod
    def _slices(ints: np.ndarray, bits: int) -> list[np.ndarray]:
        """Split signed integers into SLICE_BITS-bit slices (the top one signed)."""
        out, rest = [], ints
        for _ in range(-(-bits // SLICE_BITS)):
            low = rest % (1 << SLICE_BITS)
            out.append(np.asarray(low, dtype=np.int64))
            rest = (rest - low) // (1 << SLICE_BITS)
        out[-1] = out[-1] + np.asarray(rest, dtype=np.int64) * (1 << SLICE_BITS)
        return out

    @property
    def stored(self) -> np.ndarray:
        """The matrix as the sliced crossbars hold it."""
        return sum(s.astype(np.float64) * 2.0 ** (SLICE_BITS * k)
                   for k, s in enumerate(self.a_slices)) * self.a_scale

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        xmax = np.abs(x).max()
        if xmax == 0:
            return np.zeros(self.shape[0])
        top = (1 << (self.input_bits - 1)) - 1
        x_scale = xmax / top
        x_slices = self._slices(np.rint(x / x_scale).astype(object), self.input_bits)
        total = np.zeros(self.shape[0])
        for i, a_s in enumerate(self.a_slices):
            for j, x_s in enumerate(x_slices):
                total += (a_s @ x_s).astype(np.float64) * 2.0 ** (SLICE_BITS * (i + j))
        return total * (self.a_scale * x_scale)


@dataclass
class Convergence:
    """Relative error ``||x_k - x*|| / ||x*||`` after each iteration (``x*`` is the float64
    solution) and the iterations each accuracy target took (``None``: not reached)."""

    errors: list[float] = field(default_factory=list)
    x: np.ndarray | None = None

    def iterations_to(self, tol: float) -> int | None:
        return next((k + 1 for k, e in enumerate(self.errors) if e <= tol), None)

    @property
    def bits(self) -> list[float]:
        return [-np.log2(max(e, 1e-300)) for e in self.errors]


def program_stable(a: np.ndarray, cfg: Config, max_doublings: int = 40) -> tuple[InvArray, float]:
    """Program ``a`` into an INV array, adding the smallest shift ``mu * I`` (doubling from
    one conductance level) that keeps the quantized closed loop stable; return the array
    and ``mu`` (0 when ``a`` itself is fine). The shift also gives feedback to rows whose
    entries all quantize to zero. Used as a preconditioner, the shift costs iterations,
    not accuracy: residuals still come from the exact ``a``."""
    inv = InvArray(cfg)
    try:
        inv.program(a)
        return inv, 0.0
    except InvError as exc:
        if "unstable" not in str(exc) and "no feedback" not in str(exc):
            raise
        step = np.abs(a).max() / cfg.inv_level_max
    eye = np.eye(a.shape[0])
    for k in range(max_doublings):
        mu = step * 2.0**k
        try:
            inv.program(a + mu * eye)
            return inv, mu
        except InvError:
            continue
    raise InvError(f"no shift up to {step * 2.0**max_doublings:.3g} stabilizes the INV array")


def _tools(a: np.ndarray, cfg: Config, inv: InvArray | None) -> tuple[InvArray, BitSlicedVMM]:
    if inv is None:
        inv = InvArray(cfg)
        inv.program(a)
    vmm = BitSlicedVMM(a, cfg.refinement.vmm_weight_bits, cfg.refinement.vmm_input_bits)
    return inv, vmm


def refine(a: np.ndarray, b: np.ndarray, cfg: Config, iterations: int = 30,
           inv: InvArray | None = None) -> Convergence:
    """Iterative refinement: residual by bit-sliced VMM, correction by the analog INV."""
    inv, vmm = _tools(a, cfg, inv)
    x_true = np.linalg.solve(a, b)
    norm = np.linalg.norm(x_true)
    x = np.zeros_like(x_true)
    out = Convergence()
    for _ in range(iterations):
        r = b - vmm(x)
        if not np.abs(r).max():
            out.errors.append(np.linalg.norm(x - x_true) / norm)
            continue
        x = x + inv.solve(r).x
        out.errors.append(float(np.linalg.norm(x - x_true) / norm))
    out.x = x
    return out


def flexible_cg(a: np.ndarray, b: np.ndarray, cfg: Config, iterations: int = 30,
                inv: InvArray | None = None) -> Convergence:
    """Conjugate gradients preconditioned by the analog INV (SPD ``a``).

    The analog preconditioner is not exactly linear nor symmetric (quantization, gain
    error), so the flexible (Polak-Ribiere) form of the direction update is used.
    Each iteration costs one bit-sliced VMM and one analog solve; the residual is
    recomputed by VMM, not updated, so it cannot drift below the VMM's precision. Once at
    that floor the noisy preconditioner makes the iterates wander, so the solver returns
    (and the errors record) the iterate with the smallest residual norm so far, which
    the digital side knows exactly.
    """
    inv, vmm = _tools(a, cfg, inv)
    x_true = np.linalg.solve(a, b)
    norm = np.linalg.norm(x_true)
    x = np.zeros_like(x_true)
    r = b.astype(np.float64)
    best_x, best_r = x, float(np.linalg.norm(r))
    z = inv.solve(r).x
    p = z.copy()
    out = Convergence()
    for _ in range(iterations):
        q = vmm(p)
        pq = float(p @ q)
        zr = float(z @ r)
        if pq > 0 and zr != 0 and np.isfinite(pq):
            x = x + (zr / pq) * p
            r_new = b - vmm(x)
            rn = float(np.linalg.norm(r_new))
            if rn < best_r:
                best_x, best_r = x, rn
            if rn:
                z_new = inv.solve(r_new).x
                beta = float(z_new @ (r_new - r)) / zr
                p = z_new + max(beta, 0.0) * p
                r, z = r_new, z_new
        out.errors.append(float(np.linalg.norm(best_x - x_true) / norm))
    out.x = best_x
    return out


def random_spd(n: int, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """A random symmetric positive-definite ``n x n`` matrix with condition number ``kappa``
    (eigenvalues log-spaced from 1 down to ``1/kappa``)."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.logspace(0, -np.log10(kappa), n)
    a = (q * eig) @ q.T
    return (a + a.T) / 2
