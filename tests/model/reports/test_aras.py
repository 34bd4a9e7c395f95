"""The ARAS report's rows and table (`make report`) on a small chip."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import CNN, topology_csv

from firmware import config, network, schedulers
from firmware.isa import Opcode
from firmware.network import NetworkError
from model.reports import aras


def test_report_rows(tmp_path: Path) -> None:
    cfg = config.load("small")
    rows = aras.rows(cfg, [str(topology_csv(CNN, tmp_path))], ["+banks", "+reuse"], 1e9,
                     plots=tmp_path / "out")
    # naive and the baseline the ratios are against are added
    assert [r["scheduler"] for r in rows] == ["naive", "baseline", "+banks", "+reuse"]
    rows = aras.rows(cfg, [str(topology_csv(CNN, tmp_path))], list(schedulers.SCHEDULERS), 1e9,
                     plots=tmp_path / "out")
    assert [r["scheduler"] for r in rows] == list(schedulers.SCHEDULERS)
    naive, base = rows[0], rows[1]
    assert naive["speedup_vs_naive"] == 1.0 and naive["bank_saving"] == 0
    assert base["speedup_vs_baseline"] == base["energy_vs_baseline"] == 1.0
    by = {r["scheduler"]: r for r in rows}
    # Each optimization's energy step is against the configuration it adds to.
    for sched, prev in (("+banks", "baseline"), ("+replication", "+banks"),
                        ("+reuse", "+replication")):
        total = by[sched]["energy_uj"]["total"] / by[prev]["energy_uj"]["total"]
        assert by[sched]["energy_vs_previous"] == pytest.approx(total)
    # The weights written are the crossbar rows the program writes, times a row's weights.
    assert naive["weights_written"] == sum(
        i.nrows * max(1, i.nxbars) for i in schedulers.schedule(
            cfg, CNN, [w.q for _, w in network.weights(CNN, 0, None)], "naive").program
        if i.opcode == Opcode.WRITE_START) * cfg.weights_per_row
    assert all(r["compute_floor_cycles"] == schedulers.compute_floor(cfg, CNN) for r in rows)
    assert naive["upper_bound_cycles"] == rows[1]["upper_bound_cycles"] > 0
    assert rows[2]["bank_saving"] > 0
    assert (tmp_path / "out" / "gantt-cnn.png").stat().st_size > 1000
    text = aras.table(rows)
    assert "cnn" in text and "+banks" in text
    assert len(text.splitlines()) == 1 + len(rows)
    paper = aras.paper_table(rows)
    assert "mean share of the bound, +reuse" in paper and "cnn" in paper
    aras.paper_plots(tmp_path / "out", rows)
    for name in ("pulses", "speedup", "energy"):
        assert (tmp_path / "out" / f"{name}.png").stat().st_size > 1000
    with pytest.raises(NetworkError, match="nonesuch"):
        aras.rows(cfg, ["nonesuch"], ["naive"], 1e9)


def test_glue_work_counts_attention_by_hand() -> None:
    """BERT-Base's glue: 12 attentions of 128 tokens x 768 features, each 2 T^2 H
    multiply-accumulates (scores and context), on 16 COMBINE lanes; 24 add-norms."""
    cfg = config.load("aras")
    g = aras.glue_work(cfg, network.builtin("bert_base"))
    assert g["attention_macs"] == 12 * 2 * 128 * 128 * 768
    assert g["combine_lanes"] == 16
    assert g["attention_lane_cycles"] == 12 * 2 * 128 * 128 * 768 // 16
    assert sum(g["offchip"].values()) == 12 + 24
    assert (g["pools"], g["adds"], g["concats"]) == (0, 0, 0)


def test_attention_inf_s_lies_between_serial_and_hidden() -> None:
    """1000 cycles at 1 kHz-equivalent (1 inf/s), 600 of them stalls, 1000 cycles of
    attention: 2000 cycles in series (0.5 inf/s), 1400 with 600 hidden."""
    row = {"inferences_per_s": 1.0, "cycles": 1000, "stall_cycles": 600,
           "glue": {"attention_lane_cycles": 1000}}
    assert aras.attention_inf_s(row) == pytest.approx((1000 / 2000, 1000 / 1400))
    row["stall_cycles"] = 5000   # more stalls than attention: all of it hidden
    assert aras.attention_inf_s(row)[1] == pytest.approx(1.0)
