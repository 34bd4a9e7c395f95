"""BasisN: every kernel built from K global basis vectors written into crossbars once.

Each layer's unrolled kernels (``kernel_rows x filters``, one column per filter) are cut
into segments of ``R`` rows (``R`` = crossbar rows; the last segment zero-padded). All
segments of all layers share one basis ``B`` (``R x K``): a segment is approximated as
``B c`` with ``K`` integer coefficients of ``coef_bits`` and one scale per layer. The
crossbars hold ``B`` (INT8, one weight column per basis vector) for the whole run; a layer
then needs one analog read per input segment (``x_s^T B``) and a digital combination
``y_n = scale * sum_s sum_j c[s, j, n] p[s, j]`` after the ADCs.

Fitting: the basis starts as the top-K principal directions of all segments (each layer
normalized to unit energy, so large layers do not decide alone), then alternates a few
times between quantizing the coefficients and refitting the basis by least squares to
the quantized coefficients. Fine-tuning adjusts the coefficients on a task by gradient
descent through the quantizer (straight-through estimator).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BASIS_BITS = 8  # the basis is stored as INT8 crossbar weights


def _consecutive(k: int, rows: int) -> list[range]:
    """``k`` rows cut into consecutive segments of ``rows`` (the last may be shorter)."""
    return [range(r, min(r + rows, k)) for r in range(0, k, rows)]


def segments(w: np.ndarray, rows: int, blocks: list[range] | None = None) -> np.ndarray:
    """``w`` (``k x n``) as segments of ``rows`` rows, ``(s, rows, n)``: ``ceil(k/rows)``
    consecutive ones, or the row ranges ``blocks`` (each zero-padded), as the mapper cuts
    a layer into row blocks (:meth:`firmware.mapper.LayerMap.block_rows`)."""
    w = np.asarray(w, dtype=np.float32)
    k, n = w.shape
    blocks = blocks if blocks is not None else _consecutive(k, rows)
    out = np.zeros((len(blocks), rows, n), dtype=np.float32)
    for i, b in enumerate(blocks):
        if len(b) > rows:
            raise ValueError(f"block {i} has {len(b)} rows; segments have {rows}")
        out[i, :len(b)] = w[b.start:b.stop]
    return out


def unsegment(segs: np.ndarray, k: int, blocks: list[range] | None = None) -> np.ndarray:
    """The ``k x n`` matrix whose :func:`segments` are ``segs`` (padding dropped)."""
    rows, n = segs.shape[1], segs.shape[2]
    blocks = blocks if blocks is not None else _consecutive(k, rows)
    out = np.zeros((k, n), dtype=segs.dtype)
    for i, b in enumerate(blocks):
        out[b.start:b.stop] = segs[i, :len(b)]
    return out


def quantize_symmetric(v: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Integer codes in ``+-(2^(bits-1)-1)`` and the scale with ``v ~ codes * scale``."""
    top = (1 << (bits - 1)) - 1
    vmax = float(np.abs(v).max())
    scale = vmax / top if vmax else 1.0
    return np.clip(np.rint(v / scale), -top, top).astype(np.int32), scale


@dataclass
class BasisFit:
    """The fitted basis (INT8 codes and scale) and, per layer, coefficient codes
    (``segments x K x filters``), their scale and the layer's original shape."""

    rows: int
    basis_q: np.ndarray
    basis_scale: float
    coef_q: list[np.ndarray]
    coef_scale: list[float]
    shapes: list[tuple[int, int]]
    coef_bits: int
    #: Each layer's segments as row ranges (None: consecutive ``rows``-row chunks).
    blocks: list[list[range] | None] | None = None

    def layer_blocks(self, layer: int) -> list[range] | None:
        return self.blocks[layer] if self.blocks else None

    @property
    def k(self) -> int:
        return self.basis_q.shape[1]

    @property
    def basis(self) -> np.ndarray:
        return self.basis_q.astype(np.float32) * self.basis_scale

    def reconstruct(self, layer: int) -> np.ndarray:
        """The layer's approximated weights (``kernel_rows x filters``)."""
        k, _ = self.shapes[layer]
        seg = np.einsum("rj,sjn->srn", self.basis, self.coef_q[layer].astype(np.float32))
        return (unsegment(seg, k, self.layer_blocks(layer))
                * self.coef_scale[layer]).astype(np.float64)

    def chip_weights(self, layer: int) -> np.ndarray:
        """The integer weights the chip computes with (``kernel_rows x filters``): basis
        codes times coefficient codes, segment by segment; the float layer is this times
        ``basis_scale * coef_scale[layer]``."""
        k, _ = self.shapes[layer]
        seg = np.einsum("rj,sjn->srn", self.basis_q.astype(np.int64),
                        self.coef_q[layer].astype(np.int64))
        return unsegment(seg, k, self.layer_blocks(layer))

    def errors(self, weights: list[np.ndarray]) -> list[float]:
        """Relative Frobenius error of each layer's reconstruction."""
        out = []
        for i, w in enumerate(weights):
            w = np.asarray(w, dtype=np.float64)
            norm = np.linalg.norm(w)
            out.append(float(np.linalg.norm(self.reconstruct(i) - w) / norm) if norm else 0.0)
        return out


