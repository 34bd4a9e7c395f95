"""ARAS report: every network under every scheduler on one chip config, beside the paper.

For each network and scheduler: inferences/s, the share of ARAS's upper bound (every
weight written once, all crossbars writing in parallel) and the compute floor beside it
(every window at crossbar compute time), speedup, write pulses, weights written, energy
(write / static / compute, buffer traffic with compute) normalized to the baseline, the
buffer static energy bank gating saved, and the lifespan of the most rewritten crossbar;
as JSON-ready rows, a table, the paper's figures beside ours (:func:`paper_table`), a Gantt
chart of writes against compute per network, and bar charts drawn as the paper's Fig. 13,
14 and 15 are (normalized to the baseline, one bar per optimization and network).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

from firmware import architectures, config, network, schedulers
from firmware.onnx_import import load_int8
from model import tpu
from model.inference import InferenceFigures, evaluate, upper_bound

#: Real-time rates of ARAS's lifespan table (inferences/s): 30 for CNNs, 100 for BERT.
REAL_TIME = {"cnn": 30.0, "bert": 100.0}

#: The scheduler the paper normalizes to ("a baseline without any optimization": writes
#: overlapped with compute, homogeneous banks) and its optimizations in the order they
#: are added (ARAS section VI).
BASELINE = "baseline"
OPTIMIZATIONS = ("+banks", "+replication", "+reuse")

#: The paper's figures (ARAS, sections VII-A to VII-D and the abstract).
PAPER_INF_S = {"vgg16": 43, "resnet50": 132, "densenet161": 95, "bert_base": 130,
               "bert_large": 39}
PAPER = {
    "of_bound_baseline": 0.66, "of_bound_aras": 0.88,    # mean share of the upper bound
    "speedup_max": 2.2,                                  # abstract: up to 2.2x
    "energy_all": -0.28, "energy_banks": -0.03,          # mean change of total energy
    "energy_replication": -0.14, "energy_reuse": -0.11,
    "pulses_reuse": -0.17,                               # write pulses, vs the baseline
    "weights_replication": 0.064,                        # weights written, +replication
    # Against the TPU-like accelerator (abstract, VII-E): up to 1.5x faster, 33% less
    # energy on average and up to 61% less.
    "tpu_speedup_max": 1.5, "tpu_energy_mean": -0.33, "tpu_energy_max": -0.61,
}
#: Table IV: lifespan (years) at real-time rates and at maximum throughput.
PAPER_LIFESPAN = {"vgg16": (7, 50), "resnet50": (26, 27), "densenet161": (17, 56),
                  "bert_base": (4, 28), "bert_large": (3, 27)}
#: The endurance (write cycles per cell) of each Table IV column as we assume it. Our copy
#: of the paper lost the exponents; the ratio of its two columns, over the ratio of the
#: rates, is close to 1/10 for VGG-16, DenseNet-161 and BERT-Base: one decade apart.
ENDURANCE_REAL_TIME = 1e11
ENDURANCE_MAX = 1e12


def network_figures(cfg: config.Config, net: network.Network, qs: list, names: list[str],
                    progress: Callable[[str], None] | None = None
                    ) -> tuple[dict[str, InferenceFigures], dict[str, float], int]:
    """Per scheduler: the figures and the wall time of scheduling and models; and the
    upper bound's cycles. ``progress`` is told each step done (for a progress bar)."""
    figures: dict[str, InferenceFigures] = {}
    walls: dict[str, float] = {}
    for sched in names:
        t0 = time.perf_counter()
        figures[sched] = evaluate(cfg, schedulers.schedule(cfg, net, qs, sched))
        walls[sched] = time.perf_counter() - t0
        if progress is not None:
            progress(f"{net.name} {sched}")
    bound = upper_bound(cfg, schedulers.write_bound(cfg, net, qs))
    if progress is not None:
        progress(f"{net.name} upper bound")
    return figures, walls, bound


def steps(networks: list[str], names: list[str]) -> int:
    """How many ``progress`` calls :func:`rows` makes."""
    return len(networks) * (len(set(["naive", BASELINE, *names])) + 1)


