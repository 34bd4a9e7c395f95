"""ARAS report: every network under every scheduler on one chip config.

For each network and scheduler: inferences/s, the share of ARAS's upper bound (every
weight written once), write pulses, energy (write / static / compute, buffer traffic
with compute), the buffer static energy bank gating saved, and the lifespan of the most
rewritten crossbar; as JSON-ready rows, a table, a Gantt chart of writes against compute
per network and the energy breakdown.
"""

from __future__ import annotations

import time
from pathlib import Path

from firmware import config, network, schedulers
from model.inference import InferenceFigures, evaluate, upper_bound

#: Real-time rates of ARAS's lifespan table (inferences/s): 30 for CNNs, 100 for BERT.
REAL_TIME = {"cnn": 30.0, "bert": 100.0}

#: The paper's figures (ARAS, section VII), for the table's last column.
PAPER_INF_S = {"vgg16": 43, "resnet50": 132, "densenet161": 95, "bert_base": 130,
               "bert_large": 39}


def network_figures(cfg: config.Config, net: network.Network, qs: list, names: list[str]
                    ) -> tuple[dict[str, InferenceFigures], dict[str, float], int]:
    """Per scheduler: the figures and the wall time of scheduling and models; and the
    upper bound's cycles."""
    figures: dict[str, InferenceFigures] = {}
    walls: dict[str, float] = {}
    for sched in names:
        t0 = time.perf_counter()
        figures[sched] = evaluate(cfg, schedulers.schedule(cfg, net, qs, sched))
        walls[sched] = time.perf_counter() - t0
    return figures, walls, upper_bound(cfg, schedulers.write_bound(cfg, net, qs))


def rows(cfg: config.Config, networks: list[str], names: list[str], endurance: float,
         seed: int = 0, weights: str | None = None, plots: Path | None = None) -> list[dict]:
    """One row per network (built-in name or topology CSV) and scheduler of ``names``
    (``naive`` first: the speedups are against it); ``weights`` an .npz for a single network;
    ``plots`` a directory for the Gantt charts."""
    if "naive" not in names:
        names = ["naive", *names]
    out = []
    for name in networks:
        net = network.load(name)
        t0 = time.perf_counter()
        qs = [w.q for _, w in network.weights(net, seed, weights)]
        t_weights = time.perf_counter() - t0
        figures, walls, bound = network_figures(cfg, net, qs, names)
        for sched, f in figures.items():
            out.append(row(net.name, sched, f, bound, figures["naive"], endurance,
                           t_weights, walls[sched]))
        if plots is not None:
            gantt(plots, net.name, figures)
    return out


def row(net: str, sched: str, f: InferenceFigures, bound: int, naive: InferenceFigures,
        endurance: float, t_weights: float, wall: float) -> dict:
    """The report's row of ``net`` under ``sched`` (``naive``'s figures for the ratios)."""
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
    """The rows as an aligned text table."""
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


def gantt(out: Path, net: str, figures: dict[str, InferenceFigures]) -> None:
    """``gantt-<net>.png``: per scheduler, when each layer was written and computed."""
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


def energy_plot(out: Path, rows: list[dict]) -> None:
    """``energy.png``: each row's energy per inference by kind."""
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
