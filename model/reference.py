"""Ideal float reference: the same program with every analog effect removed.

The golden model is bit-exact with the RTL and includes the configured analog effects
(ADC clipping and resolution, device variation, read noise, INV quantization and finite
gain). This reference runs the same image on an idealized copy of the config (no
variation or noise, ADCs wide enough never to clip, INV arrays with exact converters and
infinite gain), so the difference between the two is what the analog effects cost,
reported apart from the bit-exact comparison.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from firmware.config import AnalogConfig, Config
from firmware.image import Image
from firmware.isa import ALL_OPCODES, Opcode
from firmware.packing import unpack
from model import golden

EXACT_BITS = 52  # converters finer than float64 resolution


def ideal_config(cfg: Config) -> Config:
    """``cfg`` with every analog non-ideality removed."""
    never_clip = math.ceil(math.log2(cfg.crossbar.rows * (cfg.cell_levels - 1) + 1))
    return dataclasses.replace(
        cfg,
        analog=AnalogConfig(seed=cfg.analog.seed),
        crossbar=dataclasses.replace(cfg.crossbar, adc_bits=max(cfg.crossbar.adc_bits,
                                                                never_clip)),
        inv=dataclasses.replace(cfg.inv, opamp_gain=1e300, dac_bits=EXACT_BITS,
                                adc_bits=EXACT_BITS),
    )


def run(image: Image, implemented: Iterable[Opcode] = ALL_OPCODES) -> golden.GoldenResult:
    """Run ``image`` on the ideal copy of its config."""
    ideal = Image(ideal_config(image.config), image.imem, image.dram, image.regions)
    return golden.run(ideal, implemented)


@dataclass(frozen=True)
class RegionError:
    """How far the analog result of one main-memory region is from the ideal one."""

    name: str
    max_abs: float
    rel_rms: float
    differing: int
    elements: int


def analog_error(image: Image, analog: golden.GoldenResult,
                 ideal: golden.GoldenResult) -> list[RegionError]:
    """Per named main-memory region: max absolute and relative RMS error of the analog run."""
    cfg = image.config
    out = []
    for name, reg in image.regions.items():
        a = unpack(analog.dram[reg.addr: reg.addr + reg.count], reg.bits, cfg.dram_bits,
                   reg.elements, reg.signed).astype(np.float64)
        b = unpack(ideal.dram[reg.addr: reg.addr + reg.count], reg.bits, cfg.dram_bits,
                   reg.elements, reg.signed).astype(np.float64)
        scale = float(np.sqrt(np.mean(b**2))) or 1.0
        out.append(RegionError(name, float(np.abs(a - b).max(initial=0)),
                               float(np.sqrt(np.mean((a - b) ** 2))) / scale,
                               int((a != b).sum()), reg.elements))
    return out