def rows(cfg: config.Config, networks: list[str], names: list[str],
         endurance: float = ENDURANCE_MAX, seed: int = 0, weights: str | None = None,
         plots: Path | None = None, endurance_real_time: float = ENDURANCE_REAL_TIME,
         progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row per network (built-in name, topology CSV or ONNX model, whose own weights
    are used) and scheduler of ``names``
    (``naive`` and ``baseline`` added: the ratios are against the baseline); ``weights``
    an .npz for a single network; ``plots`` a directory for the Gantt charts;
    ``progress`` is told each of the :func:`steps` done."""
    names = list(dict.fromkeys(["naive", BASELINE, *names]))
    out = []
    for name in networks:
        t0 = time.perf_counter()
        net, qs = load_int8(name, seed, weights)
        t_weights = time.perf_counter() - t0
        figures, walls, bound = network_figures(cfg, net, qs, names, progress)
        floor = schedulers.compute_floor(cfg, net)
        glue = glue_work(cfg, net)
        tpus = tpu_figures(cfg, net)
        for sched, f in figures.items():
            r = row(cfg, net.name, sched, f, bound, floor, figures, endurance,
                    endurance_real_time, t_weights, walls[sched])
            out.append(r | {"glue": glue} | against_tpu(cfg, r, tpus))
        if plots is not None:
            gantt(plots, net.name, figures)
    return out


def row(cfg: config.Config, net: str, sched: str, f: InferenceFigures, bound: int,
        floor: int, figures: dict[str, InferenceFigures], endurance: float,
        endurance_real_time: float, t_weights: float, wall: float) -> dict:
    """The report's row of ``net`` under ``sched`` (``figures``: every scheduler's, for
    the ratios against the baseline and the step each optimization adds)."""
    e, base = f.energy, figures[BASELINE]
    # The configuration this one adds an optimization to (itself for naive and baseline).
    chain = (BASELINE, *OPTIMIZATIONS)
    before = figures.get(chain[chain.index(sched) - 1], f) if sched in OPTIMIZATIONS else f
    rate = REAL_TIME["bert" if net.startswith("bert") else "cnn"]
    return {
        "network": net, "scheduler": sched, "config": f.config,
        "instructions": f.instructions, "cycles": f.cycles,
        "inferences_per_s": f.inferences_per_s,
        "upper_bound_cycles": bound, "of_upper_bound": bound / f.cycles,
        "compute_floor_cycles": floor,
        "speedup_vs_baseline": base.cycles / f.cycles,
        "speedup_vs_naive": figures["naive"].cycles / f.cycles,
        "write_pulses": f.pulses, "pulses_vs_baseline": f.pulses / max(1, base.pulses),
        "pulses_vs_previous": f.pulses / max(1, before.pulses),
        "weights_written": f.rows_written * cfg.weights_per_row,
        "weights_vs_baseline": f.rows_written / max(1, base.rows_written),
        "write_stream_bytes": f.rows_written * cfg.delta_row_words
        * cfg.main_memory.word_bytes,
        "main_memory_bytes": (f.dma_words + f.rows_written * cfg.delta_row_words)
        * cfg.main_memory.word_bytes,
        "energy_uj": {"write": e.write_pj / 1e6, "static": e.static_pj / 1e6,
                      "compute": (e.compute_pj + e.buffer_pj) / 1e6,
                      "total": e.total_pj / 1e6},
        "energy_vs_baseline": e.total_pj / base.energy.total_pj,
        "energy_vs_previous": e.total_pj / before.energy.total_pj,
        "bank_saving": f.bank_saving,
        "gb_static_uj": f.gb_static_pj / 1e6,
        "stall_cycles": f.stall_cycles, "overlap_cycles": f.overlap_cycles,
        "max_writes_per_crossbar": f.max_writes_per_crossbar,
        "lifespan_years": f.lifespan_years(endurance), "endurance": endurance,
        "lifespan_real_time_years": f.lifespan_years(endurance_real_time, rate),
        "endurance_real_time": endurance_real_time, "real_time_inf_s": rate,
        "paper_inferences_per_s": PAPER_INF_S.get(net),
        "wall_s": {"weights": t_weights, "schedule_and_models": wall},
        "cycles_by_opcode": f.cycles_by_opcode,
        "layers": [vars(s) for s in f.layers],
    }


def tpu_figures(cfg: config.Config, net: network.Network) -> dict[str, dict]:
    """``net`` on the TPU-like accelerator of ``cfg.tpu``, in each dataflow."""
    out = {}
    for df in config.TPU_DATAFLOWS:
        res = tpu.simulate(dataclasses.replace(cfg, tpu=dataclasses.replace(
            cfg.tpu, dataflow=df)), net)
        out[df] = {"cycles": res.cycles, "inferences_per_s": res.inferences_per_s,
                   "compute_cycles": sum(layer.compute_cycles for layer in res.layers),
                   "main_memory_bytes": res.memory_bytes,
                   "energy_uj": {"compute": res.compute_pj / 1e6,
                                 "buffer": res.buffer_pj / 1e6,
                                 "main_memory": res.memory_pj / 1e6,
                                 "static": res.static_pj / 1e6,
                                 "on_chip": res.on_chip_pj / 1e6,
                                 "total": res.total_pj / 1e6}}
    return out


def against_tpu(cfg: config.Config, r: dict, tpus: dict[str, dict]) -> dict:
    """A row's comparison with the TPU-like accelerator in the config's dataflow: its
    main-memory traffic (DMA and weight streams) priced as the TPU's is, so the two
    energies compare with main memory and without it (as :mod:`model.energy` counts)."""
    t = tpus[cfg.tpu.dataflow]
    memory_uj = cfg.tpu.main_memory_byte_pj * r["main_memory_bytes"] / 1e6
    with_memory = r["energy_uj"]["total"] + memory_uj
    return {"tpu": tpus, "main_memory_uj": memory_uj,
            "speedup_vs_tpu": r["inferences_per_s"] / t["inferences_per_s"],
            "energy_vs_tpu": r["energy_uj"]["total"] / t["energy_uj"]["on_chip"],
            "energy_with_memory_vs_tpu": with_memory / t["energy_uj"]["total"]}


def tpu_table(cfg: config.Config, rows: list[dict]) -> str:
    """ARAS (``+reuse``) beside the TPU-like accelerator per network, then the paper's
    figures (abstract and VII-E) beside ours."""
    aras = OPTIMIZATIONS[-1]
    df = cfg.tpu.dataflow
    head = ("network", "TPU inf/s ws / os", "TPU stalled", f"{aras} inf/s",
            "speedup vs TPU", "TPU mJ on-chip / +memory", f"{aras} mJ on-chip / +memory",
            "energy vs TPU on-chip / +memory")
    lines = [head]
    mine = [r for r in rows if r["scheduler"] == aras]
    for r in mine:
        t = r["tpu"]
        e = t[df]["energy_uj"]
        ours = r["energy_uj"]["total"]
        lines.append((
            r["network"], " / ".join(f"{t[d]['inferences_per_s']:.1f}"
                                     for d in config.TPU_DATAFLOWS),
            f"{1 - t[df]['compute_cycles'] / t[df]['cycles']:.0%}",
            f"{r['inferences_per_s']:.1f}", f"{r['speedup_vs_tpu']:.2f}x",
            f"{e['on_chip'] / 1e3:.1f} / {e['total'] / 1e3:.1f}",
            f"{ours / 1e3:.1f} / {(ours + r['main_memory_uj']) / 1e3:.1f}",
            f"{r['energy_vs_tpu']:.2f} / {r['energy_with_memory_vs_tpu']:.2f}"))
    speed = [r["speedup_vs_tpu"] for r in mine]
    saved = [r["energy_with_memory_vs_tpu"] - 1 for r in mine]
    figures = [
        (f"speedup of {aras} over the TPU ({df}), best / mean",
         f"{max(speed, default=math.nan):.2f}x / {_mean(speed):.2f}x",
         f"up to {PAPER['tpu_speedup_max']}x"),
        (f"energy of {aras} vs the TPU, with main memory, mean / best",
         f"{_pct(_mean(saved))} / {_pct(min(saved, default=math.nan))}",
         f"{_pct(PAPER['tpu_energy_mean'])} / {_pct(PAPER['tpu_energy_max'])}"),
    ]
    return _aligned(lines) + "\n\n" + _aligned([("figure", "ours", "paper"), *figures])


def glue_work(cfg: config.Config, net: network.Network) -> dict:
    """The glue around ``net``'s layers: on the chip (pools, residual adds, concatenations,
    the maps read later than by the next layer, kept in the buffer where they fit: VECs
    in the program, their cycles in ``cycles_by_opcode``) and off it (what makes a layer's input
    through main memory), with the multiply-accumulates of attention (scores and
    context, ``2 T^2 H`` for T tokens of H features) and the cycles they would take on
    the COMBINE unit's ``word_bits / 8`` lanes, the chip's only digital MAC array."""
    L = len(net.layers)
    offchip: dict[str, int] = {}
    macs = 0
    for i in range(L):
        if (what := net.offchip(i)) is not None:
            offchip[what] = offchip.get(what, 0) + 1
            if what == architectures.ATTENTION:
                layer = net.layers[i]
                macs += 2 * layer.windows ** 2 * layer.channels
    lanes = cfg.gb_bits // 8
    return {"pools": sum(net.pool(i) is not None for i in range(L)),
            "adds": sum(net.add(i) is not None for i in range(L)),
            "kept_maps": len(schedulers.aras.geometry(cfg, net, False).kept()),
            "concats": sum(net.concat(i) is not None for i in range(L)), "offchip": offchip,
            "attention_macs": macs, "combine_lanes": lanes,
            "attention_lane_cycles": -(-macs // lanes)}


def glue_table(rows: list[dict]) -> str:
    """Per network, the glue the chip computes and its VEC cycles under ARAS, and the
    glue left off the chip: attention's MACs, the time they would take on the COMBINE
    lanes, and ARAS's inf/s with them, between all of it hidden in the run's write
    stalls and none of it (``attention_inf_s``)."""
    aras = OPTIMIZATIONS[-1]
    lines = [("network", "pools", "adds", "concats", "maps read later", f"VEC cycles ({aras})",
              "off the chip", "attention MACs", "on COMBINE lanes", "write stalls",
              "inf/s with attention")]
    for r in rows:
        if r["scheduler"] != aras or "glue" not in r:
            continue
        g = r["glue"]
        off = ", ".join(f"{n} x {what}" for what, n in g["offchip"].items()) or "-"
        lines.append((r["network"], str(g["pools"]), str(g["adds"]), str(g["concats"]),
                      str(g["kept_maps"]),
                      str(r["cycles_by_opcode"].get("VEC", 0)), off,
                      f"{g['attention_macs'] / 1e6:.0f}M" if g["attention_macs"] else "-",
                      f"{g['attention_lane_cycles'] / 1e6:.1f}M cycles"
                      if g["attention_macs"] else "-",
                      f"{r['stall_cycles'] / 1e6:.1f}M cycles",
                      "{:.1f} - {:.1f}".format(*attention_inf_s(r))
                      if g["attention_macs"] else "-"))
    return _aligned(lines)


def attention_inf_s(r: dict) -> tuple[float, float]:
    """A row's inf/s with its attention on the COMBINE lanes: in series with the run,
    and with as much of it as fits hidden in the run's write stalls."""
    clock_hz = r["inferences_per_s"] * r["cycles"]
    extra = r["glue"]["attention_lane_cycles"]
    return (clock_hz / (r["cycles"] + extra),
            clock_hz / (r["cycles"] + max(0, extra - r["stall_cycles"])))


