"""The baseline scheduler: the same results as naive, writes overlapping compute, never
slower, and the overlap real in the RTL."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import CNN, PADDED, STREAMED, TINY, case, cosimulated, outputs

from firmware import config, network
from firmware.isa import RTL_OPCODES, Fault, Opcode
from firmware.network import Network
from firmware.schedulers import SCHEDULERS, baseline
from model import golden, timing


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
def test_baseline_computes_the_same_and_never_waits_longer(cfg_name: str,
                                                          net: Network) -> None:
    """Every scheduler's firmware computes the network exactly; the baseline's
    overlapping writes with compute never costs cycles over naive, and saves where a
    next part fits beside the current one (PADDED's small layers)."""
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, 2)
    runs = {}
    for name, scheduler in SCHEDULERS.items():
        img = scheduler(cfg, net, qs, x, shifts).image
        res = golden.run(img, RTL_OPCODES)
        assert res.fault == Fault.NONE
        _, want = network.forward(net, qs, x, shifts)
        assert outputs(img, res, cfg, net).tolist() == want.tolist(), name
        runs[name] = (timing.simulate(cfg, res), res)
    naive_t, base_t = runs["naive"][0], runs["baseline"][0]
    assert base_t.cycles <= naive_t.cycles
    assert not any(e.insn.opcode == Opcode.SYNC for e in runs["baseline"][1].trace)
    if net is PADDED:
        # Writes overlap compute for a twentieth of the run at least, and it is shorter.
        assert base_t.overlap_cycles > 0.05 * base_t.cycles
        assert base_t.cycles < 0.9 * naive_t.cycles


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_overlap_cosimulates(sim: str, tmp_path: Path) -> None:
    """PADDED under the baseline: writes overlapping compute in the RTL itself, exact."""
    cfg = config.load("small")
    img = baseline(cfg, PADDED, *case(PADDED, 4)).image
    rtl = cosimulated(img, sim, tmp_path / "run")
    # Writes overlap compute for a twentieth of the run at least.
    assert rtl.counters["overlap_cycles"] > 0.05 * rtl.counters["cycles"]
