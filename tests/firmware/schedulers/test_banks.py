"""The +banks scheduler: the same results as the baseline with unused buffer banks
gated, saving static energy; gating and streamed maps exact in the RTL."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import CNN, PADDED, STREAMED, TINY, case, cosimulated, outputs

from firmware import config, network
from firmware.isa import RTL_OPCODES, Fault, Opcode
from firmware.network import Network
from firmware.schedulers import banks, baseline
from model import golden, timing
from model.energy import energy


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("tiny", TINY)])
def test_banks_gate_unused_buffer_and_save_static_energy(cfg_name: str, net: Network
                                                         ) -> None:
    """+banks computes the same; the gated banks save buffer static energy against the
    baseline for the cost of one BANK_GATE per layer."""
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, 5)
    out = {}
    for name, scheduler in (("baseline", baseline), ("+banks", banks)):
        img = scheduler(cfg, net, qs, x, shifts).image
        res = golden.run(img, RTL_OPCODES)
        assert res.fault == Fault.NONE
        _, want = network.forward(net, qs, x, shifts)
        assert outputs(img, res, cfg, net).tolist() == want.tolist(), name
        tim = timing.simulate(cfg, res)
        gb = energy(cfg, res, tim.cycles, tim.bank_active_cycles).static_pj - \
            cfg.energy.static_mw * tim.cycles * 1000 / cfg.chip.clock_mhz
        out[name] = (tim.cycles, gb, res)
    gates = sum(e.insn.opcode == Opcode.BANK_GATE for e in out["+banks"][2].trace)
    assert gates == len(net.layers)
    assert out["+banks"][0] <= out["baseline"][0] + 2 * gates
    assert out["+banks"][1] < 0.9 * out["baseline"][1]


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_gating_cosimulates(sim: str, tmp_path: Path) -> None:
    """PADDED under +banks: writes overlapping compute and banks gated per layer in the
    RTL itself, exact (bank counters included)."""
    cfg = config.load("small")
    img = banks(cfg, PADDED, *case(PADDED, 4)).image
    rtl = cosimulated(img, sim, tmp_path / "run")
    # Writes overlap compute for a twentieth of the run at least.
    assert rtl.counters["overlap_cycles"] > 0.05 * rtl.counters["cycles"]
    assert min(rtl.counters["bank_active_cycles"]) < rtl.counters["cycles"]


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_streamed_maps_cosimulate(sim: str, tmp_path: Path) -> None:
    """Maps too large for the buffer, in the RTL: rows loaded per output row, outputs
    stored to main memory and read back by the next layer, exact."""
    cfg = config.load("small")
    qs, x, shifts = case(STREAMED, 5)
    plan = banks(cfg, STREAMED, qs, x, shifts)
    cosimulated(plan.image, sim, tmp_path / "run")
    # The first layer and the 1x1 layer stream; c2 stores its outputs to main memory.
    loads = [insn for insn in plan.program if insn.opcode == Opcode.LOAD]
    assert len(loads) > 2 * STREAMED.layers[0].ofmap_h
