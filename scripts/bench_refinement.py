"""Benchmark: how many iterations high-precision analog inversion needs.

For random SPD matrices of sizes 16..128 and condition numbers 10..10^4 it runs, on the
``aras`` config's 8-bit INV array and 32-bit bit-sliced VMM:

- ``refine``: plain iterative refinement ``x += INV(b - A x)`` (RePAST / HP-INV);
- ``fcg``: flexible conjugate gradients with the analog INV as preconditioner, the INV
  holding ``A + mu I`` with the smallest ``mu`` that keeps its loop stable.

It prints the bits of accuracy (``-log2`` of the relative error against the float64
solution) after each iteration and the iterations to 2^-16 and 2^-24, and plots the
curves. Usage: ``python scripts/bench_refinement.py [--out build/bench] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from firmware import cli, config
from model.analog.inv_array import InvError
from model.analog.refinement import flexible_cg, program_stable, random_spd, refine

SIZES = (16, 32, 64, 128)
KAPPAS = (10, 100, 1000, 10000)
ITERATIONS = 30


def main() -> None:
    ap = cli.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("build/bench"))
    ap.add_argument("--seed", type=cli.non_negative_int, default=0)
    ap.add_argument("--config", default="aras")
    args = ap.parse_args()
    base = config.load(args.config)
    rng = np.random.default_rng(args.seed)
    rows, curves = [], {}
    start = time.perf_counter()
    print(f"INV: {base.inv.conductance_bits}-bit conductances, A0 = {base.inv.opamp_gain:g}, "
          f"DAC/ADC {base.inv.dac_bits}/{base.inv.adc_bits} bits; residual VMM "
          f"{base.refinement.vmm_weight_bits}-bit matrix, {base.refinement.vmm_input_bits}-bit "
          f"vector; {ITERATIONS} iterations; seed {args.seed}\n")
    print(f"{'n':>4} {'kappa':>6} {'method':>7} {'mu/step':>8} {'to 2^-16':>9} {'to 2^-24':>9}  "
          "bits after iterations 1, 2, 3, ...")
    for n in SIZES:
        cfg = dataclasses.replace(base, inv=dataclasses.replace(base.inv, size=n))
        for kappa in KAPPAS:
            a = random_spd(n, kappa, rng)
            b = rng.standard_normal(n)
            step = np.abs(a).max() / cfg.inv_level_max
            for method in ("refine", "fcg"):
                try:
                    if method == "refine":
                        conv, mu = refine(a, b, cfg, ITERATIONS), 0.0
                    else:
                        inv, mu = program_stable(a, cfg)
                        conv = flexible_cg(a, b, cfg, ITERATIONS, inv=inv)
                except InvError as exc:
                    print(f"{n:>4} {kappa:>6} {method:>7} {'-':>8} {'-':>9} {'-':>9}  "
                          f"INV cannot hold A: {str(exc).split(';')[0]}")
                    rows.append({"n": n, "kappa": kappa, "method": method, "error": str(exc)})
                    continue
                it16, it24 = conv.iterations_to(2**-16), conv.iterations_to(2**-24)
                bits = " ".join(f"{v:.1f}" for v in conv.bits[:16])
                print(f"{n:>4} {kappa:>6} {method:>7} {mu / step:>8.0f} {it16 or '-':>9} "
                      f"{it24 or '-':>9}  {bits}")
                rows.append({"n": n, "kappa": kappa, "method": method, "mu_levels": mu / step,
                             "iterations_to_2^-16": it16, "iterations_to_2^-24": it24,
                             "relative_errors": conv.errors})
                curves[(n, kappa, method)] = conv.errors
    print(f"\nwall time {time.perf_counter() - start:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "refinement.json").write_text(json.dumps(rows, indent=1) + "\n")
    _plot(curves, args.out / "refinement.png")
    print(f"wrote {args.out / 'refinement.json'} and {args.out / 'refinement.png'}")


def _plot(curves: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SIZES), figsize=(4 * len(SIZES), 3.6), sharey=True)
    colors = dict(zip(KAPPAS, ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=True))
    for ax, n in zip(axes, SIZES, strict=True):
        for (cn, kappa, method), errs in curves.items():
            if cn != n:
                continue
            ax.semilogy(range(1, len(errs) + 1), errs, color=colors[kappa],
                        linestyle="-" if method == "fcg" else "--",
                        label=f"{method}, kappa={kappa}")
        for tol, name in ((2**-16, "2^-16"), (2**-24, "2^-24")):
            ax.axhline(tol, color="grey", linewidth=0.6, linestyle=":")
            ax.text(ITERATIONS, tol, name, fontsize=7, va="bottom", ha="right")
        ax.set_title(f"n = {n}")
        ax.set_xlabel("iteration")
        ax.set_ylim(1e-10, 10)
    axes[0].set_ylabel("relative error vs float64")
    axes[-1].legend(fontsize=6, loc="lower left")
    fig.suptitle("8-bit analog INV + 32-bit bit-sliced VMM: refinement (dashed) and "
                 "INV-preconditioned flexible CG (solid)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    cli.run_main(main)
