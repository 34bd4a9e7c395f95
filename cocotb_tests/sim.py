"""``make sim``: run the default co-simulation and print a short result table.

The default program is the vertical slice: scheduler-made firmware that writes one
crossbar's weights (seeded random INT8), loads activations, runs one bit-serial VMM and
stores the int32 result. The RTL runs it with the Python crossbar model on its analog
ports; the checker compares it with the golden model (values) and the timing model
(cycles).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from firmware import cli


def _parser(simulators: list[str], programs: list[str]) -> argparse.ArgumentParser:
    ap = cli.ArgumentParser(prog="make sim", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            help_command=".venv/bin/python -m cocotb_tests.sim --help")
    ap.add_argument("--config", default="tiny", help="config name or TOML path (default tiny)")
    ap.add_argument("--sim", default="icarus", choices=simulators)
    ap.add_argument("--waves", action="store_true",
                    help="write waves (Icarus: VCD, Verilator: FST) and a GTKWave save file")
    ap.add_argument("--seed", type=cli.non_negative_int, default=1,
                    help="seed of weights and activations (an integer >= 0)")
    ap.add_argument("--program", default="slice", choices=programs,
                    help="regression program to run (default: the slice)")
    ap.add_argument("--out", type=Path, default=None, help="run directory (default build/...)")
    ap.add_argument("--jitter", type=cli.non_negative_int, default=None, metavar="SEED",
                    help="analog models answer at seeded random cycles inside the windows "
                         "the RTL counts (results and cycles must not change)")
    ap.add_argument("--json", action="store_true",
                    help="print the result as JSON on stdout (the build and simulator "
                         "logs go to stderr)")
    return ap


@contextlib.contextmanager
def _stdout_to_stderr(on: bool) -> Iterator[None]:
    """With ``on``, everything written to stdout meanwhile (the simulator's log, by this
    process or its children) goes to stderr, so stdout carries only the JSON."""
    if not on:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _json(args: argparse.Namespace, image, rtl, checks, wall: float) -> str:
    """The run's result for machines: what ran, every check, the verdict."""
    return json.dumps({
        "config": image.config.chip.name, "simulator": args.sim, "program": args.program,
        "seed": args.seed if args.program == "slice" else None,
        "verdict": "PASS" if all(c.ok for c in checks) else "FAIL",
        "cycles": rtl.counters["cycles"], "run_dir": str(rtl.out_dir),
        "wave": str(rtl.wave) if rtl.wave else None, "wall_s": wall,
        "checks": [{"name": c.name, "expected": c.expected, "observed": c.observed,
                    "ok": c.ok} for c in checks],
    }, indent=1, default=str)


def _image(args: argparse.Namespace):
    """The config and image to run, and the slice's operands (None for other programs);
    raises on a bad config, a missing simulator or a config too large to simulate."""
    from cocotb_tests import runner
    from firmware import config as config_mod
    from firmware.programs import directed

    cfg = config_mod.load(args.config)
    runner.require_simulatable(cfg)      # the config's own fault first, simulator or not
    runner.require_simulator(args.sim)
    if args.program == "slice":
        weights, x = directed.slice_operands(cfg, args.seed)
        return cfg, directed.slice_program(cfg, args.seed), weights, x
    return cfg, directed.PROGRAMS[args.program](cfg), None, None


