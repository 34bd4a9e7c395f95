"""BasisN on the chip: the digits CNN's kernels as combinations of one basis written
once, the firmware exact on the golden model and in the RTL, and what the approximation
costs in accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nets import outputs, rtl_matches_models

from firmware import basisn, config, network, schedulers
from firmware.isa import RTL_OPCODES, Fault, Opcode
from model import golden, timing
from model.training.cnn import DIGITS_CNN, FloatNetwork, digits_split, to_int8, train_network

K, COEF_BITS = 16, 4


@pytest.fixture(scope="module")
def fitted():
    """The float digits CNN, its BasisN fit on `small`'s row blocks (fine-tuned on the
    training split, best on validation kept), the chip's integer weights and shifts."""
    split = digits_split()
    cfg = config.load("small")
    net = train_network(DIGITS_CNN, split)
    blocks = schedulers.basisn_blocks(cfg, DIGITS_CNN)
    fit = basisn.fit(net.w, cfg.crossbar.rows, K, COEF_BITS, blocks=blocks)
    rng = np.random.default_rng(0)
    x_train = split.x_train[..., None]

    def grad(ws):
        f = FloatNetwork(DIGITS_CNN)
        f.w = [np.asarray(w, dtype=np.float64) for w in ws]
        idx = rng.integers(0, len(x_train), 64)
        return f.loss_and_grads(x_train[idx], split.y_train[idx])[1]

    def score(bf):
        f = FloatNetwork(DIGITS_CNN)
        f.w = [bf.reconstruct(i) for i in range(len(DIGITS_CNN.layers))]
        return f.accuracy(split.x_val[..., None], split.y_val)

    fit = basisn.fine_tune(fit, grad, steps=300, lr=0.05, score=score)
    qs = [fit.chip_weights(i) for i in range(len(DIGITS_CNN.layers))]
    shifts = network.calibrate_shifts(DIGITS_CNN, qs, to_int8(split.x_train[:200]))
    return split, net, fit, qs, shifts


def _logits(image, result) -> np.ndarray:
    """The digits CNN's ten int32 outputs, as a run (golden or RTL) left them."""
    return outputs(image, result, image.config, DIGITS_CNN)[0]


@pytest.mark.slow   # trains and fine-tunes the digits CNN (~6 s)
def test_basisn_keeps_most_of_the_accuracy(fitted) -> None:
    """The integer network the chip computes from the basis against the float network
    it approximates (449 test digits; measured 97.3% against 97.6%)."""
    split, net, fit, qs, shifts = fitted
    pred = [network.forward(DIGITS_CNN, qs, x, shifts)[1].ravel().argmax()
            for x in to_int8(split.x_test)]
    acc = float(np.mean(np.array(pred) == split.y_test))
    assert acc >= net.accuracy(split.x_test[..., None], split.y_test) - 0.02, acc


