"""ARAS's upper bound on performance: every weight written once, nothing computed."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers import aras
from firmware.schedulers.batching import fill_chip
from firmware.schedulers.emit import Emitter
from firmware.schedulers.tiles import Crossbars, WeightTiles


def write_bound(cfg: Config, net: Network, qs: list[np.ndarray]) -> Schedule:
    """Every weight written once and nothing computed: the parts of all layers packed in
    order into as few lockstep group writes as the APU rows allow. Its time is ARAS's
    upper bound on performance (the lowest time per inference the writes permit)."""
    w = aras.Workload.of(cfg, net, qs)
    jobs, batches = w.jobs, fill_chip(w.jobs)
    em, xbars = Emitter(cfg, materialize=False), Crossbars(cfg)
    tiles = WeightTiles(cfg, w.geo.maps, qs, [0] * len(net.layers))
    for batch in batches.batches:
        aras.write_batch(em, xbars, tiles, jobs, batches, batch)
    return em.finish(net.name, "write-bound", tuple(layer.name for layer in net.layers),
                     replicas=aras.replicas(jobs))
