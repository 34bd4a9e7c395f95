"""K-FAC factor solves per training step on the chip against a digital Cholesky baseline.

The chip's cost of one INV block (setup per refresh, one refined solve per right-hand
side) is measured by running the firmware of :mod:`firmware.factor_solve` through the
golden, timing and energy models of the config; the networks' factor sizes come from
the built-in topologies. Prints one row per network and writes JSON.

    python scripts/kfac_cost.py [--config aras] [--iterations 6] [--refresh 10]
        [--arrays 1 96] [--flops 1e12] [--pj-per-flop 20] [--out DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware import cli  # noqa: E402
from firmware.config import load  # noqa: E402
from firmware.factor_solve import factor_solve  # noqa: E402
from firmware.network import BUILTIN, builtin  # noqa: E402
from model import golden, timing  # noqa: E402
from model.analog.refinement import random_spd  # noqa: E402
from model.energy import energy  # noqa: E402
from model.training.cost import Measured, chip_step, digital_step  # noqa: E402

KAPPA = 20  # a damped factor block (the digits experiment's damping gives kappa ~ 10-100)


def measure(cfg, iterations: int) -> Measured:
    """Setup and per-right-hand-side cost from the firmware of one and two columns."""
    rng = np.random.default_rng(0)
    f = random_spd(cfg.inv.size, KAPPA, rng)
    runs = []
    for m in (1, 2):
        b = rng.integers(-1000, 1000, size=(cfg.inv.size, m))
        fs = factor_solve(cfg, f, b, iterations=iterations)
        g = golden.run(fs.image)
        if g.fault.name != "NONE":
            sys.exit(f"the factor solve faulted {g.fault.name} on config {cfg.chip.name}")
        t = timing.simulate(cfg, g)
        e = energy(cfg, g, t.cycles)
        runs.append((t.cycles, e.total_pj - e.static_pj))
    rhs_cycles, rhs_pj = runs[1][0] - runs[0][0], runs[1][1] - runs[0][1]
    return Measured(runs[0][0] - rhs_cycles, runs[0][1] - rhs_pj, rhs_cycles, rhs_pj)


def main() -> None:
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
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = load(args.config)
    arrays = args.arrays or sorted({cfg.inv.count, 96})
    m = measure(cfg, args.iterations)
    n, clk = cfg.inv.size, cfg.chip.clock_mhz
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
        layers = [(layer.kernel_rows + 1, layer.filters) for layer in net.layers]
        entries = sum(a * a + g * g for a, g in layers)
        dig = digital_step(layers, args.refresh, args.flops, args.pj_per_flop)
        dig_block = digital_step(layers, args.refresh, args.flops, args.pj_per_flop, block=n)
        line = f"{net.name:13s} {entries:14,d} {dig.seconds * 1e3:10.2f} {dig.joules * 1e3:8.1f}"
        rows[name] = {"factor_entries": entries, "digital_s": dig.seconds,
                      "digital_j": dig.joules, "digital_block_s": dig_block.seconds, "chip": {}}
        for p in arrays:
            c = chip_step(layers, m, n, args.refresh, p, clk, cfg.energy.static_mw)
            rows[name]["chip"][p] = {"s": c.seconds, "j": c.joules}
            line += (f" | {'':11s}{c.seconds * 1e3:8.2f} {c.joules * 1e3:8.1f} "
                     f"{dig.seconds / c.seconds:7.3g}x {dig.joules / c.joules:6.3g}x")
        line += f" | {dig_block.seconds * 1e3:13.3f}"
        print(line)
    print("(speedup and energy: digital full-factor K-FAC over the chip's; the chip solves "
          "block-diagonal factors, 'dig. block' is the digital time for those)")
    (args.out / "kfac_cost.json").write_text(json.dumps({
        "config": cfg.chip.name, "measured": vars(m), "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "networks": rows}, indent=1))
    print(f"wrote {args.out / 'kfac_cost.json'}")


if __name__ == "__main__":
    cli.run_main(main)
