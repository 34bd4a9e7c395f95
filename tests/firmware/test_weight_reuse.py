"""Partial weight reuse's choice of shifts: layers aligned at one centre, the first left
alone, no shift that clips too much (the +reuse scheduler itself:
``tests/firmware/schedulers/test_reuse.py``)."""

from __future__ import annotations

import numpy as np

from firmware import config, weight_reuse


def _layers(zero_points: list[int], n: int = 4000, seed: int = 0) -> list[np.ndarray]:
    """Bell-shaped INT8 layers peaking at different codes, as deployed networks have."""
    rng = np.random.default_rng(seed)
    return [np.clip(np.round(rng.laplace(z, 12, n)), -128, 127).astype(np.int8)
            for z in zero_points]


def test_centre_aligns_layers_and_leaves_the_first() -> None:
    cfg = config.load("aras")
    qs = _layers([-40, 25, -10, 50])
    chain = {(i, i + 1): 10 for i in range(3)}
    r = weight_reuse.choose(cfg, qs, chain)
    assert r.shifts[0] == 0 and any(r.shifts[1:])
    assert r.changes_after < 0.9 * r.changes_before
    assert max(r.clipped) <= 0.005
    means = [float(weight_reuse.stored(q, s, cfg).mean()) + s for q, s in zip(qs, r.shifts,
                                                                               strict=True)]
    assert max(means[1:]) - min(means[1:]) < 2       # all but the first at one centre


def test_no_shift_that_clips_more_than_allowed() -> None:
    """Layers that reach both ends of the INT8 range clip under any shift: with no
    clipping allowed they stay where they are."""
    cfg = config.load("aras")
    qs = _layers([-30, 20, 40])
    for q in qs:
        q[:2] = (-128, 127)
    chain = {(0, 1): 5, (1, 2): 5}
    assert weight_reuse.choose(cfg, qs, chain, max_clip=0.0).shifts == (0, 0, 0)
    assert weight_reuse.choose(cfg, qs, chain).shifts != (0, 0, 0)
