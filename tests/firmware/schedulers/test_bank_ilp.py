"""The bank ILP: its placement is optimal (against a brute force over every placement on
small cases) and it refuses what cannot be placed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from firmware import config
from firmware.schedulers.bank_ilp import select_banks


def _cost(caps: list[int], sizes: list[int], live: list[list[int]], weights: list[float],
          bank_of: tuple[int, ...]) -> float | None:
    """Powered capacity of a placement weighted by phase, or None if it is not one:
    a buffer larger than its bank, or two live buffers sharing a bank."""
    if any(sizes[b] > caps[k] for b, k in enumerate(bank_of)):
        return None
    total = 0.0
    for t, bufs in enumerate(live):
        banks = [bank_of[b] for b in bufs]
        if len(set(banks)) < len(banks):
            return None
        total += weights[t] * sum(caps[k] for k in set(banks))
    return total


def _brute_force(caps, sizes, live, weights) -> float | None:
    costs = [c for p in itertools.product(range(len(caps)), repeat=len(sizes))
             if (c := _cost(caps, sizes, live, weights, p)) is not None]
    return min(costs) if costs else None


def test_the_brute_force_rejects_what_is_not_a_placement() -> None:
    """The reference itself: oversized buffers and shared banks are not placements."""
    caps = [64, 64, 128, 256]
    assert _cost(caps, [200], [[0]], [1.0], (0,)) is None
    assert _cost(caps, [10, 10], [[0, 1]], [1.0], (1, 1)) is None
    assert _cost(caps, [10, 10], [[0, 1]], [2.0], (0, 1)) == 256.0


def test_bank_selection_is_the_ilp_optimum_by_hand() -> None:
    """Banks of 64/64/128/256 words (`small`): a 200-word buffer only fits the last bank;
    a 10-word one live with it takes a smallest bank; alone later it may share."""
    cfg = config.load("small")
    assert [hi - lo for lo, hi in cfg.bank_bounds] == [64, 64, 128, 256]
    got = select_banks(cfg, [200, 10, 100], [[0, 1], [1, 2]], [1.0, 1.0])
    assert got[0] == 3 and got[1] in (0, 1) and got[2] == 2
    with pytest.raises(ValueError, match="no bank placement"):
        select_banks(cfg, [200, 220], [[0, 1]], [1.0])


@pytest.mark.parametrize("seed", range(12))
def test_placement_is_optimal_against_a_brute_force(seed: int) -> None:
    """Random buffers (up to 5), phases (up to 4, each up to 3 live buffers) and weights
    on `small`'s four banks: the ILP's placement is valid and as cheap as the best."""
    cfg = config.load("small")
    caps = [hi - lo for lo, hi in cfg.bank_bounds]
    rng = np.random.default_rng(seed)
    nb = int(rng.integers(2, 6))
    sizes = [int(s) for s in rng.integers(1, max(caps) + 1, nb)]
    live = [sorted(rng.choice(nb, int(rng.integers(1, min(3, nb) + 1)), replace=False)
                   .tolist()) for _ in range(int(rng.integers(1, 5)))]
    weights = [float(w) for w in rng.integers(1, 20, len(live))]
    best = _brute_force(caps, sizes, live, weights)
    if best is None:
        with pytest.raises(ValueError, match="no bank placement"):
            select_banks(cfg, sizes, live, weights)
        return
    got = tuple(select_banks(cfg, sizes, live, weights))
    assert _cost(caps, sizes, live, weights, got) == pytest.approx(best)
