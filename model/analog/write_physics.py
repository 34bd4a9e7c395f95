"""Write physics of multi-level ReRAM cells (ARAS section II-B; placeholder device data).

A cell moves by ``pulses_per_level`` pulses per level of change. A crossbar row is
programmed in two polarity phases, decrease then increase; all cells of a phase pulse in
parallel, so a phase lasts as long as its slowest cell. Every pulse costs
``energy_per_pulse_pj``; a cell whose level does not change costs nothing and is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config


@dataclass(frozen=True)
class RowWrite:
    """Cost of programming one row: pulses of the slowest cell in each phase, all pulses,
    cells left unchanged, and cells whose target fell outside the levels (saturated)."""

    dec_pulses: int
    inc_pulses: int
    pulses: int
    skipped: int = 0
    saturated: int = 0

    @classmethod
    def lockstep(cls, rows: list[RowWrite]) -> RowWrite:
        """One row of several crossbars programmed together: each phase waits for the
        slowest cell of them all; pulses and cells add up."""
        return cls(max(r.dec_pulses for r in rows), max(r.inc_pulses for r in rows),
                   sum(r.pulses for r in rows), sum(r.skipped for r in rows),
                   sum(r.saturated for r in rows))

    def cycles(self, cfg: Config) -> int:
        """Latency of the two phases in clock cycles."""
        return (self.dec_pulses + self.inc_pulses) * cfg.write.pulse_cycles

    def energy_pj(self, cfg: Config) -> float:
        return self.pulses * cfg.write.energy_per_pulse_pj


def row_cost(deltas: np.ndarray, cfg: Config) -> RowWrite:
    """Cost of applying signed level ``deltas`` to one row (no saturation considered)."""
    d = np.asarray(deltas, dtype=np.int64)
    ppl = cfg.write.pulses_per_level
    return RowWrite(
        dec_pulses=int(max(0, -d.min(initial=0))) * ppl,
        inc_pulses=int(max(0, d.max(initial=0))) * ppl,
        pulses=int(np.abs(d).sum()) * ppl,
        skipped=int((d == 0).sum()),
    )


@dataclass(frozen=True)
class WriteCost:
    """Total cost of rewriting a crossbar region row by row."""

    rows: tuple[RowWrite, ...]
    cycles: int
    pulses: int
    energy_pj: float
    skipped_cells: int


def write_cost(old_levels: np.ndarray, new_levels: np.ndarray, cfg: Config) -> WriteCost:
    """Latency, pulses, energy and skipped cells of turning ``old_levels`` into
    ``new_levels`` (two same-shape arrays of cell levels, one row per crossbar row)."""
    old = np.asarray(old_levels, dtype=np.int64)
    new = np.asarray(new_levels, dtype=np.int64)
    if old.shape != new.shape or old.ndim != 2:
        raise ValueError(f"old and new levels must be equal-shape 2-D arrays, got {old.shape} "
                         f"and {new.shape}")
    top = cfg.cell_levels - 1
    for name, arr in (("old", old), ("new", new)):
        if arr.size and (arr.min() < 0 or arr.max() > top):
            raise ValueError(f"{name} levels must lie in 0..{top}")
    rows = tuple(row_cost(n - o, cfg) for o, n in zip(old, new, strict=True))
    cycles = sum(r.cycles(cfg) for r in rows)
    pulses = sum(r.pulses for r in rows)
    return WriteCost(rows, cycles, pulses, pulses * cfg.write.energy_per_pulse_pj,
                     sum(r.skipped for r in rows))


def weight_write_cost(old_weights: np.ndarray, new_weights: np.ndarray, cfg: Config) -> WriteCost:
    """:func:`write_cost` for INT8 weight blocks, mapped onto cells as the chip stores them."""
    from firmware.semantics import weights_to_levels
    return write_cost(weights_to_levels(old_weights, cfg), weights_to_levels(new_weights, cfg),
                      cfg)
