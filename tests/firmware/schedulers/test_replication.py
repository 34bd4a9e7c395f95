"""The +replication scheduler: copies of slow layers' weights computing windows in
parallel, the same results, fewer cycles, and no copies without free rows."""

from __future__ import annotations

from nets import STREAMED, case, outputs

from firmware import config, network
from firmware.isa import RTL_OPCODES, Opcode
from firmware.network import Layer, Network
from firmware.schedulers import banks, replication
from model import golden
from model.inference import evaluate


def test_replication_copies_slow_layers_and_saves_cycles() -> None:
    cfg = config.load("small")
    qs, x, shifts = case(STREAMED, 2)
    plan = replication(cfg, STREAMED, qs, x, shifts)
    assert max(plan.replicas) > 1
    assert any(insn.replicas > 1 for insn in plan.program if insn.opcode == Opcode.VMM)
    res = golden.run(plan.image, RTL_OPCODES)
    _, want = network.forward(STREAMED, qs, x, shifts)
    assert outputs(plan.image, res, cfg, STREAMED).tolist() == want.tolist()
    assert evaluate(cfg, plan).cycles < evaluate(cfg, banks(cfg, STREAMED, qs)).cycles


def test_replication_needs_rows_beside_the_batch() -> None:
    """A chip whose layers fill every free row gets no copies: nothing to give them."""
    cfg = config.load("small")
    full = Network("full", (Layer("c1", 6, 6, 3, 3, 1, 64, 1),
                            Layer("fc", 1, 1, 1, 1, 16 * 64, 8, 1)), "test")
    qs, x, shifts = case(full, 0)
    assert replication(cfg, full, qs, x, shifts).replicas == (1, 1)
