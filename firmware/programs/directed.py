"""Directed regression programs: every RTL instruction, overlap, and bad firmware.

Each builder returns an :class:`~firmware.image.Image` for a config; the co-simulation
tests run every one of them on the RTL and compare with the golden and timing models.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from firmware.config import Config
from firmware.image import Image, Region, append_words
from firmware.isa import OPCODE_BITS, Instruction, VecFunc, VmmOut, decode, encode
from firmware.mapper import group_delta_words, row_delta_words
from firmware.packing import pack, random_words
from firmware.pooling import MapShape, pool, pooled, scratch_words
from firmware.schedulers import single_vmm
from firmware.semantics import weights_to_levels


def _rand_weights(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(-128, 128, size=(cfg.crossbar.rows, cfg.weights_per_row))


def _rand_x(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(-128, 128, size=cfg.crossbar.rows)


def slice_operands(cfg: Config, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The slice's seeded INT8 weights (``rows x weights_per_row``) and activations."""
    rng = np.random.default_rng(seed)
    return _rand_weights(cfg, rng), _rand_x(cfg, rng)


def slice_program(cfg: Config, seed: int = 1) -> Image:
    """The vertical slice with seeded random weights and activations."""
    return single_vmm(cfg, *slice_operands(cfg, seed))


def multi_program(cfg: Config, seed: int = 2) -> Image:
    """Two crossbars, a rewrite with negative deltas, windows, accumulate, every barrier.

    Crossbar 1 is written while crossbar 0 computes (write overlapped with compute);
    crossbar 0 is then rewritten with new weights, so its deltas go both ways.
    """
    rng = np.random.default_rng(seed)
    if cfg.n_crossbars < 2:
        raise ValueError("multi_program needs at least two crossbars")
    w0, w1, w2 = (_rand_weights(cfg, rng) for _ in range(3))
    xs = [_rand_x(cfg, rng) for _ in range(2)]
    erased = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=np.int64)
    l0, l1, l2 = (weights_to_levels(w, cfg) for w in (w0, w1, w2))

    dram: list[int] = []

    x_addr = append_words(dram, pack(np.concatenate(xs), cfg.data.act_bits, cfg.dram_bits))
    d0 = append_words(dram, row_delta_words(erased, l0, cfg))
    d1 = append_words(dram, row_delta_words(erased, l1, cfg))
    d2 = append_words(dram, row_delta_words(l0, l2, cfg))
    n_out = 4 * cfg.output_words
    out_addr = append_words(dram, [0] * n_out)

    iw, ow, R = cfg.input_words, cfg.output_words, cfg.crossbar.rows
    gb_x, gb_y = 0, 2 * iw
    half = R // 2
    program = [
        Instruction.make("NOP"),
        Instruction.make("WRITE_START", xbar=0, dram_addr=d0, row=0, nrows=R),
        Instruction.make("LOAD", gb_addr=gb_x, dram_addr=x_addr, count=2 * iw),
        Instruction.make("WRITE_WAIT", xbar=0),
        # Crossbar 1 is written in two halves while crossbar 0 computes.
        Instruction.make("WRITE_START", xbar=1, dram_addr=d1, row=0, nrows=half),
        Instruction.make("WINDOW", count=2, in_stride=iw, out_stride=ow),
        Instruction.make("VMM", xbar=0, in_addr=gb_x, out_addr=gb_y, accumulate=0),
        Instruction.make("WRITE_START", xbar=1, dram_addr=d1 + half * cfg.delta_row_words,
                         row=half, nrows=R - half),
        Instruction.make("WINDOW", count=0, in_stride=0, out_stride=0),
        Instruction.make("VMM", xbar=1, in_addr=gb_x, out_addr=gb_y + 2 * ow, accumulate=0),
        Instruction.make("VMM", xbar=1, in_addr=gb_x + iw, out_addr=gb_y + 2 * ow,
                         accumulate=1),
        Instruction.make("SYNC"),
        Instruction.make("WRITE_START", xbar=0, dram_addr=d2, row=0, nrows=R),
        Instruction.make("VMM", xbar=0, in_addr=gb_x, out_addr=gb_y + 3 * ow, accumulate=0),
        Instruction.make("STORE", dram_addr=out_addr, gb_addr=gb_y, count=n_out),
        Instruction.make("LOAD", gb_addr=gb_y, dram_addr=0, count=0),
        Instruction.make("HALT"),
    ]
    regions = {"outputs": Region(out_addr, n_out, cfg.data.acc_bits, 4 * cfg.weights_per_row)}
    return Image.build(cfg, program, dram, regions)


def bank_layers_program(cfg: Config, seed: int = 3) -> Image:
    """Two layers whose operands live in different global-buffer banks, gating the unused
    banks between layers while the next layer's weights are written in the background."""
    rng = np.random.default_rng(seed)
    banks = cfg.bank_bounds
    if len(banks) < 3 or cfg.n_crossbars < 2:
        raise ValueError("bank_layers_program needs three banks and two crossbars")
    w0, w1 = _rand_weights(cfg, rng), _rand_weights(cfg, rng)
    x0, x1 = _rand_x(cfg, rng), _rand_x(cfg, rng)
    erased = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=np.int64)
    dram: list[int] = []

    a0 = append_words(dram, pack(x0, cfg.data.act_bits, cfg.dram_bits))
    a1 = append_words(dram, pack(x1, cfg.data.act_bits, cfg.dram_bits))
    d0 = append_words(dram, row_delta_words(erased, weights_to_levels(w0, cfg), cfg))
    d1 = append_words(dram, row_delta_words(erased, weights_to_levels(w1, cfg), cfg))
    out = append_words(dram, [0] * 2 * cfg.output_words)
    iw, ow, R = cfg.input_words, cfg.output_words, cfg.crossbar.rows
    b0, b1, b2 = (lo for lo, _ in banks[:3])
    everything = (1 << len(banks)) - 1
    program = [
        Instruction.make("WRITE_START", xbar=0, dram_addr=d0, row=0, nrows=R),
        # Layer 0: inputs in bank 0, outputs in bank 1; bank 2 and above gated.
        Instruction.make("BANK_GATE", mask=0b011),
        Instruction.make("LOAD", gb_addr=b0, dram_addr=a0, count=iw),
        Instruction.make("VMM", xbar=0, in_addr=b0, out_addr=b1, accumulate=0),
        Instruction.make("WRITE_START", xbar=1, dram_addr=d1, row=0, nrows=R),
        Instruction.make("STORE", dram_addr=out, gb_addr=b1, count=ow),
        # Layer 1: inputs in bank 2, outputs in bank 1; bank 0 gated.
        Instruction.make("BANK_GATE", mask=everything & ~0b001),
        Instruction.make("LOAD", gb_addr=b2, dram_addr=a1, count=iw),
        Instruction.make("VMM", xbar=1, in_addr=b2, out_addr=b1, accumulate=0),
        Instruction.make("STORE", dram_addr=out + ow, gb_addr=b1, count=ow),
        Instruction.make("BANK_GATE", mask=0),
        Instruction.make("HALT"),
    ]
    regions = {"outputs": Region(out, 2 * ow, cfg.data.acc_bits, 2 * cfg.weights_per_row)}
    return Image.build(cfg, program, dram, regions)


