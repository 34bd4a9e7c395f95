"""Runs never collide and never trust a broken build: concurrent runs, locked run
directories, pruning of old runs, and cut or edited build artefacts."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import textwrap
import threading
from contextlib import nullcontext
from pathlib import Path

import pytest

from cocotb_tests import runner
from firmware import config
from firmware.programs import directed

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600  # seconds: a Verilator build and a run on a busy 2-core machine


def _slice(seed: int = 1):
    return directed.slice_program(config.load("tiny"), seed)


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"{proc.args} did not finish in {TIMEOUT} s:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.mark.cosim
def test_two_concurrent_make_sim_both_pass_in_their_own_directories() -> None:
    """Two ``make sim`` at once (other seeds and programs) each PASS and print their own
    run directory, and both directories keep their results."""
    procs = [_start(["-m", "cocotb_tests.sim", "--seed", "2"]),
             _start(["-m", "cocotb_tests.sim", "--program", "multi"])]
    outs = [_finish(p) for p in procs]
    dirs = []
    for out in outs:
        assert "verdict          PASS" in out
        dirs.append(Path(re.search(r"see (\S+)/image/program\.s", out).group(1)))
    assert dirs[0] != dirs[1] and dirs[0].parent == dirs[1].parent
    for d in dirs:
        assert (d / "rtl.json").is_file() and (d / "dram_out.hex").is_file()


RACE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cocotb_tests import runner
    from firmware import config
    from firmware.programs import directed
    image = directed.slice_program(config.load("tiny"), int(sys.argv[2]))
    rtl = runner.run(image, "icarus", build_root=Path(sys.argv[1]))
    print("RUN", rtl.out_dir, rtl.counters["cycles"])
""")


@pytest.mark.cosim
def test_two_runs_racing_on_a_fresh_build_build_it_once(tmp_path: Path) -> None:
    """Two runs of one config on an empty build root: the lock lets one build, the other
    waits and reuses the build; both pass, in two directories."""
    procs = [_start(["-c", RACE, str(tmp_path), str(seed)]) for seed in (1, 3)]
    outs = [_finish(p) for p in procs]
    assert sum(out.count("runner: building") for out in outs) == 1
    dirs = {line.split()[1] for out in outs for line in out.splitlines()
            if line.startswith("RUN ")}
    assert len(dirs) == 2


@pytest.mark.cosim
def test_out_directory_of_a_live_run_is_refused_not_cleared(tmp_path: Path, capsys,
                                                            monkeypatch) -> None:
    """``--out`` naming a directory a live run holds is refused and nothing in it is
    touched; without the lock the second run would have cleared it."""
    from cocotb_tests import sim
    out = tmp_path / "run"
    out.mkdir()
    (out / "rtl.json").write_text("{}  (the live run's)")
    with runner._run_lock(out):  # what a live run holds
        assert sim.main(["--out", str(out)]) == 2
        assert f"{out} is in use by another live co-simulation run" in capsys.readouterr().err
        assert (out / "rtl.json").read_text() == "{}  (the live run's)"
        # The guard is what protects it: without the lock the run clears the directory.
        monkeypatch.setattr(runner, "_run_lock", lambda path: nullcontext())
        assert sim.main(["--out", str(out)]) == 0
        assert (out / "rtl.json").read_text() != "{}  (the live run's)"


def test_old_default_runs_are_pruned_but_never_a_live_or_a_foreign_one(tmp_path: Path
                                                                      ) -> None:
    parent = tmp_path / "runs" / "icarus"
    names = [f"20260101-0000{k:02d}-{100 + k}" for k in range(runner.RUNS_KEPT + 4)]
    for name in names:
        (parent / name / "image").mkdir(parents=True)
        (parent / name / "rtl.json").write_text("{}")
    (parent / names[1] / "thesis.tex").write_text("not a run's file")
    (parent / "latest").symlink_to(names[-1])
    with runner._run_lock(parent / names[2]):  # a live run, however old
        deleted = runner.prune_runs(parent)
    assert [p.name for p in deleted] == [names[0], names[3]]
    left = sorted(p.name for p in parent.iterdir())
    assert left == sorted(set(names) - {names[0], names[3]} | {"latest"})


