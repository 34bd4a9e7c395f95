"""Weight tiles and deltas: each layer's INT8 weights as the unsigned weights of every
crossbar they fill, what every crossbar holds as the program writes, and what one
lockstep group write streams (its deltas) and costs (its row figures, offline)."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.mapper import LayerMap, group_delta_words
from firmware.plan import WriteRows
from firmware.schedulers.batching import Batches, Jobs
from firmware.semantics import unsigned_levels
from firmware.write_plan import write_rows


def layer_tiles(cfg: Config, lm: LayerMap, q: np.ndarray, shift: int = 0) -> np.ndarray:
    """Unsigned weights of every crossbar of the layer ``lm`` with INT8 weights ``q``:
    (row block, column group, crossbar row, crossbar of the APU row, weight column), zero
    weights padding; ``shift`` moves every weight (partial reuse: clipped to the cell
    range)."""
    R, wpr, ac = cfg.crossbar.rows, cfg.weights_per_row, cfg.apu_cols
    q = np.asarray(q)
    if q.shape != (lm.layer.kernel_rows, lm.layer.filters):
        raise ValueError(f"layer '{lm.layer.name}': weights of shape {q.shape}; expected "
                         f"{(lm.layer.kernel_rows, lm.layer.filters)}")
    lo, hi = -cfg.weight_offset, cfg.weight_offset - 1
    if q.size and (q.min() < lo or q.max() > hi):
        raise ValueError(f"layer '{lm.layer.name}': weights must lie in {lo}..{hi}")
    # Row block k's rows, then zero weights; column groups take consecutive filters,
    # so columns need no gather. Unsigned weights come from a 256-entry table over
    # the INT8 byte: q + offset, or with partial weight reuse clip(q + offset + shift).
    top = 2 * cfg.weight_offset - 1
    signed_byte = np.arange(256, dtype=np.int64)
    signed_byte[signed_byte >= 128] -= 256
    lut = np.clip(signed_byte + cfg.weight_offset + shift, 0, top).astype(np.uint8)
    raw = q.view(np.uint8) if q.dtype == np.int8 else \
        (q.astype(np.int64) & 0xFF).astype(np.uint8)
    width = lm.col_groups * ac * wpr
    padded = np.full((lm.row_blocks, R, width), cfg.weight_offset + shift, dtype=np.uint8)
    for k in range(lm.row_blocks):
        r = lm.block_rows(k, cfg)
        padded[k, :len(r), :q.shape[1]] = lut[raw[r.start:r.stop]]
    return padded.reshape(lm.row_blocks, R, lm.col_groups, ac, wpr).transpose(0, 2, 1, 3, 4)


def padding_weights(cfg: Config, lm: LayerMap) -> int:
    """Zero weights written with a layer besides its own: the rows a segment over-reads
    (segmented layers), under every filter column."""
    if lm.mode == "im2col":
        return 0
    return (lm.row_blocks * cfg.crossbar.rows - lm.layer.kernel_rows) * lm.layer.filters


class Crossbars:
    """What every crossbar holds, as unsigned weights (row-major: crossbar row,
    crossbar, weight column; 0 erased), and the group writes that change it."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.held = np.zeros((cfg.crossbar.rows, cfg.n_crossbars, cfg.weights_per_row),
                             dtype=np.uint8)

    def write(self, first: int, new: np.ndarray, deltas: bool
              ) -> tuple[WriteRows, list[int] | int]:
        """Turn crossbars ``first..`` into ``new`` (rows x crossbars x columns) in one
        lockstep group write: its row figures, and its deltas' main-memory words (with
        ``deltas``; else only how many words they take)."""
        cfg = self.cfg
        n_xbars = new.shape[1]
        old = self.held[:, first:first + n_xbars]
        rows = write_rows(old, new, cfg)
        if deltas:
            words: list[int] | int = group_delta_words(
                [unsigned_levels(old[:, x], cfg) for x in range(n_xbars)],
                [unsigned_levels(new[:, x], cfg) for x in range(n_xbars)], cfg)
        else:
            words = cfg.crossbar.rows * n_xbars * cfg.delta_row_words
        self.held[:, first:first + n_xbars] = new
        return rows, words


class WeightTiles:
    """Every layer's tiles (:func:`layer_tiles`) with its weight shift, the last layer's
    kept (a layer's parts are written one after another)."""

    def __init__(self, cfg: Config, maps: list[LayerMap], qs: list[np.ndarray],
                 shifts: list[int]) -> None:
        self.cfg, self.maps, self.qs, self.shifts = cfg, maps, qs, shifts
        self._last: tuple[int, np.ndarray | None] = (-1, None)

    def of(self, i: int) -> np.ndarray:
        if self._last[0] != i:
            self._last = (i, layer_tiles(self.cfg, self.maps[i], self.qs[i], self.shifts[i]))
        return self._last[1]

    def batch_contents(self, held: np.ndarray, jobs: Jobs, batches: Batches,
                       batch: list[int]) -> tuple[int, np.ndarray]:
        """The first crossbar and new contents of one group write of the jobs in
        ``batch``, placed one after another from their first job's APU row; cells whose
        value cannot matter keep what ``held`` has there (no pulses)."""
        cfg, ac = self.cfg, self.cfg.apu_cols
        R, wpr = cfg.crossbar.rows, cfg.weights_per_row
        base = batches.bases[batch[0]]
        first = base * ac
        n_xbars = sum(jobs.rows(j) for j in batch) * ac
        new = held[:, first:first + n_xbars].copy()
        for j in batch:
            i = jobs.jobs[j][0]
            lm, tiles, at = self.maps[i], self.of(i), (batches.bases[j] - base) * ac
            for (g, k, _), a in jobs.apu_rows(j).items():
                n = lm.group_cols[g]
                x0 = at + a * ac
                # Cells whose value cannot matter keep what they hold: rows past the
                # kernel where the inputs are zero (unrolled inputs), columns past the
                # last filter (outputs nobody reads). Rows a segment over-reads hold zero
                # weights.
                rows = len(lm.block_rows(k, cfg)) if lm.mode == "im2col" else R
                f = lm.group_filters(g)
                cols = [min(wpr, len(f) - c * wpr) for c in range(n)]
                if rows == R and all(c == wpr for c in cols):
                    new[:, x0: x0 + n] = tiles[k, g, :, :n]
                    continue
                for c, width in enumerate(cols):
                    new[:rows, x0 + c, :width] = tiles[k, g, :rows, c, :width]
        return first, new
