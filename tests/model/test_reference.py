"""The reference model: the same image without analog effects, and the analog error
reported apart from the bit-exact checks."""

from __future__ import annotations

import dataclasses

from firmware import config
from firmware.programs import directed
from model import golden, reference


def test_reference_reports_analog_error_apart(tiny: config.Config) -> None:
    rms = {}
    for sigma in (0.1, 0.7):
        noisy = dataclasses.replace(tiny, analog=config.AnalogConfig(
            program_sigma=0.02, read_sigma=sigma, seed=3))
        img = directed.multi_program(noisy)
        analog, ideal = golden.run(img), reference.run(img)
        errors = {e.name: e for e in reference.analog_error(img, analog, ideal)}
        assert errors["outputs"].differing > 0
        rms[sigma] = errors["outputs"].rel_rms
    assert 0 < rms[0.1] < rms[0.7]          # more read noise costs more accuracy
    # On the ideal tiny config the golden model is itself exact.
    clean = directed.slice_program(tiny)
    assert all(e.differing == 0 for e in reference.analog_error(
        clean, golden.run(clean), reference.run(clean)))
