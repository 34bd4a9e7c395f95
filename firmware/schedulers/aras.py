"""ARAS's network program, shared by its five schedulers (ARAS Fig. 7 and 8): layer by
layer, part by part, each batch of parts written, each part computing every window. A
scheduler chooses the pieces (:mod:`~firmware.schedulers.naive` and the four that build
on it): the buffer layout, the batches, the weight shifts; this module emits them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.config import Config
from firmware.isa import Instruction, VmmOut, Window
from firmware.network import Network
from firmware.plan import Schedule
from firmware.schedulers.batching import Batches, Jobs
from firmware.schedulers.dataflow import FeatureMaps
from firmware.schedulers.emit import Emitter
from firmware.schedulers.layout import BufferLayout, Geometry, crossbar_position_words
from firmware.schedulers.tiles import Crossbars, WeightTiles
from firmware.weight_reuse import Reuse


def geometry(cfg: Config, net: Network, materialize: bool) -> Geometry:
    """``net`` as ARAS's schedulers map it: a crossbar's weight columns per row block."""
    return Geometry.of(cfg, net, cfg.weights_per_row, "crossbars", materialize,
                       lambda lm: crossbar_position_words(lm, cfg))


@dataclass
class Workload:
    """A network with INT8 weights ``qs`` as ARAS's schedulers compute it: its geometry,
    its parts (``jobs``), each layer's int32 scratch, and (with ``x``) the input and
    REQUANT ``shifts`` of an image that computes."""

    cfg: Config
    net: Network
    qs: list[np.ndarray]
    x: np.ndarray | None
    shifts: list[int]
    geo: Geometry
    jobs: Jobs

    @classmethod
    def of(cls, cfg: Config, net: Network, qs: list[np.ndarray], x: np.ndarray | None = None,
           shifts: list[int] | None = None) -> Workload:
        L = len(net.layers)
        if len(qs) != L:
            raise ValueError(f"{net.name}: {len(qs)} weight arrays for {L} layers")
        geo = geometry(cfg, net, x is not None)
        return cls(cfg, net, qs, x, list(shifts) if shifts is not None else [0] * L, geo,
                   Jobs.of(geo))

    @property
    def scratch(self) -> list[int]:
        """int32 scratch words of each layer: a layer in one part is finished run by run;
        a layer cut into parts accumulates its whole output first."""
        geo, parts = self.geo, self.jobs.parts
        return [(layer.windows if len(parts[i]) > 1 else geo.runs[i]) * geo.pos_words[i]
                for i, layer in enumerate(self.net.layers)]

    @property
    def phase_weights(self) -> list[float]:
        """Each layer's share of the run for bank gating: windows times parts."""
        return [float(layer.windows * len(p))
                for layer, p in zip(self.net.layers, self.jobs.parts, strict=True)]


def program(w: Workload, name: str, layout: BufferLayout, batches: Batches, *,
            sync_writes: bool = False, reuse: Reuse | None = None) -> Schedule:
    """The program of ``w`` by scheduler ``name``: each batch written where it starts
    unless it was issued while the batch before it computed (it is then, unless it is in
    ``batches.late``, issued as soon as the batch before starts); with ``sync_writes`` every
    write is waited for (a barrier) before anything else runs. ``BANK_GATE`` before each
    layer when ``layout`` gates banks; weights shifted by ``reuse``."""
    cfg, net, jobs = w.cfg, w.net, w.jobs
    em = Emitter(cfg, w.x is not None)
    xbars = Crossbars(cfg)
    fm = FeatureMaps(w.geo, layout, em, w.shifts)
    fm.allocate(w.x)
    fm.allocate_outputs()
    zero = list(reuse.shifts) if reuse is not None else [0] * len(net.layers)
    tiles = WeightTiles(cfg, w.geo.maps, w.qs, zero)
    order = batches.batches
    batch_of = {j: b for b, batch in enumerate(order) for j in batch}
    for j, (i, _) in enumerate(jobs.jobs):
        b = batch_of[j]
        em.layer = i
        if j == order[b][0]:
            # A batch is written here unless it was issued while the batch before it
            # computed; the next one is issued now if it fits beside this one. Its
            # WRITE_START waits for this batch's write, which this batch's VMMs wait
            # for anyway.
            if b == 0 or batches.late[b]:
                # Nothing else is being written: every engine takes a piece.
                write_batch(em, xbars, tiles, jobs, batches, order[b], cfg.write.engines)
                if sync_writes:
                    em.emit(Instruction.make("SYNC"))
            if b + 1 < len(order) and not batches.late[b + 1]:
                em.layer = jobs.jobs[order[b + 1][0]][0]
                write_batch(em, xbars, tiles, jobs, batches, order[b + 1])
                em.layer = i
        _compute(w, fm, batches, zero, j)
    return em.finish(net.name, name, tuple(layer.name for layer in net.layers),
                     fm.outputs_region(), reuse, replicas(jobs))


