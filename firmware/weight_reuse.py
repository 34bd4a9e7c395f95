"""ARAS partial weight reuse (section V-C): shift every layer's weights so that their
mean sits at one common centre, so that consecutive layers written into the same cells
agree in their most significant cells and fewer cells change.

The crossbars hold ``clip(q + offset + shift)`` (offset binary, clipped to the cell
range); the chip removes ``(offset + shift) * sum(x)`` instead of ``offset * sum(x)``
(the VMM's ``zero`` field), so unclipped weights compute exactly what the unshifted
network does: the compensation is folded into the digital offset removal, the
de-quantization step of the paper. The first layer is never shifted (ARAS: errors there
cost the most accuracy).

The centre is the one of the middle half of the unsigned range that minimizes the
expected write pulses over the overwrites the schedule makes (which layer's weights
replace which layer's in each crossbar; the shifted INT8 histograms against the
per-pair cell changes of :mod:`firmware.write_plan`), among those that clip at most
``max_clip`` of any layer's weights; no shift at all unless a centre beats it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config
from firmware.write_plan import pair_changes


@dataclass(frozen=True)
class Reuse:
    """Per-layer shifts (0 for the first), the common centre (unsigned weights; 0: no
    shift), the share of each layer's weights clipped (exact), and the expected cell
    changes per weight over the schedule's overwrites before and after shifting (from
    histograms sampled at a stride in large layers)."""

    shifts: tuple[int, ...]
    centre: int
    clipped: tuple[float, ...]
    changes_before: float
    changes_after: float


#: Weights of a layer counted for its histogram: a fixed stride through larger layers.
HISTOGRAM_SAMPLE = 1 << 20


def _histogram(q: np.ndarray, offset: int, zeros: int = 0) -> np.ndarray:
    """Shares of each unsigned weight value ``q + offset`` (256 bins), with ``zeros``
    more zero weights (padding cells written with the layer); layers of more than
    :data:`HISTOGRAM_SAMPLE` weights are counted at a fixed stride."""
    q = np.asarray(q).ravel()
    if q.size > HISTOGRAM_SAMPLE:
        stride = -(-q.size // HISTOGRAM_SAMPLE)
        zeros = zeros // stride
        q = q[::stride]
    if q.dtype == np.int8 and offset == 128:   # count the bytes: no widened copy
        counts = np.bincount(q.view(np.uint8), minlength=256)[np.arange(256) ^ 0x80]
    else:
        counts = np.bincount(q.astype(np.int64) + offset, minlength=256)
    counts[offset] += zeros
    return counts / max(1, counts.sum())


def _shifted(h: np.ndarray, shift: int) -> tuple[np.ndarray, float]:
    """Histogram ``h`` moved by ``shift`` with the ends clipped; the share clipped."""
    n = len(h)
    out = np.zeros_like(h)
    if shift >= 0:
        out[shift:] = h[:n - shift]
        clipped = float(h[n - shift:].sum())
        out[-1] += clipped
    else:
        out[:n + shift] = h[-shift:]
        clipped = float(h[:-shift].sum())
        out[0] += clipped
    return out, clipped


def choose(cfg: Config, qs: list[np.ndarray], overwrites: dict[tuple[int, int], int],
           padding: list[int] | None = None, max_clip: float = 0.005) -> Reuse:
    """The shifts of every layer for ``qs`` (INT8 weights per layer), given how often
    layer ``new``'s weights overwrite layer ``old``'s in a crossbar (``overwrites[old,
    new]``, ``old = -1``: an erased crossbar), as the schedule places them, and the zero
    weights each layer's crossbars hold besides its own (``padding``). No shift at all
    is kept unless some centre is expected to need fewer pulses."""
    if cfg.data.weight_bits != 8:
        raise ValueError("partial weight reuse assumes INT8 weights")
    offset = cfg.weight_offset
    table = pair_changes(cfg).astype(np.float64).reshape(256, 256)
    hists = [_histogram(q, offset, z) for q, z in zip(qs, padding or [0] * len(qs),
                                                       strict=True)]
    erased = np.zeros(256)
    erased[0] = 1.0
    means = [float(h @ np.arange(256)) for h in hists]
    total = max(1, sum(overwrites.values()))

    pairs = np.array([(old, new, n) for (old, new), n in overwrites.items()],
                     dtype=np.int64).reshape(-1, 3)

    def expected(hs: list[np.ndarray]) -> float:
        """Mean cell changes per weight over the schedule's overwrites."""
        rows = np.vstack(hs + [erased])            # the erased crossbar is row -1
        per_old = rows @ table                     # old histogram against every new value
        return float((per_old[pairs[:, 0]] * rows[pairs[:, 1]]).sum(axis=1)
                     @ pairs[:, 2]) / total

    before = expected(hists)
    best = (before, 0, (0,) * len(qs), (0.0,) * len(qs))
    for centre in range(offset // 2, 3 * offset // 2 + 1):   # the middle half
        shifts = (0,) + tuple(int(round(centre - mu)) for mu in means[1:])
        if max(abs(s) for s in shifts) >= offset:
            continue
        moved = [_shifted(h, s) for h, s in zip(hists, shifts, strict=True)]
        clipped = tuple(c for _, c in moved)
        if max(clipped) > max_clip:
            continue
        cost = expected([h for h, _ in moved])
        if cost < best[0]:
            best = (cost, centre, shifts, clipped)
    cost, centre, shifts, _ = best
    # The share clipped, counted exactly on every weight.
    top = 2 * offset - 1
    clipped = tuple(float(np.count_nonzero(np.asarray(q) > top - offset - s)
                          + np.count_nonzero(np.asarray(q) < -offset - s)) / max(1, np.size(q))
                    for q, s in zip(qs, shifts, strict=True))
    return Reuse(shifts, centre, clipped, before, cost)


def stored(q: np.ndarray, shift: int, cfg: Config) -> np.ndarray:
    """The weights a shifted layer computes with: ``clip(q + offset + shift) - offset -
    shift`` (INT8 ``q`` where it is not clipped)."""
    u = np.clip(np.asarray(q, dtype=np.int64) + cfg.weight_offset + shift, 0,
                2 * cfg.weight_offset - 1)
    return u - cfg.weight_offset - shift
