"""The co-simulation benchmark's programs (:mod:`firmware.programs.bench`) do what they say."""

from __future__ import annotations

import pytest

from firmware import config
from firmware.isa import Fault, Opcode, decode
from firmware.programs import bench
from model import golden, timing


def test_bench_mixes_overlap_writes_with_compute() -> None:
    """Each mix runs without fault; the write and compute mixes keep only their half; the
    overlap mix takes fewer cycles than its halves one after the other."""
    cfg = config.load("small")
    cycles, opcodes = {}, {}
    for mix in bench.MIXES:
        image = bench.bench_program(cfg, rounds=1, mix=mix)
        result = golden.run(image)
        assert result.fault == Fault.NONE, mix
        cycles[mix] = timing.simulate(cfg, result).cycles
        opcodes[mix] = {decode(w).opcode for w in image.imem}
    assert Opcode.VMM not in opcodes["write"] and Opcode.WRITE_START in opcodes["write"]
    assert Opcode.WRITE_START not in opcodes["compute"] and Opcode.VMM in opcodes["compute"]
    assert {Opcode.VMM, Opcode.WRITE_START} <= opcodes["overlap"]
    assert max(cycles["write"], cycles["compute"]) <= cycles["overlap"]
    assert cycles["overlap"] < cycles["write"] + cycles["compute"]
    with pytest.raises(ValueError, match="unknown mix"):
        bench.bench_program(cfg, mix="idle")
