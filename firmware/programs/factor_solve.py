"""Firmware for one K-FAC factor solve on the chip, refined to >= 16 bits (RePAST).

The factor block ``F`` (``inv.size`` square, symmetric positive definite after damping)
is quantized to 16-bit integers ``A = 256 A_hi + A_lo`` with balanced 8-bit halves.
``A_hi`` is programmed into an INV array; ``A_hi`` and ``A_lo`` are also written, as
INT8 weights, into the crossbars of two APU rows so that the residual is exact:

    x = INV(b) << F-8                                   one-step analog solve
    repeat:  d_k = DIGIT(x, 8k)                         SFU: x's balanced byte digits
             t = sum_k (A_lo d_k) << 8k + (A_hi d_k) << 8k+8   seven VMMs (mod 2^32)
             r = b 2^F - t                              VEC SUB
             x = x + INV(r) >> 8                        INV (shift -8: A ~ 256 A_hi), VEC ADD

``x`` holds ``F`` fraction bits. The residual is exact modulo 2^32, so only its true
value has to fit int32, which fixes the fixed-point format: ``F`` puts the largest
possible ``|x|`` near ``2^X_BITS``. Deviation from RePAST, stated: the VMM half of the
fused crossbar is a copy of ``A_hi`` in ordinary VMM crossbars (the INV array's own open
loop reads through 8-bit converters, too coarse for the residual).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config
from firmware.image import Image, Region, append_words
from firmware.isa import Instruction, SfuFunc, VecFunc
from firmware.mapper import group_delta_words
from firmware.packing import pack, unpack
from firmware.semantics import weights_to_levels

X_BITS = 20        # |x| stays below 2^X_BITS: ~18 bits of result, residual fits int32
HALF = 256         # A = HALF * A_hi + A_lo
TOP = 127 * HALF + 127  # largest |A| whose halves are both balanced INT8
DIGITS = 4         # balanced base-256 digits of an int32


@dataclass(frozen=True)
class FactorSolve:
    """The image, the integers it solves (``a x = b``, ``b`` one column per right-hand
    side), the fraction bits of each column's result (region ``x`` of main memory holds
    ``round(x * 2^frac_bits)``, column after column), the matrix scale (``F ~ a * scale``)
    and the refinement steps programmed per column."""

    image: Image
    a: np.ndarray
    b: np.ndarray
    frac_bits: tuple[int, ...]
    scale: float
    iterations: int


def quantize_factor(f: np.ndarray) -> tuple[np.ndarray, float]:
    """``F`` as integers ``a`` with ``|a| <= TOP`` and the scale with ``F ~ a * scale``."""
    f = np.asarray(f, dtype=np.float64)
    scale = np.abs(f).max() / TOP
    return np.rint(f / scale).astype(np.int64), float(scale)


def split_halves(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a = HALF * hi + lo`` with ``lo`` in -128..127 (balanced) and ``hi`` in -127..127."""
    lo = (a + 128) % HALF - 128
    hi = (a - lo) // HALF
    if np.abs(hi).max(initial=0) > 127:
        raise ValueError(f"entries must lie within +-{TOP} to split into INT8 halves")
    return hi, lo


def fraction_bits(a: np.ndarray, b: np.ndarray) -> int:
    """Fraction bits that put the bound ``||b|| / lambda_min(a)`` on ``|x|`` just below
    ``2^X_BITS`` (the host picks the fixed-point format, it does not solve)."""
    lam = float(np.linalg.eigvalsh((a + a.T) / 2).min())
    if lam <= 0:
        raise ValueError("the factor must be positive definite (add damping)")
    bound = float(np.linalg.norm(b)) / lam
    return int(np.floor(X_BITS - np.log2(bound)))


