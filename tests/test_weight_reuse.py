"""Partial weight reuse (+reuse) and weight replication (+replication): fewer pulses for
the same results, copies of slow layers computing windows in parallel."""

from __future__ import annotations

import numpy as np
from nets import PADDED, STREAMED, case, outputs

from firmware import config, network, scheduler, weight_reuse
from firmware.isa import RTL_OPCODES, Fault, Opcode
from firmware.network import Layer, Network
from model import golden
from model.inference import evaluate


def _layers(zero_points: list[int], n: int = 4000, seed: int = 0) -> list[np.ndarray]:
    """Bell-shaped INT8 layers peaking at different codes, as deployed networks have."""
    rng = np.random.default_rng(seed)
    return [np.clip(np.round(rng.laplace(z, 12, n)), -128, 127).astype(np.int8)
            for z in zero_points]


def test_centre_aligns_layers_and_leaves_the_first() -> None:
    cfg = config.load("aras")
    qs = _layers([-40, 25, -10, 50])
    chain = {(i, i + 1): 10 for i in range(3)}
    r = weight_reuse.choose(cfg, qs, chain)
    assert r.shifts[0] == 0 and any(r.shifts[1:])
    assert r.changes_after < 0.9 * r.changes_before
    assert max(r.clipped) <= 0.005
    means = [float(weight_reuse.stored(q, s, cfg).mean()) + s for q, s in zip(qs, r.shifts,
                                                                               strict=True)]
    assert max(means[1:]) - min(means[1:]) < 2       # all but the first at one centre


def test_no_shift_that_clips_more_than_allowed() -> None:
    """Layers that reach both ends of the INT8 range clip under any shift: with no
    clipping allowed they stay where they are."""
    cfg = config.load("aras")
    qs = _layers([-30, 20, 40])
    for q in qs:
        q[:2] = (-128, 127)
    chain = {(0, 1): 5, (1, 2): 5}
    assert weight_reuse.choose(cfg, qs, chain, max_clip=0.0).shifts == (0, 0, 0)
    assert weight_reuse.choose(cfg, qs, chain).shifts != (0, 0, 0)


def test_reuse_computes_the_clipped_network_exactly() -> None:
    """Weights near the INT8 ends clip when shifted: the chip computes with the stored
    weights, exactly (compensation in the VMM's offset removal)."""
    cfg = config.load("small")
    qs, x, shifts = case(PADDED, 6)
    rng = np.random.default_rng(6)
    qs = [np.clip(rng.laplace(z, 14, q.shape), -128, 127).astype(np.int64)
          for q, z in zip(qs, (0, 100, -100, 90), strict=True)]
    shifts = network.calibrate_shifts(PADDED, qs, x)
    plan = scheduler.schedule(cfg, PADDED, qs, "+reuse", x, shifts)
    assert plan.reuse is not None and any(plan.reuse.shifts)
    stored = [weight_reuse.stored(q, s, cfg) for q, s in zip(qs, plan.reuse.shifts,
                                                                strict=True)]
    res = golden.run(plan.image, RTL_OPCODES)
    assert res.fault == Fault.NONE
    _, want = network.forward(PADDED, stored, x, shifts)
    assert outputs(plan.image, res, cfg, PADDED).tolist() == want.tolist()
    zeros = {insn.zero for insn in plan.program if insn.opcode == Opcode.VMM}
    assert zeros == set(plan.reuse.shifts)
    # Fewer pulses than the same schedule without shifts.
    same = evaluate(cfg, scheduler.schedule(cfg, PADDED, qs, "+replication"))
    assert evaluate(cfg, plan).pulses < same.pulses


def test_replication_copies_slow_layers_and_saves_cycles() -> None:
    cfg = config.load("small")
    qs, x, shifts = case(STREAMED, 2)
    plan = scheduler.schedule(cfg, STREAMED, qs, "+replication", x, shifts)
    assert max(plan.replicas) > 1
    assert any(insn.replicas > 1 for insn in plan.program if insn.opcode == Opcode.VMM)
    res = golden.run(plan.image, RTL_OPCODES)
    _, want = network.forward(STREAMED, qs, x, shifts)
    assert outputs(plan.image, res, cfg, STREAMED).tolist() == want.tolist()
    banks = evaluate(cfg, scheduler.schedule(cfg, STREAMED, qs, "+banks"))
    assert evaluate(cfg, plan).cycles < banks.cycles


def test_replication_needs_rows_beside_the_batch() -> None:
    """A chip whose layers fill every free row gets no copies: nothing to give them."""
    cfg = config.load("small")
    full = Network("full", (Layer("c1", 6, 6, 3, 3, 1, 64, 1),
                            Layer("fc", 1, 1, 1, 1, 16 * 64, 8, 1)), "test")
    qs, x, shifts = case(full, 0)
    plan = scheduler.schedule(cfg, full, qs, "+replication", x, shifts)
    assert plan.replicas == (1, 1)