def _aligned(lines: list[tuple[str, ...]]) -> str:
    widths = [max(len(x[i]) for x in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def table(rows: list[dict]) -> str:
    """The rows as an aligned text table."""
    head = ("network", "scheduler", "inf/s", "of bound", "vs baseline", "pulses (M)",
            "write/static/compute uJ", "total uJ", "vs baseline", "bank saving",
            "life (y) real-time/max", "paper inf/s")
    lines = [head]
    for r in rows:
        e = r["energy_uj"]
        lines.append((r["network"], r["scheduler"], f"{r['inferences_per_s']:.2f}",
                      f"{100 * r['of_upper_bound']:.0f}%",
                      f"{r['speedup_vs_baseline']:.2f}x",
                      f"{r['write_pulses'] / 1e6:.1f}",
                      f"{e['write']:.0f} / {e['static']:.0f} / {e['compute']:.0f}",
                      f"{e['total']:.0f}", f"{r['energy_vs_baseline']:.2f}",
                      f"{100 * r['bank_saving']:.0f}%",
                      f"{r['lifespan_real_time_years']:.1f} / {r['lifespan_years']:.1f}",
                      str(r["paper_inferences_per_s"] or "-")))
    return _aligned(lines)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:+.1f}%"


def paper_table(rows: list[dict]) -> str:
    """Our figures beside the paper's, figure by figure: per network the limits and the
    ARAS throughput; then the means the paper states (Fig. 13-15, Table IV)."""
    by = {(r["network"], r["scheduler"]): r for r in rows}
    nets = list(dict.fromkeys(r["network"] for r in rows))
    aras = OPTIMIZATIONS[-1]
    head = ("network", "write bound inf/s", "compute floor inf/s", "limit",
            f"{aras} inf/s", "paper", "ours/paper", "speedup", "life real-time (paper)",
            "life max (paper)")
    lines = [head]
    for n in nets:
        r = by.get((n, aras))
        if r is None:
            continue
        clock_hz = r["inferences_per_s"] * r["cycles"]
        bound, floor = r["upper_bound_cycles"], r["compute_floor_cycles"]
        paper = r["paper_inferences_per_s"]
        life = PAPER_LIFESPAN.get(n, ("-", "-"))
        lines.append((n, f"{clock_hz / bound:.1f}", f"{clock_hz / floor:.1f}",
                      "writes" if bound >= floor else "compute",
                      f"{r['inferences_per_s']:.1f}", str(paper or "-"),
                      f"{r['inferences_per_s'] / paper:.2f}" if paper else "-",
                      f"{r['speedup_vs_baseline']:.2f}x",
                      f"{r['lifespan_real_time_years']:.1f} ({life[0]})",
                      f"{r['lifespan_years']:.1f} ({life[1]})"))

    def step(sched: str, key: str) -> float:
        return _mean([by[(n, sched)][key] - 1 for n in nets if (n, sched) in by])

    def of_bound(sched: str) -> float:
        return _mean([by[(n, sched)]["of_upper_bound"] for n in nets if (n, sched) in by])

    def of_limit(sched: str) -> float:
        """Mean share of the tighter limit: the write bound or the compute floor."""
        return _mean([max(r["upper_bound_cycles"], r["compute_floor_cycles"]) / r["cycles"]
                      for r in (by.get((n, sched)) for n in nets) if r is not None])

    speedups = [by[(n, aras)]["speedup_vs_baseline"] for n in nets if (n, aras) in by]
    figures = [
        ("mean share of the bound, baseline (VII-B)", f"{100 * of_bound(BASELINE):.0f}%",
         f"{100 * PAPER['of_bound_baseline']:.0f}%"),
        (f"mean share of the bound, {aras} (VII-B)", f"{100 * of_bound(aras):.0f}%",
         f"{100 * PAPER['of_bound_aras']:.0f}%"),
        ("mean share of max(bound, compute floor), baseline",
         f"{100 * of_limit(BASELINE):.0f}%", "-"),
        (f"mean share of max(bound, compute floor), {aras}", f"{100 * of_limit(aras):.0f}%",
         "-"),
        (f"best speedup of {aras} over the baseline (abstract)",
         f"{max(speedups, default=math.nan):.2f}x", f"{PAPER['speedup_max']}x"),
        ("energy, all optimizations vs baseline (VII-C)",
         _pct(step(aras, "energy_vs_baseline")), _pct(PAPER["energy_all"])),
        ("energy, +banks vs baseline", _pct(step("+banks", "energy_vs_previous")),
         _pct(PAPER["energy_banks"])),
        ("energy, +replication vs +banks", _pct(step("+replication", "energy_vs_previous")),
         _pct(PAPER["energy_replication"])),
        ("energy, +reuse vs +replication", _pct(step("+reuse", "energy_vs_previous")),
         _pct(PAPER["energy_reuse"])),
        (f"write pulses, {aras} vs baseline (VII-A)", _pct(step(aras, "pulses_vs_baseline")),
         _pct(PAPER["pulses_reuse"])),
        ("write pulses, +reuse vs +replication (reuse alone)",
         _pct(step("+reuse", "pulses_vs_previous")), _pct(PAPER["pulses_reuse"])),
        ("weights written, +replication vs baseline (VII-F)",
         _pct(step("+replication", "weights_vs_baseline")),
         _pct(PAPER["weights_replication"])),
    ]
    endurances = next(((r["endurance_real_time"], r["endurance"]) for r in rows), None)
    note = ("" if endurances is None else
            f"\nlifespans: real-time column at {endurances[0]:.0e} write cycles per cell, "
            f"max-throughput column at {endurances[1]:.0e} (Table IV's exponents are "
            "lost in our copy; the ratio of its columns puts them a decade apart)")
    return (_aligned(lines) + "\n\n" + _aligned([("figure", "ours", "paper"), *figures])
            + note)


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


def _grouped_bars(ax, nets: list[str], series: dict[str, list[float]]) -> None:
    """One group of bars per network, one bar (and legend entry) per series."""
    width = 0.8 / max(1, len(series))
    for k, (label, vals) in enumerate(series.items()):
        ax.bar([i + (k - (len(series) - 1) / 2) * width for i in range(len(nets))], vals,
               width, label=label)
    ax.set_xticks(range(len(nets)), nets, fontsize=8)
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.legend(fontsize=7)


def paper_plots(out: Path, rows: list[dict]) -> None:
    """The paper's figures from our rows, normalized to the baseline as it draws them:
    ``pulses.png`` (Fig. 13, write pulses), ``speedup.png`` (Fig. 14) and ``energy.png``
    (Fig. 15, energy by kind, one stacked bar per configuration and network); and
    normalized to the TPU-like accelerator, ``tpu.png`` (Fig. 16 and 17)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    by = {(r["network"], r["scheduler"]): r for r in rows}
    nets = [n for n in dict.fromkeys(r["network"] for r in rows) if (n, BASELINE) in by]
    configs = [c for c in (BASELINE, *OPTIMIZATIONS) if all((n, c) in by for n in nets)]
    for name, key, ylabel in (("pulses", "pulses_vs_baseline", "write pulses"),
                              ("speedup", "speedup_vs_baseline", "speedup")):
        fig, ax = plt.subplots(figsize=(7, 3.2))
        _grouped_bars(ax, nets, {c: [by[(n, c)][key] for n in nets] for c in configs})
        ax.set_ylabel(f"{ylabel}, normalized to the baseline", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=110)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(nets) * len(configs) / 2), 3.6))
    width = 0.8 / max(1, len(configs))
    for k, c in enumerate(configs):
        xs = [i + (k - (len(configs) - 1) / 2) * width for i in range(len(nets))]
        bottom = [0.0] * len(nets)
        for kind, color in (("write", "tab:orange"), ("static", "tab:gray"),
                            ("compute", "tab:blue")):
            vals = [by[(n, c)]["energy_uj"][kind] / by[(n, BASELINE)]["energy_uj"]["total"]
                    for n in nets]
            ax.bar(xs, vals, width * 0.95, bottom=bottom, color=color,
                   label=kind if k == 0 else None, edgecolor="white", linewidth=0.3)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        for x, b in zip(xs, bottom, strict=True):
            short = "base" if c == BASELINE else c.lstrip("+")[:5]
            ax.text(x, b + 0.01, short, ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(range(len(nets)), nets, fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("energy, normalized to the baseline", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(out / "energy.png", dpi=110)
    plt.close(fig)

    # Fig. 16 and 17: speedup and energy (with main memory) against the TPU-like chip.
    if all("speedup_vs_tpu" in by[(n, c)] for n in nets for c in configs):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.2))
        _grouped_bars(left, nets, {c: [by[(n, c)]["speedup_vs_tpu"] for n in nets]
                                   for c in configs})
        left.set_ylabel("speedup, normalized to the TPU", fontsize=8)
        _grouped_bars(right, nets, {c: [by[(n, c)]["energy_with_memory_vs_tpu"]
                                        for n in nets] for c in configs})
        right.set_ylabel("energy with main memory,\nnormalized to the TPU", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "tpu.png", dpi=110)
        plt.close(fig)
