"""The TPU-like baseline ARAS compares with: a systolic array of INT8 MACs, in closed form.

Every layer is a GEMM of ``M`` windows (output positions), ``K``-long unrolled kernels
and ``N`` filters on an ``R x C`` array (``[tpu]`` of the config). Per layer:

- **compute cycles**, ScaleSim 3.0's compute model (its demand matrices' length, checked
  layer by layer in ``tests/model/test_tpu.py`` when ``scalesim`` is installed): the
  operands fold onto the array, and every fold fills the array, streams and drains.
  Weight-stationary: ``ceil(K/R) * ceil(N/C)`` folds of ``2R + C + M - 2`` cycles;
  output-stationary: ``ceil(M/R) * ceil(N/C)`` folds of ``K + R + C - 2``.
- **main-memory traffic** (stated assumptions; ScaleSim's per-cycle memory model is too
  slow for whole networks): weights are read once, or once per row fold in ``os`` when
  they do not fit the weight buffer; a layer's output map stays in the activation
  buffer as the next layer's input when both layers' input and output maps fit it
  (layers taken as a chain), otherwise it is written and read back; a layer whose maps
  do not fit reads its input once per column fold. Partial sums accumulate on chip, in
  accumulators apart from the 4.5 MB (as the TPU's are).
- **stalls**: transfers are double-buffered against compute, so a layer takes the longer
  of its compute and its traffic at ``bandwidth_gbps``.
- **energy**: MACs, on-chip buffer bytes (each fold's operand reads and output writes),
  main-memory bytes and static power over the run, at the ``[tpu]`` prices.

Glue (pooling, residual adds, attention products) is not counted: the TPU runs only the
weight layers here, which favours it where our chip counts its glue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from firmware.config import Config
from firmware.network import Layer, Network


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def gemm_shape(layer: Layer) -> tuple[int, int, int]:
    """``(M, K, N)`` of a layer: windows, unrolled kernel length, filters."""
    return layer.windows, layer.kernel_rows, layer.filters


def compute_cycles(rows: int, cols: int, dataflow: str, m: int, k: int, n: int) -> int:
    """Cycles of an ``M x K`` by ``K x N`` GEMM on a ``rows x cols`` systolic array, as
    ScaleSim 3.0's compute model counts them (fill, stream and drain of every fold)."""
    if dataflow == "ws":
        return _ceil(k, rows) * _ceil(n, cols) * (2 * rows + cols + m - 2)
    if dataflow == "os":
        return _ceil(m, rows) * _ceil(n, cols) * (k + rows + cols - 2)
    raise ValueError(f"dataflow {dataflow!r}: expected ws or os")


@dataclass(frozen=True)
class TpuLayer:
    """One layer on the TPU-like array: cycles, traffic (bytes) and MACs."""

    name: str
    compute_cycles: int
    memory_bytes: int
    buffer_bytes: int
    macs: int
    cycles: int

    @property
    def stall_cycles(self) -> int:
        """Cycles the array waits for main memory."""
        return self.cycles - self.compute_cycles


@dataclass(frozen=True)
class TpuResult:
    """A whole inference on the TPU-like array, energy in picojoules by kind."""

    layers: tuple[TpuLayer, ...]
    cycles: int
    inferences_per_s: float
    compute_pj: float
    buffer_pj: float
    memory_pj: float
    static_pj: float

    @property
    def total_pj(self) -> float:
        return self.compute_pj + self.buffer_pj + self.memory_pj + self.static_pj

    @property
    def on_chip_pj(self) -> float:
        """Energy without main memory (as :mod:`model.energy` counts ours)."""
        return self.total_pj - self.memory_pj

    @property
    def memory_bytes(self) -> int:
        return sum(layer.memory_bytes for layer in self.layers)


def _fits(cfg: Config, layer: Layer) -> bool:
    """Whether a layer's input and output maps fit the activation buffer together."""
    return layer.ifmap_bytes + layer.ofmap_bytes <= cfg.tpu.activation_kb * 1024


def _layer(cfg: Config, layer: Layer, kept_in: bool, kept_out: bool) -> TpuLayer:
    tpu = cfg.tpu
    r, c, df = tpu.rows, tpu.cols, tpu.dataflow
    m, k, n = gemm_shape(layer)
    row_folds = _ceil(k if df == "ws" else m, r)
    col_folds = _ceil(n, c)
    weights = layer.weights
    if df == "os" and weights > tpu.weight_kb * 1024:
        weights *= row_folds
    reads = 1 if _fits(cfg, layer) else col_folds
    memory = (weights + (0 if kept_in else layer.ifmap_bytes * reads)
              + (0 if kept_out else layer.ofmap_bytes))
    # On-chip buffer traffic: every fold reads its unrolled inputs and weights once and
    # writes its outputs.
    if df == "ws":
        buffer = m * k * col_folds + k * n + m * n
    else:
        buffer = m * k * col_folds + k * n * row_folds + m * n
    compute = compute_cycles(r, c, df, m, k, n)
    rate = Fraction(str(tpu.bandwidth_gbps)) * 1000 / tpu.clock_mhz   # bytes per cycle
    return TpuLayer(layer.name, compute, memory, buffer, layer.macs,
                    max(compute, math.ceil(memory / rate)))


def simulate(cfg: Config, net: Network) -> TpuResult:
    """One inference of ``net`` on the TPU-like array of ``cfg.tpu``."""
    tpu = cfg.tpu
    fits = [_fits(cfg, layer) for layer in net.layers]
    # A map stays on chip between two layers that both fit the activation buffer.
    kept = [a and b for a, b in zip(fits, fits[1:], strict=False)]
    layers = tuple(_layer(cfg, layer, i > 0 and kept[i - 1], i < len(kept) and kept[i])
                   for i, layer in enumerate(net.layers))
    cycles = sum(layer.cycles for layer in layers)
    seconds = cycles / (tpu.clock_mhz * 1e6)
    return TpuResult(
        layers, cycles, 1 / seconds,
        compute_pj=tpu.mac_pj * sum(layer.macs for layer in layers),
        buffer_pj=tpu.buffer_byte_pj * sum(layer.buffer_bytes for layer in layers),
        memory_pj=tpu.main_memory_byte_pj * sum(layer.memory_bytes for layer in layers),
        static_pj=tpu.static_mw * 1e9 * seconds)
