"""Schedulers: turn a workload into a program and a main-memory image.

The single-VMM slice, and whole networks: ``naive`` so far; the other ARAS schedulers
(baseline, +banks, +replication, +reuse) and ``basisn`` build on the same parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config
from firmware.image import Image, Region
from firmware.isa import Instruction, SfuFunc, Window
from firmware.mapper import (
    LayerMap,
    group_delta_words,
    map_layer,
    row_delta_words,
    weights_to_levels,
)
from firmware.network import Network, feeds, flattens, im2col
from firmware.packing import pack


def append_words(dram: list[int], words: list[int]) -> int:
    """Append ``words`` to the main-memory image ``dram``; return their first address."""
    dram.extend(words)
    return len(dram) - len(words)


def single_vmm(cfg: Config, weights: np.ndarray, x: np.ndarray, xbar: int = 0) -> Image:
    """The vertical slice: write one crossbar's weights, load activations, run one VMM.

    The write is started first so that the activation load overlaps it; the VMM then
    stalls on the crossbar scoreboard until the write is done (no explicit barrier).
    Main memory holds ``x`` (INT8), the row deltas from an erased crossbar, and room for
    the int32 outputs.
    """
    R = cfg.crossbar.rows
    x = np.asarray(x)
    if x.shape != (R,):
        raise ValueError(f"x must hold {R} activations (one per crossbar row), got {x.shape}")
    if not 0 <= xbar < cfg.n_crossbars:
        raise ValueError(f"xbar {xbar} out of range 0..{cfg.n_crossbars - 1}")
    levels = weights_to_levels(weights, cfg)
    erased = np.zeros_like(levels)
    act_words = pack(x, cfg.data.act_bits, cfg.dram_bits)
    delta_words = row_delta_words(erased, levels, cfg)

    act_addr = 0
    delta_addr = act_addr + len(act_words)
    out_addr = delta_addr + len(delta_words)
    dram = act_words + delta_words + [0] * cfg.output_words
    gb_in, gb_out = 0, cfg.input_words

    program = [
        Instruction.make("WRITE_START", xbar=xbar, dram_addr=delta_addr, row=0, nrows=R),
        Instruction.make("LOAD", gb_addr=gb_in, dram_addr=act_addr, count=cfg.input_words),
        Instruction.make("VMM", xbar=xbar, in_addr=gb_in, out_addr=gb_out, accumulate=0),
        Instruction.make("STORE", dram_addr=out_addr, gb_addr=gb_out, count=cfg.output_words),
        Instruction.make("HALT"),
    ]
    regions = {
        "activations": Region(act_addr, len(act_words), cfg.data.act_bits, R),
        "deltas": Region(delta_addr, len(delta_words), cfg.write.delta_bits,
                         R * cfg.crossbar.cols),
        "outputs": Region(out_addr, cfg.output_words, cfg.data.acc_bits, cfg.weights_per_row),
    }
    return Image.build(cfg, program, dram, regions)


# ---- whole networks ------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Crossbars a layer's part occupies at once: column groups ``groups`` with row
    blocks ``blocks`` (a whole multiple of the segment group when the layer is cut by
    rows), one APU row per (group, block) from APU row 0 on."""

    groups: range
    blocks: range


