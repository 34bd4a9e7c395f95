"""ARAS's +banks scheduler: the baseline with unused global-buffer banks power-gated."""

from __future__ import annotations

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers import aras
from firmware.schedulers.batching import beside
from firmware.schedulers.layout import in_banks


def banks(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray | None = None,
          shifts: list[int] | None = None) -> Schedule:
    """The baseline with each layer's buffers placed in global-buffer banks chosen by an
    integer linear program (:func:`~firmware.schedulers.bank_ilp.select_banks`) and every
    other bank power-gated while the layer runs (``BANK_GATE`` before each layer)."""
    w = aras.Workload.of(cfg, net, qs, x, shifts)
    layout = in_banks(w.geo, w.scratch, w.phase_weights)
    return aras.program(w, "+banks", layout, beside(w.jobs))
