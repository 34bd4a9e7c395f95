"""Batching and replication: a layer's weights cut into parts that fit the APU rows, the
parts (jobs) packed into lockstep group writes (batches), and copies of slow layers'
weights in the rows a batch leaves free (ARAS Fig. 7 and 8, Algorithm 1)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from firmware.config import Config
from firmware.cycles import row_write_floor, vmm_pass_cycles, write_burst_cycles
from firmware.mapper import LayerMap
from firmware.schedulers.layout import Geometry


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


@dataclass
class Jobs:
    """Every layer's parts in order, one job each, with the weight copies of each job
    (``reps``, 1 until replication gives it more)."""

    geo: Geometry
    parts: list[list[Part]]
    jobs: list[tuple[int, Part]] = field(init=False)
    reps: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = [(i, part) for i, parts in enumerate(self.parts) for part in parts]
        self.reps = [1] * len(self.jobs)

    @classmethod
    def of(cls, geo: Geometry) -> Jobs:
        """The parts of :func:`layer_parts` of every layer of ``geo``."""
        return cls(geo, [layer_parts(lm, geo.cfg) for lm in geo.maps])

    def rows(self, j: int) -> int:
        """APU rows job ``j`` occupies, its weight copies included."""
        part = self.jobs[j][1]
        return len(part.groups) * len(part.blocks) * self.reps[j]

    def group_spans(self, i: int, part: Part) -> list[tuple[int, int, int]]:
        """The VMMs of a part of layer ``i`` as (first column group, groups, crossbars
        per APU row): its full column groups in parallel on the same inputs (one VMM),
        then a last group of fewer crossbars on its own."""
        lm, ac = self.geo.maps[i], self.geo.cfg.apu_cols
        full = [g for g in part.groups if lm.group_cols[g] == ac]
        return ([(full[0], len(full), ac)] if full else []) + [
            (g, 1, lm.group_cols[g]) for g in part.groups if lm.group_cols[g] != ac]

    def apu_rows(self, j: int) -> dict[tuple[int, int, int], int]:
        """APU row (from the job's first) of each (column group, row block, copy): as
        ``VMM ngroups/replicas`` reads them, copy-major over the full column groups, then
        the copies of a narrower last group (its own VMM)."""
        i, part = self.jobs[j]
        reps, nb = self.reps[j], len(part.blocks)
        out, at = {}, 0                     # at: the first APU row of each VMM's span
        for first, ngroups, _ in self.group_spans(i, part):
            for r in range(reps):
                for n in range(ngroups):
                    for kk, k in enumerate(part.blocks):
                        out[(first + n, k, r)] = at + (r * ngroups + n) * nb + kk
            at += reps * ngroups * nb
        return out

    def compute_estimate(self, j: int, reps: int) -> int:
        """VMM cycles of job ``j`` with ``reps`` copies (the planning estimate)."""
        i, part = self.jobs[j]
        # (A narrower last group is costed as a full APU row of crossbars; a layer in one
        # part but the last as requantizing its outputs on the way out.)
        cfg = self.geo.cfg
        narrow = len(self.parts[i]) == 1 and i < len(self.geo.net.layers) - 1
        per_pass = sum(vmm_pass_cycles(cfg, False, cfg.apu_cols, len(part.blocks), ngroups,
                                       reps, narrow)
                       for _, ngroups, _ in self.group_spans(i, part))
        return -(-self.geo.net.layers[i].windows // reps) * per_pass

    def wants_copies(self, j: int) -> bool:
        """Could job ``j`` take another copy of its weights (rows permitting)?"""
        i = self.jobs[j][0]
        run = self.geo.runs[i]
        return len(self.parts[i]) == 1 and self.geo.net.layers[i].windows > 1 and \
            any(run % r == 0 for r in range(self.reps[j] + 1, run + 1))


@dataclass(frozen=True)
class Batches:
    """Jobs written together (``batches``, in order), the first APU row of each job
    (``bases``), and whether each batch waits for the batch before it to compute
    (``late``: it needs its APU rows)."""

    batches: list[list[int]]
    bases: list[int]
    late: list[bool]


def one_per_write(jobs: Jobs) -> Batches:
    """Naive batching: one job per write, from APU row 0, each waiting for the one
    before."""
    n = len(jobs.jobs)
    return Batches([[j] for j in range(n)], [0] * n, [True] * n)


def beside(jobs: Jobs, replicate: bool = False) -> Batches:
    """Overlapping batches (ARAS Fig. 8, as many weights written as free crossbars
    allow): the next batch takes the larger free stretch of APU rows beside the batch
    computing now (after it, or before it from row 0) and packs consecutive jobs into
    it, so it is written while that batch computes; a job that fits in neither waits and
    starts a batch from row 0. The first batch takes at most half of the rows, to leave
    room. A batch written beside another takes no more rows (copies included, one job at least) than
    one engine fetches the deltas of in the longer of a crossbar write's floor and the
    compute of the batch beside it (:func:`beside_rows`): its write then ends when that
    batch has computed and its rows are free, and the rows it leaves go to the batch
    after it, written in those freed rows by the other engine meanwhile, rather than
    lengthening this write while that batch waits. With ``replicate``, each batch's free
    rows go to copies of its slowest jobs (:func:`replicate_slowest`), and while the
    batch still computes longer than a write takes and the slowest job wants more rows,
    the batch's last job waits for the next batch (ARAS Algorithm 1: delay the last
    layer, give its crossbars to the slowest)."""
    rows = [jobs.rows(j) for j in range(len(jobs.jobs))]
    n = len(jobs.jobs)
    N = jobs.geo.cfg.n_apu_rows
    floor = row_write_floor(jobs.geo.cfg)
    batches: list[list[int]] = []
    bases = [0] * n
    late: list[bool] = []
    start, end = 0, 0                   # APU rows of the batch before
    computes = 0                        # its compute (the planning estimate)
    j = 0
    while j < n:
        if not batches:
            at, room, wait = 0, max(N // 2, rows[0]), False
        elif N - end >= start:
            at, room, wait = end, N - end, False
        else:
            at, room, wait = 0, start, False
        if rows[j] > room:              # fits beside nothing: after that batch computes
            at, room, wait = 0, N, True
        elif batches:
            room = max(rows[j], min(room, beside_rows(jobs.geo.cfg, max(floor, computes))))
        batch, used = [], 0
        while j < n and used + rows[j] <= room:
            batch.append(j)
            used += rows[j]
            j += 1
        while replicate:
            extra = replicate_slowest(jobs, batch, room - used)
            times = [jobs.compute_estimate(b, jobs.reps[b]) for b in batch]
            slowest = batch[int(np.argmax(times))]
            if sum(times) <= floor or len(batch) == 1 or \
                    batch[-1] == slowest or not jobs.wants_copies(slowest):
                used += extra
                break
            for b in batch:
                jobs.reps[b] = 1
            j = batch.pop()
            used -= rows[j]
        for k in batch:
            bases[k] = at
            at += jobs.rows(k)
        batches.append(batch)
        late.append(wait)
        start, end = at - used, at
        computes = sum(jobs.compute_estimate(b, jobs.reps[b]) for b in batch)
    return Batches(batches, bases, late)


def fetch_cycles(cfg: Config, apu_rows: int) -> int:
    """Cycles one write engine spends fetching the deltas of a lockstep write of
    ``apu_rows`` APU rows: a crossbar's rows, each a burst of every crossbar's row of
    deltas at the engine's share of the bandwidth (the planning estimate)."""
    return cfg.crossbar.rows * write_burst_cycles(
        cfg, apu_rows * cfg.apu_cols * cfg.delta_row_words)