def apu_row_program(cfg: Config, seed: int = 6) -> Image:
    """VMMs across a whole APU row sharing one input vector: windows, accumulation, and the
    scoreboard stalling a row-wide VMM while any crossbar of the row is being written."""
    rng = np.random.default_rng(seed)
    cols = cfg.apu_cols
    if cols < 2:
        raise ValueError("apu_row_program needs at least two crossbars per APU row")
    R, iw, ow = cfg.crossbar.rows, cfg.input_words, cfg.output_words
    erased = np.zeros((R, cfg.crossbar.cols), dtype=np.int64)
    dram: list[int] = []

    xs = append_words(dram, pack(rng.integers(-128, 128, 2 * R), cfg.data.act_bits, cfg.dram_bits))
    deltas = [append_words(dram, row_delta_words(erased, weights_to_levels(
        rng.integers(-128, 128, (R, cfg.weights_per_row)), cfg), cfg)) for _ in range(cols)]
    n_out = 3 * cols * ow
    out = append_words(dram, [0] * n_out)
    gb_y = 2 * iw
    program = [Instruction.make("LOAD", gb_addr=0, dram_addr=xs, count=2 * iw)]
    program += [Instruction.make("WRITE_START", xbar=c, dram_addr=deltas[c], row=0, nrows=R)
                for c in range(cols - 1)]
    program += [
        # The last crossbar is written while the row-wide VMM waits for it.
        Instruction.make("WRITE_START", xbar=cols - 1, dram_addr=deltas[-1], row=0, nrows=R),
        Instruction.make("WINDOW", count=2, in_stride=iw, out_stride=cols * ow),
        Instruction.make("VMM", xbar=0, in_addr=0, out_addr=gb_y, accumulate=0, ncols=cols),
        Instruction.make("WINDOW", count=1, in_stride=0, out_stride=0),
        Instruction.make("VMM", xbar=0, in_addr=iw, out_addr=gb_y + 2 * cols * ow,
                         accumulate=0, ncols=cols),
        Instruction.make("VMM", xbar=1, in_addr=0, out_addr=gb_y + 2 * cols * ow + ow,
                         accumulate=1, ncols=cols - 1),
        Instruction.make("STORE", dram_addr=out, gb_addr=gb_y, count=n_out),
        Instruction.make("HALT"),
    ]
    regions = {"outputs": Region(out, n_out, cfg.data.acc_bits, 3 * cols * cfg.weights_per_row)}
    return Image.build(cfg, program, dram, regions)


