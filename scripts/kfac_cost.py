"""K-FAC factor solves per training step on the chip against a digital Cholesky baseline.

The chip's cost of one INV block (setup per refresh, one refined solve per right-hand
side) is measured by running the firmware of :mod:`firmware.programs.factor_solve` through
the golden, timing and energy models of the config (:func:`model.training.cost.measure`);
the networks' factor sizes come from the built-in topologies. Prints one row per
network and writes JSON.

    python scripts/kfac_cost.py [--config aras] [--iterations 6] [--refresh 10]
        [--arrays 1 96] [--flops 1e12] [--pj-per-flop 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from firmware import cli
from firmware.config import load
from firmware.network import BUILTIN, builtin
from model.training.cost import measure, network_cost


def parse() -> argparse.Namespace:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="aras")
    ap.add_argument("--iterations", type=cli.positive_int, default=6,
                    help="refinement steps per solve (6: >= 16 bits up to kappa ~ 100)")
    ap.add_argument("--refresh", type=cli.positive_int, default=10,
                    help="steps between factor refreshes")
    ap.add_argument("--arrays", type=cli.positive_int, nargs="+", default=None,
                    help="INV units working in parallel (default: the config's, and 96)")
    ap.add_argument("--flops", type=float, default=1e12,
                    help="digital baseline: sustained flop/s on small Cholesky and solves")
    ap.add_argument("--pj-per-flop", type=float, default=20.0,
                    help="digital baseline: energy per flop (pJ)")
    ap.add_argument("--out", type=Path, default=Path("build/kfac_cost"))
    args = ap.parse_args()
    if args.iterations < 0 or args.refresh < 1 or (args.arrays and min(args.arrays) < 1) \
            or args.flops <= 0 or args.pj_per_flop < 0:
        sys.exit("expected --iterations >= 0, --refresh >= 1, --arrays >= 1, --flops > 0 "
                 "and --pj-per-flop >= 0")
    if args.out.exists() and not args.out.is_dir():
        sys.exit(f"--out {args.out}: is a file, expected a directory")
    return args


def main() -> None:
    args = parse()
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = load(args.config)
    arrays = args.arrays or sorted({cfg.inv.count, 96})
    try:
        m = measure(cfg, args.iterations)
    except RuntimeError as exc:
        sys.exit(str(exc))
    n = cfg.inv.size
    print(f"config {cfg.chip.name}: {n}x{n} INV blocks, {args.iterations} refinement steps; "
          f"measured per block: setup {m.setup_cycles:,} cycles / {m.setup_pj / 1e3:,.1f} nJ, "
          f"per right-hand side {m.rhs_cycles:,} cycles / {m.rhs_pj / 1e3:,.2f} nJ "
          f"(+ static {cfg.energy.static_mw:g} mW)")
    print(f"digital: {args.flops:.3g} flop/s, {args.pj_per_flop:g} pJ/flop; factors refreshed "
          f"every {args.refresh} steps")
    head = f"{'network':13s} {'factor entries':>14s} {'digital ms':>10s} {'mJ':>8s}"
    for p in arrays:
        head += f" | {p:>3d} arrays: {'ms':>8s} {'mJ':>8s} {'speedup':>8s} {'energy':>7s}"
    head += f" | {'dig. block ms':>13s}"
    print(head)
    rows = {}
    for name in BUILTIN:
        net = builtin(name)
        r = rows[name] = network_cost(net, m, cfg, args.refresh, arrays, args.flops,
                                      args.pj_per_flop)
        line = (f"{net.name:13s} {r['factor_entries']:14,d} {r['digital_s'] * 1e3:10.2f} "
                f"{r['digital_j'] * 1e3:8.1f}")
        for c in r["chip"].values():
            line += (f" | {'':11s}{c['s'] * 1e3:8.2f} {c['j'] * 1e3:8.1f} "
                     f"{r['digital_s'] / c['s']:7.3g}x {r['digital_j'] / c['j']:6.3g}x")
        print(line + f" | {r['digital_block_s'] * 1e3:13.3f}")
    print("(speedup and energy: digital full-factor K-FAC over the chip's; the chip solves "
          "block-diagonal factors, 'dig. block' is the digital time for those)")
    (args.out / "kfac_cost.json").write_text(json.dumps({
        "config": cfg.chip.name, "measured": vars(m), "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "networks": rows}, indent=1))
    print(f"wrote {args.out / 'kfac_cost.json'}")


if __name__ == "__main__":
    cli.run_main(main)
