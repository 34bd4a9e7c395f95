"""Build the chip for a config and run an image on it under Icarus or Verilator.

Builds are cached per (config, simulator, waves) under ``build/<config>/``, guarded by a
file lock (exclusive to build, shared while a run uses one) and trusted only when they
match the manifest a finished build wrote last; a cut or edited file is rebuilt. Every
run writes into its own directory, locked while it runs, so concurrent runs never meet.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # cocotb 1.9 flags its Python runner as experimental; we pin 1.9.x, so it is stable here.
    warnings.filterwarnings("ignore", message="Python runners", category=UserWarning)
    from cocotb.runner import Icarus, Verilator, get_results

from cocotb_tests.waves import write_savefile
from firmware import cli
from firmware.config import Config, to_toml
from firmware.image import Image, read_hex
from hdl import build as hdl_build

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "harness.v"
VERILATOR_CONFIG = Path(__file__).resolve().parent / "verilator.vlt"

SIMULATORS = {
    "icarus": ("iverilog", "sudo apt-get install iverilog   (Debian/Ubuntu; Icarus 11 tested)"),
    "verilator": ("verilator",
                  "sudo apt-get install verilator   (Debian/Ubuntu; Verilator 5.006 tested)"),
}

# Verilator's makefile compiles the model with -Os; -O2 runs it ~1.5x faster (the RTL
# alone: 0.43 s -> 0.29 s for the cosim benchmark's program). Both cores build.
VERILATOR_MAKE_ARGS = ["OPT_FAST=-O2", "OPT_GLOBAL=-O2", f"-j{os.cpu_count() or 1}"]

VERILATOR_ARGS = ["--timing", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNOPTFLAT", "-Wno-TIMESCALEMOD",
                  "-Wno-MULTIDRIVEN", "-Wno-UNUSED", "-Wno-CASEINCOMPLETE", "-O2"]


# What a co-simulation can hold in the harness's memories and the chip's global buffer
# (bits): beyond it the simulators take minutes to start or run out of memory.
SIM_MEMORY_LIMIT_BITS = 64 * 8 * 1024 * 1024
#: The widest main-memory port the RTL is built with (``port_words``): each word of it is
#: a DMA lane (a read and a write port more on the global buffer's memory).
SIM_MAX_PORT_WORDS = 16


#: Co-simulation speed of a busy program, cycles per second (docs/benchmarks.md:
#: ``scripts/bench_cosim.py``'s slowest program on the 2-core machine, rounded down).
SIM_CYCLES_PER_S = {"icarus": 8_000, "verilator": 130_000}
#: Above this estimated simulation time, ``make sim`` says so before it starts.
SIM_WARN_S = 30.0


def simulation_estimate(cycles: int, sim: str) -> str | None:
    """One line saying how long a run of ``cycles`` (the timing model's count, which the
    RTL equals) will take under ``sim``, or None if it is quick."""
    seconds = cycles / SIM_CYCLES_PER_S[sim]
    if seconds <= SIM_WARN_S:
        return None
    faster = min(SIM_CYCLES_PER_S, key=SIM_CYCLES_PER_S.get) == sim
    return (f"please wait: {cycles} cycles, about {seconds:.0f} s under {sim} (measured "
            f"~{SIM_CYCLES_PER_S[sim]:,} cycles/s)"
            + ("; SIM=verilator runs them faster" if faster else ""))


class ConfigTooLargeError(ValueError):
    """A config's memories are too large to co-simulate; the message names the field."""


def require_simulatable(cfg: Config) -> None:
    """Raise :class:`ConfigTooLargeError` unless ``cfg`` is small enough for the RTL."""
    limit_mib = SIM_MEMORY_LIMIT_BITS // 8 // 2**20
    for field, bits in (("main_memory.size_bytes", cfg.dram_words * cfg.dram_bits),
                        ("global_buffer.bank_bytes", cfg.gb_words * cfg.gb_bits),
                        ("imem.depth", cfg.imem.depth * 128)):
        if bits > SIM_MEMORY_LIMIT_BITS:
            raise ConfigTooLargeError(
                f"{cfg.source}: field '{field}' makes {bits // 8 // 2**20} MiB of simulated "
                f"memory, more than the {limit_mib} MiB a co-simulation holds; use a small "
                "config (tiny, small) for the RTL and the timing model for full chips")
    if cfg.port_words > SIM_MAX_PORT_WORDS:
        raise ConfigTooLargeError(
            f"{cfg.source}: field 'main_memory.bandwidth_gbps' needs a main-memory port of "
            f"{cfg.port_words} words per cycle, more than the {SIM_MAX_PORT_WORDS} the RTL "
            "is built with; use the timing model for such a chip")
    try:
        hdl_build.require_buildable(cfg)  # Verilog generation time, estimated up front
    except hdl_build.BuildTooLongError as exc:
        raise ConfigTooLargeError(str(exc)) from None


