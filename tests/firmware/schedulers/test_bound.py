"""ARAS's write bound: every part of every layer written exactly once, in full-chip
group writes, nothing computed, never more writes than naive."""

from __future__ import annotations

import pytest
from nets import CNN, PADDED, STREAMED, TINY, case

from firmware import config
from firmware.isa import Opcode
from firmware.schedulers import naive, write_bound


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
def test_every_weight_is_written_once_in_full_chip_groups(cfg_name: str, net) -> None:
    cfg = config.load(cfg_name)
    qs, _, _ = case(net, 0)
    bound = write_bound(cfg, net, qs)
    assert bound.scheduler == "write-bound" and bound.image is None
    assert all(i.opcode == Opcode.WRITE_START for i in bound.program[:-1])
    assert bound.program[-1].opcode == Opcode.HALT and set(bound.layer_of) == {-1}
    ref = naive(cfg, net, qs)
    # Every crossbar naive writes, written once; each batch from crossbar 0, within the
    # chip, in pieces of consecutive crossbars (one per write engine).
    writes = bound.program[:-1]
    assert sum(i.nxbars for i in writes) == sum(i.nxbars for i in ref.program
                                                if i.opcode == Opcode.WRITE_START)
    assert writes[0].xbar == 0 and all(i.xbar + i.nxbars <= cfg.n_crossbars for i in writes)
    assert all(b.xbar in (0, a.xbar + a.nxbars) for a, b in zip(writes, writes[1:], strict=False))
    layers = [j for w in bound.write_layers for j in w]      # in order, each at least once
    assert layers == sorted(layers) and set(layers) == set(range(len(net.layers)))
    assert len(bound.writes) <= len(ref.writes)


def test_compute_floor_is_every_window_at_crossbar_compute_time() -> None:
    """By hand on `small`: a 1x1 layer of one row block and one APU row of columns takes
    its windows times the bit-planes' time; one row block more than the chip has APU
    rows takes two chip-fulls per window."""
    from firmware.network import Layer, Network
    from firmware.schedulers import compute_floor
    cfg = config.load("small")
    window = cfg.data.act_bits * cfg.crossbar.bitplane_cycles
    filters = cfg.apu_cols * cfg.weights_per_row          # one APU row of crossbars
    fits = Layer("a", 5, 3, 1, 1, cfg.crossbar.rows, filters, 1)     # 15 windows
    assert compute_floor(cfg, Network("n", (fits,), "test")) == 15 * window
    wide = Layer("b", 1, 1, 1, 1, cfg.crossbar.rows * (cfg.n_apu_rows + 1), filters, 1)
    assert compute_floor(cfg, Network("n", (fits, wide), "test")) == (15 + 2) * window


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("tiny", TINY)])
def test_no_schedule_without_replication_beats_the_compute_floor(cfg_name: str, net) -> None:
    from firmware import schedulers
    from firmware.schedulers import compute_floor
    from model.inference import evaluate
    cfg = config.load(cfg_name)
    qs, _, _ = case(net, 0)
    floor = compute_floor(cfg, net)
    for name in ("naive", "baseline", "+banks"):
        assert floor <= evaluate(cfg, schedulers.schedule(cfg, net, qs, name)).cycles
