"""BasisN against reprogramming on the full `aras` chip: cycles, energy and energy-delay
product per inference of the built-in networks.

BasisN runs in the steady state (the basis already in the crossbars: every inference
after the first; the one-time basis write is reported apart), against ARAS's `naive`
(write every layer, then compute it: plain reprogramming) and `+reuse` (all of ARAS's
optimizations) on the same seeded synthetic weights. Cycles and energy of BasisN do not
depend on the basis or coefficient values (only on K, the segments and the filters), so
the fit is structural: a seeded INT8 basis and zero coefficients; what the approximation
costs in accuracy is measured on the digits CNN
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware import (  # noqa: E402
    basisn,
    cli,  # noqa: E402
    config,
    network,
)
from firmware import schedulers as scheduler  # noqa: E402
from model.inference import InferenceFigures, evaluate  # noqa: E402


def structural_fit(cfg: config.Config, net: network.Network, k: int, coef_bits: int,
                   seed: int = 0) -> basisn.BasisFit:
    """A fit with the right shapes for ``net`` on ``cfg``'s row blocks: seeded INT8
    basis, zero coefficients (timing and energy do not depend on the values)."""
    rng = np.random.default_rng(seed)
    blocks = scheduler.basisn_blocks(cfg, net)
    basis = rng.integers(-127, 128, (cfg.crossbar.rows, k)).astype(np.int32)
    coefs = [np.zeros((len(b), k, layer.filters), dtype=np.int8)
             for b, layer in zip(blocks, net.layers, strict=True)]
    return basisn.BasisFit(cfg.crossbar.rows, basis, 1.0, coefs, [1.0] * len(coefs),
                           [(layer.kernel_rows, layer.filters) for layer in net.layers],
                           coef_bits, blocks)


def _figures(f: InferenceFigures) -> dict:
    mj, ms = f.energy.total_pj / 1e9, 1e3 / f.inferences_per_s
    return {"cycles": f.cycles, "delay_ms": ms, "energy_mj": mj, "edp_mj_ms": mj * ms,
            "pulses": f.pulses, "cycles_by_opcode": f.cycles_by_opcode}


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
    rows = []
    head = ("network", "scheduler", "cycles", "energy mJ", "EDP mJ*ms", "vs naive: cycles",
            "energy", "EDP")
    table = [head]
    try:
        for name in args.networks:
            net = network.load(name)
            qs = [w.q for _, w in network.weights(net)]
            runs = {s: evaluate(cfg, scheduler.schedule(cfg, net, qs, s))
                    for s in ("naive", "+reuse")}
            del qs
            fit = structural_fit(cfg, net, args.k, args.coef_bits)
            runs["basisn"] = evaluate(cfg, scheduler.basisn(cfg, net, fit, write_basis=False))
            once = evaluate(cfg, scheduler.basisn(cfg, net, fit))
            out = {s: _figures(f) for s, f in runs.items()}
            ref = out["naive"]
            combine = runs["basisn"].cycles_by_opcode.get("COMBINE", 0)
            projected = runs["basisn"].cycles - combine + combine / cfg.pe.count
            name = net.name
            rows.append({"network": name, "k": args.k, "coef_bits": args.coef_bits, **out,
                         "basis_write_cycles": once.cycles - runs["basisn"].cycles,
                         "basisn_projected_cycles_unit_per_pe": projected})
            for s, fig in out.items():
                table.append((name, s, f"{fig['cycles']:,}", f"{fig['energy_mj']:.1f}",
                              f"{fig['edp_mj_ms']:.4g}",
                              f"{fig['cycles'] / ref['cycles']:.3f}",
                              f"{fig['energy_mj'] / ref['energy_mj']:.3f}",
                              f"{fig['edp_mj_ms'] / ref['edp_mj_ms']:.3f}"))
            table.append((name, "basisn, 1 COMBINE per PE (projection)", f"{projected:,.0f}",
                          "", "", f"{projected / ref['cycles']:.3f}", "", ""))
    except (ValueError, network.NetworkError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "basisn_compare.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"\nwrote {out_dir / 'basisn_compare.json'}")
    return 0


if __name__ == "__main__":
    cli.run_main(main)
