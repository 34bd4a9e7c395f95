"""Packing of small integers into memory words, shared by every producer and consumer.

Element ``i`` of a vector of ``bits``-bit integers sits at bit ``(i * bits) % word_bits``
of word ``(i * bits) // word_bits``, two's complement for signed values: the words are
one little-endian bit stream, so an element may straddle two words when ``bits`` does
not divide ``word_bits`` (3-bit write deltas in 64- or 128-bit words, say).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pack(values: Sequence[int] | np.ndarray, bits: int, word_bits: int) -> list[int]:
    """Pack integers (signed or unsigned, each fitting ``bits``) into words, LSB first."""
    if bits <= 0 or word_bits <= 0 or word_bits % 8:
        raise ValueError(f"cannot pack {bits}-bit elements into {word_bits}-bit words")
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
    n_words = -(-v.size * bits // word_bits)
    # Each element's bits, least significant first (from its little-endian bytes), laid
    # end to end as one stream, then cut into whole words of little-endian bytes.
    u = (v & ((1 << bits) - 1)).astype("<u8").view(np.uint8).reshape(-1, 8)
    stream = np.zeros(n_words * word_bits, dtype=np.uint8)
    stream[:v.size * bits] = np.unpackbits(u[:, :-(-bits // 8)], axis=1,
                                           bitorder="little")[:, :bits].ravel()
    raw = np.packbits(stream.reshape(n_words, word_bits), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in raw]


def _pack_slow(vals: np.ndarray, bits: int, word_bits: int) -> list[int]:
    mask, word_mask = (1 << bits) - 1, (1 << word_bits) - 1
    words = [0] * (-(-len(vals) * bits // word_bits))
    for i, v in enumerate(int(x) for x in vals):
        if not -(1 << (bits - 1)) <= v <= mask:
            raise ValueError(f"element {i} = {v} does not fit {bits} bits")
        # The element's bits from bit `start` of the stream on, across as many words.
        start, u = i * bits, v & mask
        w, off = divmod(start, word_bits)
        u <<= off
        while u:
            words[w] |= u & word_mask
            u >>= word_bits
            w += 1
    return words


def unpack(words: Sequence[int], bits: int, word_bits: int, n: int, signed: bool) -> np.ndarray:
    """Inverse of :func:`pack`: the first ``n`` elements as an int64 array."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if bits >= 63:
        return _unpack_slow(words, bits, word_bits, n, signed)
    need = -(-n * bits // word_bits)
    raw = b"".join(int(w).to_bytes(word_bits // 8, "little") for w in list(words)[:need])
    stream = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    planes = stream[:n * bits].reshape(n, bits).astype(np.int64)
    out = planes @ (np.int64(1) << np.arange(bits, dtype=np.int64))
    if signed:
        out = np.where(out >> (bits - 1), out - (np.int64(1) << bits), out)
    return out


def _unpack_slow(words: Sequence[int], bits: int, word_bits: int, n: int,
                 signed: bool) -> np.ndarray:
    mask = (1 << bits) - 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        w, off = divmod(i * bits, word_bits)
        last = (i * bits + bits - 1) // word_bits
        chunk = 0
        for k in range(last, w - 1, -1):     # the words the element spans, high first
            chunk = (chunk << word_bits) | int(words[k])
        v = (chunk >> off) & mask
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out[i] = v
    return out


def random_words(rng: np.random.Generator, n: int, word_bits: int) -> list[int]:
    """``n`` uniformly random ``word_bits``-bit words: memory contents nobody chose."""
    nbytes = -(-word_bits // 8)
    mask = (1 << word_bits) - 1
    return [int.from_bytes(rng.bytes(nbytes), "little") & mask for _ in range(n)]
