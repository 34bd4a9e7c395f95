"""Schedulers: turn a workload into a program and a main-memory image.

One module per scheduler: ARAS's five network schedulers (:mod:`.naive`,
:mod:`.baseline`, :mod:`.banks` for ``+banks``, :mod:`.replication`, :mod:`.reuse`),
BasisN's (:mod:`.basisn`), ARAS's write bound (:mod:`.bound`) and the single-VMM slice
(:mod:`.slice`). They are composed from shared pieces, each tested on its own: the
buffer layout (:mod:`.layout`), the bank ILP (:mod:`.bank_ilp`), batching and
replication (:mod:`.batching`), weight tiles and deltas (:mod:`.tiles`), feature-map
movement (:mod:`.dataflow`), emission (:mod:`.emit`), and ARAS's network program
(:mod:`.aras`). Each network scheduler makes a :class:`~firmware.plan.Schedule`, at
co-simulation scale (with an image that computes the network) or at full chip scale
(the program and its writes' costs, for the timing and energy models).

The package's names are the functions (``schedulers.naive``, ``schedulers.basisn``);
import a module's other contents with ``from firmware.schedulers.<module> import ...``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from firmware.config import Config
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers.banks import banks
from firmware.schedulers.baseline import baseline
from firmware.schedulers.basisn import basisn, basisn_blocks
from firmware.schedulers.batching import Part, layer_parts
from firmware.schedulers.bound import compute_floor, write_bound
from firmware.schedulers.naive import naive
from firmware.schedulers.replication import replication
from firmware.schedulers.reuse import reuse
from firmware.schedulers.slice import single_vmm

#: A network scheduler: ``(cfg, net, qs, x=None, shifts=None) -> Schedule``.
Scheduler = Callable[..., Schedule]

#: The network schedulers by the names reports and ``--schedulers`` use, in the order
#: ARAS builds them on each other.
SCHEDULERS: dict[str, Scheduler] = {
    "naive": naive,
    "baseline": baseline,
    "+banks": banks,
    "+replication": replication,
    "+reuse": reuse,
}


def schedule(cfg: Config, net: Network, qs: list[np.ndarray], name: str,
             x: np.ndarray | None = None, shifts: list[int] | None = None) -> Schedule:
    """Firmware for ``net`` with INT8 weights ``qs`` by scheduler ``name``.

    With an input ``x`` (and REQUANT ``shifts``) main memory is filled in and the
    schedule carries an :class:`~firmware.image.Image` that computes the network;
    without, only the program and its writes' row figures are made (no main-memory
    contents), which is what the timing and energy models need at full chip scale."""
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler '{name}'; expected one of {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name](cfg, net, qs, x, shifts)


__all__ = ["SCHEDULERS", "Part", "Scheduler", "basisn", "basisn_blocks", "layer_parts",
           "compute_floor", "schedule", "single_vmm", "write_bound"]
