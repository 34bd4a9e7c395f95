"""Mapping of INT8 weight matrices onto crossbars, and the deltas that write them.

How one weight becomes cell levels (offset binary, ``slices_per_weight`` cells of
``cell_bits``) is the ISA's rule, in :mod:`firmware.semantics`; this module tiles whole
layers onto crossbars and packs the row deltas that ``WRITE_START`` streams. Unused rows
and columns are left at level 0, which costs no write pulses from an erased crossbar;
their inputs are zero or their outputs are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config
from firmware.network import Layer
from firmware.packing import pack


def row_delta_words(old: np.ndarray, new: np.ndarray, cfg: Config) -> list[int]:
    """Main-memory words of the signed per-cell deltas ``new - old``, row after row."""
    delta = np.asarray(new, dtype=np.int64) - np.asarray(old, dtype=np.int64)
    words: list[int] = []
    for row in delta:
        words += pack(row, cfg.write.delta_bits, cfg.dram_bits)
    return words


def group_delta_words(old: list[np.ndarray], new: list[np.ndarray], cfg: Config,
                      rows: range | None = None) -> list[int]:
    """Main-memory words of a lockstep group write (``WRITE_START nxbars=len(new)``): for
    each row, every crossbar's deltas in group order."""
    if len(old) != len(new) or not new:
        raise ValueError("a group write needs one old and one new level array per crossbar")
    rows = range(cfg.crossbar.rows) if rows is None else rows
    per_xbar = [np.asarray(n, dtype=np.int64) - np.asarray(o, dtype=np.int64)
                for o, n in zip(old, new, strict=True)]
    words: list[int] = []
    for r in rows:
        for delta in per_xbar:
            words += pack(delta[r], cfg.write.delta_bits, cfg.dram_bits)
    return words


# ---- whole layers: row blocks, segment groups, column groups ---------------------------


@dataclass(frozen=True)
class LayerMap:
    """How one layer's unrolled kernels (``kernel_rows x filters``, row order: filter row,
    filter column, channel) lie on crossbars (ARAS section II-C and III).

    Each kernel is one weight column; its rows are cut into **row blocks** of at most
    ``crossbar.rows``, one APU row each, all computing in parallel on their own input
    segment (``VMM nrows``). Filters are cut into **column groups** of at most
    ``apu_cols * weights_per_row``: one APU row holds one layer's column group, so a
    column group takes ``row_blocks`` APU rows.

    ``segmented`` (feature map in HWC order in the global buffer): a kernel row's
    ``filter_w * channels`` activations are contiguous, so each kernel row gets
    ``seg_group`` row blocks of its own and ``WINDOW seg_group/group_stride`` jumps one
    feature-map row between kernel rows; needs ``channels`` to fill whole words.
    ``im2col``: the window's activations are unrolled by whoever writes them (the host,
    for a network's first layer) into consecutive segments.
    """

    layer: Layer
    mode: str                 # "segmented" or "im2col"
    seg_group: int            # row blocks per kernel row (segmented) or all of them
    row_blocks: int
    col_groups: int
    filters_per_group: int
    group_cols: tuple[int, ...]   # crossbars of each column group's APU rows

    @property
    def apu_rows(self) -> int:
        return self.row_blocks * self.col_groups

    @property
    def crossbars(self) -> int:
        return self.row_blocks * sum(self.group_cols)

    def block_rows(self, k: int, cfg: Config) -> range:
        """Kernel rows held by row block ``k`` (shorter than a crossbar at a kernel
        row's end: the rest of the crossbar holds zero weights)."""
        R = cfg.crossbar.rows
        if self.mode == "im2col":
            return range(k * R, min((k + 1) * R, self.layer.kernel_rows))
        span = self.layer.filter_w * self.layer.channels
        r, j = divmod(k, self.seg_group)
        return range(r * span + j * R, r * span + min((j + 1) * R, span))

    def group_filters(self, g: int) -> range:
        first = g * self.filters_per_group
        return range(first, min(first + self.filters_per_group, self.layer.filters))

    def tile(self, q: np.ndarray, k: int, g: int, c: int, cfg: Config) -> np.ndarray:
        """INT8 weights (``crossbar.rows x weights_per_row``, zero-padded) of crossbar
        ``c`` of column group ``g`` in row block ``k``."""
        wpr = cfg.weights_per_row
        rows = self.block_rows(k, cfg)
        filters = self.group_filters(g)
        cols = range(filters.start + c * wpr, min(filters.start + (c + 1) * wpr, filters.stop))
        block = np.zeros((cfg.crossbar.rows, wpr), dtype=np.int64)
        block[:len(rows), :len(cols)] = q[rows.start:rows.stop, cols.start:cols.stop]
        return block

    def group_stride(self, cfg: Config) -> int:
        """GB words between kernel rows' segments (one feature-map row), segmented mode."""
        return self.layer.ifmap_w * self.layer.channels // cfg.global_buffer.word_bytes


def map_layer(layer: Layer, cfg: Config, im2col: bool = False) -> LayerMap:
    """Tile ``layer`` for ``cfg``; ``im2col`` when its input arrives already unrolled.
    A layer whose channels do not fill whole buffer words must be ``im2col``."""
    R, wb = cfg.crossbar.rows, cfg.global_buffer.word_bytes
    if cfg.data.act_bits != 8:
        raise ValueError("the layer mapper assumes INT8 activations (one byte each)")
    if not im2col and layer.channels % wb:
        raise ValueError(f"layer '{layer.name}': {layer.channels} channels do not fill "
                         f"{wb}-byte buffer words; map it im2col (its input unrolled by the "
                         "host)")
    if im2col:
        seg_group = row_blocks = -(-layer.kernel_rows // R)
        mode = "im2col"
    else:
        seg_group = -(-layer.filter_w * layer.channels // R)
        row_blocks = layer.filter_h * seg_group
        mode = "segmented"
    per_group = cfg.apu_cols * cfg.weights_per_row
    groups = -(-layer.filters // per_group)
    last = layer.filters - (groups - 1) * per_group
    cols = (cfg.apu_cols,) * (groups - 1) + (-(-last // cfg.weights_per_row),)
    return LayerMap(layer, mode, seg_group, row_blocks, groups, per_group, cols)