def beside_rows(cfg: Config, cycles: int) -> int:
    """The most APU rows (at most the chip's) whose write one engine fetches within
    ``cycles`` (:func:`fetch_cycles`)."""
    # fetch_cycles is monotone; even no row takes a crossbar's rows of bursts.
    rows = range(cfg.n_apu_rows + 1)
    return max(0, bisect.bisect_right(rows, cycles, key=lambda r: fetch_cycles(cfg, r)) - 1)


def replicate_slowest(jobs: Jobs, batch: list[int], free: int) -> int:
    """Give up to ``free`` APU rows to copies of the batch's slowest jobs (``jobs.reps``);
    return the rows used. A job is copied only if its layer is in one part, its runs of
    windows divide among the copies, and the batch still computes longer than the next
    write's floor (beyond that a copy cannot shorten the schedule)."""
    cfg = jobs.geo.cfg
    floor = row_write_floor(cfg)
    base_rows = {j: jobs.rows(j) // jobs.reps[j] for j in batch}
    open_jobs = {j for j in batch if jobs.wants_copies(j)}
    used = 0
    while open_jobs:
        times = {j: jobs.compute_estimate(j, jobs.reps[j]) for j in batch}
        if sum(times.values()) <= floor:
            break
        j = max(open_jobs, key=lambda b: times[b])
        run = jobs.geo.runs[jobs.jobs[j][0]]
        more = [r for r in range(jobs.reps[j] + 1, run + 1) if run % r == 0]
        extra = base_rows[j] * (more[0] - jobs.reps[j]) if more else free + 1
        # A copy must save more compute than its crossbars add to the write (their
        # delta fetches), or it only costs pulses and energy.
        fetch = fetch_cycles(cfg, extra)
        if extra > free - used or (
                times[j] - jobs.compute_estimate(j, more[0]) <= fetch):
            open_jobs.discard(j)
            continue
        used += extra
        jobs.reps[j] = more[0]
    return used


def fill_chip(jobs: Jobs) -> Batches:
    """Every job once, packed in order into as few writes as the APU rows allow (the
    write bound's batches); nothing computes, so none waits."""
    batches: list[list[int]] = [[]]
    bases = [0] * len(jobs.jobs)
    used = 0
    for j in range(len(jobs.jobs)):
        if batches[-1] and used + jobs.rows(j) > jobs.geo.cfg.n_apu_rows:
            batches.append([])
            used = 0
        bases[j] = used
        batches[-1].append(j)
        used += jobs.rows(j)
    return Batches(batches, bases, [False] * len(batches))


def overwrites(jobs: Jobs, batches: Batches) -> dict[tuple[int, int], int]:
    """How many crossbars of each layer ``old`` (-1: erased) the batches rewrite with
    each layer ``new``, in write order."""
    ac = jobs.geo.cfg.apu_cols
    holder = np.full(jobs.geo.cfg.n_crossbars, -1)
    counts: dict[tuple[int, int], int] = {}
    for batch in batches.batches:
        for j in batch:
            i = jobs.jobs[j][0]
            span = range(batches.bases[j] * ac, (batches.bases[j] + jobs.rows(j)) * ac)
            for old in holder[span.start:span.stop].tolist():
                counts[(old, i)] = counts.get((old, i), 0) + 1
            holder[span.start:span.stop] = i
    return counts
