"""ARAS report: every built-in network under every scheduler on the full `aras` chip.

For each network and scheduler: inferences/s, the share of ARAS's upper bound (every
weight written once), write pulses, energy (write / static / compute, buffer traffic
with compute), the buffer static energy bank gating saved, and the lifespan of the most
rewritten crossbar (:mod:`model.reports.aras`). Writes ``report.json``, a Gantt chart of
writes against compute per network (``gantt-<network>.png``) and the energy breakdown
(``energy.png``).

Usage: ``python scripts/aras_report.py [--networks vgg16 ...] [--schedulers naive ...]
[--config aras] [--endurance 1e12] [--seed 0] [--weights file.npz] [--out build/report]``
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
    ap.add_argument("--endurance", type=float, default=1e12,
                    help="write cycles a cell survives (for the lifespan column)")
    ap.add_argument("--seed", type=cli.non_negative_int, default=0,
                    help="seed of the synthetic weights (an integer >= 0)")
    ap.add_argument("--weights", help=".npz of real weights (only with one network)")
    ap.add_argument("--out", default="build/report")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args(argv)
    if args.weights and len(args.networks) != 1:
        ap.error("--weights needs exactly one network in --networks")
    if not args.endurance > 0:
        ap.error("--endurance must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = Path(args.out)
    try:
        rows = aras.rows(config.load(args.config), args.networks, args.schedulers,
                         args.endurance, args.seed, args.weights,
                         None if args.no_plots else out)
    except (network.NetworkError, config.ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(rows, indent=1) + "\n")
    if not args.no_plots:
        aras.energy_plot(out, rows)
    print(aras.table(rows))
    print(f"\nwrote {out / 'report.json'}" + ("" if args.no_plots else
                                               f", {out}/gantt-*.png, {out}/energy.png"))
    return 0


if __name__ == "__main__":
    cli.run_main(main)