def _report(args: argparse.Namespace, image, gold, rtl, checks, wall: float,
            weights, x) -> None:
    """The result table and what the run saw, after the cocotb log."""
    from firmware.isa import RTL_OPCODES
    from firmware.packing import unpack
    from model import checker, golden, reference

    cfg = image.config
    region = image.regions.get("outputs")
    y = unpack(rtl.dram[region.addr: region.addr + region.count], region.bits, cfg.dram_bits,
               region.elements, signed=True) if region else None
    ideal = reference.run(image, RTL_OPCODES)
    out_err = next((e for e in reference.analog_error(image, gold, ideal)
                    if e.name == "outputs"), None)
    print()
    print(f"config {cfg.chip.name} ({cfg.source}), simulator {args.sim}, program "
          f"{args.program}" + (f", seed {args.seed}" if args.program == "slice" else ""))
    print(f"program: {len(image.imem)} instructions, see {rtl.out_dir / 'image' / 'program.s'}")
    print(checker.format_table(checks))
    print()
    if y is not None and len(y) <= 16:
        print(f"RTL outputs      {y.tolist()}")
    if x is not None:
        print(f"integer x @ W    {(x @ weights).tolist()}  (ideal reference, no analog "
              "effects)")
    if out_err is not None:
        print(f"analog error     {out_err.differing} of {out_err.elements} outputs differ from "
              f"the ideal reference (relative RMS {out_err.rel_rms:.2e}); reported apart from "
              "the bit-exact check")
    print(f"cycles           {rtl.counters['cycles']}  ({rtl.counters['overlap_cycles']} with a "
          f"weight write overlapping other work)")
    observed = {p: rtl.counters[c] for p, c in checker.DRIVER_COUNTERS.items()}
    seen = ", ".join(f"{n} {golden.PORTS[p]}{'s' * (n != 1)}" for p, n in observed.items() if n)
    print(f"scoreboard       {seen or 'no analog transactions'}, each checked against the "
          "golden model as it happened")
    if args.jitter is not None:
        delays = "; ".join(f"{golden.PORTS[p]} {lo}..{hi}" for p, (lo, hi, _) in
                           rtl.counters["answer_delays"].items())
        print(f"jitter           seed {args.jitter}: answered {delays} cycles into the window")
    print(f"wall time        {wall:.2f} s (build, if needed, and simulation)")
    if rtl.wave:
        print(f"waves            {rtl.wave}")
        if rtl.wave.with_suffix(".gtkw").exists():
            print(f"                 gtkwave {rtl.wave.with_suffix('.gtkw')}   (signals "
                  "grouped by block, states by name)")
        else:
            print(f"                 gtkwave {rtl.wave}   (no save file: see the runner line "
                  "above)")
    else:
        print("waves            off (make sim WAVES=1)")


def main(argv: list[str] | None = None) -> int:
    # Imported here, inside cli.run_main: a Ctrl-C while numpy, Amaranth and cocotb load
    # (the first second) is the same one-line interrupt as later.
    from cocotb_tests import runner
    from firmware.config import ConfigError
    from firmware.isa import RTL_OPCODES
    from firmware.programs import directed
    from model import checker, golden, timing

    args = _parser(sorted(runner.SIMULATORS), sorted(directed.PROGRAMS)).parse_args(argv)
    try:
        cfg, image, weights, x = _image(args)
    except (ConfigError, runner.SimulatorMissingError, runner.ConfigTooLargeError,
            ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    gold = golden.run(image, RTL_OPCODES)
    tim = timing.simulate(cfg, gold)
    wait = runner.simulation_estimate(tim.cycles, args.sim)
    if wait:
        print(wait, file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        with _stdout_to_stderr(args.json):
            rtl = runner.run(image, args.sim, args.out, waves=args.waves, jitter=args.jitter)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except runner.ScoreboardError as exc:   # found where it started; the run stopped there
        print(f"\n{exc}\nverdict          FAIL")
        return 1
    except (RuntimeError, OSError) as exc:  # a failed build or simulator, a full disk
        print(f"error: {exc}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - start
    checks = checker.compare(gold, tim, rtl.counters, rtl.gb, rtl.dram, cfg.gb_bits,
                             cfg.dram_bits)
    ok = all(c.ok for c in checks)
    if args.json:
        print(_json(args, image, rtl, checks, wall))
        return 0 if ok else 1
    _report(args, image, gold, rtl, checks, wall, weights, x)
    print(f"verdict          {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    cli.run_main(main)
