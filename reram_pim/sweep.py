"""``reram-pim sweep SPEC.toml``: a design-space sweep (:mod:`model.reports.sweep`), its
points run in parallel on local cores, or on a Dask cluster given its scheduler address.

Each finished point is saved at once (``<out>/points/<key>.json``); a rerun skips them,
so an interrupted or partly failed sweep resumes where it stopped. A failed point is
reported with its parameters and does not stop the others. At the end every finished
point goes into ``<out>/results.csv`` and the plots ``throughput.png`` (inf/s against
the first axis, a line per value of the second) and ``accuracy.png`` (the digits CNN's
accuracy against each analog parameter).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from firmware import cli, config
from model.reports import sweep
from reram_pim.progress import progress_bar


def run_points(spec: sweep.SweepSpec, todo: list[dict], workers: int,
               address: str | None) -> Iterator[tuple[dict, list[dict] | None, str | None]]:
    """``(point, rows, None)`` or ``(point, None, error)`` as each point finishes: on
    ``workers`` local processes, or on the Dask cluster at ``address``."""
    if address is not None:
        from distributed import Client, as_completed

        with Client(address) as client:
            futures = {client.submit(sweep.run_point, spec, p, pure=False): p for p in todo}
            try:
                for fut in as_completed(futures):
                    yield _outcome(futures[fut], fut)
            finally:
                client.cancel(list(futures))
        return
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers,
                                                  initializer=_leave_signals_to_the_parent)
    futures = {pool.submit(sweep.run_point, spec, p): p for p in todo}
    try:
        for fut in concurrent.futures.as_completed(futures):
            yield _outcome(futures[fut], fut)
    except BaseException:
        # Interrupted: the points still running are dropped, not waited for (SIGKILL:
        # the workers ignore the ending signals; Python 3.14 has kill_workers(), before
        # it the processes are the pool's own).
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _leave_signals_to_the_parent() -> None:
    """In a worker: Ctrl-C, SIGTERM and SIGHUP are the parent's to handle (it stops the
    workers), so no worker prints a traceback of its own."""
    for signum in (signal.SIGINT, *cli.ENDING_SIGNALS):
        signal.signal(signum, signal.SIG_IGN)


def _outcome(point: dict, fut) -> tuple[dict, list[dict] | None, str | None]:
    try:
        return point, fut.result(), None
    except Exception as exc:   # a failed point is reported, never the end of the sweep
        return point, None, f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(prog="reram-pim sweep", description=__doc__.splitlines()[0])
    ap.add_argument("spec", type=Path, help="sweep spec (TOML; see docs/cli.md#sweeps)")
    ap.add_argument("--out", type=Path, default=None,
                    help="results directory (default build/sweep/<spec name>)")
    ap.add_argument("--workers", type=cli.positive_int, default=os.cpu_count() or 1,
                    help="local worker processes (default: every core)")
    ap.add_argument("--scheduler", metavar="ADDRESS",
                    help="a Dask scheduler (tcp://host:port) to run the points on")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args(argv)
    try:
        spec = sweep.read_spec(args.spec)
    except (sweep.SweepError, config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.USAGE
    out = args.out or Path("build/sweep") / args.spec.stem
    done_dir = out / "points"
    done_dir.mkdir(parents=True, exist_ok=True)
    every = sweep.points(spec)
    todo = [p for p in every if not (done_dir / f"{sweep.point_key(spec, p)}.json").exists()]
    failed = []
    if todo:
        print(f"{len(todo)} of {len(every)} points to run ({len(every) - len(todo)} done "
              f"before) on " + (args.scheduler or f"{args.workers} local workers"),
              file=sys.stderr)
    with progress_bar(len(todo), "sweep") as step, contextlib.closing(
            run_points(spec, todo, args.workers, args.scheduler)) as finished:
        for point, rows, error in finished:
            if error is None:
                path = done_dir / f"{sweep.point_key(spec, point)}.json"
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"point": point, "rows": rows}) + "\n")
                tmp.replace(path)      # a point is done once its whole file is there
            else:
                failed.append((point, error))
            step(point_label(point))
    rows = [row for p in every if (done_dir / f"{sweep.point_key(spec, p)}.json").exists()
            for row in json.loads((done_dir / f"{sweep.point_key(spec, p)}.json").read_text())
            ["rows"]]
    write_table(out / "results.csv", rows)
    plots(out, spec, rows)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{len(every) - len(failed)} of {len(every)} points done; "
              f"wrote {out / 'results.csv'}")
    for point, error in failed:
        print(f"failed: {point_label(point)}: {error}", file=sys.stderr)
    return 1 if failed else 0


def point_label(point: dict) -> str:
    return f"{point['kind']} " + ", ".join(f"{k}={v}" for k, v in point["fields"].items())


def write_table(path: Path, rows: list[dict]) -> None:
    """Every row in one CSV (the union of the rows' columns)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)


def plots(out: Path, spec: sweep.SweepSpec, rows: list[dict]) -> None:
    """``throughput.png`` and ``accuracy.png`` from the finished rows."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chip = [r for r in rows if r["kind"] == "chip"]
    axes = list(spec.axes)
    if chip and axes:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        x, line = axes[0], axes[1] if len(axes) > 1 else None
        for key in sorted({(r["network"], r["scheduler"], r.get(line)) for r in chip},
                          key=str):
            pts = sorted((r[x], r["inferences_per_s"]) for r in chip
                         if (r["network"], r["scheduler"], r.get(line)) == key)
            label = f"{key[0]} {key[1]}" + (f", {line}={key[2]}" if line else "")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        ax.set_xlabel(x)
        ax.set_ylabel("inferences/s")
        ax.legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(out / "throughput.png", dpi=110)
        plt.close(fig)
    acc = [r for r in rows if r["kind"] == "accuracy"]
    params = [p for p in spec.analog if any(p in r for r in acc)]
    if params:
        fig, panels = plt.subplots(1, len(params), figsize=(3.2 * len(params), 3),
                                   squeeze=False)
        for ax, p in zip(panels[0], params, strict=True):
            pts = sorted((r[p], r["accuracy"]) for r in acc if p in r)
            ax.plot([q[0] for q in pts], [q[1] for q in pts], marker="o")
            ax.set_xlabel(p, fontsize=8)
            ax.set_ylim(0, 1.02)
        panels[0][0].set_ylabel("digits test accuracy")
        fig.tight_layout()
        fig.savefig(out / "accuracy.png", dpi=110)
        plt.close(fig)