def _compute(w: Workload, fm: FeatureMaps, batches: Batches, zero: list[int], j: int) -> None:
    """Job ``j``'s part computing every window of its layer (its input loaded and banks
    gated first if it is the layer's first part): per run of positions one VMM per span
    of column groups, the run finished at once for a layer in one part, or the whole
    layer after its last part (the parts accumulate)."""
    cfg, geo, jobs, layout, em = w.cfg, w.geo, w.jobs, fm.layout, fm.em
    ac, iw, ow = cfg.apu_cols, cfg.input_words, cfg.output_words
    i, part = jobs.jobs[j]
    layer, parts = w.net.layers[i], jobs.parts[i]
    multi = len(parts) > 1
    if part is parts[0]:
        if layout.masks[i] is not None:
            em.emit(Instruction.make("BANK_GATE", mask=layout.masks[i]))
        fm.layer_inputs(i)
    apu = jobs.apu_rows(j)
    reps = jobs.reps[j]
    k0 = part.blocks.start
    run = geo.runs[i]
    spans = jobs.group_spans(i, part)
    fused = not multi and requantizes(w, i, spans)
    for p0 in range(0, layer.windows, run):
        n = min(run, layer.windows - p0)
        if p0 == 0 or n != run:
            win = geo.window(i, n)
            if fused:   # INT8 outputs: a quarter of the int32 words per position
                win = Instruction.make("WINDOW", **{**dict(win.args),
                                                    "out_stride": geo.pos_words[i] // 4})
            fm.window(win)
        seg0 = Window.of(win).segment(k0, iw)   # the part's first row block
        row_in = fm.run_input(i, p0)
        at = layout.scratch_at[i] + (p0 if multi else 0) * geo.pos_words[i]
        dst = fm.out_at(i, p0)[0] if fused else 0
        for g, ngroups, ncols in spans:
            mode = VmmOut.REQUANT_RELU if w.net.relu(i) else VmmOut.REQUANT
            out = dict(out_addr=dst + g * ac * ow // 4, mode=mode,
                       shift=fm.shifts[i]) if fused else dict(out_addr=at + g * ac * ow)
            em.emit(Instruction.make(
                "VMM", xbar=(batches.bases[j] + apu[(g, k0, 0)]) * ac,
                in_addr=row_in + seg0, accumulate=int(k0 > 0), ncols=ncols,
                nrows=len(part.blocks), ngroups=ngroups,
                replicas=reps if n % reps == 0 else 1, zero=zero[i], **out))
        if not multi:
            fm.finish(i, p0, n, None if fused else at)
    if part is parts[-1] and multi:
        for p0 in range(0, layer.windows, run):
            n = min(run, layer.windows - p0)
            fm.finish(i, p0, n, layout.scratch_at[i] + p0 * geo.pos_words[i])


def requantizes(w: Workload, i: int, spans: list[tuple[int, int, int]]) -> bool:
    """Can the VMMs of layer ``i`` (in one part; its column-group ``spans``) requantize
    their outputs on the way out (``VMM mode``) instead of an SFU pass over int32: not
    the last layer (its int32 outputs are the result), and INT8 outputs of every group
    and position filling whole words where the SFU would pack them."""
    cfg, geo = w.cfg, w.geo
    ow = cfg.output_words
    return (i < len(w.net.layers) - 1 and geo.pos_words[i] % 4 == 0
            and cfg.apu_cols * ow % 4 == 0 and all(ncols * ow % 4 == 0
                                                   for _, _, ncols in spans))


def write_batch(em: Emitter, xbars: Crossbars, tiles: WeightTiles, jobs: Jobs,
                batches: Batches, batch: list[int], pieces: int = 1) -> None:
    """The crossbars of the jobs in ``batch``, placed one after another from their first
    job's APU row (deltas from what they hold), in ``pieces`` lockstep group writes of
    consecutive crossbars as even as can be: one per write engine when every engine is
    free, so the batch streams at the whole bandwidth."""
    first, new = tiles.batch_contents(xbars.held, jobs, batches, batch)
    ac = em.cfg.apu_cols
    spans = [(jobs.jobs[j][0], batches.bases[j] * ac - first,
              (batches.bases[j] + jobs.rows(j)) * ac - first) for j in batch]
    for part in np.array_split(np.arange(new.shape[1]), pieces):
        if part.size:
            a, b = int(part[0]), int(part[-1]) + 1
            layers = tuple(dict.fromkeys(i for i, lo, hi in spans if lo < b and a < hi))
            em.group_write(xbars, first + a, new[:, a:b], layers)


def replicas(jobs: Jobs) -> tuple[int, ...]:
    """Weight copies of each layer: the most over its parts."""
    reps = [1] * len(jobs.parts)
    for (i, _), r in zip(jobs.jobs, jobs.reps, strict=True):
        reps[i] = max(reps[i], r)
    return tuple(reps)
