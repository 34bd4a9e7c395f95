"""Epochs to a target accuracy for the two-layer digits CNN under six optimizers.

SGD with momentum, Adam, float K-FAC (full factors), float K-FAC on the INV arrays'
diagonal blocks, analog one-step K-FAC and analog refined K-FAC (factor solves through
the INV array model of the config; :mod:`model.training.kfac_experiment`). Each
optimizer's learning rate is tuned on the validation split for the first target; the
reported seeds then train for a fixed number of epochs and the script prints, per
optimizer and target, the epochs to reach the target test accuracy (mean, standard
deviation, runs that never reached it), writes the learning curves as a plot and
everything as JSON.

    python scripts/train_kfac.py [--config aras] [--targets 0.95 0.97] [--seeds 5] [--out DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from firmware import cli
from firmware.config import load
from model.training import kfac_experiment
from model.training.cnn import digits_split


def main() -> None:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="aras", help="chip config whose INV arrays solve")
    ap.add_argument("--targets", type=float, nargs="+", default=[0.95, 0.97],
                    help="test accuracies to reach (the first one tunes the learning rates)")
    ap.add_argument("--seeds", type=cli.positive_int, default=5)
    ap.add_argument("--epochs", type=cli.positive_int, default=60)
    ap.add_argument("--out", type=Path, default=Path("build/train_kfac"))
    args = ap.parse_args()
    if args.seeds < 1 or args.epochs < 1 or not all(0 < t <= 1 for t in args.targets):
        sys.exit("expected --seeds >= 1, --epochs >= 1 and --targets between 0 and 1")
    if args.out.exists() and not args.out.is_dir():
        sys.exit(f"--out {args.out}: is a file, expected a directory")
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = load(args.config)
    split = digits_split()
    print(f"digits: {len(split.x_train)} train / {len(split.x_val)} validation / "
          f"{len(split.x_test)} test; INV arrays {cfg.inv.size}x{cfg.inv.size} "
          f"({cfg.inv.conductance_bits}-bit) from config {cfg.chip.name}")
    results = {}
    for name in kfac_experiment.GRIDS:
        results[name] = kfac_experiment.run_optimizer(name, cfg, split, args.targets[0],
                                                      args.seeds, args.epochs)
        print(f"  tuned {name}: lr {results[name]['lr']}")
    for target in args.targets:
        kfac_experiment.summarize(results, target)
        print(kfac_experiment.table(results, target, args.seeds, args.epochs))
    (args.out / "train_kfac.json").write_text(json.dumps(
        {"config": cfg.chip.name, "targets": args.targets, "results": results}, indent=1))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib missing (pip install -e .): no plot written")
        return
    kfac_experiment.plot(results, args.targets, args.seeds, args.out / "learning_curves.png")
    print(f"wrote {args.out / 'train_kfac.json'} and {args.out / 'learning_curves.png'}")


if __name__ == "__main__":
    cli.run_main(main)
