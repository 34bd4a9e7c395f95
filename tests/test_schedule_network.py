"""Whole-network firmware: the naive schedule computes the integer network exactly
(golden model), and runs on the RTL bit-identical with the timing model's cycles."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import CNN, PADDED, STREAMED, TINY, case, outputs

from cocotb_tests import runner
from firmware import config, network, scheduler
from firmware.isa import RTL_OPCODES, Fault, Opcode
from firmware.network import Layer, Network
from firmware.packing import unpack
from model import checker, golden, timing


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
@pytest.mark.parametrize("seed", [0, 1])
def test_naive_firmware_computes_the_network(cfg_name: str, net: Network, seed: int) -> None:
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, seed)
    img = scheduler.naive(cfg, net, qs, x, shifts)
    res = golden.run(img, RTL_OPCODES)
    assert res.fault == Fault.NONE
    _, want = network.forward(net, qs, x, shifts)
    assert outputs(img, res, cfg, net).tolist() == want.tolist()
    # Naive: every write is followed by a barrier, so nothing overlaps.
    writes = [e for e in res.trace if e.insn.opcode == Opcode.WRITE_START]
    assert len(writes) == sum(len(scheduler.layer_parts(scheduler.map_layer(
        layer, cfg, im2col=(i == 0)), cfg)) for i, layer in enumerate(net.layers))
    tim = timing.simulate(cfg, res)
    assert tim.overlap_cycles <= 2 * len(writes)   # the barrier's fetch and decode only


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("small", STREAMED), ("tiny", TINY)])
def test_baseline_computes_the_same_and_never_waits_longer(cfg_name: str,
                                                          net: Network) -> None:
    """The baseline's firmware computes the network exactly; overlapping writes with
    compute never costs cycles over naive, and saves where a next part fits beside the
    current one (PADDED's small layers)."""
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, 2)
    runs = {}
    for name, schedule in scheduler.SCHEDULERS.items():
        img = schedule(cfg, net, qs, x, shifts)
        res = golden.run(img, RTL_OPCODES)
        assert res.fault == Fault.NONE
        _, want = network.forward(net, qs, x, shifts)
        assert outputs(img, res, cfg, net).tolist() == want.tolist(), name
        runs[name] = (timing.simulate(cfg, res), res)
    naive_t, base_t = runs["naive"][0], runs["baseline"][0]
    assert base_t.cycles <= naive_t.cycles
    assert not any(e.insn.opcode == Opcode.SYNC for e in runs["baseline"][1].trace)
    if net is PADDED:
        assert base_t.overlap_cycles > 1000 and base_t.cycles < 0.9 * naive_t.cycles


def test_bank_selection_is_the_ilp_optimum_by_hand() -> None:
    """Banks of 64/64/128/256 words (`small`): a 200-word buffer only fits the last bank;
    a 10-word one live with it takes a smallest bank; alone later it may share."""
    cfg = config.load("small")
    assert [hi - lo for lo, hi in cfg.bank_bounds] == [64, 64, 128, 256]
    got = scheduler.select_banks(cfg, [200, 10, 100], [[0, 1], [1, 2]], [1.0, 1.0])
    assert got[0] == 3 and got[1] in (0, 1) and got[2] == 2
    with pytest.raises(ValueError, match="no bank placement"):
        scheduler.select_banks(cfg, [200, 220], [[0, 1]], [1.0])


@pytest.mark.parametrize(("cfg_name", "net"), [("small", CNN), ("small", PADDED),
                                               ("tiny", TINY)])
def test_banks_gate_unused_buffer_and_save_static_energy(cfg_name: str, net: Network
                                                         ) -> None:
    """+banks computes the same; the gated banks save buffer static energy against the
    baseline for the cost of one BANK_GATE per layer."""
    from model.energy import energy
    cfg = config.load(cfg_name)
    qs, x, shifts = case(net, 5)
    out = {}
    for name in ("baseline", "+banks"):
        img = scheduler.SCHEDULERS[name](cfg, net, qs, x, shifts)
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


