"""Layer tiling: row blocks, segment groups and column groups reproduce the convolution."""

from __future__ import annotations

import numpy as np
import pytest

from firmware import config, mapper, network
from firmware.isa import Window
from firmware.network import Layer


def _conv_reference(x: np.ndarray, q: np.ndarray, layer: Layer, oy: int, ox: int
                    ) -> np.ndarray:
    """Direct convolution at one output position; ``x`` is H x W x C."""
    s = layer.stride
    patch = x[oy * s: oy * s + layer.filter_h, ox * s: ox * s + layer.filter_w, :]
    return patch.reshape(-1) @ q


@pytest.mark.parametrize("layer", [
    Layer("c3", 7, 9, 3, 3, 16, 20, 2),     # kernel rows of 48 lanes: 2 blocks each
    Layer("c1", 6, 6, 1, 1, 40, 9, 1),      # 1x1 over 40 channels: 2 blocks, 1 group
    Layer("wide", 5, 5, 3, 3, 8, 3, 1),     # 24-lane kernel rows, fewer filters than a xbar
    Layer("fc", 1, 1, 1, 1, 72, 17, 1),
])
def test_segmented_tiles_reproduce_the_convolution(tiny: config.Config, layer: Layer) -> None:
    """Sum over row blocks of (segment read as the VMM addresses it) x (tile weights)
    equals the convolution, for every column group and crossbar."""
    cfg = tiny
    rng = np.random.default_rng(5)
    q = rng.integers(-128, 128, (layer.kernel_rows, layer.filters))
    x = rng.integers(-128, 128, (layer.ifmap_h, layer.ifmap_w, layer.channels))
    lm = mapper.map_layer(layer, cfg)
    assert lm.mode == "segmented"
    wb, R, wpr = cfg.global_buffer.word_bytes, cfg.crossbar.rows, cfg.weights_per_row
    # The feature map as the global buffer holds it (HWC bytes), with slack after it:
    # a kernel row's last segment reads past the row (into zero-weight crossbar rows).
    flat = np.concatenate([x.reshape(-1), rng.integers(-128, 128, lm.row_blocks * R)])
    win = Window(seg_group=lm.seg_group, group_stride=lm.group_stride(cfg))
    iw = cfg.input_words
    for oy in range(layer.ofmap_h):
        for ox in range(layer.ofmap_w):
            start = (oy * layer.stride * layer.ifmap_w + ox * layer.stride) * layer.channels
            assert start % wb == 0
            want = _conv_reference(x, q, layer, oy, ox)
            got = np.zeros(layer.filters, dtype=np.int64)
            for g in range(lm.col_groups):
                for c in range(lm.group_cols[g]):
                    for k in range(lm.row_blocks):
                        seg = start + win.segment(k, iw) * wb
                        y = flat[seg: seg + R] @ lm.tile(q, k, g, c, cfg)
                        first = g * lm.filters_per_group + c * wpr
                        n = min(wpr, layer.filters - first)
                        got[first: first + n] += y[:n]
            assert got.tolist() == want.tolist()


def test_im2col_and_sizes(tiny: config.Config) -> None:
    layer = network.Layer("first", 10, 10, 3, 3, 3, 40, 1)     # 3 channels: not word-sized
    with pytest.raises(ValueError, match="3 channels do not fill 8-byte buffer words"):
        mapper.map_layer(layer, tiny)
    lm = mapper.map_layer(layer, tiny, im2col=True)
    R = tiny.crossbar.rows
    assert lm.row_blocks == -(-27 // R) and lm.mode == "im2col"
    per_group = tiny.apu_cols * tiny.weights_per_row
    assert lm.col_groups == -(-40 // per_group)
    assert sum(lm.group_cols) * tiny.weights_per_row >= 40
    assert lm.apu_rows == lm.row_blocks * lm.col_groups
    rng = np.random.default_rng(1)
    q = rng.integers(-128, 128, (layer.kernel_rows, layer.filters))
    # Every weight lands in exactly one tile.
    total = sum(np.abs(lm.tile(q, k, g, c, tiny)).sum() for g in range(lm.col_groups)
                for c in range(lm.group_cols[g]) for k in range(lm.row_blocks))
    assert total == np.abs(q).sum()


def test_aras_mapping_of_a_vgg_layer() -> None:
    cfg = config.load("aras")
    conv = next(layer for layer in network.builtin("vgg16").layers if layer.name == "conv4_2")
    lm = mapper.map_layer(conv, cfg)
    # 3 x (3 * 512) lanes = 3 kernel rows of 12 blocks; 512 filters = 4 groups of 128.
    assert (lm.seg_group, lm.row_blocks, lm.col_groups) == (12, 36, 4)
    assert lm.crossbars == 36 * 16 and lm.apu_rows == 144
