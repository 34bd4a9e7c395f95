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
    vals = np.asarray(values).ravel()
    if vals.size == 0:
        return []
    if bits >= 63 or not np.issubdtype(vals.dtype, np.integer):
        return _pack_slow(vals, bits, word_bits)
    v = vals.astype(np.int64)
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    bad = np.flatnonzero((v < lo) | (v > hi))
    if bad.size:
        raise ValueError(f"element {bad[0]} = {v[bad[0]]} does not fit {bits} bits")
    per_word = word_bits // bits
    n_words = -(-v.size // per_word)
    # Each element's bits, least significant first (from its little-endian bytes), then
    # whole words as little-endian bytes.
    u = (v & ((1 << bits) - 1)).astype("<u8").view(np.uint8).reshape(-1, 8)
    planes = np.zeros((n_words * per_word, bits), dtype=np.uint8)
    planes[:v.size] = np.unpackbits(u[:, :-(-bits // 8)], axis=1, bitorder="little")[:, :bits]
    raw = np.packbits(planes.reshape(n_words, word_bits), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in raw]


def _pack_slow(vals: np.ndarray, bits: int, word_bits: int) -> list[int]:
    per_word = word_bits // bits
    mask = (1 << bits) - 1
    ints = [int(v) for v in vals]
    words = [0] * ((len(ints) + per_word - 1) // per_word)
    for i, v in enumerate(ints):
        if not -(1 << (bits - 1)) <= v <= mask:
            raise ValueError(f"element {i} = {v} does not fit {bits} bits")
        words[i // per_word] |= (v & mask) << (bits * (i % per_word))
    return words


def unpack(words: Sequence[int], bits: int, word_bits: int, n: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack`: the first ``n`` elements as an int64 array."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if bits >= 63:
        return _unpack_slow(words, bits, word_bits, n, signed)
    per_word = word_bits // bits
    need = -(-n // per_word)
    raw = b"".join(int(w).to_bytes(word_bits // 8, "little") for w in list(words)[:need])
    planes = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    planes = planes.reshape(-1, bits)[:n].astype(np.int64)
    out = planes @ (np.int64(1) << np.arange(bits, dtype=np.int64))
    if signed:
        out = np.where(out >> (bits - 1), out - (np.int64(1) << bits), out)
    return out


def _unpack_slow(words: Sequence[int], bits: int, word_bits: int, n: int,
                 signed: bool) -> np.ndarray:
    per_word = word_bits // bits
    mask = (1 << bits) - 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        v = (int(words[i // per_word]) >> (bits * (i % per_word))) & mask
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out[i] = v
    return out


def random_words(rng: np.random.Generator, n: int, word_bits: int) -> list[int]:
    """``n`` uniformly random ``word_bits``-bit words: memory contents nobody chose."""
    nbytes = -(-word_bits // 8)
    mask = (1 << word_bits) - 1
    return [int.from_bytes(rng.bytes(nbytes), "little") & mask for _ in range(n)]
