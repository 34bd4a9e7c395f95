"""Buffer layout: per-layer sizes (runs, strides), and both placements keep every
buffer a layer uses at once inside the global buffer without overlap; the two-area
placement refuses what does not fit, the bank placement powers only the used banks."""

from __future__ import annotations

import pytest
from nets import CNN, PADDED, STREAMED, TINY

from firmware import config, network
from firmware.network import Layer, Network
from firmware.schedulers.aras import Workload
from firmware.schedulers.layout import BufferLayout, in_banks, two_areas

CASES = [("small", CNN), ("small", PADDED), ("small", STREAMED), ("tiny", TINY),
         *[("aras", network.builtin(n)) for n in ("vgg16", "resnet50", "bert_base")]]


def _overlaps(layout: BufferLayout, gb_words: int) -> list[str]:
    """Where the buffers one layer uses at once overlap or leave the global buffer."""
    bad = []
    for i in range(len(layout.in_at)):
        spans = sorted((at, at + n, name) for name, at, n in layout.buffers(i))
        bad += [f"layer {i}: {name} [{a}, {b}) outside the buffer"
                for a, b, name in spans if a < 0 or b > gb_words]
        bad += [f"layer {i}: {n1} [{a1}, {b1}) overlaps {n2} from {a2}"
                for (a1, b1, n1), (a2, _, n2) in zip(spans, spans[1:], strict=False)
                if a2 < b1]
    return bad


def test_the_overlap_check_finds_a_broken_layout() -> None:
    w = Workload.of(config.load("small"), PADDED, [None] * 4)
    good = two_areas(w.geo, w.scratch)
    assert _overlaps(good, w.cfg.gb_words) == []
    broken = BufferLayout(**{**good.__dict__, "scratch_at": list(good.in_at)})
    assert "overlaps" in " ".join(_overlaps(broken, w.cfg.gb_words))


@pytest.mark.parametrize(("cfg_name", "net"), CASES, ids=lambda c: getattr(c, "name", c))
def test_live_buffers_never_overlap(cfg_name: str, net: Network) -> None:
    cfg = config.load(cfg_name)
    w = Workload.of(cfg, net, [None] * len(net.layers))
    for layout in (two_areas(w.geo, w.scratch), in_banks(w.geo, w.scratch, w.phase_weights)):
        assert _overlaps(layout, cfg.gb_words) == []
        # A resident map holds the whole map; a streamed one the rows one run reads.
        for i in range(len(net.layers)):
            want = w.geo.map_words(i) if layout.resident[i] else w.geo.rows_words(i)
            assert layout.in_size[i] == want + w.geo.slack(i)


@pytest.mark.parametrize(("cfg_name", "net"), CASES[:4], ids=lambda c: getattr(c, "name", c))
def test_banks_power_exactly_the_banks_of_the_live_buffers(cfg_name: str, net) -> None:
    cfg = config.load(cfg_name)
    w = Workload.of(cfg, net, [None] * len(net.layers))
    layout = in_banks(w.geo, w.scratch, w.phase_weights)
    starts = [lo for lo, _ in cfg.bank_bounds]
    for i, mask in enumerate(layout.masks):
        banks = set()
        for _, at, n in layout.buffers(i):
            k = starts.index(at)                # every buffer starts a bank it fits in
            lo, hi = cfg.bank_bounds[k]
            assert n <= hi - lo
            banks.add(k)
        assert mask == sum(1 << k for k in banks)
    assert two_areas(w.geo, w.scratch).masks == [None] * len(net.layers)


def test_streamed_maps_where_the_buffer_is_too_small() -> None:
    """STREAMED on `small`: the unrolled first layer and the 1x1 layer stream (and, in
    two areas of a third of the buffer each, c2's map too); a layer writes the next map
    directly only when that map is resident, else through its row buffer."""
    cfg = config.load("small")
    w = Workload.of(cfg, STREAMED, [None] * 4)
    banked = in_banks(w.geo, w.scratch, w.phase_weights)
    assert banked.resident == [False, True, False, True]
    assert banked.into_next == [True, False, True, False]
    assert [r > 0 for r in banked.row_size] == [False, True, False, False]
    areas = two_areas(w.geo, w.scratch)
    assert areas.resident == [False, False, False, True]
    assert [r > 0 for r in areas.row_size] == [True, True, False, False]


def test_runs_and_strides() -> None:
    """A run is one output row, or for a one-column map (token sequence) as many
    positions as 1/8 of the buffer holds; an unrolled layer steps whole windows."""
    cfg = config.load("small")
    w = Workload.of(cfg, PADDED, [None] * 4)
    geo = w.geo
    assert geo.runs[:3] == [layer.ofmap_w for layer in PADDED.layers[:3]]
    assert geo.in_stride(0) == geo.maps[0].row_blocks * cfg.input_words
    assert geo.in_stride(1) == 2 * 8 // cfg.global_buffer.word_bytes   # stride x channels
    tokens = Network("tokens", (Layer("q", 64, 1, 1, 1, 16, 16, 1),
                                Layer("k", 64, 1, 1, 1, 16, 16, 1)), "test")
    tg = Workload.of(cfg, tokens, [None] * 2).geo
    assert tg.runs[1] == min(64, cfg.gb_words // 8 // tg.pos_words[1]) > 1


def test_two_areas_refuse_what_does_not_fit() -> None:
    cfg = config.load("tiny")
    big = Network("big", (Layer("c", 40, 40, 1, 1, 1, 8, 1),
                          Layer("fc", 1, 1, 1, 1, 40 * 40 * 8, 4, 1)), "test")
    w = Workload.of(cfg, big, [None] * 2)
    with pytest.raises(ValueError, match=r"big: needs \d+ global-buffer words"):
        two_areas(w.geo, w.scratch)
