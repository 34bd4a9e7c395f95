"""The vertical slice: one crossbar written from erased, one VMM, the golden model's
outputs equal to ``x @ W``; it refuses activations or a crossbar that do not fit."""

from __future__ import annotations

import numpy as np
import pytest

from firmware import config
from firmware.isa import RTL_OPCODES, Fault, Opcode, decode
from firmware.packing import unpack
from firmware.schedulers import single_vmm
from model import golden


@pytest.mark.parametrize("cfg_name", ["tiny", "small"])
def test_slice_computes_one_vmm(cfg_name: str) -> None:
    cfg = config.load(cfg_name)
    rng = np.random.default_rng(2)
    w = rng.integers(-128, 128, (cfg.crossbar.rows, cfg.weights_per_row))
    x = rng.integers(-128, 128, cfg.crossbar.rows)
    img = single_vmm(cfg, w, x, xbar=1)
    assert [decode(word).opcode for word in img.imem] == [
        Opcode.WRITE_START, Opcode.LOAD, Opcode.VMM, Opcode.STORE, Opcode.HALT]
    res = golden.run(img, RTL_OPCODES)
    assert res.fault == Fault.NONE
    r = img.regions["outputs"]
    got = unpack(res.dram[r.addr: r.addr + r.count], 32, cfg.dram_bits, r.elements,
                 signed=True)
    assert got.tolist() == (x @ w).tolist()


def test_slice_refuses_what_does_not_fit() -> None:
    cfg = config.load("tiny")
    w = np.zeros((cfg.crossbar.rows, cfg.weights_per_row), dtype=np.int64)
    with pytest.raises(ValueError, match="x must hold 16 activations"):
        single_vmm(cfg, w, np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"xbar 4 out of range 0\.\.3"):
        single_vmm(cfg, w, np.zeros(cfg.crossbar.rows, dtype=np.int64), xbar=4)
