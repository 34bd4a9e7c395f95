"""What a weight write streams and what it costs, computed offline by the scheduler.

The scheduler tracks what every crossbar holds as **unsigned weights** (``w + offset``
per weight column, 0 for an erased crossbar, whose cells are all at level 0). A lockstep
group write turns the crossbars' old contents into new ones; per crossbar row it needs
the cell deltas (streamed from main memory) and costs, in levels, the largest decrease
and increase of any cell of the group (the two phases wait for their slowest cell), the
sum of all level changes (pulses) and the unchanged cells (skipped). Those row figures
come from 64 Ki-entry tables indexed by ``(old << 8) | new`` over weight pairs, so that a
whole network's writes (hundreds of millions of weights) take seconds, not minutes.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from firmware.config import Config
from firmware.plan import WriteRows


@cache
def _pair_tables(cell_bits: int, slices: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables over every (old, new) unsigned weight pair, index ``(old << 8) | new``.

    ``present``: one bit per level decrease ``d`` that some cell of the pair makes (bit
    ``d``) and per increase (bit ``levels + d``); OR-ing a row's entries and taking the
    highest set bits gives its slowest cells. ``changes``: the sum of the cells' level
    changes."""
    levels = 1 << cell_bits
    old = np.arange(256, dtype=np.int64)[:, None]
    new = np.arange(256, dtype=np.int64)[None, :]
    present = np.zeros((256, 256), dtype=np.int64)
    changes = np.zeros((256, 256), dtype=np.int64)
    for s in range(slices):
        d = ((new >> (cell_bits * s)) & (levels - 1)) - ((old >> (cell_bits * s)) & (levels - 1))
        present |= np.where(d < 0, 1 << -d, 0) | np.where(d > 0, 1 << (levels + d), 0)
        changes += np.abs(d)
    dtype = np.uint8 if 2 * levels <= 8 else np.uint16 if 2 * levels <= 16 else np.uint32
    return present.astype(dtype).ravel(), changes.astype(np.uint8).ravel()


def pair_changes(cfg: Config) -> np.ndarray:
    """Sum of cell level changes for every (old, new) unsigned weight pair, index
    ``(old << 8) | new``."""
    return _pair_tables(cfg.crossbar.cell_bits, cfg.slices_per_weight)[1]


def _highest_bit(x: np.ndarray) -> np.ndarray:
    """Index of the highest set bit of each element (0 for 0 and 1)."""
    out = np.zeros(x.shape, dtype=np.int64)
    x = x.astype(np.int64)
    while (x > 1).any():
        more = x > 1
        out += more
        x = np.where(more, x >> 1, x)
    return out


def write_rows(old: np.ndarray, new: np.ndarray, cfg: Config) -> WriteRows:
    """Row figures of a group write from unsigned weights ``old`` to ``new`` (both
    ``rows x crossbars x weight columns``, uint8: row-major, so that each row's figures
    reduce contiguous memory)."""
    if old.shape != new.shape or old.ndim != 3:
        raise ValueError(f"old and new contents must be equal-shape rows x crossbars x "
                         f"columns arrays, got {old.shape} and {new.shape}")
    present_t, changes_t = _pair_tables(cfg.crossbar.cell_bits, cfg.slices_per_weight)
    pair = old.astype(np.uint16)
    pair <<= 8
    pair |= new
    pair = pair.reshape(old.shape[0], -1)
    present = np.bitwise_or.reduce(present_t[pair], axis=1)
    levels = cfg.cell_levels
    return WriteRows(
        dec=_highest_bit(present & ((1 << levels) - 1)),
        inc=_highest_bit(present >> levels),
        changes=changes_t[pair].sum(axis=1, dtype=np.int64),
    )
