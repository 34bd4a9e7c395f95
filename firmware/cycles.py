"""Cycle rules that both the scheduler (to plan) and the timing model (to time) use, so
that each is defined once. The RTL implements them (``hdl/sequencer/``,
``hdl/write_engine.py``); :mod:`model.timing` applies them to whole programs."""

from __future__ import annotations

from typing import NamedTuple

from firmware.config import Config, grant_cycle


def burst_cycles(cfg: Config, words: int, lanes: int | None = None) -> int:
    """Cycles of a main-memory burst of ``words`` words through a port of ``lanes``
    words (default the DMA's, ``port_words``): last grant plus the data cycle."""
    return grant_cycle(words, cfg.dram_bytes_per_cycle, cfg.main_memory.word_bytes,
                       lanes) + 1


def write_burst_cycles(cfg: Config, words: int) -> int:
    """Cycles of a write engine's burst of ``words`` delta words at its share of the
    bandwidth (``write_bytes_per_cycle``), ``write_fetch_words`` a cycle at most."""
    return grant_cycle(words, cfg.write_bytes_per_cycle, cfg.main_memory.word_bytes,
                       cfg.write_fetch_words) + 1


class VmmStages(NamedTuple):
    """Cycles of each activity of one window pass (``replicas`` windows) of a VMM, each
    counted from the start of the pipeline stage it runs in (:func:`vmm_cycles`).

    ``load``: read each replica's ``nrows`` input segments into the second activation
    set, a word a cycle, the last landing a cycle later; ``compute``: swap the sets (and
    hold the previous pass's results), then every bit-plane; ``drain``: write every
    column group's summed outputs from the held results, a word a cycle after the hold
    (accumulate: read each old word, add, write it a cycle later); ``drain_loading``: the
    drain in a stage that also loads, where an accumulating drain's reads follow the
    load's on the buffer's one read port."""

    load: int
    compute: int
    drain: int
    drain_loading: int


def vmm_stages(cfg: Config, accumulate: bool, ncols: int = 1, nrows: int = 1,
               ngroups: int = 1, replicas: int = 1, narrow: bool = False) -> VmmStages:
    """The activities of one window pass (see :class:`VmmStages`; ``narrow``: INT8
    results, requantized on their way out, a quarter of the words)."""
    load = replicas * nrows * cfg.input_words
    out = replicas * ngroups * ncols * cfg.output_words // (4 if narrow else 1)
    return VmmStages(load + 1, cfg.data.act_bits * cfg.crossbar.bitplane_cycles + 1,
                     out + 1, out + 1 + (load if accumulate else 0))


def vmm_pass_cycles(cfg: Config, accumulate: bool, ncols: int = 1, nrows: int = 1,
                    ngroups: int = 1, replicas: int = 1, narrow: bool = False) -> int:
    """Steady-state cycles of a pass of the pipelined window loop: the longest of the
    next pass's load, this pass's compute and the previous pass's drain."""
    s = vmm_stages(cfg, accumulate, ncols, nrows, ngroups, replicas, narrow)
    return max(s.load, s.compute, s.drain_loading)


def vmm_cycles(cfg: Config, accumulate: bool, ncols: int = 1, nrows: int = 1,
               ngroups: int = 1, replicas: int = 1, passes: int = 1,
               narrow: bool = False) -> int:
    """Cycles of the pipelined window loop of ``passes`` passes: stage ``s`` (0 ..
    ``passes + 1``) loads pass ``s``, computes pass ``s - 1`` and drains pass ``s - 2``
    (those that exist) and lasts as long as the longest of them:
    `load + max(load, compute) + (passes - 2) * pass + max(compute, drain) + drain`
    (one pass: `load + compute + drain`)."""
    s = vmm_stages(cfg, accumulate, ncols, nrows, ngroups, replicas, narrow)
    if passes == 1:
        return s.load + s.compute + s.drain
    return (s.load + max(s.load, s.compute)
            + (passes - 2) * max(s.load, s.compute, s.drain_loading)
            + max(s.compute, s.drain) + s.drain)


def vec_cycles(count: int, windows: int = 1) -> int:
    """Execute cycles of a VEC over ``windows`` windows of ``count`` words: per word read
    a, read b, write, pipelined across words and windows alike: `2 * windows * count + 1`
    if `count` else 0."""
    return 2 * windows * count + 1 if count else 0


def row_write_floor(cfg: Config) -> int:
    """The least time a whole-crossbar write can take when every row has a cell to
    move by the full level range both ways (pulses only, no delta fetch)."""
    return (cfg.crossbar.rows * 2 * (cfg.cell_levels - 1) * cfg.write.pulses_per_level
            * cfg.write.pulse_cycles)
