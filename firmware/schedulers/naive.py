"""ARAS's naive scheduler (Fig. 7): write a part's weights, wait, compute it."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers import aras
from firmware.schedulers.batching import one_per_write
from firmware.schedulers.layout import two_areas


def naive(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray | None = None,
          shifts: list[int] | None = None) -> Schedule:
    """For each part of each layer, write its weights (one lockstep group write), wait,
    then compute every window; ReLU and REQUANT in the SFU between layers. The first
    layer's input is unrolled (im2col) by the host; the others read their HWC map
    through segment groups. The last layer's int32 outputs are stored to main memory
    (region ``outputs``). Buffers in two activation areas.

    With an input ``x`` (and REQUANT ``shifts``) main memory is filled in and the
    schedule carries an image that computes the network; without, only the program and
    its writes' row figures (full chip scale)."""
    w = aras.Workload.of(cfg, net, qs, x, shifts)
    layout = two_areas(w.geo, w.scratch)
    return aras.program(w, "naive", layout, one_per_write(w.jobs), sync_writes=True)
