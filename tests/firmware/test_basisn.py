"""BasisN fitting: segments, exact recovery of a true basis, error vs K, fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest

from firmware import basisn


def test_segments_pad_and_keep_order() -> None:
    w = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)
    s = basisn.segments(w, 2)
    assert s.shape == (3, 2, 3)
    assert np.array_equal(s.reshape(-1, 3)[:5], w) and not s[2, 1].any()


def test_a_true_basis_is_recovered() -> None:
    """Layers built from 4 basis vectors: a 4-vector fit spans them, so only quantization
    is left (the fitted basis is a rotation of the true one, so its coefficients are not
    the small integers the layers were made from)."""
    rng = np.random.default_rng(0)
    true = rng.standard_normal((16, 4))
    layers = [np.vstack([true @ rng.integers(-7, 8, size=(4, n)) for _ in range(s)])
              for n, s in ((5, 3), (8, 2), (3, 4))]
    errs = basisn.fit(layers, rows=16, k=4, coef_bits=8).errors(layers)
    assert max(errs) < 0.01, errs
    assert basisn.fit(layers, rows=16, k=2, coef_bits=8).errors(layers)[0] > 0.2


def test_error_falls_with_more_basis_vectors() -> None:
    rng = np.random.default_rng(1)
    layers = [rng.standard_normal((40, 12)), rng.standard_normal((20, 30)) * 5]
    errs = [np.mean(basisn.fit(layers, 16, k, 4).errors(layers)) for k in (2, 8, 16)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.15   # K = R: only the coefficients' 4-bit quantization is left


def test_fit_is_stored_as_integers_in_range() -> None:
    rng = np.random.default_rng(2)
    bf = basisn.fit([rng.standard_normal((30, 7))], 16, 6, coef_bits=3)
    assert bf.basis_q.dtype.kind == "i" and np.abs(bf.basis_q).max() <= 127
    assert all(np.abs(c).max() <= 3 for c in bf.coef_q)
    assert bf.coef_q[0].shape == (2, 6, 7) and bf.k == 6


def test_fine_tuning_lowers_a_task_loss_without_touching_the_basis() -> None:
    """Task: match target weights; the gradient is W - target. Fine-tuning lowers the
    error below the fit's, the basis codes stay as written."""
    rng = np.random.default_rng(3)
    layers = [rng.standard_normal((32, 10))]
    target = [layers[0] + 0.3 * rng.standard_normal((32, 10))]
    bf = basisn.fit(layers, 16, 8, 4)
    tuned = basisn.fine_tune(bf, lambda w: [w[0] - target[0]], steps=200, lr=0.05)
    assert tuned.errors(target)[0] < bf.errors(target)[0]
    assert np.array_equal(tuned.basis_q, bf.basis_q)
    kept = basisn.fine_tune(bf, lambda w: [w[0] - target[0]], steps=50,
                            score=lambda f: -f.errors(target)[0])
    assert kept.errors(target)[0] <= bf.errors(target)[0]


def test_bad_parameters_are_refused() -> None:
    w = [np.ones((4, 4))]
    with pytest.raises(ValueError, match="between 1 and the 4 segment rows"):
        basisn.fit(w, 4, 5)
    with pytest.raises(ValueError, match="coef_bits"):
        basisn.fit(w, 4, 2, coef_bits=1)
