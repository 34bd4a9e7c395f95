"""Benchmark: wall time of the full-scale timing and energy model on the `aras` chip.

For each network (default VGG-16, ResNet-50, BERT-Large) and scheduler, prints the wall
time of the seeded synthetic weights, of scheduling (the program and every write's row
costs) and of the timing and energy models, on one core, with the simulated cycles.
Usage: ``python scripts/bench_fullscale.py [--networks ...] [--schedulers ...]``.
"""

from __future__ import annotations

import time

from firmware import cli, config, network, schedulers
from model.inference import evaluate


def main(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", nargs="+", default=["vgg16", "resnet50", "bert_large"],
                    choices=list(network.BUILTIN))
    ap.add_argument("--schedulers", nargs="+", default=["naive", "+banks", "+reuse"],
                    choices=list(schedulers.SCHEDULERS))
    args = ap.parse_args(argv)
    cfg = config.load("aras")
    print(f"{'network':12} {'scheduler':10} {'weights s':>9} {'schedule s':>10} "
          f"{'models s':>8} {'total s':>8} {'cycles':>12} {'instructions':>12}")
    for name in args.networks:
        net = network.builtin(name)
        for sched in args.schedulers:
            t0 = time.perf_counter()
            qs = [w.q for _, w in network.weights(net)]
            t1 = time.perf_counter()
            plan = schedulers.schedule(cfg, net, qs, sched)
            t2 = time.perf_counter()
            fig = evaluate(cfg, plan)
            t3 = time.perf_counter()
            print(f"{name:12} {sched:10} {t1 - t0:9.2f} {t2 - t1:10.2f} {t3 - t2:8.2f} "
                  f"{t3 - t0:8.2f} {fig.cycles:12,} {fig.instructions:12,}")
            del qs, plan
    return 0


if __name__ == "__main__":
    cli.run_main(main)
