"""ARAS's baseline scheduler: naive with weight writes overlapping compute."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers import aras
from firmware.schedulers.batching import beside
from firmware.schedulers.layout import two_areas


def baseline(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray | None = None,
             shifts: list[int] | None = None) -> Schedule:
    """Weight writes overlap compute as crossbars free up. Consecutive parts are packed
    into batches (:func:`~firmware.schedulers.batching.beside`), each one lockstep group
    write into the APU rows beside the batch computing before it, issued before that
    batch computes so that it runs in the background; the crossbar scoreboard holds each
    VMM until its own part is written (no barriers). A part that fits beside nothing is
    written after the batch before it has computed. Buffers as naive's."""
    w = aras.Workload.of(cfg, net, qs, x, shifts)
    layout = two_areas(w.geo, w.scratch)
    return aras.program(w, "baseline", layout, beside(w.jobs))