def test_basis_is_written_once_and_the_firmware_is_exact(fitted) -> None:
    split, _, fit, qs, shifts = fitted
    cfg = config.load("small")
    for x in to_int8(split.x_test[:2]):
        plan = schedulers.basisn(cfg, DIGITS_CNN, fit, x, shifts)
        writes = [k for k, insn in enumerate(plan.program) if insn.opcode == Opcode.WRITE_START]
        assert writes == [0]                        # the basis, before anything else
        # Every output group of every position combined once (in chunks of groups where
        # a layer's coefficients do not all fit the buffer).
        lanes = cfg.gb_bits // 8
        assert sum(insn.ngroups for insn in plan.program if insn.opcode == Opcode.COMBINE) \
            == sum(layer.windows * -(-layer.filters // lanes) for layer in DIGITS_CNN.layers)
        gold = golden.run(plan.image, RTL_OPCODES)
        assert gold.fault == Fault.NONE
        want = network.forward(DIGITS_CNN, qs, x, shifts)[1].ravel()
        assert _logits(plan.image, gold).tolist() == want.tolist()
        planned = timing.simulate_trace(cfg, timing.planned_trace(cfg, plan.program,
                                                                  plan.writes))
        assert planned == timing.simulate(cfg, gold)
    steady = schedulers.basisn(cfg, DIGITS_CNN, fit, shifts=shifts, write_basis=False)
    assert not any(insn.opcode == Opcode.WRITE_START for insn in steady.program)


def test_basisn_refuses_what_it_cannot_map(fitted) -> None:
    _, net, fit, _, _ = fitted
    cfg = config.load("small")
    loose = basisn.fit(net.w, cfg.crossbar.rows, 4, COEF_BITS)   # consecutive segments
    with pytest.raises(ValueError, match="not the chip's row blocks"):
        schedulers.basisn(cfg, DIGITS_CNN, loose)
    wide = basisn.fit(net.w, cfg.crossbar.rows, 24, COEF_BITS,
                      blocks=schedulers.basisn_blocks(cfg, DIGITS_CNN))
    with pytest.raises(ValueError, match="K = 24 basis vectors need 3 crossbars"):
        schedulers.basisn(cfg, DIGITS_CNN, wide)
    with pytest.raises(ValueError, match="needs the basis written"):
        schedulers.basisn(cfg, DIGITS_CNN, fit, np.zeros((8, 8, 1)), [0, 0],
                         write_basis=False)


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_basisn_digits_in_the_rtl(fitted, sim: str, tmp_path: Path) -> None:
    """Three test digits in BasisN mode through the RTL: memories bit-identical to the
    golden model, cycles and counters equal to the timing model's, the same classes."""
    split, _, fit, _, shifts = fitted
    cfg = config.load("small")
    images = [schedulers.basisn(cfg, DIGITS_CNN, fit, x, shifts).image
              for x in to_int8(split.x_test[:3])]
    for img, gold, rtl in rtl_matches_models(images, sim, tmp_path / "basisn"):
        assert _logits(img, rtl).argmax() == _logits(img, gold).argmax()


@pytest.fixture(scope="module")
def random_fit():
    """A fit of random weights (no training): what the program's structure needs."""
    cfg = config.load("small")
    rng = np.random.default_rng(5)
    ws = [rng.normal(0, 0.3, (layer.kernel_rows, layer.filters)) for layer in DIGITS_CNN.layers]
    fit = basisn.fit(ws, cfg.crossbar.rows, K, COEF_BITS,
                     blocks=schedulers.basisn_blocks(cfg, DIGITS_CNN))
    qs = [fit.chip_weights(i) for i in range(len(DIGITS_CNN.layers))]
    first = DIGITS_CNN.layers[0]
    x = rng.integers(0, 100, (first.ifmap_h, first.ifmap_w, first.channels))
    return cfg, fit, qs, x, network.calibrate_shifts(DIGITS_CNN, qs, x)


def test_the_steady_state_is_the_program_after_the_basis_write(random_fit) -> None:
    """The basis write (every copy, one group write, then a barrier) comes first and is
    the only write; without it the program is otherwise the same instruction for
    instruction, and the image computes the integer network the fit defines."""
    cfg, fit, qs, x, shifts = random_fit
    plan = schedulers.basisn(cfg, DIGITS_CNN, fit, x, shifts)
    steady = schedulers.basisn(cfg, DIGITS_CNN, fit, shifts=shifts, write_basis=False)
    head = plan.program[:2]
    assert [i.opcode for i in head] == [Opcode.WRITE_START, Opcode.SYNC]
    # One APU row per copy of the basis, from row 0; every VMM reads one of them.
    copies, rest = divmod(head[0].nxbars, cfg.apu_cols)
    assert head[0].xbar == 0 and rest == 0 and copies >= 1
    assert {i.xbar for i in plan.program if i.opcode == Opcode.VMM} <= \
        {c * cfg.apu_cols for c in range(copies)}
    assert steady.program == plan.program[2:]
    assert sum(i.opcode == Opcode.WRITE_START for i in plan.program) == 1
    assert plan.replicas == (1,) * len(DIGITS_CNN.layers) and plan.reuse is None
    gold = golden.run(plan.image, RTL_OPCODES)
    assert gold.fault == Fault.NONE
    want = network.forward(DIGITS_CNN, qs, x, shifts)[1].ravel()
    assert _logits(plan.image, gold).tolist() == want.tolist()
