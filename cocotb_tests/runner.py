"""Build the chip for a config and run an image on it under Icarus or Verilator.

Builds are cached per (config, simulator, waves) under ``build/<config>/`` and guarded by
a file lock, so parallel pytest workers share them safely; every run writes into its own
output directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import warnings
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
    try:
        hdl_build.require_buildable(cfg)  # Verilog generation time, estimated up front
    except hdl_build.BuildTooLongError as exc:
        raise ConfigTooLargeError(str(exc)) from None


class SimulatorMissingError(RuntimeError):
    """The requested simulator is not installed; the message says how to install it."""


def require_simulator(sim: str) -> None:
    """Raise :class:`SimulatorMissingError` unless ``sim`` can run here."""
    if sim not in SIMULATORS:
        raise SimulatorMissingError(f"unknown simulator '{sim}'; expected one of "
                               f"{', '.join(SIMULATORS)}")
    exe, how = SIMULATORS[sim]
    if shutil.which(exe) is None:
        raise SimulatorMissingError(f"simulator '{sim}' needs '{exe}' on PATH, which was not "
                               f"found. Install it with: {how}")


def harness_parameters(cfg: Config) -> dict[str, int]:
    """Verilog parameters of ``harness.v`` for a config."""
    return {
        "IMEM_DEPTH": cfg.imem.depth,
        "IMEM_AW": (cfg.imem.depth).bit_length(),
        "DRAM_WORDS": cfg.dram_words,
        "DRAM_BITS": cfg.dram_bits,
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
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def config_dir(cfg: Config, root: Path | None = None) -> Path:
    """``build/<name>-<hash>``: a config that differs in any field gets its own Verilog."""
    digest = hashlib.sha256(to_toml(cfg).encode()).hexdigest()[:10]
    return (root or ROOT / "build") / f"{cfg.chip.name}-{digest}"


def build_dir(cfg: Config, sim: str, waves: bool, root: Path | None = None) -> Path:
    return config_dir(cfg, root) / (sim + ("-waves" if waves else ""))


def build(cfg: Config, sim: str, waves: bool = False, root: Path | None = None):
    """Generate Verilog and compile the harness for ``sim``; return the cocotb runner."""
    require_simulator(sim)
    require_simulatable(cfg)
    bdir = build_dir(cfg, sim, waves, root)
    with _locked(bdir.parent / f".{bdir.name}.lock"):
        verilog = hdl_build.generate(cfg, bdir.parent)
        runner = _make_runner(sim)
        build_args = list(VERILATOR_ARGS) if sim == "verilator" else []
        runner.build(
            sources=[HARNESS, verilog],
            hdl_toplevel="harness",
            parameters=harness_parameters(cfg),
            build_args=build_args,
            build_dir=bdir,
            timescale=("1ns", "1ps"),
            waves=waves and sim == "verilator",  # compiles tracing in; Icarus needs nothing
            always=False,
        )
    return runner


RUN_DIR_ENTRIES = {"image", "expected", "scoreboard.txt", "batch", "rtl.json",
                   "dram_out.hex", "gb_out.hex",
                   "results.xml", "config.toml", "runs.json", "current", "waves.vcd",
                   "waves.gtkw", "sim_build"}


def _clear_run_dir(path: Path) -> None:
    """Remove an earlier run's directory; refuse to delete anything that is not one."""
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
    shutil.rmtree(path)


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
    """Write ``image`` to ``out_dir``, run it on the RTL and collect the results (see
    :func:`run_batch` for ``jitter`` and ``expected``)."""
    out_dir = (out_dir or config_dir(image.config, build_root) / "runs" / sim).resolve()
    return run_batch([image], sim, out_dir, waves, build_root, run_dirs=[out_dir],
                     jitter=jitter, expected=None if expected is None else [expected])[0]


def run_batch(images: list[Image], sim: str, out_dir: Path, waves: bool = False,
              build_root: Path | None = None, run_dirs: list[Path] | None = None,
              jitter: int | None = None, jitter_late: dict[str, int] | None = None,
              expected: list[Image] | None = None) -> list[RtlRun]:
    """Run several images of one config in a single simulation, one after another.

    Each image gets a run directory (``out_dir/run0000`` ... unless ``run_dirs`` names
    them) with the image, the config, the memory dumps and ``rtl.json``. ``jitter`` (a
    seed) makes the analog responders answer at random cycles inside their windows
    (``jitter_late``, ``{port: cycles}``: that many cycles past them, only to show that
    is caught). The
    scoreboard checks every analog transaction against the golden model's run of each
    image, or of ``expected[i]`` where given (to show it catches a divergence); a
    mismatch raises :class:`ScoreboardError`.
    """
    if not images:
        return []
    cfg = images[0].config
    if any(to_toml(i.config) != to_toml(cfg) for i in images):
        raise ValueError("a batch runs on one build: every image must have the same config")
    out_dir = out_dir.resolve()
    run_dirs = [d.resolve() for d in run_dirs] if run_dirs else \
        [out_dir / f"run{k:04d}" for k in range(len(images))]
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
    runner = build(cfg, sim, waves, build_root)
    wave = run_dirs[0] / "waves.vcd" if waves else None
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
           "PIM_JITTER_LATE": json.dumps(jitter_late or {}),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    try:
        results = runner.test(test_module="cocotb_tests.test_chip", hdl_toplevel="harness",
                              hdl_toplevel_lang="verilog", plusargs=plusargs,
                              test_args=test_args, waves=bool(wave) and sim == "verilator",
                              extra_env=env, test_dir=batch)
        tests, failed = get_results(Path(results))
    except SystemExit:   # cocotb's runner checks the results itself under pytest
        tests, failed = 1, 1
    for d in run_dirs:
        if (d / "scoreboard.txt").exists():
            raise ScoreboardError(f"{(d / 'scoreboard.txt').read_text().strip()} (run "
                                  f"directory {d})")
    if tests == 0 or failed:
        raise RuntimeError(f"co-simulation failed ({failed} of {tests} cocotb tests); see the "
                           f"log above and {batch}")
    if wave:
        states = json.loads((config_dir(cfg, build_root) / "fsm_states.json").read_text())
        write_savefile(wave, states)
    out = []
    for d in run_dirs:
        counters = json.loads((d / "rtl.json").read_text())
        gb = read_hex(d / "gb_out.hex", cfg.gb_bits, cfg.gb_words)
        dram = read_hex(d / "dram_out.hex", cfg.dram_bits, cfg.dram_words)
        out.append(RtlRun(counters, gb, dram, d, wave if d == run_dirs[0] else None))
    return out
