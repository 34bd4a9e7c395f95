"""Word packing: round trips, the vectorized path against the reference loop, misfits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.packing import pack, unpack


@given(st.sampled_from([2, 3, 4, 5, 8, 32]), st.data())
def test_pack_unpack_round_trip(bits: int, data) -> None:
    signed = data.draw(st.booleans())
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    vals = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=40))
    words = pack(vals, bits, 64)
    assert len(words) == -(-len(vals) * bits // 64)
    assert unpack(words, bits, 64, len(vals), signed).tolist() == vals


@given(st.sampled_from([(2, 64), (3, 64), (3, 128), (4, 128), (5, 64), (7, 1792), (8, 64),
                        (16, 64), (32, 64), (48, 64), (64, 128)]),
       st.data())
def test_vectorized_packing_equals_reference_loop(widths: tuple[int, int], data) -> None:
    from firmware.packing import _pack_slow, _unpack_slow
    bits, word_bits = widths
    vals = np.array(data.draw(st.lists(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1),
                                       min_size=1, max_size=300)))
    words = pack(vals, bits, word_bits)
    assert words == _pack_slow(vals, bits, word_bits)
    assert (unpack(words, bits, word_bits, len(vals), True)
            == _unpack_slow(words, bits, word_bits, len(vals), True)).all()


def test_pack_rejects_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="element 1 = 16 does not fit 4 bits"):
        pack([1, 16], 4, 64)



def test_elements_straddle_words_when_their_width_does_not_divide_the_word() -> None:
    """3-bit elements in 8-bit words: element 2 takes bits 6-7 of word 0 and bit 0 of
    word 1 (a bit stream, written out by hand)."""
    words = pack([1, 2, 5, 3], 3, 8)
    # Stream LSB first: 1 -> 100, 2 -> 010, 5 -> 101, 3 -> 110: bits 100010101110.
    assert words == [0b01010001, 0b0111]
    assert unpack(words, 3, 8, 4, False).tolist() == [1, 2, 5, 3]
    assert unpack(words, 3, 8, 4, True).tolist() == [1, 2, -3, 3]
