"""BasisN against reprogramming: cycles, energy and energy-delay product per inference.

BasisN runs in the steady state (the basis already in the crossbars: every inference
after the first; the one-time basis write is reported apart), against ARAS's `naive`
(write every layer, then compute it: plain reprogramming) and `+reuse` (all of ARAS's
optimizations) on the same seeded synthetic weights. Cycles and energy of BasisN do not
depend on the basis or coefficient values (only on K, the segments and the filters), so
the fit is :func:`structural_fit`. Also given, and labelled as such: a projection of
BasisN's cycles if the combination work were spread over one COMBINE unit per PE
instead of the chip's single unit (not RTL-backed: the RTL has one unit).
"""

from __future__ import annotations

import numpy as np

from firmware import basisn, config, network, schedulers
from model.inference import InferenceFigures, evaluate

#: The table's columns.
HEAD = ("network", "scheduler", "cycles", "energy mJ", "EDP mJ*ms", "vs naive: cycles",
        "energy", "EDP")


def structural_fit(cfg: config.Config, net: network.Network, k: int, coef_bits: int,
                   seed: int = 0) -> basisn.BasisFit:
    """A fit with the right shapes for ``net`` on ``cfg``'s row blocks: seeded INT8
    basis, zero coefficients (timing and energy do not depend on the values)."""
    rng = np.random.default_rng(seed)
    blocks = schedulers.basisn_blocks(cfg, net)
    basis = rng.integers(-127, 128, (cfg.crossbar.rows, k)).astype(np.int32)
    coefs = [np.zeros((len(b), k, layer.filters), dtype=np.int8)
             for b, layer in zip(blocks, net.layers, strict=True)]
    return basisn.BasisFit(cfg.crossbar.rows, basis, 1.0, coefs, [1.0] * len(coefs),
                           [(layer.kernel_rows, layer.filters) for layer in net.layers],
                           coef_bits, blocks)


def figures(f: InferenceFigures) -> dict:
    """Cycles, delay, energy, EDP and pulses of one run, per inference."""
    mj, ms = f.energy.total_pj / 1e9, 1e3 / f.inferences_per_s
    return {"cycles": f.cycles, "delay_ms": ms, "energy_mj": mj, "edp_mj_ms": mj * ms,
            "pulses": f.pulses, "cycles_by_opcode": f.cycles_by_opcode}


def compare(cfg: config.Config, name: str, k: int, coef_bits: int) -> dict:
    """The row of network ``name`` (built-in or topology CSV): ``naive``, ``+reuse`` and
    steady-state ``basisn`` figures, the basis write's cycles, and the projection."""
    net = network.load(name)
    qs = [w.q for _, w in network.weights(net)]
    runs = {s: evaluate(cfg, schedulers.schedule(cfg, net, qs, s)) for s in ("naive", "+reuse")}
    del qs
    fit = structural_fit(cfg, net, k, coef_bits)
    runs["basisn"] = evaluate(cfg, schedulers.basisn(cfg, net, fit, write_basis=False))
    once = evaluate(cfg, schedulers.basisn(cfg, net, fit))
    combine = runs["basisn"].cycles_by_opcode.get("COMBINE", 0)
    return {"network": net.name, "k": k, "coef_bits": coef_bits,
            **{s: figures(f) for s, f in runs.items()},
            "basis_write_cycles": once.cycles - runs["basisn"].cycles,
            "basisn_projected_cycles_unit_per_pe":
                runs["basisn"].cycles - combine + combine / cfg.pe.count}


def table_rows(row: dict) -> list[tuple[str, ...]]:
    """A :func:`compare` row as table lines (columns :data:`HEAD`), relative to naive."""
    ref = row["naive"]
    lines = []
    for s in ("naive", "+reuse", "basisn"):
        fig = row[s]
        lines.append((row["network"], s, f"{fig['cycles']:,}", f"{fig['energy_mj']:.1f}",
                      f"{fig['edp_mj_ms']:.4g}", f"{fig['cycles'] / ref['cycles']:.3f}",
                      f"{fig['energy_mj'] / ref['energy_mj']:.3f}",
                      f"{fig['edp_mj_ms'] / ref['edp_mj_ms']:.3f}"))
    projected = row["basisn_projected_cycles_unit_per_pe"]
    lines.append((row["network"], "basisn, 1 COMBINE per PE (projection)", f"{projected:,.0f}",
                  "", "", f"{projected / ref['cycles']:.3f}", "", ""))
    return lines


def table(rows: list[dict]) -> str:
    """The rows as an aligned text table."""
    lines = [HEAD] + [line for r in rows for line in table_rows(r)]
    widths = [max(len(r[i]) for r in lines) for i in range(len(HEAD))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
                     for r in lines)
