"""Emission: a program under construction with the layer each instruction belongs to,
its main memory (filled in only when the image is to compute), the row figures of each
weight write, and the finished :class:`~firmware.plan.Schedule`."""

from __future__ import annotations

import numpy as np

from firmware import isa
from firmware.config import Config
from firmware.image import Image, Region
from firmware.isa import Instruction
from firmware.plan import Schedule, WriteRows
from firmware.schedulers.tiles import Crossbars
from firmware.weight_reuse import Reuse


class Emitter:
    """Instructions and main-memory words in program order. ``layer`` is the layer the
    next instructions belong to (-1: none); with ``materialize`` main memory holds the
    words, else only its size is counted (full chip scale)."""

    def __init__(self, cfg: Config, materialize: bool) -> None:
        self.cfg, self.materialize = cfg, materialize
        self.program: list[Instruction] = []
        self.layer_of: list[int] = []
        self.writes: list[WriteRows] = []
        self.write_layers: list[tuple[int, ...]] = []
        self.dram: list[int] = []
        self.dram_words = 0
        self.layer = -1

    def emit(self, insn: Instruction) -> None:
        self.program.append(insn)
        self.layer_of.append(self.layer)

    def dma(self, op: str, gb: int, dram: int, n: int) -> None:
        """LOAD or STORE ``n`` words, cut into transfers the count field can express."""
        most = (1 << isa.COUNT) - 1
        for k in range(0, n, most):
            self.emit(Instruction.make(op, gb_addr=gb + k, dram_addr=dram + k,
                                       count=min(most, n - k)))

    def alloc(self, words: list[int] | int) -> int:
        """Main-memory words for ``words`` (filled in only when materializing)."""
        n = words if isinstance(words, int) else len(words)
        addr = self.dram_words
        self.dram_words += n
        if self.materialize:
            self.dram.extend([0] * n if isinstance(words, int) else words)
        return addr

    def group_write(self, xbars: Crossbars, first: int, new: np.ndarray,
                    layers: tuple[int, ...]) -> None:
        """One lockstep ``WRITE_START`` turning crossbars ``first..`` into ``new`` (for the
        layers ``layers``): its row figures recorded, its deltas in main memory."""
        rows, words = xbars.write(first, new, self.materialize)
        self.writes.append(rows)
        self.write_layers.append(layers)
        d = self.alloc(words)
        self.emit(Instruction.make("WRITE_START", xbar=first, dram_addr=d, row=0,
                                   nrows=self.cfg.crossbar.rows, nxbars=new.shape[1]))

    def finish(self, network: str, scheduler: str, layer_names: tuple[str, ...],
               regions: dict[str, Region] | None = None, reuse: Reuse | None = None,
               replicas: tuple[int, ...] = ()) -> Schedule:
        """HALT, and the schedule (with its image when main memory was filled in)."""
        self.layer = -1
        self.emit(Instruction.make("HALT"))
        image = None
        if self.materialize:
            image = Image.build(self.cfg, self.program, self.dram, regions)
        return Schedule(network, scheduler, self.program, self.writes, self.layer_of,
                        layer_names, self.write_layers, self.dram_words, image, reuse,
                        replicas)