class SimulatorMissingError(RuntimeError):
    """The requested simulator is not installed; the message says how to install it."""


#: Set to a reason, it refuses every build and run of the RTL in this process and the
#: processes it starts (``make test-fast`` runs the models only; the test suite sets it
#: for every test not marked ``cosim``, so a marker cannot lie).
NO_SIM_ENV = "PIM_NO_SIM"


class SimulationDisabledError(SimulatorMissingError):
    """A simulator was asked for while ``PIM_NO_SIM`` is set."""


def require_simulator(sim: str) -> None:
    """Raise :class:`SimulatorMissingError` unless ``sim`` can run here, and
    :class:`SimulationDisabledError` if simulation is switched off (``PIM_NO_SIM``)."""
    if sim not in SIMULATORS:
        raise SimulatorMissingError(f"unknown simulator '{sim}'; expected one of "
                               f"{', '.join(SIMULATORS)}")
    exe, how = SIMULATORS[sim]
    if shutil.which(exe) is None:
        raise SimulatorMissingError(f"simulator '{sim}' needs '{exe}' on PATH, which was not "
                               f"found. Install it with: {how}")
    if os.environ.get(NO_SIM_ENV):
        raise SimulationDisabledError(f"no simulator runs while {NO_SIM_ENV} is set "
                                      f"({os.environ[NO_SIM_ENV]})")


def harness_parameters(cfg: Config) -> dict[str, int]:
    """Verilog parameters of ``harness.v`` for a config."""
    return {
        "IMEM_DEPTH": cfg.imem.depth,
        "IMEM_AW": (cfg.imem.depth).bit_length(),
        "DRAM_WORDS": cfg.dram_words,
        "DRAM_BITS": cfg.dram_bits,
        "DRAM_LANES": cfg.port_words,
        "LANE_COUNT_BITS": cfg.port_words.bit_length(),
        "GB_WORDS": cfg.gb_words,
        "GB_AW": max(1, (cfg.gb_words - 1).bit_length()),
        "GB_BITS": cfg.gb_bits,
        "ROWS": cfg.n_apu_rows * cfg.crossbar.rows,  # activation lanes of every APU row
        "CODE_BITS": cfg.n_crossbars * cfg.data.act_bits * cfg.crossbar.cols
        * cfg.code_field_bits,
        "CODE_SLOTS": cfg.n_crossbars,
        "DELTA_BITS": cfg.crossbar.cols * cfg.write.delta_bits,
        "XBAR_BITS": 16,
        "NBANKS": len(cfg.global_buffer.bank_bytes),
        "ACT_BITS": cfg.data.act_bits,
        "INV_BITS": cfg.inv.size * 32,
        "INV_COUNT": cfg.inv.count,
        "WRITE_ENGINES": cfg.write.engines,
    }


class OwnProcessGroup:
    """Runner mixin: each build and simulator command runs through :func:`cli.run_child`,
    so Ctrl-C reaches only this process, which kills the simulator silently (Icarus would
    stop at its interactive prompt, cocotb's Python print a traceback)."""

    def _execute_cmds(self, cmds, cwd, stdout=None) -> None:
        for cmd in cmds:   # as cocotb's own, but in a process group of its own
            print(f"INFO: Running command {shlex.join(cmd)} in directory {cwd}")
            status = cli.run_child(cmd, cwd=cwd, env=self.env, stdout=stdout,
                                   stderr=None if stdout is None else subprocess.STDOUT)
            if status != 0:
                raise SystemExit(f"Process {cmd[0]!r} terminated with error {status}")


class HarnessOnlyVerilator(OwnProcessGroup, Verilator):
    """cocotb's Verilator runner, but only the harness's signals are public (see
    ``verilator.vlt``): cocotb touches nothing inside the chip, and a fully public design
    keeps Verilator from optimizing it."""

    def _build_command(self):
        cmds = super()._build_command()
        cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"] + [str(VERILATOR_CONFIG)]
        cmds[1] += VERILATOR_MAKE_ARGS
        return cmds


