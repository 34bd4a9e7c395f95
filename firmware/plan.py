"""The plan artefact: what a scheduler hands to the timing and energy models.

A :class:`Schedule` is a network's program with the row figures of each of its weight
writes (:class:`WriteRows`, costed offline) and, at co-simulation scale, its image. Full
chip-scale timing (:mod:`model.inference`, :mod:`model.timing`) consumes only this, never
a scheduler, so the models stay independent of how the program was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from firmware.image import Image
from firmware.isa import Instruction

if TYPE_CHECKING:
    from firmware.weight_reuse import Reuse


@dataclass(frozen=True)
class WriteRows:
    """Per crossbar row of one group write, in levels: the slowest cell's decrease and
    increase, and all level changes (arrays of ``nrows`` integers)."""

    dec: np.ndarray
    inc: np.ndarray
    changes: np.ndarray


@dataclass
class Schedule:
    """A network's firmware: the program, the row figures of each ``WRITE_START`` (in
    program order), the layer each instruction belongs to (-1: none), and, when main
    memory was filled in (networks small enough to co-simulate), the image."""

    network: str
    scheduler: str
    program: list[Instruction]
    writes: list[WriteRows]
    layer_of: list[int]
    layer_names: tuple[str, ...]
    write_layers: list[tuple[int, ...]]
    dram_words: int
    image: Image | None = None
    #: Partial weight reuse: the shifts chosen (``+reuse``), else None.
    reuse: Reuse | None = None
    #: Weight copies of each layer (1: not replicated; the most over its parts).
    replicas: tuple[int, ...] = ()
