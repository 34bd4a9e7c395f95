"""Co-simulation speed: timed runs of an image through cocotb, and of the harness alone.

:func:`best_run` times the whole simulator process (start-up, Python analog models,
dumps). :func:`standalone` is the command that runs the harness without Python or cocotb
(``+autostart``; the analog ports then read zeros) and :func:`time_alone` times it: the
ceiling no co-simulation can pass (``scripts/bench_cosim.py`` prints both).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from cocotb_tests import runner
from firmware.config import Config
from firmware.image import Image
from hdl import build as hdl_build


def best_run(image: Image, sim: str, out: Path, repeat: int) -> tuple[float, runner.RtlRun]:
    """The fastest of ``repeat`` co-simulated runs: (wall seconds, the run)."""
    best, rtl = None, None
    for k in range(repeat):
        start = time.perf_counter()
        rtl = runner.run(image, sim, out / f"{sim}{k}")
        wall = time.perf_counter() - start
        best = wall if best is None else min(best, wall)
    return best, rtl


def standalone(cfg: Config, sim: str, out: Path) -> list[str]:
    """The command that runs the harness without cocotb: Icarus's ``vvp`` on the bench's
    own build, or a ``--binary`` Verilator build of the same sources, Verilator and C++
    flags (only the bench's signal visibility file is left out)."""
    if sim == "icarus":
        return ["vvp", "-n", str(runner.build_dir(cfg, sim, False) / "sim.vvp")]
    verilog = hdl_build.generate(cfg, runner.config_dir(cfg))
    params = [f"-G{k}={v}" for k, v in runner.harness_parameters(cfg).items()]
    subprocess.run(["verilator", "--binary", *runner.VERILATOR_ARGS, "--top-module", "harness",
                    *params, str(runner.HARNESS), str(verilog), "-Mdir", str(out),
                    "-o", "harness", "-MAKEFLAGS", " ".join(runner.VERILATOR_MAKE_ARGS)],
                   check=True, capture_output=True)
    return [str(out / "harness")]


def time_alone(cmd: list[str], image: Image, out: Path, repeat: int, idle: int = 0) -> float:
    """Best wall time of ``repeat`` runs of ``image`` in the harness alone (``idle``
    more cycles after HALT); a run that fails or does not halt raises ``RuntimeError``."""
    image.write(out)
    args = cmd + ["+autostart", f"+imem={out / 'imem.hex'}", f"+dram={out / 'dram.hex'}"]
    if idle:
        args.append(f"+idle={idle}")
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0 or "halted after" not in done.stdout:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        best = wall if best is None else min(best, wall)
    return best
