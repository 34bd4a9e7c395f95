"""Batching and replication: parts cover every crossbar of a layer once and fit the APU
rows; batches take every part once, in order, within the chip, each written beside the
batch computing before it unless it waits; copies only where ARAS's rules allow."""

from __future__ import annotations

from unittest import mock

import pytest
from nets import CNN, PADDED, STREAMED, TINY

from firmware import config, network
from firmware.cycles import row_write_floor
from firmware.mapper import map_layer
from firmware.network import Layer, Network
from firmware.schedulers import batching
from firmware.schedulers.aras import Workload
from firmware.schedulers.batching import (
    Batches,
    Jobs,
    beside,
    beside_rows,
    fetch_cycles,
    fill_chip,
    layer_parts,
    one_per_write,
    overwrites,
)

CASES = [("small", CNN), ("small", PADDED), ("small", STREAMED), ("tiny", TINY),
         *[("aras", network.builtin(n)) for n in ("vgg16", "resnet50", "bert_base")]]
IDS = [f"{c}-{n.name}" for c, n in CASES]


def _jobs(cfg_name: str, net: Network) -> Jobs:
    return Workload.of(config.load(cfg_name), net, [None] * len(net.layers)).jobs


def _rule_breaks(jobs: Jobs, b: Batches) -> list[str]:
    """How batches break the rules: every job once and in order, each batch within the
    APU rows, jobs side by side, a batch not waiting clear of the one before it."""
    N, bad = jobs.geo.cfg.n_apu_rows, []
    if [j for batch in b.batches for j in batch] != list(range(len(jobs.jobs))):
        bad.append("jobs not each once, in order")
    prev: range | None = None
    for k, batch in enumerate(b.batches):
        at = b.bases[batch[0]]
        for j in batch:
            if b.bases[j] != at:
                bad.append(f"batch {k}: job {j} not after the one before")
            at += jobs.rows(j)
        rows = range(b.bases[batch[0]], at)
        if rows.stop > N:
            bad.append(f"batch {k}: APU rows {rows} beyond {N}")
        if prev is not None and not b.late[k] and set(rows) & set(prev):
            bad.append(f"batch {k} is written while batch {k - 1} computes in its rows")
        prev = rows
    return bad


def test_the_rule_check_finds_broken_batches() -> None:
    jobs = _jobs("small", PADDED)
    good = beside(jobs)
    assert _rule_breaks(jobs, good) == []
    clash = Batches(good.batches, [0] * len(good.bases), [False] * len(good.late))
    assert any("computes in its rows" in m for m in _rule_breaks(jobs, clash))
    assert _rule_breaks(jobs, Batches(good.batches[::-1], good.bases, good.late))


def _overfull(jobs: Jobs, b: Batches) -> list[str]:
    """Batches written beside another that take more rows than one engine fetches in
    the longer of the write floor and the compute of the batch beside (one job
    excepted)."""
    cfg, bad = jobs.geo.cfg, []
    floor = row_write_floor(cfg)
    for k in range(1, len(b.batches)):
        batch = b.batches[k]
        if b.late[k] or len(batch) == 1:
            continue
        beside_it = sum(jobs.compute_estimate(j, jobs.reps[j]) for j in b.batches[k - 1])
        rows = sum(jobs.rows(j) for j in batch)
        if rows > beside_rows(cfg, max(floor, beside_it)):
            bad.append(f"batch {k}: {rows} APU rows beside {beside_it} compute cycles")
    return bad


