"""Benchmark: simulated cycles per wall-clock second of the co-simulation.

Runs fixed layer-like programs on the ``small`` config under Icarus and Verilator. In the
``overlap`` program each of ``--rounds`` rounds writes every crossbar in turn while the
previous one runs a 64-window VMM (writes overlapped with compute), then results are
stored; ``write`` keeps only the writes, ``compute`` only the VMMs. The build is done
first and not timed; the timed part is the whole simulator process (start-up, Python
analog models, dumps). Start-up alone is timed on a program that halts at once;
"steady" is a program's cycles over the wall time beyond that. Python wakes once per
analog transaction (a VMM window, a written row), so the transactions per thousand cycles
are printed too.

Two ceilings are measured beside it, without Python or cocotb (the harness's
``+autostart``; the analog ports then read zeros): "RTL alone", the same program in the
simulator by itself (under Verilator a ``--binary`` build of the same harness and flags),
and "idle", the cycles per second of the halted chip (``+idle=N`` more cycles after HALT,
timed against none): no program can run faster than the idle chip.
Usage: ``python scripts/bench_cosim.py [--config small] [--sims icarus verilator]
[--mix overlap write compute] [--idle-cycles N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from cocotb_tests import runner
from cocotb_tests.speed import best_run, standalone, time_alone
from firmware import cli, config
from firmware.config import Config
from firmware.image import Image
from firmware.isa import Instruction
from firmware.programs.bench import MIXES, WINDOWS, bench_program


def main() -> None:
    ap = cli.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="small")
    ap.add_argument("--sims", nargs="+", default=["icarus", "verilator"])
    ap.add_argument("--repeat", type=cli.positive_int, default=2,
                    help="timed runs per simulator (best)")
    ap.add_argument("--rounds", type=cli.positive_int, default=8,
                    help="write/compute rounds over all crossbars (program length)")
    ap.add_argument("--mix", nargs="+", choices=MIXES, default=list(MIXES),
                    help="programs: writes overlapped with VMMs, writes only, VMMs only")
    ap.add_argument("--idle-cycles", type=cli.positive_int, default=200_000,
                    help="cycles of the halted chip timed for the idle figure")
    args = ap.parse_args()
    for name in ("repeat", "rounds", "idle_cycles"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    cfg = config.load(args.config)
    # Start-up (simulator and Python start, memories loaded and dumped) is timed apart
    # on a program that halts at once, so the steady-state speed is also shown.
    halt = Image.build(cfg, [Instruction.make("HALT")], [0] * cfg.dram_words)
    print(f"config {cfg.chip.name}: {cfg.n_crossbars} crossbars of {cfg.crossbar.rows}x"
          f"{cfg.crossbar.cols}, {args.rounds} rounds, {WINDOWS} windows per VMM")
    print(f"{'simulator':<10} {'program':<8} {'cycles':>9} {'wall':>8} {'cycles/s':>10} "
          f"{'start-up':>9} {'steady cycles/s':>16} {'transactions/kcycle':>20} "
          f"{'RTL alone cycles/s':>19}")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for sim in args.sims:
                _bench(cfg, sim, args, halt, Path(tmp))
        except RuntimeError as exc:   # the harness alone failed: its figures would be wrong
            sys.exit(str(exc))


def _bench(cfg: Config, sim: str, args: argparse.Namespace, halt: Image, tmp: Path) -> None:
    """Print one simulator's line per program mix, then its idle ceiling."""
    runner.build(cfg, sim)
    alone = standalone(cfg, sim, tmp / f"{sim}-alone")
    startup, _ = best_run(halt, sim, tmp / "halt", args.repeat)
    for mix in args.mix:
        image = bench_program(cfg, args.rounds, mix=mix)
        wall, rtl = best_run(image, sim, tmp / mix, args.repeat)
        if rtl.counters["fault"]:
            raise SystemExit(f"the {mix} benchmark program faulted "
                             f"({rtl.counters['fault']}): its figures would not mean anything")
        cycles = rtl.counters["cycles"]
        steady = cycles / (wall - startup) if wall > startup else float("nan")
        per_k = 1000 * (rtl.counters["analog_reads"]
                        + rtl.counters["model_rows_written"]) / cycles
        t_alone = time_alone(alone, image, tmp / f"{mix}-alone", args.repeat)
        print(f"{sim:<10} {mix:<8} {cycles:>9} {wall:>7.2f}s {cycles / wall:>10,.0f} "
              f"{startup:>8.2f}s {steady:>16,.0f} {per_k:>20.1f} {cycles / t_alone:>19,.0f}")
    t_halt = time_alone(alone, halt, tmp / "halt-alone", args.repeat)
    t_idle = time_alone(alone, halt, tmp / "halt-alone", args.repeat, idle=args.idle_cycles)
    rate = args.idle_cycles / (t_idle - t_halt) if t_idle > t_halt else float("nan")
    print(f"{sim:<10} {'idle':<8} {args.idle_cycles:>9} {t_idle - t_halt:>7.2f}s "
          f"{rate:>10,.0f}   (the halted chip, harness alone: the ceiling)")


if __name__ == "__main__":
    cli.run_main(main)