def _coefficients(basis: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of every segment (``s x K x n``)."""
    pinv = np.linalg.pinv(basis.astype(np.float64)).astype(np.float32)
    return np.einsum("jr,srn->sjn", pinv, segs)


def fit(weights: list[np.ndarray], rows: int, k: int, coef_bits: int = 4,
        refinements: int = 3, blocks: list[list[range] | None] | None = None) -> BasisFit:
    """Fit ``k`` basis vectors of length ``rows`` shared by every layer of ``weights``;
    ``blocks`` gives each layer's segments as row ranges (default: consecutive)."""
    if not 1 <= k <= rows:
        raise ValueError(f"K = {k} basis vectors must be between 1 and the {rows} segment rows")
    if coef_bits < 2:
        raise ValueError(f"coef_bits = {coef_bits}: need at least 2 (a sign and a magnitude)")
    segs, norms = [], []
    gram = np.zeros((rows, rows), dtype=np.float64)
    for i, w in enumerate(weights):
        s = segments(w, rows, blocks[i] if blocks else None)
        energy = float(np.sum(s.astype(np.float64) ** 2)) or 1.0
        flat = s.transpose(1, 0, 2).reshape(rows, -1)
        gram += (flat @ flat.T).astype(np.float64) / energy
        segs.append(s)
        norms.append(energy)
    _, vecs = np.linalg.eigh(gram)
    basis = vecs[:, ::-1][:, :k].astype(np.float32)
    best: BasisFit | None = None
    best_err = np.inf
    for _ in range(refinements + 1):
        basis_q, basis_scale = quantize_symmetric(basis, BASIS_BITS)
        bq = basis_q.astype(np.float32) * basis_scale
        coef_q, coef_scale = [], []
        for s in segs:
            codes, scale = quantize_symmetric(_coefficients(bq, s), coef_bits)
            coef_q.append(codes)
            coef_scale.append(scale)
        cand = BasisFit(rows, basis_q, basis_scale, coef_q, coef_scale,
                        [np.asarray(w).shape for w in weights], coef_bits, blocks)
        err = float(np.mean(cand.errors(weights)))
        if err < best_err:
            best, best_err = cand, err
        # Refit the basis to the quantized coefficients: min sum_l |S_l - B C_l|^2 / E_l.
        lhs = np.zeros((k, k))
        rhs = np.zeros((rows, k))
        for s, c, sc, e in zip(segs, coef_q, coef_scale, norms, strict=True):
            cf = (c.astype(np.float64) * sc).transpose(1, 0, 2).reshape(k, -1)
            sf = s.astype(np.float64).transpose(1, 0, 2).reshape(rows, -1)
            lhs += cf @ cf.T / e
            rhs += sf @ cf.T / e
        basis = np.linalg.lstsq(lhs, rhs.T, rcond=None)[0].T.astype(np.float32)
    return best


def fine_tune(bf: BasisFit, grad: Callable[[list[np.ndarray]], list[np.ndarray]],
              steps: int, lr: float = 0.05,
              score: Callable[[BasisFit], float] | None = None, every: int = 25) -> BasisFit:
    """Adjust the coefficients to lower a task's loss; ``grad`` maps the layers'
    reconstructed weights to the loss gradients with respect to them. Coefficients are
    kept in float and quantized in every forward pass (straight-through estimator) and
    moved by Adam with step ``lr`` in code units; the basis and the scales stay fixed, so
    nothing written to the crossbars changes. With ``score`` (higher is better, e.g.
    validation accuracy), checked every ``every`` steps, the best fit seen is returned
    (the starting one included)."""
    shadow = [c.astype(np.float64) for c in bf.coef_q]
    m1 = [np.zeros_like(c) for c in shadow]
    m2 = [np.zeros_like(c) for c in shadow]
    top = (1 << (bf.coef_bits - 1)) - 1
    basis = bf.basis.astype(np.float64)
    out = best = bf
    best_score = score(bf) if score else 0.0
    for t in range(1, steps + 1):
        gw = grad([out.reconstruct(i) for i in range(len(shadow))])
        for i, g in enumerate(gw):
            # dL/dcode = scale * B^T dL/dW, segment by segment.
            gc = np.einsum("rj,srn->sjn", basis,
                           segments(g, bf.rows, bf.layer_blocks(i))) * bf.coef_scale[i]
            m1[i] += 0.1 * (gc - m1[i])
            m2[i] += 0.001 * (gc * gc - m2[i])
            step = (m1[i] / (1 - 0.9 ** t)) / (np.sqrt(m2[i] / (1 - 0.999 ** t)) + 1e-12)
            shadow[i] = np.clip(shadow[i] - lr * step, -top, top)
        out = BasisFit(bf.rows, bf.basis_q, bf.basis_scale,
                       [np.rint(c).astype(np.int32) for c in shadow], bf.coef_scale,
                       bf.shapes, bf.coef_bits, bf.blocks)
        if score and (t % every == 0 or t == steps):
            value = score(out)
            if value > best_score:
                best, best_score = out, value
    return best if score else out
