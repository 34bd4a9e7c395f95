"""ARAS report: every built-in network under every scheduler on the full `aras` chip.

For each network and scheduler: inferences/s, the share of ARAS's upper bound (every
weight written once) and the compute floor, write pulses, energy (write / static /
compute, buffer traffic with compute), the buffer static energy bank gating saved, and
the lifespan of the most rewritten crossbar, then the paper's figures beside ours
(:mod:`model.reports.aras`). Writes ``report.json``, a Gantt chart of writes against
compute per network (``gantt-<network>.png``) and the paper's Fig. 13-15 drawn from our
figures (``pulses.png``, ``speedup.png``, ``energy.png``).

Usage: ``python scripts/aras_report.py [--networks vgg16 ...] [--schedulers naive ...]
[--config aras] [--endurance 1e12] [--endurance-real-time 1e11] [--seed 0]
[--weights file.npz] [--out build/report]``
(``make report``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from firmware import cli, config, network, schedulers
from model.reports import aras


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", nargs="+", default=list(network.BUILTIN),
                    help="built-in names or topology CSV paths")
    ap.add_argument("--schedulers", nargs="+", default=list(schedulers.SCHEDULERS),
                    choices=list(schedulers.SCHEDULERS))
    ap.add_argument("--config", default="aras")
    ap.add_argument("--endurance", type=float, default=aras.ENDURANCE_MAX,
                    help="write cycles a cell survives, for the max-throughput lifespan")
    ap.add_argument("--endurance-real-time", type=float, default=aras.ENDURANCE_REAL_TIME,
                    help="write cycles a cell survives, for the real-time lifespan")
    ap.add_argument("--seed", type=cli.non_negative_int, default=0,
                    help="seed of the synthetic weights (an integer >= 0)")
    ap.add_argument("--weights", help=".npz of real weights (only with one network)")
    ap.add_argument("--out", default="build/report")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    if args.weights and len(args.networks) != 1:
        ap.error("--weights needs exactly one network in --networks")
    if not (args.endurance > 0 and args.endurance_real_time > 0):
        ap.error("--endurance and --endurance-real-time must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = Path(args.out)
    try:
        rows = aras.rows(config.load(args.config), args.networks, args.schedulers,
                         args.endurance, args.seed, args.weights,
                         None if args.no_plots else out, args.endurance_real_time)
    except (network.NetworkError, config.ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(rows, indent=1) + "\n")
    if not args.no_plots:
        aras.paper_plots(out, rows)
    print(aras.table(rows))
    print("\n" + aras.paper_table(rows))
    print("\n" + aras.glue_table(rows))
    print(f"\nwrote {out / 'report.json'}" + ("" if args.no_plots else
                                               f", {out}/gantt-*.png, {out}/pulses.png, "
                                               f"{out}/speedup.png, {out}/energy.png"))
    return 0


if __name__ == "__main__":
    cli.run_main(main)
