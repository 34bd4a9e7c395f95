"""The digits CNN on the chip: trained in float, INT8, scheduled, run in the RTL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nets import outputs, rtl_matches_models

from firmware import config, network, schedulers, weight_reuse
from firmware.isa import RTL_OPCODES, Fault
from model import golden
from model.training.cnn import DIGITS_CNN, deploy, digits_split, to_int8, train_network


@pytest.fixture(scope="module")
def deployed():
    split = digits_split()
    net = train_network(DIGITS_CNN, split)
    qs, shifts = deploy(net, to_int8(split.x_train[:200]))
    return split, net, qs, shifts


def _logits(image, result) -> np.ndarray:
    """The digits CNN's ten int32 outputs, as a run (golden or RTL) left them."""
    return outputs(image, result, image.config, DIGITS_CNN)[0]


def test_int8_network_keeps_the_float_accuracy(deployed) -> None:
    split, net, qs, shifts = deployed
    float_acc = net.accuracy(split.x_test[..., None], split.y_test)
    pred = [network.forward(DIGITS_CNN, qs, x, shifts)[1].ravel().argmax()
            for x in to_int8(split.x_test)]
    int_acc = float(np.mean(np.array(pred) == split.y_test))
    assert float_acc > 0.95
    assert abs(int_acc - float_acc) <= 0.01, (int_acc, float_acc)


def test_golden_runs_the_firmware_as_the_integer_network(deployed) -> None:
    split, _, qs, shifts = deployed
    cfg = config.load("small")
    for x in to_int8(split.x_test[:3]):
        img = schedulers.naive(cfg, DIGITS_CNN, qs, x, shifts).image
        gold = golden.run(img, RTL_OPCODES)
        assert gold.fault == Fault.NONE
        want = network.forward(DIGITS_CNN, qs, x, shifts)[1].ravel()
        assert _logits(img, gold).tolist() == want.tolist()


def test_reuse_keeps_the_accuracy(deployed) -> None:
    """+reuse shifts every layer but the first to a common centre; the chip computes
    with the stored (shifted, clipped, compensated) weights: on all test digits the
    accuracy stays within 1 point of the float network's, and the golden model runs the
    firmware as that integer network."""
    split, net, qs, shifts = deployed
    cfg = config.load("small")
    x0 = to_int8(split.x_test[:1])[0]
    plan = schedulers.schedule(cfg, DIGITS_CNN, qs, "+reuse", x0, shifts)
    assert plan.reuse is not None and any(plan.reuse.shifts)
    stored = [weight_reuse.stored(q, s, cfg) for q, s in zip(qs, plan.reuse.shifts,
                                                                strict=True)]
    pred = [network.forward(DIGITS_CNN, stored, x, shifts)[1].ravel().argmax()
            for x in to_int8(split.x_test)]
    acc = float(np.mean(np.array(pred) == split.y_test))
    float_acc = net.accuracy(split.x_test[..., None], split.y_test)
    assert abs(acc - float_acc) <= 0.01, (acc, float_acc)
    gold = golden.run(plan.image, RTL_OPCODES)
    want = network.forward(DIGITS_CNN, stored, x0, shifts)[1].ravel()
    assert _logits(plan.image, gold).tolist() == want.tolist()


@pytest.mark.cosim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_digits_classified_in_the_rtl(deployed, sim: str, tmp_path: Path) -> None:
    """Three test digits scheduled with +reuse through the RTL: memories bit-identical
    to the golden model, cycles equal to the timing model's, the same classes."""
    split, _, qs, shifts = deployed
    cfg = config.load("small")
    images = [schedulers.reuse(cfg, DIGITS_CNN, qs, x, shifts).image
              for x in to_int8(split.x_test[:3])]
    for img, gold, rtl in rtl_matches_models(images, sim, tmp_path / "digits"):
        assert _logits(img, rtl).argmax() == _logits(img, gold).argmax()