def test_naive_refuses_what_it_cannot_place() -> None:
    cfg = config.load("tiny")
    big = Network("big", (Layer("c", 40, 40, 1, 1, 1, 8, 1),
                          Layer("fc", 1, 1, 1, 1, 40 * 40 * 8, 4, 1)), "test")
    with pytest.raises(ValueError, match=r"needs \d+ global-buffer words .* has 128"):
        scheduler.naive(cfg, big, *case(big, 0))
    wide = Network("wide", (Layer("c", 6, 6, 1, 1, 1, 16, 1),
                            Layer("c2", 6, 6, 3, 3, 16, 8, 1)), "test")
    with pytest.raises(ValueError, match="one kernel row needs 3 APU rows; the chip has 2"):
        scheduler.naive(cfg, wide, *case(wide, 0))
    odd = Network("odd", (Layer("c", 6, 6, 3, 3, 1, 12, 1),
                          Layer("fc", 1, 1, 1, 1, 16 * 12, 4, 1)), "test")
    with pytest.raises(ValueError, match="12 output channels must fill whole crossbars"):
        scheduler.naive(cfg, odd, *case(odd, 0))


def _cosimulated(img, sim: str, out_dir: Path):
    """Run ``img`` in the RTL; memories, cycles and counters must equal the models'."""
    cfg = img.config
    gold = golden.run(img, RTL_OPCODES)
    rtl = runner.run(img, sim, out_dir=out_dir)
    checks = checker.compare(gold, timing.simulate(cfg, gold), rtl.counters, rtl.gb,
                             rtl.dram, cfg.gb_bits, cfg.dram_bits)
    assert all(c.ok for c in checks), checker.format_table(checks)
    assert rtl.counters["fault"] == Fault.NONE
    return rtl


@pytest.mark.parametrize("name", ["baseline", "+banks"])
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_overlap_and_gating_cosimulate(name: str, sim: str, tmp_path: Path) -> None:
    """PADDED under the baseline and +banks: writes overlapping compute and banks gated
    per layer in the RTL itself, exact (bank counters included)."""
    cfg = config.load("small")
    img = scheduler.SCHEDULERS[name](cfg, PADDED, *case(PADDED, 4))
    rtl = _cosimulated(img, sim, tmp_path / "run")
    assert rtl.counters["overlap_cycles"] > 1000
    if name == "+banks":
        assert min(rtl.counters["bank_active_cycles"]) < rtl.counters["cycles"]


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_streamed_maps_cosimulate(sim: str, tmp_path: Path) -> None:
    """Maps too large for the buffer, in the RTL: rows loaded per output row, outputs
    stored to main memory and read back by the next layer, exact."""
    cfg = config.load("small")
    qs, x, shifts = case(STREAMED, 5)
    plan = scheduler.schedule(cfg, STREAMED, qs, "+banks", x, shifts)
    _cosimulated(plan.image, sim, tmp_path / "run")
    # The first layer and the 1x1 layer stream; c2 stores its outputs to main memory.
    loads = [insn for insn in plan.program if insn.opcode == Opcode.LOAD]
    assert len(loads) > 2 * STREAMED.layers[0].ofmap_h


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_naive_cnn_cosimulates(sim: str, tmp_path: Path) -> None:
    cfg = config.load("small")
    qs, x, shifts = case(CNN, 3)
    img = scheduler.naive(cfg, CNN, qs, x, shifts)
    rtl = _cosimulated(img, sim, tmp_path / "run")
    _, want = network.forward(CNN, qs, x, shifts)
    r = img.regions["outputs"]
    got = unpack(rtl.dram[r.addr: r.addr + r.count], 32, cfg.dram_bits, r.elements,
                 signed=True).reshape(1, -1)[:, :10]
    assert got.tolist() == want.tolist()