def factor_solve(cfg: Config, f: np.ndarray, b: np.ndarray, iterations: int = 4,
                 inv: int = 0) -> FactorSolve:
    """Firmware solving ``F x = b`` (``b`` integers, ``n`` or ``n x m`` for ``m``
    right-hand sides solved one after another on the same programmed arrays) on INV
    array ``inv`` with refinement."""
    n = cfg.inv.size
    f, b = np.asarray(f, dtype=np.float64), np.asarray(b, dtype=np.int64)
    cols = b.reshape(n, -1) if b.ndim in (1, 2) and b.shape[0] == n else None
    if f.shape != (n, n) or cols is None:
        raise ValueError(f"the factor must be {n}x{n} and b {n} long or {n} x m (inv.size), "
                         f"got {f.shape} and {b.shape}")
    if n > cfg.crossbar.rows:
        raise ValueError(f"inv.size {n} exceeds crossbar.rows {cfg.crossbar.rows}")
    ncols = -(-n // cfg.weights_per_row)
    if ncols > cfg.apu_cols or cfg.n_apu_rows < 2:
        raise ValueError(f"the residual needs {ncols} crossbars in each of two APU rows; "
                         f"the config has {cfg.n_apu_rows} rows of {cfg.apu_cols}")
    a, scale = quantize_factor(f)
    hi, lo = split_halves(a)
    fracs = tuple(fraction_bits(a, c) for c in cols.T)
    for j, frac in enumerate(fracs):
        if not -31 <= frac - 8 <= 31:
            raise ValueError(f"b column {j} is out of range for a {X_BITS}-bit solution "
                             f"(would need {frac} fraction bits)")

    # Main memory: b, b 2^F (mod 2^32), zeros, A_hi levels, crossbar deltas, the result.
    dram: list[int] = []
    wrap = lambda v: ((v + 2**31) % 2**32) - 2**31  # noqa: E731
    vec_words = cfg.inv_vector_words
    b_dram = [append_words(dram, pack(c, 32, cfg.dram_bits)) for c in cols.T]
    bf_dram = [append_words(dram, pack(wrap(c << frac if frac >= 0 else c >> -frac), 32,
                                       cfg.dram_bits)) for c, frac in zip(cols.T, fracs,
                                                                           strict=True)]
    zero_words = max(vec_words, cfg.input_words)
    zero_dram = append_words(dram, [0] * zero_words)
    levels_dram = append_words(dram, pack(hi.ravel(), 16, cfg.dram_bits))
    erased = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=np.uint8)
    wpr = cfg.weights_per_row
    delta_dram = []
    for half in (lo, hi):   # weights: input j on row j, output i on column i (A^T)
        w = half.T
        tiles = [weights_to_levels(w[:, k * wpr:(k + 1) * wpr], cfg) for k in range(ncols)]
        delta_dram.append(append_words(dram, group_delta_words([erased] * ncols, tiles, cfg,
                                                               range(n))))
    x_dram = append_words(dram, [0] * vec_words * len(fracs))

    # Global buffer: b, b 2^F, x, t, r, c, four digit vectors.
    out_words = ncols * cfg.output_words
    gb = {}
    addr = 0
    for name, words in (("b", vec_words), ("bf", vec_words), ("x", vec_words),
                        ("t", out_words), ("r", vec_words), ("c", vec_words)):
        gb[name] = addr
        addr += words
    digits = [addr + k * cfg.input_words for k in range(DIGITS)]
    if digits[-1] + cfg.input_words > cfg.gb_words:
        raise ValueError(f"the solve needs {digits[-1] + cfg.input_words} GB words, the "
                         f"config has {cfg.gb_words}")
    lo_xbar, hi_xbar = _half_xbars(cfg)

    ins = Instruction.make
    p = [
        ins("INV_WRITE", xbar=inv, dram_addr=levels_dram),
        ins("WRITE_START", xbar=lo_xbar, dram_addr=delta_dram[0], row=0, nrows=n,
            nxbars=ncols),
    ]
    # Digits of rows past n stay zero: the crossbar rows past n hold the weight offset.
    p += [ins("LOAD", gb_addr=d, dram_addr=zero_dram, count=cfg.input_words) for d in digits]
    p += [
        ins("WRITE_START", xbar=hi_xbar, dram_addr=delta_dram[1], row=0, nrows=n,
            nxbars=ncols),
    ]
    for j, frac in enumerate(fracs):
        p += _column(cfg, gb, digits, inv, ncols, iterations, frac, b_dram[j], bf_dram[j],
                     x_dram + j * vec_words)
    p.append(ins("HALT"))
    image = Image.build(cfg, p, dram, regions={
        "x": Region(x_dram, vec_words * len(fracs), 32, vec_words * len(fracs) * (
            cfg.gb_bits // 32))})
    return FactorSolve(image, a, b, fracs, scale, iterations)


def _half_xbars(cfg: Config) -> tuple[int, int]:
    """First crossbars of ``A_lo`` and ``A_hi``: the first two APU rows."""
    return 0, cfg.apu_cols


def _column(cfg: Config, gb: dict[str, int], digits: list[int], inv: int, ncols: int,
            iterations: int, frac: int, b_dram: int, bf_dram: int, x_dram: int
            ) -> list[Instruction]:
    """One right-hand side: load it, one-step solve, refine, store the solution."""
    ins = Instruction.make
    vec_words = cfg.inv_vector_words
    lo_xbar, hi_xbar = _half_xbars(cfg)
    p = [
        ins("LOAD", gb_addr=gb["b"], dram_addr=b_dram, count=vec_words),
        ins("LOAD", gb_addr=gb["bf"], dram_addr=bf_dram, count=vec_words),
        ins("INV", xbar=inv, in_addr=gb["b"], out_addr=gb["x"], shift=frac - 8),
    ]
    for _ in range(iterations):
        p += [ins("SFU", func=SfuFunc.DIGIT, dst=digits[k], src=gb["x"], count=vec_words,
                  shift=8 * k, window=0) for k in range(DIGITS)]
        first = True
        for k in range(DIGITS):
            for xbar, shift in ((lo_xbar, 8 * k), (hi_xbar, 8 * k + 8)):
                if shift < 32:  # a shift by 32 adds nothing modulo 2^32
                    p.append(ins("VMM", xbar=xbar, in_addr=digits[k], out_addr=gb["t"],
                                 accumulate=int(not first), ncols=ncols, shift=shift))
                    first = False
        p += [
            ins("VEC", func=VecFunc.SUB, dst=gb["r"], src_a=gb["bf"], src_b=gb["t"],
                count=vec_words),
            ins("INV", xbar=inv, in_addr=gb["r"], out_addr=gb["c"], shift=-8),
            ins("VEC", func=VecFunc.ADD, dst=gb["x"], src_a=gb["x"], src_b=gb["c"],
                count=vec_words),
        ]
    p.append(ins("STORE", dram_addr=x_dram, gb_addr=gb["x"], count=vec_words))
    return p


def result(fs: FactorSolve, dram: list[int]) -> np.ndarray:
    """The solution of ``a x = b`` from a final main memory (float, shaped like ``b``)."""
    cfg = fs.image.config
    r = fs.image.regions["x"]
    n, vec_words = cfg.inv.size, r.count // len(fs.frac_bits)
    cols = [unpack(dram[r.addr + j * vec_words: r.addr + (j + 1) * vec_words], 32,
                   cfg.dram_bits, n, signed=True) / 2.0 ** frac
            for j, frac in enumerate(fs.frac_bits)]
    x = np.stack(cols, axis=1)
    return x.reshape(fs.b.shape)
