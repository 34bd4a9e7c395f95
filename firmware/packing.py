"""Packing of small integers into memory words, shared by every producer and consumer.

Element ``i`` of a vector of ``bits``-bit integers sits at bit ``(i * bits) % word_bits``
of word ``(i * bits) // word_bits``, two's complement for signed values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pack(values: Sequence[int] | np.ndarray, bits: int, word_bits: int) -> list[int]:
    """Pack integers (signed or unsigned, each fitting ``bits``) into words, LSB first."""
    if word_bits % bits:
        raise ValueError(f"{bits}-bit elements do not tile a {word_bits}-bit word")
    per_word = word_bits // bits
    mask = (1 << bits) - 1
    vals = [int(v) for v in np.asarray(values).ravel()]
    words = [0] * ((len(vals) + per_word - 1) // per_word)
    for i, v in enumerate(vals):
        if not -(1 << (bits - 1)) <= v <= mask:
            raise ValueError(f"element {i} = {v} does not fit {bits} bits")
        words[i // per_word] |= (v & mask) << (bits * (i % per_word))
    return words


def unpack(words: Sequence[int], bits: int, word_bits: int, n: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack`: the first ``n`` elements as an int64 array."""
    per_word = word_bits // bits
    mask = (1 << bits) - 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        v = (int(words[i // per_word]) >> (bits * (i % per_word))) & mask
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out[i] = v
    return out