@pytest.mark.parametrize("cfg_name", ["tiny", "small", "aras"])
def test_beside_rows_is_the_most_rows_fetched_in_time(cfg_name: str) -> None:
    cfg = config.load(cfg_name)
    N = cfg.n_apu_rows
    assert beside_rows(cfg, 0) == 0
    assert beside_rows(cfg, fetch_cycles(cfg, N)) == N
    for cycles in (fetch_cycles(cfg, 1) - 1, fetch_cycles(cfg, N // 3),
                   row_write_floor(cfg), 10 * row_write_floor(cfg)):
        r = beside_rows(cfg, cycles)
        assert r == 0 or fetch_cycles(cfg, r) <= cycles
        assert r == N or fetch_cycles(cfg, r + 1) > cycles


def test_a_beside_batch_is_written_while_the_batch_beside_computes() -> None:
    """ResNet-50's late blocks compute for less than a write: packing every job the
    free rows hold (no cap) makes writes that outlast the batch beside, and the check
    sees it."""
    net = network.builtin("resnet50")
    jobs = _jobs("aras", net)
    assert _overfull(jobs, beside(jobs, True)) == []
    uncapped = _jobs("aras", net)
    with mock.patch.object(batching, "beside_rows", lambda cfg, cycles: cfg.n_apu_rows):
        b = beside(uncapped, True)
    assert _overfull(uncapped, b)


@pytest.mark.parametrize(("cfg_name", "net"), CASES, ids=IDS)
def test_parts_cover_each_layer_once_within_the_chip(cfg_name: str, net: Network) -> None:
    cfg = config.load(cfg_name)
    for i, layer in enumerate(net.layers):
        lm = map_layer(layer, cfg, im2col=(i == 0))
        parts = layer_parts(lm, cfg)
        cells = [(g, k) for p in parts for g in p.groups for k in p.blocks]
        assert sorted(cells) == [(g, k) for g in range(lm.col_groups)
                                 for k in range(lm.row_blocks)]
        assert all(len(p.groups) * len(p.blocks) <= cfg.n_apu_rows for p in parts)
        if len(parts) > 1 and parts[0].blocks != range(lm.row_blocks):
            # Cut by rows: between kernel rows (whole segment groups) when the kernel
            # has more than one row.
            assert layer.filter_h == 1 or all(p.blocks.start % lm.seg_group == 0
                                              for p in parts)


def test_a_kernel_row_taller_than_the_chip_is_refused() -> None:
    cfg = config.load("tiny")
    wide = Layer("c2", 6, 6, 3, 3, 16, 8, 1)
    with pytest.raises(ValueError, match="one kernel row needs 3 APU rows; the chip has 2"):
        layer_parts(map_layer(wide, cfg), cfg)


@pytest.mark.parametrize(("cfg_name", "net"), CASES, ids=IDS)
def test_batches_follow_the_rules(cfg_name: str, net: Network) -> None:
    naive = one_per_write(_jobs(cfg_name, net))
    assert naive.batches == [[j] for j in range(len(naive.bases))]
    assert set(naive.bases) == {0} and all(naive.late)
    for replicate in (False, True):
        jobs = _jobs(cfg_name, net)
        b = beside(jobs, replicate)
        assert _rule_breaks(jobs, b) == []
        assert _overfull(jobs, b) == []
        first = sum(jobs.rows(j) for j in b.batches[0])
        assert first <= max(jobs.geo.cfg.n_apu_rows // 2, jobs.rows(0))
        assert all(b.bases[batch[0]] == 0 for batch, late in zip(b.batches, b.late,
                                                                 strict=True) if late)
        if not replicate:
            assert jobs.reps == [1] * len(jobs.jobs)


@pytest.mark.parametrize(("cfg_name", "net"), CASES, ids=IDS)
def test_copies_only_of_whole_layers_dividing_their_runs(cfg_name: str, net) -> None:
    jobs = _jobs(cfg_name, net)
    beside(jobs, replicate=True)
    for (i, _), r in zip(jobs.jobs, jobs.reps, strict=True):
        if r > 1:
            assert len(jobs.parts[i]) == 1 and jobs.geo.runs[i] % r == 0
    # Each copy holds the part's crossbars again, in rows of its own.
    for j in range(len(jobs.jobs)):
        rows = sorted(jobs.apu_rows(j).values())
        assert rows == list(range(jobs.rows(j)))


def test_replication_copies_where_rows_are_free() -> None:
    """STREAMED on `small` leaves rows beside its slow layers: some get copies."""
    jobs = _jobs("small", STREAMED)
    beside(jobs, replicate=True)
    assert max(jobs.reps) > 1


@pytest.mark.parametrize(("cfg_name", "net"), CASES, ids=IDS)
def test_fill_chip_packs_every_job_greedily(cfg_name: str, net: Network) -> None:
    jobs = _jobs(cfg_name, net)
    b = fill_chip(jobs)
    assert _rule_breaks(jobs, Batches(b.batches, b.bases, [True] * len(b.batches))) == []
    N = jobs.geo.cfg.n_apu_rows
    for batch, nxt in zip(b.batches, b.batches[1:], strict=False):
        assert sum(jobs.rows(j) for j in batch) + jobs.rows(nxt[0]) > N
    assert all(b.bases[batch[0]] == 0 for batch in b.batches)


def test_overwrites_count_every_crossbar_written() -> None:
    jobs = _jobs("small", CNN)
    b = one_per_write(jobs)
    counts = overwrites(jobs, b)
    ac = jobs.geo.cfg.apu_cols
    assert sum(counts.values()) == sum(jobs.rows(j) for j in range(len(jobs.jobs))) * ac
    assert counts[(-1, 0)] == jobs.rows(0) * ac     # the first write: erased crossbars
    assert all(old < new or old == new for old, new in counts if old >= 0)
