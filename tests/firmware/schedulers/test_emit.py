"""Emission: transfers cut to what the count field expresses, main memory allocated in
order (filled in only for an image that computes), every write recorded with its row
figures and layers, and the schedule (image only when materialized)."""

from __future__ import annotations

import numpy as np

from firmware import config, isa
from firmware.isa import Instruction, Opcode
from firmware.schedulers.emit import Emitter
from firmware.schedulers.tiles import Crossbars


def test_dma_is_cut_into_transfers_the_count_field_holds() -> None:
    em = Emitter(config.load("small"), materialize=False)
    most = (1 << isa.COUNT) - 1
    em.layer = 4
    em.dma("LOAD", 10, 1000, 2 * most + 3)
    assert [(i.gb_addr, i.dram_addr, i.count) for i in em.program] == [
        (10, 1000, most), (10 + most, 1000 + most, most), (10 + 2 * most, 1000 + 2 * most, 3)]
    assert all(i.opcode == Opcode.LOAD for i in em.program) and em.layer_of == [4] * 3


def test_main_memory_is_allocated_in_order_and_filled_only_when_materialized() -> None:
    cfg = config.load("small")
    full, bare = Emitter(cfg, materialize=True), Emitter(cfg, materialize=False)
    for em in (full, bare):
        assert (em.alloc([7, 8, 9]), em.alloc(2), em.alloc([1])) == (0, 3, 5)
        assert em.dram_words == 6
    assert full.dram == [7, 8, 9, 0, 0, 1] and bare.dram == []


def test_group_writes_are_recorded_and_the_schedule_finished() -> None:
    cfg = config.load("small")
    new = np.full((cfg.crossbar.rows, 2, cfg.weights_per_row), 130, dtype=np.uint8)
    schedules = []
    for materialize in (True, False):
        em, xb = Emitter(cfg, materialize), Crossbars(cfg)
        em.alloc(5)
        em.layer = 1
        em.group_write(xb, 4, new, (1,))
        em.emit(Instruction.make("SYNC"))
        schedules.append(em.finish("net", "test", ("a", "b"), replicas=(1, 2)))
    full, bare = schedules
    assert full.program == bare.program
    ws = full.program[0]
    assert (ws.opcode, ws.xbar, ws.dram_addr, ws.nxbars, ws.nrows) == \
        (Opcode.WRITE_START, 4, 5, 2, cfg.crossbar.rows)
    assert [i.opcode for i in full.program] == [Opcode.WRITE_START, Opcode.SYNC, Opcode.HALT]
    assert full.layer_of == [1, 1, -1] and full.write_layers == [(1,)]
    assert len(full.writes) == 1 and full.writes[0].changes.sum() > 0
    assert full.dram_words == bare.dram_words == 5 + cfg.crossbar.rows * 2 * cfg.delta_row_words
    assert full.image is not None and bare.image is None
    assert full.replicas == (1, 2) and full.reuse is None