def test_default_runs_get_directories_of_their_own(tmp_path: Path) -> None:
    cfg = config.load("tiny")
    a, b = (runner.new_run_dir(cfg, "icarus", tmp_path) for _ in range(2))
    assert a != b and a.parent == b.parent
    assert (a.parent / "latest").resolve() == b


def _cut(path: Path) -> None:
    """Truncate a file to half its size (what a full disk or a killed copy leaves)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _trusting(monkeypatch) -> None:
    """Turn the manifest check off: any build that exists is reused, as before."""
    monkeypatch.setattr(runner, "_check_build", lambda sim, bdir, inputs: ("ok", ""))


@pytest.mark.cosim
@pytest.mark.parametrize("sim, artefact", [("icarus", "sim.vvp"), ("verilator", "harness")])
def test_a_cut_simulation_binary_is_rebuilt(sim: str, artefact: str, tmp_path: Path,
                                            monkeypatch, capfd) -> None:
    """A truncated ``sim.vvp`` or Verilator executable is found by its manifest and
    rebuilt; trusted as before, the run fails."""
    root = tmp_path / "build"
    first = runner.run(_slice(), sim, tmp_path / "a", build_root=root)
    path = runner.build_dir(config.load("tiny"), sim, False, root) / artefact
    size = path.stat().st_size
    _cut(path)
    with monkeypatch.context() as m:
        _trusting(m)
        with pytest.raises(RuntimeError, match="co-simulation failed"):
            runner.run(_slice(), sim, tmp_path / "b", build_root=root)
    capfd.readouterr()
    again = runner.run(_slice(), sim, tmp_path / "c", build_root=root)
    assert f"{path} is not what the build wrote" in capfd.readouterr().out
    assert path.stat().st_size == size and again.counters == first.counters


@pytest.mark.cosim
def test_an_edited_chip_v_is_regenerated(tmp_path: Path, monkeypatch) -> None:
    """``chip.v`` cut or edited after generation is found by the hash its key file
    records and written again; trusted by its key alone, the build fails."""
    from hdl import build as hdl_build
    root = tmp_path / "build"
    first = runner.run(_slice(), "icarus", tmp_path / "a", build_root=root)
    chip_v = runner.config_dir(config.load("tiny"), root) / "chip.v"
    text = chip_v.read_text()
    _cut(chip_v)
    again = runner.run(_slice(), "icarus", tmp_path / "b", build_root=root)
    assert chip_v.read_text() == text and again.counters == first.counters
    with monkeypatch.context() as m:
        m.setattr(hdl_build, "_sha256", lambda path: "unchecked")
        runner.run(_slice(), "icarus", tmp_path / "c", build_root=root)  # keys w/o hashes
        _cut(chip_v)
        with pytest.raises(RuntimeError, match="the icarus build failed"):
            runner.run(_slice(), "icarus", tmp_path / "d", build_root=root)


@pytest.mark.cosim
def test_a_build_interrupted_before_its_manifest_is_not_trusted(tmp_path: Path,
                                                                monkeypatch, capfd) -> None:
    root = tmp_path / "build"
    with monkeypatch.context() as m:
        def killed(*args) -> None:
            raise KeyboardInterrupt
        m.setattr(runner, "_write_manifest", killed)
        with pytest.raises(KeyboardInterrupt):
            runner.run(_slice(), "icarus", tmp_path / "a", build_root=root)
    bdir = runner.build_dir(config.load("tiny"), "icarus", False, root)
    assert (bdir / "sim.vvp").exists() and not (bdir / runner.MANIFEST).exists()
    capfd.readouterr()
    runner.run(_slice(), "icarus", tmp_path / "b", build_root=root)
    assert "manifest.json is missing" in capfd.readouterr().out
    assert (bdir / runner.MANIFEST).exists()


@pytest.mark.cosim
def test_a_build_that_checks_out_is_reused_without_building(tmp_path: Path, capfd) -> None:
    root = tmp_path / "build"
    runner.run(_slice(), "icarus", tmp_path / "a", build_root=root)
    vvp = runner.build_dir(config.load("tiny"), "icarus", False, root) / "sim.vvp"
    mtime = os.stat(vvp).st_mtime_ns
    capfd.readouterr()
    runner.run(_slice(), "icarus", tmp_path / "b", build_root=root)
    assert "runner: building" not in capfd.readouterr().out
    assert os.stat(vvp).st_mtime_ns == mtime


@pytest.mark.cosim
def test_no_build_replaces_one_a_live_run_uses(tmp_path: Path) -> None:
    """A rebuild waits while a run holds its build (shared lock), then goes ahead."""
    root = tmp_path / "build"
    cfg = config.load("tiny")
    runner.build(cfg, "icarus", root=root)
    bdir = runner.build_dir(cfg, "icarus", False, root)
    vvp = bdir / "sim.vvp"
    _cut(vvp)
    cut_size = vvp.stat().st_size
    rebuild = threading.Thread(target=runner.build, args=(cfg, "icarus"), kwargs={"root": root})
    with runner._locked(bdir.parent / f".{bdir.name}.lock", shared=True):  # a live run
        rebuild.start()
        rebuild.join(timeout=3)
        assert rebuild.is_alive() and vvp.stat().st_size == cut_size
    rebuild.join(timeout=TIMEOUT)
    assert not rebuild.is_alive() and vvp.stat().st_size > cut_size
    assert runner._check_build("icarus", bdir, runner._build_inputs(
        "icarus", False, bdir.parent / "chip.v", runner.harness_parameters(cfg)))[0] == "ok"


@pytest.mark.cosim
def test_an_intact_build_is_reused_while_a_live_run_holds_it(tmp_path: Path) -> None:
    """Runs of one config run side by side: finding an intact build takes only the shared
    lock a live run holds, so it does not wait for that run to end."""
    root = tmp_path / "build"
    cfg = config.load("tiny")
    runner.build(cfg, "icarus", root=root)
    bdir = runner.build_dir(cfg, "icarus", False, root)
    reuse = threading.Thread(target=runner.build, args=(cfg, "icarus"), kwargs={"root": root})
    with runner._locked(bdir.parent / f".{bdir.name}.lock", shared=True):  # a live run
        reuse.start()
        reuse.join(timeout=60)   # a check of hashes: seconds, while the run goes on
        assert not reuse.is_alive()


def test_missing_simulator_is_named(monkeypatch) -> None:
    monkeypatch.setattr(runner.shutil, "which", lambda exe: None)
    with pytest.raises(runner.SimulatorMissingError, match="verilator.*apt-get install verilator"):
        runner.require_simulator("verilator")
    with pytest.raises(runner.SimulatorMissingError, match="unknown simulator 'xsim'"):
        runner.require_simulator("xsim")


def test_full_chip_config_is_refused_for_cosimulation(aras: config.Config) -> None:
    with pytest.raises(runner.ConfigTooLargeError,
                       match=r"aras\.toml: field 'main_memory\.size_bytes' makes 1024 MiB"):
        runner.require_simulatable(aras)
    runner.require_simulatable(config.load("small"))  # the co-simulation configs pass


def test_a_port_too_wide_for_the_rtl_is_refused() -> None:
    """A bandwidth needing more than SIM_MAX_PORT_WORDS words per cycle names the field;
    one word less is simulatable."""
    tiny = config.load("tiny")
    word = tiny.main_memory.word_bytes

    def at(words: int) -> config.Config:
        return dataclasses.replace(tiny, main_memory=dataclasses.replace(
            tiny.main_memory, bandwidth_gbps=float(words * word)))

    runner.require_simulatable(at(runner.SIM_MAX_PORT_WORDS))
    with pytest.raises(runner.ConfigTooLargeError,
                       match=r"field 'main_memory\.bandwidth_gbps' needs a main-memory port"):
        runner.require_simulatable(at(runner.SIM_MAX_PORT_WORDS + 1))


def test_run_directory_of_other_data_is_never_deleted(tmp_path: Path) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a co-simulation run directory"):
        runner.run(directed.slice_program(config.load("tiny")), "icarus", precious)
    assert (precious / "thesis.tex").read_text() == "years of work"
    with pytest.raises(FileExistsError, match="is a file"):
        runner.run(directed.slice_program(config.load("tiny")), "icarus",
                   precious / "thesis.tex")
    assert (precious / "thesis.tex").read_text() == "years of work"
