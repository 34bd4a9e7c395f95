"""BasisN's comparison with reprogramming (`scripts/basisn_compare.py`) on a small chip."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import CNN, topology_csv

from firmware import config
from model.reports import basisn as basisn_report


def test_basisn_compare_rows(tmp_path: Path) -> None:
    """BasisN's comparison on a small chip: the steady state never writes, the basis
    write is reported apart, and every row is relative to naive."""
    cfg = config.load("small")
    row = basisn_report.compare(cfg, str(topology_csv(CNN, tmp_path)), 8, 4)
    assert row["basisn"]["pulses"] == 0 and row["basis_write_cycles"] > 0
    assert row["naive"]["pulses"] > 0
    for s in ("naive", "+reuse", "basisn"):
        f = row[s]
        assert f["edp_mj_ms"] == pytest.approx(f["energy_mj"] * f["delay_ms"])
    lines = basisn_report.table([row]).splitlines()
    assert len(lines) == 1 + 4 and lines[1].split()[:2] == ["cnn", "naive"]
    assert lines[1].split()[-3:] == ["1.000"] * 3
    with pytest.raises(ValueError, match="K = 64 basis vectors"):
        basisn_report.compare(cfg, str(topology_csv(CNN, tmp_path)), 64, 4)
