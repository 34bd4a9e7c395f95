"""``reram-pim report``: networks under schedulers on a chip config, beside the paper and
the TPU-like accelerator.

For each network (built-in name, topology CSV or ONNX model) and scheduler:
inferences/s, the share of ARAS's upper bound (every weight written once) and the compute
floor, write pulses, energy (write / static / compute, buffer traffic with compute), the
buffer static energy bank gating saved, and the lifespan of the most rewritten crossbar,
then the paper's figures beside ours and the TPU-like accelerator beside ARAS
(:mod:`model.reports.aras`). Writes ``report.json``, a Gantt chart of writes against
compute per network (``gantt-<network>.png``) and the paper's Fig. 13-17 drawn from our
figures (``pulses.png``, ``speedup.png``, ``energy.png``, ``tpu.png``); ``--json``
prints the rows instead of the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from firmware import cli, config, network, schedulers
from model.reports import aras
from reram_pim.progress import progress_bar


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = cli.ArgumentParser(prog="reram-pim report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", nargs="+", default=list(network.BUILTIN),
                    help="built-in names, topology CSV or ONNX paths (an ONNX model "
                         "brings its own weights: --seed and --weights do not apply)")
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
    ap.add_argument("--json", action="store_true",
                    help="print the rows as JSON instead of the tables")
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
        cfg = config.load(args.config)
        with progress_bar(aras.steps(args.networks, args.schedulers), "report") as step:
            rows = aras.rows(cfg, args.networks, args.schedulers, args.endurance,
                             args.seed, args.weights, None if args.no_plots else out,
                             args.endurance_real_time, step)
    except (network.NetworkError, config.ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(rows, indent=1) + "\n")
    if not args.no_plots:
        aras.paper_plots(out, rows)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(aras.table(rows))
    print("\n" + aras.paper_table(rows))
    print("\n" + aras.glue_table(rows))
    print("\n" + aras.tpu_table(cfg, rows))
    print(f"\nwrote {out / 'report.json'}" + ("" if args.no_plots else
                                               f", {out}/gantt-*.png, {out}/pulses.png, "
                                               f"{out}/speedup.png, {out}/energy.png, "
                                               f"{out}/tpu.png"))
    return 0


if __name__ == "__main__":
    cli.run_main(main)
