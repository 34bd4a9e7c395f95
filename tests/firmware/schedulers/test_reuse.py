"""The +reuse scheduler: weights shifted for partial reuse, computing the clipped network
exactly with fewer write pulses."""

from __future__ import annotations

import numpy as np
from nets import PADDED, case, outputs

from firmware import config, network, weight_reuse
from firmware.isa import RTL_OPCODES, Fault, Opcode
from firmware.schedulers import replication, reuse
from model import golden
from model.inference import evaluate


def test_reuse_computes_the_clipped_network_exactly() -> None:
    """Weights near the INT8 ends clip when shifted: the chip computes with the stored
    weights, exactly (compensation in the VMM's offset removal)."""
    cfg = config.load("small")
    qs, x, shifts = case(PADDED, 6)
    rng = np.random.default_rng(6)
    qs = [np.clip(rng.laplace(z, 14, q.shape), -128, 127).astype(np.int64)
          for q, z in zip(qs, (0, 100, -100, 90), strict=True)]
    shifts = network.calibrate_shifts(PADDED, qs, x)
    plan = reuse(cfg, PADDED, qs, x, shifts)
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
    same = evaluate(cfg, replication(cfg, PADDED, qs))
    assert evaluate(cfg, plan).pulses < same.pulses