class Verilog2005Icarus(OwnProcessGroup, Icarus):
    """cocotb's Icarus runner, but compiling Verilog-2005 (cocotb asks for -g2012). The
    Verilog that Yosys writes for Amaranth starts each combinational process by reading a
    register initialized in its declaration, which in Verilog-2005 is an event at time 0
    that runs every process once; under -g2012 the initializer makes no event, and a
    process whose inputs keep their initial values would leave its outputs at X."""

    def _build_command(self):
        cmds = super()._build_command()
        for cmd in cmds:
            if cmd and cmd[0] == "iverilog":
                cmd[:] = ["-g2005" if a == "-g2012" else a for a in cmd]
        return cmds


def _make_runner(sim: str):
    return HarnessOnlyVerilator() if sim == "verilator" else Verilog2005Icarus()


@contextmanager
def _locked(path: Path, shared: bool = False) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def config_dir(cfg: Config, root: Path | None = None) -> Path:
    """``build/<name>-<hash>``: a config that differs in any field gets its own Verilog."""
    digest = hashlib.sha256(to_toml(cfg).encode()).hexdigest()[:10]
    return (root or ROOT / "build") / f"{cfg.chip.name}-{digest}"


def build_dir(cfg: Config, sim: str, waves: bool, root: Path | None = None) -> Path:
    """Where the harness is compiled for ``sim`` (a build with tracing has its own)."""
    return config_dir(cfg, root) / (sim + ("-waves" if waves else ""))


MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _artefacts(sim: str, bdir: Path) -> list[Path]:
    """The files a build leaves that a run relies on: the simulation, and for Verilator the
    objects it is linked from (``make`` would trust a cut object by its timestamp)."""
    if sim == "icarus":
        return [bdir / "sim.vvp"]
    return [bdir / "harness", *sorted(bdir.glob("*.o")), *sorted(bdir.glob("*.a"))]


def _build_args(sim: str, waves: bool) -> list[str]:
    if sim != "verilator":
        return []
    return VERILATOR_ARGS + (["--trace-fst"] if waves else [])  # cocotb adds --trace


def _build_inputs(sim: str, waves: bool, verilog: Path, params: dict[str, int]) -> dict:
    """What a build is made from; a build made from anything else is not reused."""
    sources = [HARNESS, verilog] + ([VERILATOR_CONFIG] if sim == "verilator" else [])
    return {"sim": sim, "waves": waves, "parameters": params, "args": _build_args(sim, waves),
            "sources": {p.name: _sha256(p) for p in sources}}


def _check_build(sim: str, bdir: Path, inputs: dict) -> tuple[str, str]:
    """``("ok", "")`` if ``bdir`` holds a finished build of ``inputs`` whose files are intact,
    ``("stale", why)`` if it was made from other inputs, ``("broken", why)`` otherwise."""
    manifest = bdir / MANIFEST
    try:
        recorded = json.loads(manifest.read_text())
        files = recorded["files"]
    except FileNotFoundError:
        return "broken", f"{manifest} is missing (no build, or one that did not finish)"
    except (ValueError, KeyError, TypeError):
        return "broken", f"{manifest} is not a build manifest"
    for name, want in files.items():
        path = bdir / name
        if not path.is_file():
            return "broken", f"{path} is missing"
        if path.stat().st_size != want["size"] or _sha256(path) != want["sha256"]:
            return "broken", (f"{path} is not what the build wrote ({path.stat().st_size} "
                              f"bytes, expected {want['size']} with sha256 {want['sha256']})")
    if recorded.get("inputs") != inputs:
        return "stale", f"{bdir} was built from other sources or parameters"
    return "ok", ""


def _write_manifest(sim: str, bdir: Path, inputs: dict) -> None:
    """Record the finished build's files (sizes and hashes), atomically and last."""
    files = {}
    for path in _artefacts(sim, bdir):
        if not path.is_file():
            raise RuntimeError(f"{path}: the {sim} build finished without writing this file")
        files[path.name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    tmp = bdir / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"inputs": inputs, "files": files}, indent=1) + "\n")
    os.replace(tmp, bdir / MANIFEST)


