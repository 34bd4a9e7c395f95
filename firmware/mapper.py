"""Mapping of INT8 weight matrices onto crossbar cells, and the deltas that write them.

Signed weights use **offset binary**: ``w + 2^(weight_bits-1)`` is stored unsigned and
split into ``slices_per_weight`` cells of ``cell_bits``, least significant slice first;
weight column ``j`` occupies cell columns ``j*S .. j*S+S-1``. The offset is removed
digitally after shift-and-add (``y = acc - offset * sum(x)``), so every cell level and
every ADC code stays non-negative. Unused rows and columns are left at level 0, which
costs no write pulses from an erased crossbar; their inputs are zero or their outputs
are ignored.
"""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.packing import pack


def weights_to_levels(weights: np.ndarray, cfg: Config) -> np.ndarray:
    """Cell levels (``rows x cols``, uint8) that hold ``weights`` (``k x n``, int8)."""
    w = np.asarray(weights)
    rows, n = w.shape
    if rows > cfg.crossbar.rows or n > cfg.weights_per_row:
        raise ValueError(f"a {rows}x{n} weight block does not fit a crossbar of "
                         f"{cfg.crossbar.rows} rows x {cfg.weights_per_row} weight columns")
    lo, hi = -cfg.weight_offset, cfg.weight_offset - 1
    if w.min(initial=0) < lo or w.max(initial=0) > hi:
        raise ValueError(f"weights must lie in {lo}..{hi}")
    unsigned = (w.astype(np.int64) + cfg.weight_offset)
    levels = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=np.uint8)
    S, b = cfg.slices_per_weight, cfg.crossbar.cell_bits
    for s in range(S):
        levels[:rows, s:n * S:S] = (unsigned >> (b * s)) & (cfg.cell_levels - 1)
    return levels


def levels_to_weights(levels: np.ndarray, cfg: Config) -> np.ndarray:
    """Inverse of :func:`weights_to_levels` over the whole crossbar (int64)."""
    S, b = cfg.slices_per_weight, cfg.crossbar.cell_bits
    lv = np.asarray(levels, dtype=np.int64)
    unsigned = sum(lv[:, s::S] << (b * s) for s in range(S))
    return unsigned - cfg.weight_offset


def row_delta_words(old: np.ndarray, new: np.ndarray, cfg: Config) -> list[int]:
    """Main-memory words of the signed per-cell deltas ``new - old``, row after row."""
    delta = np.asarray(new, dtype=np.int64) - np.asarray(old, dtype=np.int64)
    words: list[int] = []
    for row in delta:
        words += pack(row, cfg.write.delta_bits, cfg.dram_bits)
    return words
