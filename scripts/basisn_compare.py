"""BasisN against reprogramming on the full `aras` chip: cycles, energy and energy-delay
product per inference of the built-in networks.

BasisN runs in the steady state (the basis already in the crossbars: every inference
after the first; the one-time basis write is reported apart), against ARAS's `naive`
(write every layer, then compute it: plain reprogramming) and `+reuse` (all of ARAS's
optimizations) on the same seeded synthetic weights (:mod:`model.reports.basisn`). Cycles
and energy of BasisN do not depend on the basis or coefficient values (only on K, the
segments and the filters), so the fit is structural: a seeded INT8 basis and zero
coefficients; what the approximation costs in accuracy is measured on the digits CNN
(`tests/firmware/schedulers/test_basisn_chip.py`, docs/results/basisn.md).

Also printed, and labelled as such: a projection of BasisN's cycles if the combination
work were spread over one COMBINE unit per PE instead of the chip's single unit (not
RTL-backed: the RTL has one unit).

Usage: ``python scripts/basisn_compare.py [--networks ...] [--k 64] [--coef-bits 4]
[--out build/basisn]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from firmware import cli, config, network
from model.reports import basisn


def main(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", nargs="+", default=list(network.BUILTIN),
                    help="built-in names or topology CSV paths")
    ap.add_argument("--k", type=cli.positive_int, default=64, help="basis vectors (<= apu_cols x "
                    "weight columns of a crossbar)")
    ap.add_argument("--coef-bits", type=cli.positive_int, default=4)
    ap.add_argument("--config", default="aras")
    ap.add_argument("--out", default="build/basisn")
    args = ap.parse_args(argv)
    cfg = config.load(args.config)
    try:
        rows = [basisn.compare(cfg, name, args.k, args.coef_bits) for name in args.networks]
    except (ValueError, network.NetworkError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(basisn.table(rows))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "basisn_compare.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"\nwrote {out_dir / 'basisn_compare.json'}")
    return 0


if __name__ == "__main__":
    cli.run_main(main)