def _compile(runner, cfg: Config, sim: str, waves: bool, verilog: Path, bdir: Path) -> None:
    runner.build(
        sources=[HARNESS, verilog],
        hdl_toplevel="harness",
        parameters=harness_parameters(cfg),
        build_args=_build_args(sim, waves),
        build_dir=bdir,
        timescale=("1ns", "1ps"),
        waves=waves and sim == "verilator",  # compiles tracing in; Icarus needs nothing
        always=True,  # we decided it must be built; cocotb would trust files by timestamp
    )


def build(cfg: Config, sim: str, waves: bool = False, root: Path | None = None):
    """Generate Verilog and compile the harness for ``sim`` unless an intact build of the
    same inputs is cached (checked against its manifest); return the cocotb runner."""
    require_simulator(sim)
    require_simulatable(cfg)
    bdir = build_dir(cfg, sim, waves, root)
    lock = bdir.parent / f".{bdir.name}.lock"
    with _locked(bdir.parent / ".chip.lock"):  # chip.v is shared by every simulator
        verilog = hdl_build.generate(cfg, bdir.parent)
    inputs = _build_inputs(sim, waves, verilog, harness_parameters(cfg))
    # An intact build is checked under the shared lock that live runs hold, so runs of
    # one config proceed side by side; only a rebuild waits for them to finish.
    with _locked(lock, shared=True):
        if _check_build(sim, bdir, inputs)[0] == "ok":
            return _make_runner(sim)
    with _locked(lock):
        state, why = _check_build(sim, bdir, inputs)   # another process may have built it
        runner = _make_runner(sim)
        if state == "ok":
            return runner
        print(f"runner: building {bdir}: {why}", flush=True)
        (bdir / MANIFEST).unlink(missing_ok=True)  # no manifest until this build finishes
        if state == "broken":
            shutil.rmtree(bdir, ignore_errors=True)  # nothing in it can be trusted
        try:
            _compile(runner, cfg, sim, waves, verilog, bdir)
        except SystemExit as exc:  # cocotb exits when a build command fails
            raise RuntimeError(f"{bdir}: the {sim} build failed ({exc}); see the log "
                               "above") from None
        _write_manifest(sim, bdir, inputs)
    return runner


@contextmanager
def _built(cfg: Config, sim: str, waves: bool, root: Path | None) -> Iterator[object]:
    """The runner of an intact build, held (shared lock) so no build replaces it mid-run."""
    bdir = build_dir(cfg, sim, waves, root)
    for _ in range(3):
        runner = build(cfg, sim, waves, root)
        with _locked(bdir.parent / f".{bdir.name}.lock", shared=True):
            state, _why = _check_build(sim, bdir, _build_inputs(
                sim, waves, bdir.parent / f"{hdl_build.TOP}.v", harness_parameters(cfg)))
            if state == "ok":
                yield runner
                return
    raise RuntimeError(f"{bdir}: the build keeps changing under this run (other builds of "
                       "this config are racing); try again")


# Verilator traces to FST (a tenth of the VCD's size, what its users expect); Icarus's
# $dumpfile writes VCD. GTKWave opens both; waves.py reads FST through GTKWave's fst2vcd.
WAVE_FILES = {"icarus": "waves.vcd", "verilator": "waves.fst"}
RUN_LOCK = ".lock"
RUN_DIR_ENTRIES = {"image", "expected", "scoreboard.txt", "batch", "rtl.json",
                   "dram_out.hex", "gb_out.hex",
                   "results.xml", "config.toml", "runs.json", "current", "waves.vcd",
                   "waves.fst", "waves.gtkw", "sim_build", RUN_LOCK}
# Default run directories (build/<cfg>/runs/<sim>/<stamp>) kept per config and simulator;
# older ones are deleted when a run starts, except those a live run holds.
RUNS_KEPT = 10
_RUN_NAME = re.compile(r"\d{8}-\d{6}-\d+(-\d+)?")


class RunDirBusyError(FileExistsError):
    """Another live run holds the run directory; the message names it."""


def _check_run_dir(path: Path) -> None:
    """Raise unless ``path`` is absent or an earlier co-simulation run's directory."""
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"{path} exists and is a file, not a co-simulation run "
                              "directory; choose another --out")
    foreign = [p.name for p in path.iterdir() if p.name not in RUN_DIR_ENTRIES
               and not p.name.endswith((".filter", ".xml", ".pstat"))]
    if foreign:
        raise FileExistsError(f"{path} exists and is not a co-simulation run directory "
                              f"(it holds {foreign[:3]}); choose another --out")


