"""Full-scale inference figures: the same numbers as the golden run's timing and energy
where both exist, layer spans in order, and the report script end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import script_loader
from nets import CNN, PADDED, case

from firmware import config, schedulers
from firmware.isa import RTL_OPCODES, Opcode
from model import golden, timing
from model.energy import energy
from model.inference import evaluate, upper_bound


@pytest.mark.parametrize("name", list(schedulers.SCHEDULERS))
def test_figures_equal_the_golden_runs(name: str) -> None:
    cfg = config.load("small")
    qs, x, shifts = case(PADDED, 3)
    plan = schedulers.schedule(cfg, PADDED, qs, name, x, shifts)
    res = golden.run(plan.image, RTL_OPCODES)
    t = timing.simulate(cfg, res)
    f = evaluate(cfg, plan)
    assert (f.cycles, f.pulses, f.stall_cycles, f.overlap_cycles) == \
        (t.cycles, res.pulses, t.stall_cycles, t.overlap_cycles)
    assert f.energy == energy(cfg, res, t.cycles, t.bank_active_cycles)
    assert f.inferences_per_s == pytest.approx(cfg.chip.clock_mhz * 1e6 / t.cycles)
    # Layer by layer: each layer computes after the one before it has finished.
    spans = f.layers
    assert [s.name for s in spans] == [layer.name for layer in PADDED.layers]
    for a, b in zip(spans, spans[1:], strict=False):
        assert a.compute[0] < a.compute[1] <= b.compute[0]
    for s in spans:   # a layer's first part is written before it computes
        assert 0 <= s.write[0] < s.write[1] and s.write_cycles > 0
        assert s.write[0] < s.compute[0]
    # Every write of a crossbar counts once towards its wear.
    writes: dict[int, int] = {}
    for e in res.trace:
        if e.insn.opcode == Opcode.WRITE_START:
            for xb in range(e.insn.xbar, e.insn.xbar + max(1, e.insn.nxbars)):
                writes[xb] = writes.get(xb, 0) + 1
    assert f.max_writes_per_crossbar == max(writes.values())
    if name in ("+banks", "+replication", "+reuse"):      # the schedulers that gate banks
        assert 0.2 < f.bank_saving < 1
    else:
        assert f.bank_saving == 0


def test_upper_bound_writes_every_weight_once_in_full_chip_groups() -> None:
    cfg = config.load("small")
    qs, _, _ = case(CNN, 0)
    bound = schedulers.write_bound(cfg, CNN, qs)
    assert all(insn.opcode in (Opcode.WRITE_START, Opcode.HALT) for insn in bound.program)
    # Every layer's parts are written exactly once, as many per group as the chip holds.
    naive = schedulers.schedule(cfg, CNN, qs, "naive")
    assert {j for w in bound.write_layers for j in w} == set(range(len(CNN.layers)))
    assert len(bound.writes) <= len(naive.writes)
    assert sum(sum(w.changes) for w in bound.writes) <= sum(sum(w.changes) for w in naive.writes)
    cycles = upper_bound(cfg, bound)
    for name in schedulers.SCHEDULERS:
        f = evaluate(cfg, schedulers.schedule(cfg, CNN, qs, name))
        assert cycles < f.cycles, name
    with pytest.raises(ValueError, match="write_bound"):
        upper_bound(cfg, naive)


def _report():
    return script_loader.load("aras_report")


def test_report_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "cnn.csv"
    csv.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,\n" + "".join(
                       f"{a.name}, {a.ifmap_h}, {a.ifmap_w}, {a.filter_h}, {a.filter_w}, "
                       f"{a.channels}, {a.filters}, {a.stride},\n" for a in CNN.layers))
    rep = _report()
    assert rep.main(["--config", "small", "--networks", str(csv), "--out",
                     str(tmp_path / "out"), "--endurance", "1e9"]) == 0
    rows = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [r["scheduler"] for r in rows] == list(schedulers.SCHEDULERS)
    naive = rows[0]
    assert naive["speedup_vs_naive"] == 1.0 and naive["bank_saving"] == 0
    assert naive["upper_bound_cycles"] == rows[1]["upper_bound_cycles"] > 0
    assert rows[2]["bank_saving"] > 0
    assert (tmp_path / "out" / "gantt-cnn.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "cnn" in out and "+banks" in out
    assert rep.main(["--networks", "nonesuch"]) == 2
    assert "error: nonesuch" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        rep.main(["--networks", "vgg16", "resnet50", "--weights", "w.npz"])


def test_basisn_compare_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """BasisN's comparison on a small chip: the steady state never writes, the basis
    write is reported apart, and every row is relative to naive."""
    csv = tmp_path / "cnn.csv"
    csv.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                   "Channels, Num Filter, Strides,\n" + "".join(
                       f"{a.name}, {a.ifmap_h}, {a.ifmap_w}, {a.filter_h}, {a.filter_w}, "
                       f"{a.channels}, {a.filters}, {a.stride},\n" for a in CNN.layers))
    basisn_compare = script_loader.load("basisn_compare")
    assert basisn_compare.main(["--config", "small", "--networks", str(csv), "--k", "8",
                                "--out", str(tmp_path / "out")]) == 0
    (row,) = json.loads((tmp_path / "out" / "basisn_compare.json").read_text())
    assert row["basisn"]["pulses"] == 0 and row["basis_write_cycles"] > 0
    assert row["naive"]["pulses"] > 0
    for s in ("naive", "+reuse", "basisn"):
        f = row[s]
        assert f["edp_mj_ms"] == pytest.approx(f["energy_mj"] * f["delay_ms"])
    assert "basisn" in capsys.readouterr().out
    assert basisn_compare.main(["--config", "small", "--networks", str(csv), "--k", "64",
                                "--out", str(tmp_path / "out")]) == 2
    assert "K = 64 basis vectors" in capsys.readouterr().err
