"""Cycle rules that both the scheduler (to plan) and the timing model (to time) use, so
that each is defined once. The RTL implements them (``hdl/sequencer/``,
``hdl/write_engine.py``); :mod:`model.timing` applies them to whole programs."""

from __future__ import annotations

from firmware.config import Config, grant_cycle


def burst_cycles(cfg: Config, words: int, lanes: int | None = None) -> int:
    """Cycles of a main-memory burst of ``words`` words through a port of ``lanes``
    words (default the DMA's, ``port_words``): last grant plus the data cycle."""
    return grant_cycle(words, cfg.dram_bytes_per_cycle, cfg.main_memory.word_bytes,
                       lanes) + 1


def vmm_pass_cycles(cfg: Config, accumulate: bool, ncols: int = 1, nrows: int = 1,
                    ngroups: int = 1, replicas: int = 1) -> int:
    """Cycles of one pass of the VMM window loop (``replicas`` windows): load each
    replica's ``nrows`` input segments (shared by its column groups), all bit-planes
    (every crossbar in parallel), write every group's ``ncols`` summed outputs."""
    return (replicas * nrows * cfg.input_words + 1
            + cfg.data.act_bits * cfg.crossbar.bitplane_cycles
            + replicas * ngroups * ncols * cfg.output_words + int(accumulate))


def row_write_floor(cfg: Config) -> int:
    """The least time a whole-crossbar write can take when every row has a cell to
    move by the full level range both ways (pulses only, no delta fetch)."""
    return (cfg.crossbar.rows * 2 * (cfg.cell_levels - 1) * cfg.write.pulses_per_level
            * cfg.write.pulse_cycles)