def _clear_run_dir(path: Path) -> None:
    """Empty an earlier run's directory (keeping its lock); refuse anything else."""
    _check_run_dir(path)
    if path.exists():
        for p in path.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.name != RUN_LOCK:
                p.unlink()


@contextmanager
def _run_lock(path: Path) -> Iterator[None]:
    """Hold ``path/.lock`` while a run uses ``path``; refuse when a live run holds it."""
    path.mkdir(parents=True, exist_ok=True)
    lock = path / RUN_LOCK
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirBusyError(f"{path} is in use by another live co-simulation run (it "
                                  f"holds {lock}); choose another --out or wait") from None
        if not lock.exists() or lock.stat().st_ino != os.fstat(fh.fileno()).st_ino:
            raise RunDirBusyError(f"{path} was deleted while this run locked it (old runs are "
                                  "pruned); choose another --out")
        yield


def new_run_dir(cfg: Config, sim: str, root: Path | None = None) -> Path:
    """A fresh default run directory ``build/<cfg>/runs/<sim>/<date>-<time>-<pid>``, and
    ``runs/<sim>/latest`` pointing at it: concurrent runs never share one."""
    parent = config_dir(cfg, root) / "runs" / sim
    parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for k in itertools.count():
        path = parent / (stamp + (f"-{k}" if k else ""))
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    tmp = parent / f".latest.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(path.name)
    os.replace(tmp, parent / "latest")
    return path


def prune_runs(parent: Path, keep: int = RUNS_KEPT) -> list[Path]:
    """Delete all but the newest ``keep`` default run directories under ``parent``, never one
    a live run holds or one holding anything but a run's files; return those deleted."""
    runs = sorted((p for p in parent.iterdir() if _RUN_NAME.fullmatch(p.name)
                   and p.is_dir() and not p.is_symlink()), key=lambda p: p.name)
    deleted = []
    for path in runs[:max(0, len(runs) - keep)]:
        try:
            _check_run_dir(path)
            with _run_lock(path):
                shutil.rmtree(path)
        except (FileExistsError, FileNotFoundError):
            continue  # live, deleted by another pruner, or not ours to delete
        deleted.append(path)
    return deleted


@dataclass
class RtlRun:
    """What a co-simulation left behind."""

    counters: dict[str, int]
    gb: list[int]
    dram: list[int]
    out_dir: Path
    wave: Path | None


class ScoreboardError(RuntimeError):
    """The in-simulation scoreboard saw a transaction the golden model does not predict;
    the message names the cycle, pc, instruction and the transactions."""


def run(image: Image, sim: str = "icarus", out_dir: Path | None = None, waves: bool = False,
        build_root: Path | None = None, jitter: int | None = None,
        expected: Image | None = None) -> RtlRun:
    """Write ``image`` to ``out_dir`` (default: a new directory of its own under
    ``build/<cfg>/runs/<sim>/``), run it on the RTL and collect the results (see
    :func:`run_batch` for ``jitter`` and ``expected``)."""
    more = {"jitter": jitter, "expected": None if expected is None else [expected]}
    if out_dir is not None:
        return run_batch([image], sim, out_dir, waves, build_root, run_dirs=[out_dir],
                         **more)[0]
    out_dir = new_run_dir(image.config, sim, build_root)
    with _run_lock(out_dir):
        prune_runs(out_dir.parent)
        return _run_batch_locked([image], sim, out_dir, waves, build_root, [out_dir],
                                 **more)[0]


def run_batch(images: list[Image], sim: str, out_dir: Path, waves: bool = False,
              build_root: Path | None = None, run_dirs: list[Path] | None = None,
              jitter: int | None = None, jitter_fixed: dict[str, int] | None = None,
              expected: list[Image] | None = None) -> list[RtlRun]:
    """Run several images of one config in a single simulation, one after another.

    Each image gets a run directory (``out_dir/run0000`` ... unless ``run_dirs`` names
    them) with the image, the config, the memory dumps and ``rtl.json``. ``out_dir`` is
    locked for the run: a second run into it is refused (:class:`RunDirBusyError`).
    ``jitter`` (a seed) makes the analog responders answer at random cycles inside their
    windows (``jitter_fixed``, ``{port: cycles}``: exactly that many cycles in, for the
    tests of a window's last cycle and the first one past it). The scoreboard checks
    every analog transaction against the golden model's run of each image, or of
    ``expected[i]`` where given (to show it catches a divergence); a mismatch raises
    :class:`ScoreboardError`.
    """
    if not images:
        return []
    out_dir = out_dir.resolve()
    run_dirs = [d.resolve() for d in run_dirs] if run_dirs else \
        [out_dir / f"run{k:04d}" for k in range(len(images))]
    for d in run_dirs + [out_dir / "batch"]:
        _check_run_dir(d)  # before the lock file goes into a directory that is not ours
    with _run_lock(out_dir):
        return _run_batch_locked(images, sim, out_dir, waves, build_root, run_dirs, jitter,
                                 jitter_fixed, expected)


