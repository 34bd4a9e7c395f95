"""ARAS's upper bound on performance (every weight written once, nothing computed) and
the compute floor beside it (every window at crossbar compute time, nothing written): a
network's time per inference is at least the larger of the two."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers import aras
from firmware.schedulers.batching import Jobs, fill_chip
from firmware.schedulers.emit import Emitter
from firmware.schedulers.tiles import Crossbars, WeightTiles


def write_bound(cfg: Config, net: Network, qs: list[np.ndarray]) -> Schedule:
    """Every weight written once and nothing computed: the parts of all layers packed in
    order into as few full-chip batches as the APU rows allow, each batch one lockstep
    group write per write engine (all crossbars writing in parallel, each engine at its
    share of the bandwidth). Its time is ARAS's upper bound on performance (the lowest
    time per inference the writes permit)."""
    w = aras.Workload.of(cfg, net, qs)
    jobs, batches = w.jobs, fill_chip(w.jobs)
    em, xbars = Emitter(cfg, materialize=False), Crossbars(cfg)
    tiles = WeightTiles(cfg, w.geo.maps, qs, [0] * len(net.layers))
    for batch in batches.batches:
        aras.write_batch(em, xbars, tiles, jobs, batches, batch, cfg.write.engines)
    return em.finish(net.name, "write-bound", tuple(layer.name for layer in net.layers),
                     replicas=aras.replicas(jobs))


def compute_floor(cfg: Config, net: Network) -> int:
    """Cycles of every window of every layer at the crossbars' compute time (all input
    bit-planes), without replication: a layer whose parts need more APU rows than the chip
    has runs its windows once per chip-full of parts. Loads, drains, glue and writes are
    free, so no schedule on ``cfg`` that does not replicate weights is faster than this
    (replication computes several windows at once and can beat it)."""
    jobs = Jobs.of(aras.geometry(cfg, net, False))
    window = cfg.data.act_bits * cfg.crossbar.bitplane_cycles
    rows = [0] * len(net.layers)
    for j, (i, _) in enumerate(jobs.jobs):
        rows[i] += jobs.rows(j)
    return sum(layer.windows * -(-r // cfg.n_apu_rows) * window
               for layer, r in zip(net.layers, rows, strict=True))
