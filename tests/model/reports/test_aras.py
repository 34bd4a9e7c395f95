"""The ARAS report's rows and table (`make report`) on a small chip."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import CNN, topology_csv

from firmware import config, schedulers
from firmware.network import NetworkError
from model.reports import aras


def test_report_rows(tmp_path: Path) -> None:
    cfg = config.load("small")
    rows = aras.rows(cfg, [str(topology_csv(CNN, tmp_path))], ["+banks", "+reuse"], 1e9,
                     plots=tmp_path / "out")
    assert [r["scheduler"] for r in rows] == ["naive", "+banks", "+reuse"]  # naive added
    rows = aras.rows(cfg, [str(topology_csv(CNN, tmp_path))], list(schedulers.SCHEDULERS), 1e9,
                     plots=tmp_path / "out")
    assert [r["scheduler"] for r in rows] == list(schedulers.SCHEDULERS)
    naive = rows[0]
    assert naive["speedup_vs_naive"] == 1.0 and naive["bank_saving"] == 0
    assert naive["upper_bound_cycles"] == rows[1]["upper_bound_cycles"] > 0
    assert rows[2]["bank_saving"] > 0
    assert (tmp_path / "out" / "gantt-cnn.png").stat().st_size > 1000
    text = aras.table(rows)
    assert "cnn" in text and "+banks" in text
    assert len(text.splitlines()) == 1 + len(rows)
    with pytest.raises(NetworkError, match="nonesuch"):
        aras.rows(cfg, ["nonesuch"], ["naive"], 1e9)