def _run_batch_locked(images: list[Image], sim: str, out_dir: Path, waves: bool,
                      build_root: Path | None, run_dirs: list[Path],
                      jitter: int | None = None, jitter_fixed: dict[str, int] | None = None,
                      expected: list[Image] | None = None) -> list[RtlRun]:
    cfg = images[0].config
    if any(to_toml(i.config) != to_toml(cfg) for i in images):
        raise ValueError("a batch runs on one build: every image must have the same config")
    batch = out_dir / "batch"
    for d in run_dirs + [batch]:
        _clear_run_dir(d)
    (batch / "current").mkdir(parents=True)
    for k, (image, d) in enumerate(zip(images, run_dirs, strict=True)):
        image.write(d / "image")
        if expected is not None and expected[k] is not None:
            expected[k].write(d / "expected")
    # The batch is self-contained: the exact config travels with the images.
    cfg_path = batch / "config.toml"
    cfg_path.write_text(to_toml(cfg))
    (batch / "runs.json").write_text(json.dumps([str(d) for d in run_dirs]) + "\n")
    wave = run_dirs[0] / WAVE_FILES[sim] if waves else None
    current = batch / "current"
    plusargs = [f"+imem={current / 'imem.hex'}", f"+dram={current / 'dram.hex'}",
                f"+dram_out={current / 'dram_out.hex'}", f"+gb_out={current / 'gb_out.hex'}"]
    test_args: list[str] = []
    if wave and sim == "verilator":  # cocotb's Verilator main owns tracing
        test_args = ["--trace-file", str(wave)]
    elif wave:
        plusargs.append(f"+vcd={wave}")
    # One BLAS thread: the models' matrices are tiny, and idle BLAS threads spin on the
    # cores the simulator needs (a tenth of a Verilator run's CPU time).
    env = {"PIM_CONFIG": str(cfg_path), "PIM_BATCH": str(batch),
           "PIM_JITTER": "" if jitter is None else str(jitter),
           "PIM_JITTER_FIXED": json.dumps(jitter_fixed or {}),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    with _built(cfg, sim, waves, build_root) as runner:
        try:
            results = runner.test(test_module="cocotb_tests.test_chip",
                                  hdl_toplevel="harness", hdl_toplevel_lang="verilog",
                                  plusargs=plusargs, test_args=test_args,
                                  waves=bool(wave) and sim == "verilator",
                                  build_dir=build_dir(cfg, sim, waves, build_root),
                                  extra_env=env, test_dir=batch)
            tests, failed = get_results(Path(results))
        except SystemExit as exc:  # cocotb exits when the simulator or a test fails
            tests, failed, why = 1, 1, f"co-simulation failed: {exc}"
        else:
            why = f"co-simulation failed ({failed} of {tests} cocotb tests)"
    for d in run_dirs:   # a scoreboard mismatch says more than the failed test
        if (d / "scoreboard.txt").exists():
            raise ScoreboardError(f"{(d / 'scoreboard.txt').read_text().strip()} (run "
                                  f"directory {d})")
    if tests == 0 or failed:
        raise RuntimeError(f"{why}; see the log above and {batch}")
    if wave:
        states = json.loads((config_dir(cfg, build_root) / "fsm_states.json").read_text())
        try:
            write_savefile(wave, states)
        except (FileNotFoundError, ValueError, subprocess.SubprocessError) as exc:
            # No fst2vcd, or a header it could not read: the waves are there, the groups not.
            print(f"runner: {wave} has no save file: {exc}", flush=True)
    out = []
    for d in run_dirs:
        counters = json.loads((d / "rtl.json").read_text())
        gb = read_hex(d / "gb_out.hex", cfg.gb_bits, cfg.gb_words)
        dram = read_hex(d / "dram_out.hex", cfg.dram_bits, cfg.dram_words)
        out.append(RtlRun(counters, gb, dram, d, wave if d == run_dirs[0] else None))
    return out
