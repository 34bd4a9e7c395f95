"""The naive scheduler: its firmware computes the integer network exactly (golden model),
never overlaps a write, refuses what it cannot place, and runs in the RTL exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import CNN, PADDED, STREAMED, TINY, case, cosimulated, outputs

from firmware import config, network
from firmware.isa import RTL_OPCODES, Fault, Opcode
from firmware.mapper import map_layer
from firmware.network import Layer, Network
from firmware.packing import unpack
from firmware.schedulers import layer_parts, naive
from model import golden, timing


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
@pytest.mark.parametrize("seed", [0, 1])
def test_naive_firmware_computes_the_network(cfg_name: str, net: Network, seed: int) -> None:
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, seed)
    img = naive(cfg, net, qs, x, shifts).image
    res = golden.run(img, RTL_OPCODES)
    assert res.fault == Fault.NONE
    _, want = network.forward(net, qs, x, shifts)
    assert outputs(img, res, cfg, net).tolist() == want.tolist()
    # Naive: every part's write (a piece per write engine) is followed by a barrier, so
    # nothing overlaps.
    writes = [e for e in res.trace if e.insn.opcode == Opcode.WRITE_START]
    parts = sum(len(layer_parts(map_layer(layer, cfg, im2col=(i == 0)), cfg))
                for i, layer in enumerate(net.layers))
    assert sum(e.insn.opcode == Opcode.SYNC for e in res.trace) == parts
    assert parts <= len(writes) <= cfg.write.engines * parts
    tim = timing.simulate(cfg, res)
    # Overlap is only the fetch, decode (and hand-over) of what follows a write up to its
    # barrier: the next piece's WRITE_START, the SYNC.
    assert tim.overlap_cycles <= 3 * len(writes)


def test_naive_refuses_what_it_cannot_place() -> None:
    cfg = config.load("tiny")
    big = Network("big", (Layer("c", 40, 40, 1, 1, 1, 8, 1),
                          Layer("fc", 1, 1, 1, 1, 40 * 40 * 8, 4, 1)), "test")
    with pytest.raises(ValueError, match=r"needs \d+ global-buffer words .* has 128"):
        naive(cfg, big, *case(big, 0))
    wide = Network("wide", (Layer("c", 6, 6, 1, 1, 1, 16, 1),
                            Layer("c2", 6, 6, 3, 3, 16, 8, 1)), "test")
    with pytest.raises(ValueError, match="one kernel row needs 3 APU rows; the chip has 2"):
        naive(cfg, wide, *case(wide, 0))
    odd = Network("odd", (Layer("c", 6, 6, 3, 3, 1, 12, 1),
                          Layer("fc", 1, 1, 1, 1, 16 * 12, 4, 1)), "test")
    with pytest.raises(ValueError, match="12 output channels must fill whole crossbars"):
        naive(cfg, odd, *case(odd, 0))
    qs, x, shifts = case(CNN, 0)
    with pytest.raises(ValueError, match="2 weight arrays for 3 layers"):
        naive(config.load("small"), CNN, qs[:2], x, shifts)


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_naive_cnn_cosimulates(sim: str, tmp_path: Path) -> None:
    cfg = config.load("small")
    qs, x, shifts = case(CNN, 3)
    img = naive(cfg, CNN, qs, x, shifts).image
    rtl = cosimulated(img, sim, tmp_path / "run")
    _, want = network.forward(CNN, qs, x, shifts)
    r = img.regions["outputs"]
    got = unpack(rtl.dram[r.addr: r.addr + r.count], 32, cfg.dram_bits, r.elements,
                 signed=True).reshape(1, -1)[:, :10]
    assert got.tolist() == want.tolist()
