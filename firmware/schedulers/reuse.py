"""ARAS's +reuse scheduler (all its optimizations): +replication with weights shifted
for partial weight reuse."""

from __future__ import annotations

import numpy as np

from firmware import weight_reuse
from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers import aras
from firmware.schedulers.batching import beside, overwrites
from firmware.schedulers.layout import in_banks
from firmware.schedulers.tiles import padding_weights


def reuse(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray | None = None,
          shifts: list[int] | None = None) -> Schedule:
    """+replication with every layer but the first shifted to a common centre for
    partial weight reuse (:mod:`firmware.weight_reuse`), chosen over the overwrites its
    batches make; the shift is compensated in the VMM's digital offset removal
    (``zero``)."""
    w = aras.Workload.of(cfg, net, qs, x, shifts)
    layout = in_banks(w.geo, w.scratch, w.phase_weights)
    batches = beside(w.jobs, replicate=True)
    shift = weight_reuse.choose(cfg, qs, overwrites(w.jobs, batches),
                                [padding_weights(cfg, lm) for lm in w.geo.maps])
    return aras.program(w, "+reuse", layout, batches, reuse=shift)