def parallel_program(cfg: Config, seed: int = 7) -> Image:
    """A layer on several APU rows: one lockstep group write of all of them, VMMs over
    every row block at once (windows, accumulate), and a partial group rewrite that a
    WRITE_WAIT on its middle crossbar and a one-row-block VMM both wait for."""
    rng = np.random.default_rng(seed)
    cols, nrb = cfg.apu_cols, min(2, cfg.n_apu_rows)
    if nrb < 2:
        raise ValueError("parallel_program needs at least two APU rows")
    R, iw, ow = cfg.crossbar.rows, cfg.input_words, cfg.output_words
    group = nrb * cols
    erased = [np.zeros((R, cfg.crossbar.cols), dtype=np.int64)] * group
    levels = [weights_to_levels(rng.integers(-128, 128, (R, cfg.weights_per_row)), cfg)
              for _ in range(group)]
    relevel = [weights_to_levels(rng.integers(-128, 128, (R, cfg.weights_per_row)), cfg)
               for _ in range(group - 1)]
    half = range(R // 2, R)
    dram: list[int] = []
    xs = append_words(dram, pack(rng.integers(-128, 128, 2 * nrb * R), cfg.data.act_bits,
                         cfg.dram_bits))
    d_all = append_words(dram, group_delta_words(erased, levels, cfg))
    d_part = append_words(dram, group_delta_words(levels[1:], relevel, cfg, half))
    d_top = append_words(dram, group_delta_words(levels[1:], relevel, cfg, range(R // 2)))
    n_out = 2 * cols * ow + ow
    out = append_words(dram, [0] * n_out)
    gb_y = 2 * nrb * iw
    program = [
        Instruction.make("WRITE_START", xbar=0, dram_addr=d_all, row=0, nrows=R,
                         nxbars=group),
        Instruction.make("LOAD", gb_addr=0, dram_addr=xs, count=2 * nrb * iw),
        # Two windows over every row block; stalls until the whole group is written.
        Instruction.make("WINDOW", count=2, in_stride=nrb * iw, out_stride=cols * ow),
        Instruction.make("VMM", xbar=0, in_addr=0, out_addr=gb_y, accumulate=0, ncols=cols,
                         nrows=nrb),
        Instruction.make("WINDOW", count=1, in_stride=0, out_stride=0),
        # Rewrite every crossbar but the first: lower half, then upper half.
        Instruction.make("WRITE_START", xbar=1, dram_addr=d_part, row=R // 2,
                         nrows=R - R // 2, nxbars=group - 1),
        Instruction.make("VMM", xbar=0, in_addr=0, out_addr=gb_y + 2 * cols * ow,
                         accumulate=0, ncols=1),              # crossbar 0 is not in the group
        Instruction.make("WRITE_WAIT", xbar=group // 2),      # stalls
        Instruction.make("WRITE_START", xbar=1, dram_addr=d_top, row=0, nrows=R // 2,
                         nxbars=group - 1),
        Instruction.make("VMM", xbar=0, in_addr=nrb * iw, out_addr=gb_y, accumulate=1,
                         ncols=cols, nrows=nrb),  # stalls
        Instruction.make("STORE", dram_addr=out, gb_addr=gb_y, count=n_out),
        Instruction.make("HALT"),
    ]
    regions = {"outputs": Region(out, n_out, cfg.data.acc_bits,
                                 (2 * cols + 1) * cfg.weights_per_row)}
    return Image.build(cfg, program, dram, regions)


def groups_program(cfg: Config, seed: int = 8) -> Image:
    """Column groups and replicas: one VMM over two column groups that share their input
    segments, windows computed two at a time on two copies of the weights (plain and
    accumulating, with a shift), and both at once where the chip has the APU rows."""
    rng = np.random.default_rng(seed)
    A = cfg.n_apu_rows
    if A < 2:
        raise ValueError("groups_program needs at least two APU rows")
    R, iw, ow, cols = cfg.crossbar.rows, cfg.input_words, cfg.output_words, cfg.apu_cols
    half = A // 2
    xbars = A * cols
    erased = [np.zeros((R, cfg.crossbar.cols), dtype=np.int64)] * xbars
    levels = [weights_to_levels(rng.integers(-128, 128, (R, cfg.weights_per_row)), cfg)
              for _ in range(xbars)]
    dram: list[int] = []
    n_in = 5 * half * iw
    xs = append_words(dram, pack(rng.integers(-128, 128, n_in * cfg.gb_bits // 8),
                                 cfg.data.act_bits, cfg.dram_bits))
    deltas = append_words(dram, group_delta_words(erased, levels, cfg))
    group = 2 * cols * ow                   # two column groups' outputs per window
    n_out = 2 * group + 4 * cols * ow + (4 * group if A >= 4 else 0)
    out = append_words(dram, [0] * n_out)
    y = n_in
    program = [
        Instruction.make("WRITE_START", xbar=0, dram_addr=deltas, row=0, nrows=R,
                         nxbars=xbars),
        Instruction.make("LOAD", gb_addr=0, dram_addr=xs, count=n_in),
        # Two windows, each on two column groups of `half` row blocks.
        Instruction.make("WINDOW", count=2, in_stride=half * iw, out_stride=group),
        Instruction.make("VMM", xbar=0, in_addr=0, out_addr=y, accumulate=0, ncols=cols,
                         nrows=half, ngroups=2),
        # Four windows, two at a time on two replicas; then accumulated with a shift.
        Instruction.make("WINDOW", count=4, in_stride=half * iw, out_stride=cols * ow),
        Instruction.make("VMM", xbar=0, in_addr=iw, out_addr=y + 2 * group,
                         accumulate=0, ncols=cols, nrows=half, replicas=2),
        Instruction.make("VMM", xbar=0, in_addr=0, out_addr=y + 2 * group,
                         accumulate=1, ncols=cols, nrows=half, replicas=2, shift=3),
    ]
    if A >= 4:   # two replicas of two column groups
        program += [
            Instruction.make("WINDOW", count=4, in_stride=half * iw // 2 or iw,
                             out_stride=group),
            Instruction.make("VMM", xbar=0, in_addr=0, out_addr=y + 2 * group + 4 * cols * ow,
                             accumulate=0, ncols=cols, nrows=A // 4, ngroups=2, replicas=2),
        ]
    program += [
        Instruction.make("STORE", dram_addr=out, gb_addr=y, count=n_out),
        Instruction.make("HALT"),
    ]
    regions = {"outputs": Region(out, n_out, cfg.data.acc_bits,
                                 n_out * cfg.gb_bits // cfg.data.acc_bits)}
    return Image.build(cfg, program, dram, regions)


def _stored(cfg: Config, program: list[Instruction], dram: list[int], out: int,
            gb: int, n_out: int, bits: int = 0) -> Image:
    """``program``, then a STORE of the ``n_out`` output words (of ``bits``-bit elements,
    int32 by default) at buffer word ``gb`` to main memory at ``out`` (the ``outputs``
    region) and HALT."""
    bits = bits or cfg.data.acc_bits
    program = [*program, Instruction.make("STORE", dram_addr=out, gb_addr=gb, count=n_out),
               Instruction.make("HALT")]
    regions = {"outputs": Region(out, n_out, bits, n_out * cfg.gb_bits // bits)}
    return Image.build(cfg, program, dram, regions)


def _windows_over(cfg: Config, rng: np.random.Generator, levels: list[np.ndarray],
                  windows: int, vmms: Callable[[int], list[Instruction]]) -> Image:
    """Crossbars ``0..`` written from erased cells to ``levels`` (one lockstep group),
    ``windows`` consecutive input vectors loaded, then ``vmms(n_in)`` over ``WINDOW
    count=windows`` (an APU row's outputs a window), their outputs from word ``n_in`` on
    stored as the ``outputs`` region."""
    R, iw, ow, cols = cfg.crossbar.rows, cfg.input_words, cfg.output_words, cfg.apu_cols
    erased = [np.zeros((R, cfg.crossbar.cols), dtype=np.int64)] * len(levels)
    dram: list[int] = []
    xs = append_words(dram, pack(rng.integers(-128, 128, windows * R), cfg.data.act_bits,
                                 cfg.dram_bits))
    deltas = append_words(dram, group_delta_words(erased, levels, cfg))
    n_in, n_out = windows * iw, windows * cols * ow
    out = append_words(dram, [0] * n_out)
    make = Instruction.make
    program = [
        make("WRITE_START", xbar=0, dram_addr=deltas, row=0, nrows=R, nxbars=len(levels)),
        make("LOAD", gb_addr=0, dram_addr=xs, count=n_in),
        make("WINDOW", count=windows, in_stride=iw, out_stride=cols * ow),
        *vmms(n_in),
    ]
    return _stored(cfg, program, dram, out, n_in, n_out)


def pipeline_program(cfg: Config, seed: int = 10) -> Image:
    """Pipelined window passes: six passes whose inputs load while the previous pass
    computes and the one before drains, their outputs packed right after the inputs
    (the tightest layout VMM_OVERLAP allows); then the same windows accumulated over
    those outputs (each drain's reads after its stage's loads), and accumulated again
    two windows a pass on two replicas of the weights, with a shift. The weights are
    written from erased cells, so the deltas are the levels."""
    rng = np.random.default_rng(seed)
    if cfg.n_apu_rows < 2:
        raise ValueError("pipeline_program needs two APU rows")
    cols = cfg.apu_cols
    w = rng.integers(-128, 128, (cfg.crossbar.rows, cfg.weights_per_row))
    levels = [weights_to_levels(w, cfg)] * (2 * cols)  # replica 1 holds replica 0's weights
    make = Instruction.make
    return _windows_over(cfg, rng, levels, 6, lambda y: [
        make("VMM", xbar=0, in_addr=0, out_addr=y, accumulate=0, ncols=cols),
        make("VMM", xbar=0, in_addr=0, out_addr=y, accumulate=1, ncols=cols),
        make("VMM", xbar=0, in_addr=0, out_addr=y, accumulate=1, ncols=cols, replicas=2,
             shift=2)])


def pipeline_write_program(cfg: Config, seed: int = 11) -> Image:
    """Weight writes against pipelined passes: a write of APU row 1's first crossbar,
    started just before a long VMM on APU row 0, lands while that VMM's passes run; the
    VMM over APU row 1 after it then stalls on the scoreboard for a second write (its
    other crossbar) and starts only once it is done."""
    rng = np.random.default_rng(seed)
    if cfg.n_apu_rows < 2 or cfg.apu_cols < 2:
        raise ValueError("pipeline_write_program needs two APU rows of two crossbars")
    R, iw, ow, cols = cfg.crossbar.rows, cfg.input_words, cfg.output_words, cfg.apu_cols
    erased = [np.zeros((R, cfg.crossbar.cols), dtype=np.int64)] * cols
    levels = [weights_to_levels(_rand_weights(cfg, rng), cfg) for _ in range(2 * cols)]
    windows = 8
    dram: list[int] = []
    xs = append_words(dram, pack(rng.integers(-128, 128, windows * R), cfg.data.act_bits,
                                 cfg.dram_bits))
    row0 = append_words(dram, group_delta_words(erased, levels[:cols], cfg))
    first = append_words(dram, row_delta_words(erased[0], levels[cols], cfg))
    second = append_words(dram, row_delta_words(erased[0], levels[cols + 1], cfg))
    n_in, n_out = windows * iw, 2 * windows * cols * ow
    out = append_words(dram, [0] * n_out)
    make = Instruction.make
    # Two rows of the first write only: it ends within the first VMM's passes.
    program = [
        make("WRITE_START", xbar=0, dram_addr=row0, row=0, nrows=R, nxbars=cols),
        make("LOAD", gb_addr=0, dram_addr=xs, count=n_in),
        make("WRITE_WAIT", xbar=0),
        make("WRITE_START", xbar=cols, dram_addr=first, row=0, nrows=2),
        make("WINDOW", count=windows, in_stride=iw, out_stride=cols * ow),
        make("VMM", xbar=0, in_addr=0, out_addr=n_in, accumulate=0, ncols=cols),
        make("WRITE_START", xbar=cols, dram_addr=first + 2 * cfg.delta_row_words, row=2,
             nrows=R - 2),
        make("WRITE_START", xbar=cols + 1, dram_addr=second, row=0, nrows=R),
        make("VMM", xbar=cols, in_addr=0, out_addr=n_in + n_out // 2, accumulate=0,
             ncols=cols),
    ]
    return _stored(cfg, program, dram, out, n_in, n_out)


def engines_program(cfg: Config, seed: int = 14) -> Image:
    """Write engines side by side: APU rows 0 and 1 written at once (one group each);
    a rewrite of two rows of crossbar 0 waits for the first group, since two writes never
    share a crossbar, however many engines are idle; a VMM over APU row 1 waits for its
    group only, WRITE_WAIT for crossbar 0, then a VMM over APU row 0. With one engine
    every write waits for the one before."""
    rng = np.random.default_rng(seed)
    if cfg.n_apu_rows < 2:
        raise ValueError("engines_program needs two APU rows")
    R, iw, ow, cols = cfg.crossbar.rows, cfg.input_words, cfg.output_words, cfg.apu_cols
    erased = [np.zeros((R, cfg.crossbar.cols), dtype=np.int64)] * cols
    levels = [weights_to_levels(_rand_weights(cfg, rng), cfg) for _ in range(2 * cols)]
    again = weights_to_levels(_rand_weights(cfg, rng), cfg)
    windows = 3
    dram: list[int] = []
    xs = append_words(dram, pack(rng.integers(-128, 128, windows * R), cfg.data.act_bits,
                                 cfg.dram_bits))
    row0 = append_words(dram, group_delta_words(erased, levels[:cols], cfg))
    row1 = append_words(dram, group_delta_words(erased, levels[cols:], cfg))
    rewrite = append_words(dram, row_delta_words(levels[0], again, cfg))
    n_in, n_out = windows * iw, 2 * windows * cols * ow
    out = append_words(dram, [0] * n_out)
    make = Instruction.make
    program = [
        make("LOAD", gb_addr=0, dram_addr=xs, count=n_in),
        make("WRITE_START", xbar=0, dram_addr=row0, row=0, nrows=R, nxbars=cols),
        make("WRITE_START", xbar=cols, dram_addr=row1, row=0, nrows=R, nxbars=cols),
        make("WRITE_START", xbar=0, dram_addr=rewrite, row=0, nrows=2),
        make("WINDOW", count=windows, in_stride=iw, out_stride=cols * ow),
        make("VMM", xbar=cols, in_addr=0, out_addr=n_in + n_out // 2, accumulate=0,
             ncols=cols),
        make("WRITE_WAIT", xbar=0),
        make("VMM", xbar=0, in_addr=0, out_addr=n_in, accumulate=0, ncols=cols),
    ]
    return _stored(cfg, program, dram, out, n_in, n_out)


def shared_port_program(cfg: Config, seed: int = 18) -> Image:
    """Main memory is one port: while weight writes fetch their deltas, LOADs of one and
    of many words, a STORE and an INV_WRITE's matrix take the port (each holds the
    engines' fetches, which resume as fresh bursts); the second write starts while the
    first still runs (beside it with two engines, after it with one), before the
    matrix streams."""
    rng = np.random.default_rng(seed)
    R = cfg.crossbar.rows
    erased = np.zeros((R, cfg.crossbar.cols), dtype=np.int64)
    dram: list[int] = []
    xs = append_words(dram, [int(w) for w in rng.integers(0, 1 << 62, size=24)])
    first = append_words(dram, row_delta_words(
        erased, weights_to_levels(_rand_weights(cfg, rng), cfg), cfg))
    second = append_words(dram, row_delta_words(
        erased, weights_to_levels(_rand_weights(cfg, rng), cfg), cfg))
    inv_matrix = append_words(dram, pack(solvable_inv_levels(cfg, rng).ravel(), 16,
                                         cfg.dram_bits))
    out = append_words(dram, [0] * 24)
    make = Instruction.make
    program = [
        make("WRITE_START", xbar=0, dram_addr=first, row=0, nrows=R),
        make("LOAD", gb_addr=0, dram_addr=xs, count=1),
        make("LOAD", gb_addr=1, dram_addr=xs + 1, count=11),
        make("STORE", dram_addr=out, gb_addr=0, count=5),
        make("WRITE_START", xbar=1, dram_addr=second, row=0, nrows=R),
        make("INV_WRITE", xbar=0, dram_addr=inv_matrix),
        make("LOAD", gb_addr=12, dram_addr=xs + 12, count=12),
        make("LOAD", gb_addr=5, dram_addr=xs + 5, count=2),
        make("STORE", dram_addr=out + 5, gb_addr=5, count=19),
        make("SYNC"),
        make("HALT"),
    ]
    return Image.build(cfg, program, dram)


def slow_drain_program(cfg: Config, seed: int = 12) -> Image:
    """Drains slower than the compute: four replicas a pass over every crossbar of four
    APU rows, plain and then accumulating (each pass's output words read, added and
    written after the stage's loads), on a chip whose bit-planes are short."""
    rng = np.random.default_rng(seed)
    reps = 4
    if cfg.n_apu_rows < reps:
        raise ValueError(f"slow_drain_program needs {reps} APU rows")
    cols = cfg.apu_cols
    levels = [weights_to_levels(_rand_weights(cfg, rng), cfg) for _ in range(reps * cols)]
    make = Instruction.make
    return _windows_over(cfg, rng, levels, 3 * reps, lambda y: [
        make("VMM", xbar=0, in_addr=0, out_addr=y, accumulate=0, ncols=cols, replicas=reps),
        make("VMM", xbar=0, in_addr=0, out_addr=y, accumulate=1, ncols=cols, replicas=reps,
             shift=1)])


def requant_program(cfg: Config, seed: int = 13) -> Image:
    """Requantizing VMMs (a layer's activation on the way out, INT8): REQUANT_RELU with a
    shift over four windows; REQUANT over two column groups on the same inputs; and
    REQUANT_RELU two windows a pass on two replicas, unshifted (clipping). Every
    crossbar holds the same weights, written from erased cells."""
    rng = np.random.default_rng(seed)
    cols, ow, iw = cfg.apu_cols, cfg.output_words, cfg.input_words
    if cfg.n_apu_rows < 2 or cols * ow % 4:
        raise ValueError("requant_program needs two APU rows whose INT8 outputs fill words")
    R, windows, gw = cfg.crossbar.rows, 4, cols * ow // 4
    erased = [np.zeros((R, cfg.crossbar.cols), dtype=np.int64)] * (2 * cols)
    w = rng.integers(-128, 128, (R, cfg.weights_per_row))
    levels = [weights_to_levels(w, cfg)] * (2 * cols)
    dram: list[int] = []
    xs = append_words(dram, pack(rng.integers(-128, 128, windows * R), cfg.data.act_bits,
                                 cfg.dram_bits))
    deltas = append_words(dram, group_delta_words(erased, levels, cfg))
    n_in, n_out = windows * iw, 4 * windows * gw
    out = append_words(dram, [0] * n_out)
    make = Instruction.make
    y = n_in
    program = [
        make("WRITE_START", xbar=0, dram_addr=deltas, row=0, nrows=R, nxbars=2 * cols),
        make("LOAD", gb_addr=0, dram_addr=xs, count=n_in),
        make("WINDOW", count=windows, in_stride=iw, out_stride=gw),
        make("VMM", xbar=0, in_addr=0, out_addr=y, ncols=cols, shift=9,
             mode=VmmOut.REQUANT_RELU),
        make("WINDOW", count=windows, in_stride=iw, out_stride=2 * gw),
        make("VMM", xbar=0, in_addr=0, out_addr=y + windows * gw, ncols=cols, ngroups=2,
             shift=7, mode=VmmOut.REQUANT),
        make("WINDOW", count=windows, in_stride=iw, out_stride=gw),
        make("VMM", xbar=0, in_addr=0, out_addr=y + 3 * windows * gw, ncols=cols,
             replicas=2, mode=VmmOut.REQUANT_RELU),
    ]
    return _stored(cfg, program, dram, out, y, n_out, 8)


def vmm_overlap_program(cfg: Config, seed: int = 10) -> Image:
    """Two replicas whose outputs would land on the second replica's inputs: with the
    passes pipelined, the VMM faults VMM_OVERLAP at decode, after the writes and load."""
    rng = np.random.default_rng(seed)
    if cfg.n_apu_rows < 2:
        raise ValueError("vmm_overlap_program needs two APU rows")
    iw, ow = cfg.input_words, cfg.output_words
    erased = np.zeros((cfg.crossbar.rows, cfg.crossbar.cols), dtype=np.int64)
    levels = weights_to_levels(_rand_weights(cfg, rng), cfg)
    dram: list[int] = []
    deltas = append_words(dram, row_delta_words(erased, levels, cfg))
    xs = append_words(dram, pack(rng.integers(-128, 128, 2 * iw * cfg.gb_bits // 8),
                                 cfg.data.act_bits, cfg.dram_bits))
    make = Instruction.make
    program = [
        make("WRITE_START", xbar=0, dram_addr=deltas, row=0, nrows=cfg.crossbar.rows),
        make("WRITE_START", xbar=cfg.apu_cols, dram_addr=deltas, row=0,
             nrows=cfg.crossbar.rows),
        make("LOAD", gb_addr=0, dram_addr=xs, count=2 * iw),
        # Window 0 from word 0, window 1 from word iw; results from word iw on.
        make("WINDOW", count=2, in_stride=iw, out_stride=ow),
        make("VMM", xbar=0, in_addr=0, out_addr=iw, accumulate=0, replicas=2),
        make("HALT"),
    ]
    return Image.build(cfg, program, dram)


def delta_values_program(cfg: Config, seed: int = 9) -> Image:
    """Every value a cell-delta field can hold, alone and mixed, on cells that saturate
    both ways; then every crossbar's levels read back exactly (VMMs of unit vectors).

    Crossbar 0 is first set to the top level and crossbar 1 left erased, so positive
    deltas saturate on the first and negative ones on the second: row ``v`` of each gets
    the delta value ``v`` in every cell (all ``2^delta_bits`` values, the most negative
    included). Crossbars 2 and 3 start at mid level and take mixed words (every nibble in
    one word, both orders), then arbitrary words, the last in a lockstep group.
    """
    rng = np.random.default_rng(seed)
    R, C, bits = cfg.crossbar.rows, cfg.crossbar.cols, cfg.write.delta_bits
    signed = cfg.delta_values
    values = len(signed)
    if cfg.n_crossbars < 4 or values > R:
        raise ValueError(f"delta_values_program needs 4 crossbars of at least {values} rows")
    rw, top = cfg.delta_row_words, cfg.cell_levels - 1
    dram: list[int] = []

    def rows_of(delta_rows: list[np.ndarray]) -> int:
        return append_words(dram, [w for d in delta_rows for w in pack(d, bits, cfg.dram_bits)])

    fill_top = rows_of([np.full(C, top)] * R)
    fill_mid = rows_of([np.full(C, top // 2 + 1)] * R)
    alone = rows_of([np.full(C, s) for s in signed])
    # Mixed: the words of one row hold every value in both orders, then arbitrary words.
    ramp = np.array([signed[c % values] for c in range(C)])
    mixed = append_words(dram, pack(ramp, bits, cfg.dram_bits) + pack(ramp[::-1], bits,
                                                                       cfg.dram_bits))
    arbitrary = append_words(dram, random_words(rng, 2 * R * rw, cfg.dram_bits))
    unit = np.eye(R, dtype=np.int64)        # row r of the identity reads weight row r
    xs = append_words(dram, pack(unit.ravel(), cfg.data.act_bits, cfg.dram_bits))
    iw, ow = cfg.input_words, cfg.output_words
    n_out = R * ow                           # one crossbar's outputs for every unit vector
    out = append_words(dram, [0] * (4 * n_out))
    make = Instruction.make
    program = [
        make("WRITE_START", xbar=0, dram_addr=fill_top, row=0, nrows=R),
        make("WRITE_START", xbar=2, dram_addr=fill_mid, row=0, nrows=R, nxbars=2),
        make("WRITE_START", xbar=0, dram_addr=alone, row=0, nrows=values),
        make("WRITE_START", xbar=1, dram_addr=alone, row=R - values, nrows=values),
        make("WRITE_START", xbar=2, dram_addr=mixed, row=0, nrows=2),
        make("WRITE_START", xbar=3, dram_addr=mixed, row=R - 2, nrows=2),
        make("WRITE_START", xbar=2, dram_addr=arbitrary, row=0, nrows=R, nxbars=2),
        make("LOAD", gb_addr=0, dram_addr=xs, count=R * iw),
        make("WINDOW", count=R, in_stride=iw, out_stride=ow),
    ]
    for xbar in range(4):   # each crossbar alone: any APU geometry
        program += [
            make("VMM", xbar=xbar, in_addr=0, out_addr=R * iw, accumulate=0, ncols=1),
            make("STORE", dram_addr=out + xbar * n_out, gb_addr=R * iw, count=n_out),
        ]
    program.append(make("HALT"))
    regions = {"outputs": Region(out, 4 * n_out, cfg.data.acc_bits,
                                 4 * n_out * cfg.gb_bits // cfg.data.acc_bits)}
    return Image.build(cfg, program, dram, regions)


def vec_program(cfg: Config, seed: int = 4) -> Image:
    """VEC ADD and SUB with int32 wrap-around, a zero count, and destinations that overlap
    their sources (in place, and shifted by one word so each word reads the previous
    result)."""
    rng = np.random.default_rng(seed)
    lanes = cfg.gb_bits // 32
    n = 6
    vals = rng.integers(-(2**31), 2**31, size=3 * n * lanes)
    vals[:lanes] = 2**31 - 1                 # overflow on the first ADD
    dram = pack(vals, 32, cfg.dram_bits)
    a, b, c = 0, n, 2 * n
    program = [
        Instruction.make("LOAD", gb_addr=0, dram_addr=0, count=3 * n),
        Instruction.make("VEC", func=0, dst=3 * n, src_a=a, src_b=b, count=n),
        Instruction.make("VEC", func=1, dst=4 * n, src_a=a, src_b=c, count=n),
        Instruction.make("VEC", func=0, dst=a, src_a=a, src_b=b, count=n),          # in place
        Instruction.make("VEC", func=1, dst=b + 1, src_a=b, src_b=c, count=n - 1),  # chained
        Instruction.make("VEC", func=0, dst=0, src_a=0, src_b=0, count=0),
        Instruction.make("STORE", dram_addr=len(dram), gb_addr=0, count=5 * n),
        Instruction.make("HALT"),
    ]
    out = Region(len(dram), 5 * n, 32, 5 * n * lanes)
    return Image.build(cfg, program, dram + [0] * 5 * n, {"outputs": out})


#: INT8 lane values at the edges: both ends, one inside them, -1, 0, 1.
INT8_EDGES = (-128, -127, -1, 0, 1, 126, 127)
#: The INT8 HWC map of :func:`pool_program` (pixels high, wide, words a pixel) and its
#: pools, by region name: ``(function, k, stride)``.
POOL_SHAPE = MapShape(5, 5, 2)
POOLS = {"max2x2": (VecFunc.MAX8, 2, 2), "max3x3": (VecFunc.MAX8, 3, 2),
         "avg2x2": (VecFunc.AVG8, 2, 2)}
#: The maps of :func:`residual_program`.
RESIDUAL_SHAPE = MapShape(4, 4, 2)


def _int8_words(cfg: Config, values: np.ndarray) -> list[int]:
    return pack(values, 8, cfg.dram_bits)


def vec8_program(cfg: Config, seed: int = 15) -> Image:
    """Every INT8 VEC function on every pair of edge lane values (then random lanes);
    windowed VECs: a chain whose every window reads the word the one before wrote, INT8
    and int32 windows at strides that leave gaps, a WINDOW count of 0 (one window), a
    zero count; and an unwindowed VEC under a window loop it ignores."""
    rng = np.random.default_rng(seed)
    lanes = cfg.gb_bits // 8
    pairs = np.array([(x, y) for x in INT8_EDGES for y in INT8_EDGES])
    n = -(-len(pairs) // lanes)
    extra = rng.integers(-128, 128, (n * lanes - len(pairs), 2))
    a, b = np.concatenate([pairs, extra]).T
    narrow = (VecFunc.ADD8, VecFunc.ADD8_RELU, VecFunc.MAX8, VecFunc.AVG8)
    total = (4 + len(narrow)) * n
    dram = [0] * total                           # zeros: every word initialized first
    src = append_words(dram, _int8_words(cfg, a) + _int8_words(cfg, b))
    out = append_words(dram, [0] * total)
    make = Instruction.make
    A, B, Y = 0, n, 2 * n                        # a, b; one result block per function
    C = Y + len(narrow) * n                      # the chain (from a zero word)
    W = C + n                                    # the other windowed results
    program = [make("LOAD", gb_addr=0, dram_addr=0, count=total),
               make("LOAD", gb_addr=0, dram_addr=src, count=2 * n)]
    program += [make("VEC", func=f, dst=Y + k * n, src_a=A, src_b=B, count=n)
                for k, f in enumerate(narrow)]
    program += [
        # Each window averages the previous window's result with the next b word.
        make("WINDOW", count=n - 1, in_stride=1, out_stride=1),
        make("VEC", func=VecFunc.AVG8, dst=C + 1, src_a=C, src_b=B, count=1, windowed=1),
        make("VEC", func=VecFunc.ADD, dst=W, src_a=A, src_b=B, count=n),  # one window
        # Two-word windows, inputs two words apart, results three (a word's gap).
        make("WINDOW", count=n // 3, in_stride=2, out_stride=3),
        make("VEC", func=VecFunc.ADD8_RELU, dst=W, src_a=A, src_b=B, count=2, windowed=1),
        make("VEC", func=VecFunc.SUB, dst=W + 1, src_a=B, src_b=A, count=1, windowed=1),
        make("VEC", func=VecFunc.MAX8, dst=0, src_a=0, src_b=0, count=0, windowed=1),
        make("WINDOW", count=0, in_stride=5, out_stride=5),
        make("VEC", func=VecFunc.MAX8, dst=W + n - 1, src_a=A + n - 1, src_b=B, count=1,
             windowed=1),
    ]
    return _stored(cfg, program, dram, out, 0, total, 8)


def pool_program(cfg: Config, seed: int = 16) -> Image:
    """Pooling of an INT8 HWC map (:data:`POOL_SHAPE`) with windowed VECs
    (:func:`firmware.pooling.pool`): a 2 x 2 and a 3 x 3 max pool of stride 2 (MAX8) and
    a 2 x 2 average pool (an AVG8 tree), one scratch area for all three, written first
    (the 3 x 3 pool reads it back across gaps). Regions: ``map`` and each pool's output
    (:data:`POOLS`), together ``outputs``."""
    rng = np.random.default_rng(seed)
    shape, lanes = POOL_SHAPE, cfg.gb_bits // 8
    values = rng.integers(-128, 128, shape.words * lanes)
    values[:4] = [-128, 127, -128, 127]
    outs = {name: pooled(shape, k, s) for name, (_, k, s) in POOLS.items()}
    n_out = sum(o.words for o in outs.values())
    scratch = max(scratch_words(shape, k, s) for _, k, s in POOLS.values())
    dram: list[int] = []
    zeros = append_words(dram, [0] * scratch)
    src = append_words(dram, _int8_words(cfg, values))
    out = append_words(dram, [0] * n_out)
    m, y, t = 0, shape.words, shape.words + n_out
    program = [Instruction.make("LOAD", gb_addr=m, dram_addr=src, count=shape.words),
               Instruction.make("LOAD", gb_addr=t, dram_addr=zeros, count=scratch)]
    regions = {"map": Region(src, shape.words, 8, shape.words * lanes)}
    at = 0
    for name, (func, k, s) in POOLS.items():
        program += pool(func, m, y + at, t, shape, k, s)
        regions[name] = Region(out + at, outs[name].words, 8, outs[name].words * lanes)
        at += outs[name].words
    image = _stored(cfg, program, dram, out, y, n_out, 8)
    return Image(cfg, image.imem, image.dram, {**image.regions, **regions})


def residual_program(cfg: Config, seed: int = 17) -> Image:
    """A residual add of two INT8 maps (:data:`RESIDUAL_SHAPE`): ADD8_RELU into a third
    map, then ADD8 in place into the first. Regions ``a``, ``b``, ``relu_sum`` and
    ``sum`` (the first map afterwards), together ``outputs``."""
    rng = np.random.default_rng(seed)
    n, lanes = RESIDUAL_SHAPE.words, cfg.gb_bits // 8
    a, b = rng.integers(-128, 128, (2, n * lanes))
    dram: list[int] = []
    src = append_words(dram, _int8_words(cfg, a) + _int8_words(cfg, b))
    out = append_words(dram, [0] * 3 * n)
    make = Instruction.make
    program = [make("LOAD", gb_addr=0, dram_addr=src, count=2 * n),
               make("VEC", func=VecFunc.ADD8_RELU, dst=2 * n, src_a=0, src_b=n, count=n),
               make("VEC", func=VecFunc.ADD8, dst=0, src_a=0, src_b=n, count=n)]
    image = _stored(cfg, program, dram, out, 0, 3 * n, 8)

    def region(k: int) -> Region:
        return Region(out + k * n, n, 8, n * lanes)

    return Image(cfg, image.imem, image.dram, {
        **image.regions, "a": Region(src, n, 8, n * lanes),
        "b": Region(src + n, n, 8, n * lanes), "sum": region(0), "relu_sum": region(2)})


def sfu_program(cfg: Config, seed: int = 5) -> Image:
    """Every SFU function: RELU in place, REQUANT and REQUANT_RELU at several shifts
    (rounding and both clip limits, in place and written behind its source), MAXPOOL and
    AVGPOOL with windows that cross word boundaries."""
    rng = np.random.default_rng(seed)
    lanes = cfg.gb_bits // 32
    n_words = 6
    vals = rng.integers(-3000, 3000, size=n_words * lanes)
    vals[:4] = [-129 * 4, 127 * 4 + 2, 2**31 - 1, -(2**31)]   # clip, round, extremes
    dram = pack(vals, 32, cfg.dram_bits)
    W = n_words
    n = n_words * lanes
    sfu = Instruction.make
    out_addr = len(dram)
    program = [
        sfu("LOAD", gb_addr=0, dram_addr=out_addr, count=7 * W),  # zeros: all initialized
        sfu("LOAD", gb_addr=0, dram_addr=0, count=W),
        sfu("LOAD", gb_addr=W, dram_addr=0, count=W),
        sfu("LOAD", gb_addr=2 * W, dram_addr=0, count=W),
        sfu("SFU", func=1, dst=3 * W, src=0, count=W, shift=2, window=1),
        sfu("SFU", func=1, dst=3 * W + 2, src=0, count=W, shift=0, window=1),
        sfu("SFU", func=2, dst=4 * W, src=0, count=W, shift=0, window=3 if n % 3 == 0 else 1),
        sfu("SFU", func=3, dst=5 * W, src=0, count=W, shift=2, window=4 if n % 4 == 0 else 1),
        sfu("SFU", func=2, dst=6 * W, src=0, count=W, shift=0, window=n),
        sfu("SFU", func=0, dst=0, src=0, count=W, shift=0, window=1),          # RELU in place
        sfu("SFU", func=1, dst=W, src=W, count=W, shift=5, window=1),          # in place
        sfu("SFU", func=1, dst=2 * W - 1, src=2 * W, count=W, shift=3, window=1),  # behind
        sfu("SFU", func=0, dst=0, src=0, count=0, shift=0, window=1),
        # ReLU and REQUANT in one pass, written behind its source and in place.
        sfu("SFU", func=5, dst=2 * W - 1, src=2 * W, count=W, shift=4, window=1),
        sfu("SFU", func=5, dst=3 * W, src=3 * W, count=W, shift=1, window=1),
        sfu("STORE", dram_addr=len(dram), gb_addr=0, count=7 * W),
        sfu("HALT"),
    ]
    out = Region(len(dram), 7 * W, 32, 7 * W * lanes)
    return Image.build(cfg, program, dram + [0] * 7 * W, {"outputs": out})


def single_instruction_programs(cfg: Config) -> dict[str, Image]:
    """One program per RTL opcode: that instruction alone (on nonzero data where it reads
    any), followed by HALT and nothing else but a STORE where its result lives only in the
    global buffer."""
    rng = np.random.default_rng(7)
    dram = [int(w) for w in rng.integers(0, 1 << 62, size=64)]
    R = cfg.crossbar.rows
    erased = np.zeros((R, cfg.crossbar.cols), dtype=np.int64)
    levels = weights_to_levels(rng.integers(-128, 128, (R, cfg.weights_per_row)), cfg)
    deltas = len(dram)
    dram += row_delta_words(erased, levels, cfg)
    inv_matrix = append_words(dram, pack(solvable_inv_levels(cfg, rng).ravel(), 16,
                                         cfg.dram_bits))
    make = Instruction.make
    alone = {
        "NOP": [make("NOP")],
        "HALT": [],
        "SYNC": [make("SYNC")],
        "LOAD": [make("LOAD", gb_addr=3, dram_addr=5, count=7)],
        "STORE": [make("STORE", dram_addr=9, gb_addr=0, count=4)],
        "WRITE_START": [make("WRITE_START", xbar=1, dram_addr=deltas, row=0, nrows=R)],
        "WRITE_WAIT": [make("WRITE_WAIT", xbar=0)],
        "WINDOW": [make("WINDOW", count=3, in_stride=1, out_stride=2)],
        "VMM": [make("VMM", xbar=0, in_addr=0, out_addr=8, accumulate=1, ncols=cfg.apu_cols)],
        "BANK_GATE": [make("BANK_GATE", mask=0b101)],
        "VEC": [make("VEC", func=1, dst=0, src_a=0, src_b=1, count=3)],
        "SFU": [make("SFU", func=1, dst=0, src=0, count=4, shift=3, window=1)],
        "COMBINE": [make("COMBINE", dst=16, src=0, coef=2, m=3, ngroups=2)],
        "INV_WRITE": [make("INV_WRITE", xbar=0, dram_addr=inv_matrix)],
        # A solve needs a programmed array.
        "INV": [make("INV_WRITE", xbar=0, dram_addr=inv_matrix),
                make("INV", xbar=0, in_addr=0, out_addr=8, shift=4)],
    }
    # Instructions whose result lives only in the global buffer: preload it, then store it.
    setup = [make("LOAD", gb_addr=0, dram_addr=0, count=16)]
    keep = [make("STORE", dram_addr=32, gb_addr=0, count=16)]
    out = {}
    for name, body in alone.items():
        reads_gb = name in ("STORE", "VMM", "VEC", "SFU", "INV", "COMBINE")
        program = (setup if reads_gb else []) + body + (keep if reads_gb else [])
        out[name] = Image.build(cfg, program + [make("HALT")], list(dram))
    return out


def field_edge_programs(cfg: Config) -> dict[str, Image]:
    """Every field of every RTL instruction at each value at the edges of what its width
    holds (:meth:`~firmware.isa.Field.edge_values`), one program each: the program of
    :func:`single_instruction_programs` with that one field changed. Most fault, some
    are legal; either way RTL, golden and timing must agree."""
    out = {}
    for name, image in single_instruction_programs(cfg).items():
        words = list(image.imem)
        k = max(i for i, w in enumerate(words) if decode(w).opcode.name == name)
        insn = decode(words[k])
        for f in insn.spec.fields:
            for v in f.edge_values():
                if v == getattr(insn, f.name):
                    continue
                edged = Instruction.make(insn.opcode, **{**dict(insn.args), f.name: v})
                out[f"{name}.{f.name}={v}"] = Image(
                    cfg, words[:k] + [encode(edged)] + words[k + 1:], image.dram,
                    image.regions)
    return out


def solvable_inv_levels(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """A diagonally dominant matrix of small INV levels: solvable, quick to program."""
    n = cfg.inv.size
    return rng.integers(-1, 2, size=(n, n)) + np.diag(rng.integers(10, 16, size=n))


def _with_tail(cfg: Config, tail: list[Instruction] | list[int],
               last_words: list[int] = ()) -> Image:
    """The slice program with its HALT replaced by ``tail`` (instructions or raw words)
    and the end of its main memory replaced by ``last_words``."""
    base = slice_program(cfg)
    words = base.imem[:-1] + [w if isinstance(w, int) else encode(w) for w in tail]
    dram = list(base.dram)
    if last_words:
        dram[-len(last_words):] = last_words
    return Image(cfg, words, dram, base.regions)


def _inv_matrix_at(cfg: Config, levels: np.ndarray) -> tuple[int, list[int]]:
    """``levels`` as the last words of main memory: their address and words."""
    words = pack(levels.ravel(), 16, cfg.dram_bits)
    return cfg.dram_words - len(words), words


def base_deltas(cfg: Config) -> int:
    """Main-memory address of the slice program's weight deltas."""
    return slice_program(cfg).regions["deltas"].addr


def fault_programs(cfg: Config) -> dict[str, Image]:
    """One program per fault the RTL detects, each faulting after some real work."""
    halt = Instruction.make("HALT")
    n = cfg.inv.size
    unstable = _inv_matrix_at(cfg, -5 * np.eye(n, dtype=np.int64))
    big = solvable_inv_levels(cfg, np.random.default_rng(1))
    big[n // 2, n // 3] = cfg.inv_level_max + 1   # one level out of range
    too_big = _inv_matrix_at(cfg, big)
    return {
        "illegal_opcode": _with_tail(cfg, [(1 << OPCODE_BITS) - 1]),
        "inv_never_written": _with_tail(cfg, [
            Instruction.make("INV", xbar=0, in_addr=0, out_addr=0, shift=0), halt]),
        "inv_unstable": _with_tail(cfg, [
            Instruction.make("INV_WRITE", xbar=0, dram_addr=unstable[0]),
            Instruction.make("LOAD", gb_addr=0, dram_addr=0, count=cfg.inv_vector_words),
            Instruction.make("INV", xbar=0, in_addr=0, out_addr=0, shift=0), halt],
            unstable[1]),
        "inv_level_range": _with_tail(cfg, [
            Instruction.make("INV_WRITE", xbar=0, dram_addr=too_big[0]), halt], too_big[1]),
        "bad_operand": _with_tail(cfg, [
            Instruction.make("VEC", func=7, dst=0, src_a=0, src_b=0, count=1), halt]),
        # Three windows: the first fits the buffer, the last runs past its end.
        "vec_window_range": _with_tail(cfg, [
            Instruction.make("WINDOW", count=3, in_stride=cfg.gb_words // 2, out_stride=1),
            Instruction.make("VEC", func=VecFunc.MAX8, dst=0, src_a=0, src_b=0, count=1,
                             windowed=1), halt]),
        "vmm_outside_apu_row": _with_tail(cfg, [
            Instruction.make("VMM", xbar=1, in_addr=0, out_addr=0, accumulate=0,
                             ncols=cfg.apu_cols), halt]),
        "uninitialized": _with_tail(cfg, [
            Instruction.make("STORE", dram_addr=0, gb_addr=cfg.gb_words - 1, count=1), halt]),
        "sfu_overlap": _with_tail(cfg, [
            Instruction.make("SFU", func=0, dst=1, src=0, count=2, shift=0, window=1), halt]),
        "gb_range": _with_tail(cfg, [
            Instruction.make("LOAD", gb_addr=cfg.gb_words - 1, dram_addr=0, count=2), halt]),
        "dram_range": _with_tail(cfg, [
            Instruction.make("STORE", dram_addr=cfg.dram_words, gb_addr=0, count=1), halt]),
        "xbar_range": _with_tail(cfg, [
            Instruction.make("WRITE_START", xbar=cfg.n_crossbars, dram_addr=0, row=0, nrows=1),
            halt]),
        "vmm_window_range": _with_tail(cfg, [
            Instruction.make("WINDOW", count=cfg.gb_words, in_stride=1, out_stride=0),
            Instruction.make("VMM", xbar=0, in_addr=0, out_addr=0, accumulate=0), halt]),
        # A fault while a weight write is in flight: the write drains, then the chip halts.
        "fault_during_write": _with_tail(cfg, [
            Instruction.make("WRITE_START", xbar=1, dram_addr=base_deltas(cfg), row=0,
                             nrows=cfg.crossbar.rows),
            (1 << OPCODE_BITS) - 1]),
        # A matrix streamed while a weight write fetches (the port is the stream's),
        # faulting once streamed: the held write drains, then the chip halts.
        "inv_level_range_during_write": _with_tail(cfg, [
            Instruction.make("WRITE_START", xbar=1, dram_addr=base_deltas(cfg), row=0,
                             nrows=cfg.crossbar.rows),
            Instruction.make("INV_WRITE", xbar=0, dram_addr=too_big[0]), halt], too_big[1]),
        "gated_bank": _with_tail(cfg, [
            Instruction.make("BANK_GATE", mask=0b110),
            Instruction.make("STORE", dram_addr=0, gb_addr=0, count=1), halt]),
        "vmm_overlap": vmm_overlap_program(cfg),
        # No HALT: the program runs through zero (NOP) words off the end of memory.
        "imem_range": _with_tail(cfg, [Instruction.make("NOP")]),
    }


PROGRAMS: dict[str, Callable[[Config], Image]] = {
    "slice": slice_program,
    "multi": multi_program,
    "bank_layers": bank_layers_program,
    "vec": vec_program,
    "apu_row": apu_row_program,
    "parallel": parallel_program,
    "groups": groups_program,
    "sfu": sfu_program,
    "delta_values": delta_values_program,
    "pipeline": pipeline_program,
    "pipeline_write": pipeline_write_program,
    "engines": engines_program,
    "shared_port": shared_port_program,
    "requant": requant_program,
    "vec8": vec8_program,
    "pool": pool_program,
    "residual": residual_program,
}
