"""Design-space sweeps: the spec is checked before anything runs, points run in parallel
(local processes, a Dask LocalCluster), a failed point is named and the others kept,
and a rerun resumes from the finished ones."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nets import CNN, topology_csv

from model.reports import sweep
from reram_pim import cli


def _spec(tmp_path: Path, body: str, scheduler: str = "baseline") -> Path:
    net = topology_csv(CNN, tmp_path)
    path = tmp_path / "spec.toml"
    path.write_text(f'config = "small"\nnetworks = ["{net}"]\nschedulers = ["{scheduler}"]\n'
                    + body)
    return path


def test_points_are_the_product_and_the_analog_fields_one_at_a_time(tmp_path: Path) -> None:
    spec = sweep.read_spec(_spec(tmp_path, '[axes]\n"pe.count" = [2, 4]\n'
                                 '"crossbar.bitplane_cycles" = [6, 8, 10]\n'
                                 '[accuracy]\ndigits = 2\n"analog.read_sigma" = [0.0, 1.0]\n'
                                 '"crossbar.adc_bits" = [6, 7]\n'))
    pts = sweep.points(spec)
    assert len(pts) == 2 * 3 + 2 + 2
    assert {tuple(p["fields"]) for p in pts if p["kind"] == "accuracy"} == {
        ("analog.read_sigma",), ("crossbar.adc_bits",)}
    assert len({sweep.point_key(spec, p) for p in pts}) == len(pts)


@pytest.mark.parametrize(("body", "message"), [
    ('[axes]\n"pe.counts" = [2]\n', "'pe.counts' is not a config field"),
    ('[axes]\n"pe.count" = []\n', "axes.pe.count: expected a non-empty list"),
    ('[axes]\n"crossbar.bitplane_cycles" = [6, 0]\n', "crossbar.bitplane_cycles=0"),
    ('budget = 3\n', "unknown key 'budget'"),
    ('[axes]\n"pe.count" = "four"\n', "axes.pe.count: expected a non-empty list"),
    ('[accuracy]\ndigits = "ten"\n', "accuracy.digits: expected a positive integer"),
])
def test_a_bad_spec_is_named_before_anything_runs(tmp_path: Path, body: str,
                                                  message: str) -> None:
    with pytest.raises((sweep.SweepError, ValueError), match=message):
        sweep.read_spec(_spec(tmp_path, body))
    with pytest.raises(sweep.SweepError, match="schedulers: unknown 'fast'"):
        sweep.read_spec(_spec(tmp_path, "", scheduler="fast"))
    path = tmp_path / "net.toml"
    path.write_text('networks = ["alexnet"]\n')
    with pytest.raises(sweep.SweepError, match="'alexnet' is neither a built-in network"):
        sweep.read_spec(path)


def _rows(out: Path) -> list[dict]:
    with (out / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_a_failed_point_is_named_the_others_kept_and_a_rerun_resumes(
        tmp_path: Path, capsys) -> None:
    """crossbar.cols = 128 leaves the CNN's 16 filters less than a crossbar: that point
    fails, the two others are saved; the rerun runs only the failed one again."""
    spec = _spec(tmp_path, '[axes]\n"crossbar.cols" = [32, 64, 128]\n')
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--out", str(out), "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "failed: chip crossbar.cols=128: ValueError: layer 'conv1'" in err
    assert sorted(r["crossbar.cols"] for r in _rows(out)) == ["32", "64"]
    assert (out / "throughput.png").stat().st_size > 0
    assert cli.main(["sweep", str(spec), "--out", str(out), "--workers", "1"]) == 1
    assert "1 of 3 points to run (2 done before)" in capsys.readouterr().err


@pytest.mark.slow
def test_points_run_on_a_dask_cluster_as_locally(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    spec = _spec(tmp_path, '[axes]\n"pe.count" = [2, 4]\n')
    assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "local"),
                     "--workers", "1"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert cli.main(["sweep", str(spec), "--out", str(tmp_path / "dask"),
                         "--scheduler", cluster.scheduler_address]) == 0
    key = ("pe.count", "network", "scheduler", "cycles")
    assert sorted(tuple(r[k] for k in key) for r in _rows(tmp_path / "local")) == \
        sorted(tuple(r[k] for k in key) for r in _rows(tmp_path / "dask"))


@pytest.mark.slow
def test_accuracy_points_run_the_digits_cnn_through_the_golden_model(tmp_path: Path) -> None:
    spec = sweep.read_spec(_spec(tmp_path, '[accuracy]\ndigits = 2\n'
                                 '"analog.read_sigma" = [0.0]\n'))
    (row,) = sweep.run_point(spec, sweep.points(spec)[-1])
    assert row["kind"] == "accuracy" and row["digits"] == 2
    assert 0.0 <= row["accuracy"] <= 1.0 and row["cycles"] > 0 and row["energy_uj"] > 0


@pytest.mark.slow
def test_an_interrupted_sweep_ends_cleanly(tmp_path: Path) -> None:
    """SIGTERM while points run: the workers are stopped, one line says so, status 143,
    no traceback (the workers leave the signal to the parent)."""
    spec = tmp_path / "slow.toml"
    spec.write_text('config = "aras"\nnetworks = ["bert_large"]\nschedulers = ["+reuse"]\n'
                    '[axes]\n"pe.count" = [72, 96]\n')
    proc = subprocess.Popen([sys.executable, "-m", "reram_pim", "sweep", str(spec), "--out",
                             str(tmp_path / "out"), "--workers", "2"],
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert "points to run" in proc.stderr.readline()
    time.sleep(2)                      # the workers are inside their points
    proc.send_signal(signal.SIGTERM)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == "terminated" and "Traceback" not in err
    assert not list((tmp_path / "out" / "points").glob("*.json"))


#: Runs in a fresh interpreter (not inside a test worker, whose threads and signal
#: handlers a forked pool would share): a sweep of points stuck for a minute each,
#: interrupted after two seconds; prints how long the interrupt took to end the run.
_INTERRUPTED = """
import signal, sys, time
from model.reports import sweep
from reram_pim import sweep as command

def stuck(spec, point):
    time.sleep(60)
    return []

def interrupt(*_):
    raise KeyboardInterrupt

sweep.run_point = stuck          # the forked workers inherit it
spec = sweep.read_spec(sys.argv[1])
signal.signal(signal.SIGALRM, interrupt)
signal.alarm(2)
start = time.monotonic()
try:
    list(command.run_points(spec, sweep.points(spec), 2, None))
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - start:.1f} s")
"""


@pytest.mark.slow
def test_an_interrupt_does_not_wait_for_the_running_points(tmp_path: Path) -> None:
    """The workers are killed, not joined: the interrupt ends the run in seconds, where
    joining them would take a minute."""
    spec = _spec(tmp_path, '[axes]\n"pe.count" = [2, 4]\n')
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED, str(spec)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seconds = float(done.stdout.split()[-2])
    assert 2 <= seconds < 30, done.stdout
