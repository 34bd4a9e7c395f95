"""``reram-pim topology``: a network's layers (as the reader understood the file), their
weights and MACs, and the APU rows and crossbars each needs on a chip config."""

from __future__ import annotations

import json
import sys

from firmware import cli, config, network
from firmware.mapper import map_layer
from firmware.onnx_import import load_network


def rows(cfg: config.Config, net: network.Network) -> list[dict]:
    """One dict per layer: shape, work and the crossbars it maps onto."""
    out = []
    for i, layer in enumerate(net.layers):
        try:     # as the schedulers map it: the first layer's input unrolled by the host
            lm = map_layer(layer, cfg, im2col=(i == 0))
        except ValueError as exc:
            lm = None
            why = str(exc)
        out.append({
            "name": layer.name,
            "ifmap": [layer.ifmap_h, layer.ifmap_w, layer.channels],
            "filter": [layer.filter_h, layer.filter_w], "filters": layer.filters,
            "stride": layer.stride, "ofmap": [layer.ofmap_h, layer.ofmap_w],
            "windows": layer.windows, "weights": layer.weights, "macs": layer.macs,
            "sparsity": "{}:{}".format(*layer.sparsity),
            "apu_rows": lm and lm.apu_rows, "crossbars": lm and lm.crossbars,
            "mapping": lm.mode if lm else f"not mappable: {why}",
        })
    return out


def main(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(prog="reram-pim topology", description=__doc__.splitlines()[0])
    ap.add_argument("network", help="built-in name, topology CSV or ONNX path")
    ap.add_argument("--config", default="aras", help="chip config (default aras)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    args = ap.parse_args(argv)
    try:
        cfg = config.load(args.config)
        net = load_network(args.network)
        layers = rows(cfg, net)
    except (network.NetworkError, config.ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.USAGE
    total = {"layers": len(layers), "weights": net.weights, "macs": net.macs,
             "crossbars": sum(r["crossbars"] or 0 for r in layers),
             "chip_crossbars": cfg.n_crossbars}
    if args.json:
        print(json.dumps({"network": net.name, "config": cfg.chip.name, "layers": layers,
                          "total": total}, indent=1))
        return 0
    head = ("layer", "ifmap HxWxC", "filter", "filters", "stride", "ofmap", "windows",
            "weights", "MACs", "N:M", "APU rows", "crossbars")
    lines = [head] + [(
        r["name"], "x".join(map(str, r["ifmap"])), "x".join(map(str, r["filter"])),
        str(r["filters"]), str(r["stride"]), "x".join(map(str, r["ofmap"])),
        str(r["windows"]), str(r["weights"]), str(r["macs"]), r["sparsity"],
        str(r["apu_rows"] or "-"), str(r["crossbars"] or "-")) for r in layers]
    widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(c.rjust(w) if k else c.ljust(w)
                        for k, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip())
    for r in layers:
        if r["crossbars"] is None:
            print(f"{r['name']}: {r['mapping']}")
    share = total["crossbars"] / total["chip_crossbars"]
    print(f"\n{net.name}: {total['layers']} layers, {total['weights']:,} weights, "
          f"{total['macs']:,} MACs; {total['crossbars']:,} crossbars of "
          f"{cfg.crossbar.rows}x{cfg.crossbar.cols} ({share:.2f}x the "
          f"{total['chip_crossbars']:,} of {cfg.chip.name})")
    return 0
