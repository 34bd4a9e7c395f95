"""The TPU-like baseline's compute cycles against ScaleSim 3.0.0's compute model, layer
by layer, for the built-in networks on the ``[tpu]`` array of a config (``aras``: 64 x 64).

Needs the ``scalesim`` extra. A layer is skipped when ScaleSim's operand matrices would
exceed ``--max-entries`` (they are dense index arrays, 8 bytes an entry) or when its
padded IFMAP does not fit whole strides: there ScaleSim counts one more output row or
column, ``ceil((ifmap - filter) / stride) + 1``, than the convolution computes.
Prints one row per network and dataflow: layers checked, skipped, largest difference.
"""

from __future__ import annotations

import time

from firmware import cli, config, network
from model import scalesim_ref, tpu


def main(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="aras")
    ap.add_argument("--networks", nargs="*", default=list(network.BUILTIN))
    ap.add_argument("--max-entries", type=int, default=4_000_000,
                    help="largest ScaleSim operand matrix (M x K entries) to build")
    args = ap.parse_args(argv)
    cfg = config.load(args.config)
    r, c = cfg.tpu.rows, cfg.tpu.cols
    print(f"{'network':12} {'dataflow':8} {'checked':>7} {'too large':>9} "
          f"{'edge windows':>12} {'max |diff|':>10} {'seconds':>7}")
    worst = 0
    for name in args.networks:
        net = network.load(name)
        for df in config.TPU_DATAFLOWS:
            t0 = time.perf_counter()
            checked = large = edge = diff = 0
            for layer in net.layers:
                m, k, n = tpu.gemm_shape(layer)
                if ((layer.ifmap_h - layer.filter_h) % layer.stride
                        or (layer.ifmap_w - layer.filter_w) % layer.stride):
                    edge += 1
                    continue
                if m * k > args.max_entries:
                    large += 1
                    continue
                ours = tpu.compute_cycles(r, c, df, m, k, n)
                diff = max(diff, abs(ours - scalesim_ref.compute_cycles(layer, r, c, df)))
                checked += 1
            worst = max(worst, diff)
            print(f"{name:12} {df:8} {checked:7} {large:9} {edge:12} {diff:10} "
                  f"{time.perf_counter() - t0:7.1f}", flush=True)
    return 0 if worst == 0 else 1


if __name__ == "__main__":
    cli.run_main(main)
