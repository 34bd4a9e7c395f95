"""ARAS report: every built-in network under every scheduler on the full `aras` chip.

For each network and scheduler: inferences/s, the share of ARAS's upper bound (every
weight written once), write pulses, energy (write / static / compute, buffer traffic
with compute), the buffer static energy bank gating saved, and the lifespan of the most
rewritten crossbar. Writes ``report.json``, a Gantt chart of writes against compute per
network (``gantt-<network>.png``) and the energy breakdown (``energy.png``).

Usage: ``python scripts/aras_report.py [--networks vgg16 ...] [--schedulers naive ...]
[--config aras] [--endurance 1e12] [--seed 0] [--weights file.npz] [--out build/report]``
(``make report``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware import cli, config, network  # noqa: E402
from firmware import schedulers as scheduler  # noqa: E402
from model.inference import InferenceFigures, evaluate, upper_bound  # noqa: E402

#: Real-time rates of ARAS's lifespan table (inferences/s): 30 for CNNs, 100 for BERT.
REAL_TIME = {"cnn": 30.0, "bert": 100.0}

#: The paper's figures (ARAS, section VII), for the table's last column.
PAPER_INF_S = {"vgg16": 43, "resnet50": 132, "densenet161": 95, "bert_base": 130,
               "bert_large": 39}


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", nargs="+", default=list(network.BUILTIN),
                    help="built-in names or topology CSV paths")
    ap.add_argument("--schedulers", nargs="+", default=list(scheduler.SCHEDULERS),
                    choices=list(scheduler.SCHEDULERS))
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
    if "naive" not in args.schedulers:
        args.schedulers = ["naive", *args.schedulers]   # the speedups are against it
    return args


def run(args: argparse.Namespace) -> list[dict]:
    cfg = config.load(args.config)
    rows = []
    for name in args.networks:
        net = network.load(name)
        t0 = time.perf_counter()
        qs = [w.q for _, w in network.weights(net, args.seed, args.weights)]
        t_weights = time.perf_counter() - t0
        figures: dict[str, InferenceFigures] = {}
        walls: dict[str, float] = {}
        for sched in args.schedulers:
            t0 = time.perf_counter()
            figures[sched] = evaluate(cfg, scheduler.schedule(cfg, net, qs, sched))
            walls[sched] = time.perf_counter() - t0
        bound = upper_bound(cfg, scheduler.write_bound(cfg, net, qs))
        for sched, f in figures.items():
            rows.append(_row(net.name, sched, f, bound, figures["naive"], args.endurance,
                             t_weights, walls[sched]))
        if not args.no_plots:
            _gantt(Path(args.out), net.name, figures)
    return rows


def _row(net: str, sched: str, f: InferenceFigures, bound: int, naive: InferenceFigures,
         endurance: float, t_weights: float, wall: float) -> dict:
    e = f.energy
    return {
        "network": net, "scheduler": sched, "config": f.config,
        "instructions": f.instructions, "cycles": f.cycles,
        "inferences_per_s": f.inferences_per_s,
        "upper_bound_cycles": bound, "of_upper_bound": bound / f.cycles,
        "speedup_vs_naive": naive.cycles / f.cycles,
        "write_pulses": f.pulses, "pulses_vs_naive": f.pulses / max(1, naive.pulses),
        "energy_uj": {"write": e.write_pj / 1e6, "static": e.static_pj / 1e6,
                      "compute": (e.compute_pj + e.buffer_pj) / 1e6,
                      "total": e.total_pj / 1e6},
        "energy_vs_naive": e.total_pj / naive.energy.total_pj,
        "bank_saving": f.bank_saving,
        "gb_static_uj": f.gb_static_pj / 1e6,
        "stall_cycles": f.stall_cycles, "overlap_cycles": f.overlap_cycles,
        "max_writes_per_crossbar": f.max_writes_per_crossbar,
        "lifespan_years": f.lifespan_years(endurance), "endurance": endurance,
        "lifespan_real_time_years": f.lifespan_years(
            endurance, REAL_TIME["bert" if net.startswith("bert") else "cnn"]),
        "paper_inferences_per_s": PAPER_INF_S.get(net),
        "wall_s": {"weights": t_weights, "schedule_and_models": wall},
        "cycles_by_opcode": f.cycles_by_opcode,
        "layers": [vars(s) for s in f.layers],
    }


def table(rows: list[dict]) -> str:
    head = ("network", "scheduler", "inf/s", "of bound", "vs naive", "pulses (M)",
            "write/static/compute uJ", "total uJ", "bank saving", "life (y) max/real-time",
            "paper inf/s")
    lines = [head]
    for r in rows:
        e = r["energy_uj"]
        lines.append((r["network"], r["scheduler"], f"{r['inferences_per_s']:.2f}",
                      f"{100 * r['of_upper_bound']:.0f}%", f"{r['speedup_vs_naive']:.2f}x",
                      f"{r['write_pulses'] / 1e6:.1f}",
                      f"{e['write']:.0f} / {e['static']:.0f} / {e['compute']:.0f}",
                      f"{e['total']:.0f}", f"{100 * r['bank_saving']:.0f}%",
                      f"{r['lifespan_years']:.1f} / {r['lifespan_real_time_years']:.1f}",
                      str(r["paper_inferences_per_s"] or "-")))
    widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                     for line in lines)


def _gantt(out: Path, net: str, figures: dict[str, InferenceFigures]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(figures), 1, figsize=(10, 2 + 1.8 * len(figures)),
                             sharex=True, squeeze=False)
    for ax, (sched, f) in zip(axes[:, 0], figures.items(), strict=True):
        ms = 1e-6
        for i, s in enumerate(f.layers):
            if s.write[0] >= 0:
                ax.barh(i, (s.write[1] - s.write[0]) * ms, left=s.write[0] * ms,
                        color="tab:orange", alpha=0.6, height=0.8)
            if s.compute[0] >= 0:
                ax.barh(i, (s.compute[1] - s.compute[0]) * ms, left=s.compute[0] * ms,
                        color="tab:blue", height=0.5)
        ax.set_ylabel("layer")
        ax.invert_yaxis()
        ax.set_title(f"{net}, {sched}: {f.cycles * ms:.1f} ms per inference "
                     "(orange: weights written, blue: computing)", fontsize=9)
    axes[-1, 0].set_xlabel("time (ms at 1 cycle = 1 ns)")
    fig.tight_layout()
    fig.savefig(out / f"gantt-{net}.png", dpi=110)
    plt.close(fig)


def _energy_plot(out: Path, rows: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    labels = [f"{r['network']}\n{r['scheduler']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(rows)), 4))
    bottom = [0.0] * len(rows)
    for kind, color in (("write", "tab:orange"), ("static", "tab:gray"),
                        ("compute", "tab:blue")):
        vals = [r["energy_uj"][kind] / 1000 for r in rows]
        ax.bar(range(len(rows)), vals, bottom=bottom, label=kind, color=color)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(rows)), labels, fontsize=6, rotation=90)
    ax.set_ylabel("energy per inference (mJ)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "energy.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        rows = run(args)
    except (network.NetworkError, config.ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(rows, indent=1) + "\n")
    if not args.no_plots:
        _energy_plot(out, rows)
    print(table(rows))
    print(f"\nwrote {out / 'report.json'}" + ("" if args.no_plots else
                                               f", {out}/gantt-*.png, {out}/energy.png"))
    return 0


if __name__ == "__main__":
    cli.run_main(main)
