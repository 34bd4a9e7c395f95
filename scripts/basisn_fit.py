"""BasisN fitting: reconstruction error per layer, and the digits CNN's accuracy.

Part 1, the digits CNN (`model/training/cnn.py`, trained in float with Adam): for each K
and coefficient width, the per-layer reconstruction error and the test accuracy with the
BasisN weights, before and after fine-tuning the coefficients on the training split.
Part 2, the built-in networks (seeded synthetic weights, or ``--weights``-free names
only): mean and worst per-layer error for each K at the config's segment rows
(:mod:`model.reports.basisn_fit`). Writes everything as JSON.

    python scripts/basisn_fit.py [--config small] [--full-config aras]
        [--networks resnet50 vgg16] [--ks 32 64 128] [--out DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from firmware import cli
from firmware.config import load
from firmware.network import BUILTIN
from model.reports import basisn_fit


def main() -> None:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="small", help="config for the digits CNN")
    ap.add_argument("--full-config", default="aras", help="config for the built-in networks")
    ap.add_argument("--networks", nargs="*", default=["resnet50"], choices=list(BUILTIN))
    ap.add_argument("--ks", type=cli.positive_int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--bits", type=cli.positive_int, default=4, help="coefficient bits (networks)")
    ap.add_argument("--steps", type=cli.positive_int, default=300,
                    help="fine-tuning steps (digits)")
    ap.add_argument("--out", type=Path, default=Path("build/basisn"))
    args = ap.parse_args()
    if args.out.exists() and not args.out.is_dir():
        sys.exit(f"--out {args.out}: is a file, expected a directory")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.steps < 0:
        sys.exit("expected --steps >= 0")
    try:
        res = {"digits": basisn_fit.digits(load(args.config), args.steps),
               "networks": basisn_fit.networks(load(args.full_config), args.networks,
                                               args.ks, args.bits)}
    except ValueError as exc:   # bad K or coefficient bits: the fit says which
        sys.exit(f"basisn_fit: {exc}")
    (args.out / "basisn_fit.json").write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out / 'basisn_fit.json'}")


if __name__ == "__main__":
    cli.run_main(main)
