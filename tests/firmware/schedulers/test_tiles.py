"""Weight tiles and deltas: a layer's tiles hold the mapper's weights (offset binary,
zero weights padding, shifted and clipped for partial reuse), a group write's deltas
and row figures are the mapper's and the write plan's, and a batch's new contents keep
every cell whose value cannot matter."""

from __future__ import annotations

import numpy as np
import pytest
from nets import CNN, PADDED, TINY, case

from firmware import config
from firmware.mapper import group_delta_words, map_layer
from firmware.network import Layer
from firmware.schedulers.aras import Workload
from firmware.schedulers.batching import one_per_write
from firmware.schedulers.tiles import Crossbars, WeightTiles, layer_tiles, padding_weights
from firmware.semantics import unsigned_levels
from firmware.write_plan import write_rows


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("tiny", TINY)])
def test_tiles_hold_the_mappers_weights(cfg_name: str, net) -> None:
    cfg = config.load(cfg_name)
    qs, _, _ = case(net, 0)
    for i, layer in enumerate(net.layers):
        lm = map_layer(layer, cfg, im2col=(i == 0))
        tiles = layer_tiles(cfg, lm, qs[i])
        for k in range(lm.row_blocks):
            for g in range(lm.col_groups):
                for c in range(cfg.apu_cols):
                    want = lm.tile(qs[i], k, g, c, cfg) + cfg.weight_offset
                    assert tiles[k, g, :, c].tolist() == want.tolist(), (i, k, g, c)


def test_shifted_tiles_clip_to_the_cell_range() -> None:
    cfg = config.load("small")
    layer = Layer("fc", 1, 1, 1, 1, cfg.crossbar.rows, cfg.weights_per_row, 1)
    lm = map_layer(layer, cfg, im2col=True)
    q = np.full((layer.kernel_rows, layer.filters), 120, dtype=np.int8)
    q[0] = -128
    top = 2 * cfg.weight_offset - 1
    t = layer_tiles(cfg, lm, q, shift=10)[0, 0, :, 0]
    assert t[0].tolist() == [cfg.weight_offset - 128 + 10] * cfg.weights_per_row
    assert set(t[1:].ravel().tolist()) == {top}            # 120 + 128 + 10 clips
    # int8 and wider integer weights map alike.
    assert layer_tiles(cfg, lm, q.astype(np.int64), 10).tolist() == \
        layer_tiles(cfg, lm, q, 10).tolist()


def test_tiles_refuse_wrong_shapes_and_ranges() -> None:
    cfg = config.load("small")
    lm = map_layer(CNN.layers[2], cfg)
    with pytest.raises(ValueError, match=r"weights of shape \(3, 10\); expected \(256, 10\)"):
        layer_tiles(cfg, lm, np.zeros((3, 10), dtype=np.int64))
    with pytest.raises(ValueError, match=r"weights must lie in -128\.\.127"):
        layer_tiles(cfg, lm, np.full((256, 10), 200))


def test_padding_counts_the_zero_rows_a_segment_over_reads() -> None:
    cfg = config.load("small")
    lm = map_layer(CNN.layers[1], cfg)           # 3 x 48-lane kernel rows in 32-row blocks
    assert padding_weights(cfg, lm) == (lm.row_blocks * cfg.crossbar.rows - 144) * 16
    assert padding_weights(cfg, map_layer(CNN.layers[0], cfg, im2col=True)) == 0


def test_a_group_write_streams_the_mappers_deltas_and_costs_the_write_plans() -> None:
    cfg = config.load("small")
    rng = np.random.default_rng(3)
    xb = Crossbars(cfg)
    shape = (cfg.crossbar.rows, 3, cfg.weights_per_row)
    first = rng.integers(0, 256, shape).astype(np.uint8)
    xb.write(2, first, deltas=False)
    second = rng.integers(0, 256, shape).astype(np.uint8)
    rows, words = xb.write(2, second, deltas=True)
    want = group_delta_words([unsigned_levels(first[:, x], cfg) for x in range(3)],
                             [unsigned_levels(second[:, x], cfg) for x in range(3)], cfg)
    assert words == want
    assert rows.changes.tolist() == write_rows(first, second, cfg).changes.tolist()
    assert xb.held[:, 2:5].tolist() == second.tolist() and not xb.held[:, :2].any()
    # Without deltas, only their size.
    assert xb.write(2, first, deltas=False)[1] == len(want)


def test_batch_contents_keep_cells_that_cannot_matter() -> None:
    """The classifier of PADDED (5 filters, partly used crossbar) over crossbars holding
    anything: columns past its last filter keep what they hold."""
    cfg = config.load("small")
    qs, _, _ = case(PADDED, 0)
    w = Workload.of(cfg, PADDED, qs)
    jobs, batches = w.jobs, one_per_write(w.jobs)
    tiles = WeightTiles(cfg, w.geo.maps, qs, [0] * 4)
    held = np.random.default_rng(1).integers(0, 256, Crossbars(cfg).held.shape) \
        .astype(np.uint8)
    j = len(jobs.jobs) - 1                        # the classifier's only part
    first, new = tiles.batch_contents(held, jobs, batches, [j])
    assert first == 0 and new.shape[1] == jobs.rows(j) * cfg.apu_cols
    assert new[:, 0, 5:].tolist() == held[:, 0, 5:].tolist()
    lm = w.geo.maps[3]
    want = lm.tile(qs[3], 0, 0, 0, cfg)[:, :5] + cfg.weight_offset
    assert new[:, 0, :5].tolist() == want.tolist()
