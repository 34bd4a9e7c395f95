"""ARAS's +replication scheduler: +banks with copies of slow layers' weights."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers import aras
from firmware.schedulers.batching import beside
from firmware.schedulers.layout import in_banks


def replication(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray | None = None,
                shifts: list[int] | None = None) -> Schedule:
    """ARAS Algorithm 1, as far as the paper describes it: +banks, and the APU rows a
    batch leaves free are given to copies of its slowest layers' weights, each copy
    computing other windows in parallel (``VMM replicas``), the slowest layer first,
    until the batch computes no longer than the next write takes or no rows are left
    (:func:`~firmware.schedulers.batching.replicate_slowest`)."""
    w = aras.Workload.of(cfg, net, qs, x, shifts)
    layout = in_banks(w.geo, w.scratch, w.phase_weights)
    return aras.program(w, "+replication", layout, beside(w.jobs, replicate=True))