def layer_parts(lm: LayerMap, cfg: Config, cap: int | None = None) -> list[Part]:
    """Cut a layer that needs more than ``cap`` APU rows (default: all of the chip's)
    into parts."""
    cap = cfg.n_apu_rows if cap is None else cap
    if lm.row_blocks <= cap:
        per = cap // lm.row_blocks
        return [Part(range(g, min(g + per, lm.col_groups)), range(lm.row_blocks))
                for g in range(0, lm.col_groups, per)]
    # Cut between kernel rows (whole segment groups), or anywhere in a 1-row kernel.
    step = cap if lm.layer.filter_h == 1 else (cap // lm.seg_group) * lm.seg_group
    if step == 0:
        raise ValueError(f"layer '{lm.layer.name}': one kernel row needs {lm.seg_group} APU "
                         f"rows; the chip has {cap}")
    return [Part(range(g, g + 1), range(k, min(k + step, lm.row_blocks)))
            for g in range(lm.col_groups) for k in range(0, lm.row_blocks, step)]


def naive(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
          shifts: list[int]) -> Image:
    """ARAS's naive schedule (Fig. 7): for each part of each layer, write its weights
    (one lockstep group write), wait, then compute every window; ReLU and REQUANT in
    the SFU between layers. The first layer's input is unrolled (im2col) by the host;
    the others read their HWC map through segment groups. The last layer's int32
    outputs are stored to main memory (region ``outputs``)."""
    return _layered(cfg, net, qs, x, shifts, overlap=False)


def baseline(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
             shifts: list[int]) -> Image:
    """ARAS's baseline: weight writes overlap compute as crossbars free up. Parts are
    placed one after another around the APU rows; when the next part fits beside the
    current one its write is issued before the current part computes, so it runs in the
    background while the crossbar scoreboard holds each VMM until its own part is written
    (no barriers); otherwise it is written once the current part is done."""
    return _layered(cfg, net, qs, x, shifts, overlap=True)


def banks(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
          shifts: list[int]) -> Image:
    """ARAS's +banks: the baseline with each layer's buffers placed in global-buffer banks
    chosen by an integer linear program (:func:`select_banks`) and every other bank
    power-gated while the layer runs (``BANK_GATE`` before each layer)."""
    return _layered(cfg, net, qs, x, shifts, overlap=True, gate=True)


def select_banks(cfg: Config, sizes: list[int], live: list[list[int]],
                 weights: list[float]) -> list[int]:
    """The bank of each buffer (``sizes`` in words, each in one bank) minimizing the
    powered capacity weighted by each phase's length: phase ``t`` (weight
    ``weights[t]``) needs the buffers ``live[t]``, in distinct banks, and powers their
    banks. Bank static power is taken proportional to bank size. Solved by
    ``scipy.optimize.milp``; raises ``ValueError`` if no placement exists."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    caps = [hi - lo for lo, hi in cfg.bank_bounds]
    nb, nk, nt = len(sizes), len(caps), len(live)
    nx = nb * nk                            # x[b, k]: buffer b in bank k
    n = nx + nt * nk                        # p[t, k]: bank k powered in phase t
    cost = np.zeros(n)
    for t in range(nt):
        cost[nx + t * nk: nx + (t + 1) * nk] = np.array(caps, dtype=float) * weights[t]
    rows, lo, hi = [], [], []

    def constraint(coefs: dict[int, float], low: float, high: float) -> None:
        row = np.zeros(n)
        for i, v in coefs.items():
            row[i] = v
        rows.append(row)
        lo.append(low)
        hi.append(high)

    for b in range(nb):                     # each buffer in exactly one bank that holds it
        constraint({b * nk + k: 1 for k in range(nk)}, 1, 1)
    upper = np.ones(n)
    for b in range(nb):
        for k in range(nk):
            if sizes[b] > caps[k]:
                upper[b * nk + k] = 0
    for t, bufs in enumerate(live):
        for k in range(nk):
            # Buffers live together never share a bank; a used bank is powered.
            constraint({b * nk + k: 1 for b in bufs}, 0, 1)
            for b in bufs:
                constraint({nx + t * nk + k: 1, b * nk + k: -1}, 0, np.inf)
    res = milp(cost, constraints=LinearConstraint(np.array(rows), lo, hi),
               integrality=np.ones(n), bounds=Bounds(np.zeros(n), upper))
    if res.x is None:
        raise ValueError(f"no bank placement: buffers of {sizes} words (each in one bank, "
                         f"those live together in different banks) in banks of {caps} words")
    x = np.rint(res.x[:nx]).reshape(nb, nk)
    return [int(np.argmax(x[b])) for b in range(nb)]


def _layered(cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray,
             shifts: list[int], overlap: bool, gate: bool = False) -> Image:
    """Layer by layer, part by part; ``overlap`` as :func:`baseline`, else :func:`naive`;
    ``gate`` places buffers in banks and gates the rest (:func:`banks`)."""
    wb, iw, ow = cfg.global_buffer.word_bytes, cfg.input_words, cfg.output_words
    R, ac = cfg.crossbar.rows, cfg.apu_cols
    layers = net.layers
    maps = [map_layer(layer, cfg, im2col=(i == 0)) for i, layer in enumerate(layers)]
    pads = [feeds(layers[j], layers[j + 1]) for j in range(len(layers) - 1)]
    for layer in layers[:-1]:   # outputs feed the next layer: packed, word-aligned
        if layer.filters % cfg.weights_per_row or layer.filters % wb:
            raise ValueError(f"layer '{layer.name}': its {layer.filters} output channels "
                             f"must fill whole crossbars ({cfg.weights_per_row} weight "
                             f"columns) and {wb}-byte words")

    def words(nbytes: int) -> int:
        return -(-nbytes // wb)

    def in_words(i: int) -> int:
        lm = maps[i]
        if lm.mode == "im2col":
            return layers[i].windows * lm.row_blocks * iw
        return words(layers[i].ifmap_bytes) + lm.row_blocks * iw  # slack: over-reads

    # int32 outputs per position: column group g at g * apu_cols * output_words.
    pos_words = [((lm.col_groups - 1) * ac + lm.group_cols[-1]) * ow for lm in maps]
    parts = [layer_parts(lm, cfg) for lm in maps]
    # A layer in one part is finished row by row (a one-row int32 scratch); a layer cut
    # into parts accumulates its whole output first.
    scratch_rows = [1 if len(p) == 1 else layer.ofmap_h for layer, p in zip(layers, parts,
                                                                             strict=True)]
    area = max(in_words(i) for i in range(len(layers)))
    scratch_words = max(r * layer.ofmap_w * p for layer, p, r in
                        zip(layers, pos_words, scratch_rows, strict=True))
    L = len(layers)
    scratch_of = [r * layer.ofmap_w * p for layer, p, r in
                  zip(layers, pos_words, scratch_rows, strict=True)]
    masks = [None] * L     # bank mask per layer (gate only)
    if gate:
        # Buffers: the input map of each layer, then each layer's int32 scratch; layer i
        # needs its input, its output map and its scratch.
        sizes = [in_words(i) for i in range(L)] + scratch_of
        live = [[i, L + i] + ([i + 1] if i + 1 < L else []) for i in range(L)]
        weights = [float(layer.windows * len(p)) for layer, p in zip(layers, parts,
                                                                      strict=True)]
        bank_of = select_banks(cfg, sizes, live, weights)
        starts = [cfg.bank_bounds[k][0] for k in bank_of]
        map_at, scratch_at = starts[:L], starts[L:]
        masks = [sum(1 << bank_of[b] for b in bufs) for bufs in live]
    else:
        map_at = [(i % 2) * area for i in range(L)]
        scratch = 2 * area
        scratch_at = [scratch] * L
        if scratch + scratch_words > cfg.gb_words:
            raise ValueError(f"{net.name}: needs {scratch + scratch_words} global-buffer "
                             f"words (two activation areas of {area} and {scratch_words} of "
                             f"int32 outputs); {cfg.source} has {cfg.gb_words}")

    # Main memory: input, zeros (to clear areas), deltas, outputs.
    first = maps[0]
    cols = im2col(np.asarray(x).reshape(layers[0].ifmap_h, layers[0].ifmap_w,
                                        layers[0].channels), layers[0])
    unrolled = np.zeros((layers[0].windows, first.row_blocks * R), dtype=np.int64)
    unrolled[:, :layers[0].kernel_rows] = cols
    dram: list[int] = []
    x_addr = append_words(dram, pack(unrolled, cfg.data.act_bits, cfg.dram_bits))
    zeros = append_words(dram, [0] * area)
    last_layer = layers[-1]
    out_words = last_layer.windows * pos_words[-1]
    out_addr = append_words(dram, [0] * out_words)
    levels = [np.zeros((R, cfg.crossbar.cols), dtype=np.int64)] * cfg.n_crossbars
    program = [Instruction.make("BANK_GATE", mask=masks[0])] if gate else []
    program.append(Instruction.make("LOAD", gb_addr=map_at[0], dram_addr=x_addr,
                                    count=in_words(0)))

    def finish_row(i: int, oy: int, at: int) -> None:
        """ReLU and REQUANT output row ``oy`` of layer ``i`` (int32 at ``at``) into the
        next layer's input map; the last layer's raw int32 row goes to main memory."""
        layer, n = layers[i], layers[i].ofmap_w * pos_words[i]
        if i == len(layers) - 1:
            program.append(Instruction.make("STORE", gb_addr=at, count=n,
                                            dram_addr=out_addr + oy * n))
            return
        program.append(Instruction.make("SFU", func=SfuFunc.RELU, dst=at, src=at, count=n,
                                        shift=0, window=1))
        nxt, pad, dst = layers[i + 1], pads[i], map_at[i + 1]
        if flattens(layer, nxt):
            row_out = dst + oy * layer.ofmap_w * layer.filters // wb
        else:
            row_out = dst + ((oy + pad) * nxt.ifmap_w + pad) * nxt.channels // wb
        program.append(Instruction.make("SFU", func=SfuFunc.REQUANT, dst=row_out, src=at,
                                        count=n, shift=shifts[i], window=1))

    jobs = [(i, part) for i in range(len(layers)) for part in parts[i]]

    def apu_rows(part: Part) -> dict[tuple[int, int], int]:
        """APU row (relative to the part's base) of each (column group, row block)."""
        return {gk: n for n, gk in enumerate((g, k) for g in part.groups for k in part.blocks)}

    # APU rows of each job: from 0 (naive); for the baseline, right after the previous
    # job when it fits beside it (then its write can run during that job's compute).
    rows = [len(apu_rows(part)) for _, part in jobs]
    bases, beside = [0] * len(jobs), [False] * len(jobs)
    for j in range(1, len(jobs)):
        if not overlap:
            continue
        end = bases[j - 1] + rows[j - 1]
        if end + rows[j] <= cfg.n_apu_rows:
            bases[j], beside[j] = end, True
        elif rows[j] <= bases[j - 1]:
            beside[j] = True          # wraps around, in front of the previous job

    def write(j: int) -> None:
        """One lockstep group write of job ``j``'s crossbars (deltas from what they hold)."""
        i, part = jobs[j]
        lm, apu = maps[i], apu_rows(part)
        first, n_xbars = bases[j] * ac, len(apu) * ac
        new = list(levels[first:first + n_xbars])
        for (g, k), a in apu.items():
            for c in range(lm.group_cols[g]):
                new[a * ac + c] = weights_to_levels(lm.tile(qs[i], k, g, c, cfg), cfg)
        d = append_words(dram, group_delta_words(levels[first:first + n_xbars], new, cfg))
        levels[first:first + n_xbars] = new
        program.append(Instruction.make("WRITE_START", xbar=first, dram_addr=d, row=0,
                                        nrows=R, nxbars=n_xbars))

    written = set()
    for j, (i, part) in enumerate(jobs):
        layer, lm = layers[i], maps[i]
        src = map_at[i]
        if gate and part is parts[i][0] and i > 0:
            program.append(Instruction.make("BANK_GATE", mask=masks[i]))
        if part is parts[i][0] and i < len(layers) - 1:
            # Zero borders and slack of the next layer's input map.
            program.append(Instruction.make("LOAD", gb_addr=map_at[i + 1],
                                            dram_addr=zeros, count=in_words(i + 1)))
        if j not in written:
            write(j)
            if not overlap:
                program.append(Instruction.make("SYNC"))
        if j + 1 < len(jobs) and beside[j + 1]:
            write(j + 1)   # in the background while this part computes
            written.add(j + 1)
        apu = apu_rows(part)
        # One window loop per output row; the registers hold for the whole part.
        if lm.mode == "im2col":
            row_words = layer.ofmap_w * lm.row_blocks * iw
            win = Instruction.make("WINDOW", count=layer.ofmap_w,
                                   in_stride=lm.row_blocks * iw, out_stride=pos_words[i])
        else:
            row_words = layer.stride * layer.ifmap_w * layer.channels // wb
            win = Instruction.make(
                "WINDOW", count=layer.ofmap_w, in_stride=layer.stride * layer.channels // wb,
                out_stride=pos_words[i], seg_group=lm.seg_group,
                group_stride=lm.group_stride(cfg))
        program.append(win)
        k0 = part.blocks.start
        seg0 = Window.of(win).segment(k0, iw)   # the part's first row block
        for oy in range(layer.ofmap_h):
            row_in = src + oy * row_words + seg0
            at = scratch_at[i] + (oy if scratch_rows[i] > 1 else 0) * layer.ofmap_w * pos_words[i]
            for g in part.groups:
                program.append(Instruction.make(
                    "VMM", xbar=(bases[j] + apu[(g, k0)]) * ac,
                    in_addr=row_in,
                    out_addr=at + g * ac * ow, accumulate=int(k0 > 0),
                    ncols=lm.group_cols[g], nrows=len(part.blocks)))
            if scratch_rows[i] == 1:
                finish_row(i, oy, at)
        if part is parts[i][-1] and scratch_rows[i] > 1:
            for oy in range(layer.ofmap_h):
                finish_row(i, oy, scratch_at[i] + oy * layer.ofmap_w * pos_words[i])
    program.append(Instruction.make("HALT"))
    regions = {"outputs": Region(out_addr, out_words, cfg.data.acc_bits,
                                 out_words * wb * 8 // cfg.data.acc_bits)}
    return Image.build(cfg, program, dram, regions)


#: The network schedulers by name (``+replication`` and ``+reuse`` to come).
SCHEDULERS = {"naive": naive, "baseline": baseline, "+banks": banks}
