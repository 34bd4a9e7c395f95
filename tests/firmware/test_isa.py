"""The ISA: encodings, specs, decoding and the window's segment extents."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import instructions

from firmware import isa
from firmware.isa import SPECS, Instruction, Window, decode, encode


@given(instructions())
@settings(max_examples=500)
def test_encode_decode_round_trip(insn: Instruction) -> None:
    word = encode(insn)
    assert 0 <= word < 1 << isa.INSN_BITS
    assert word & 0xFF == insn.opcode
    assert decode(word) == insn


def test_every_opcode_has_a_spec_and_fits() -> None:
    assert set(SPECS) == set(isa.Opcode)
    for spec in SPECS.values():
        assert isa.OPCODE_BITS + sum(f.width for f in spec.fields) <= isa.INSN_BITS


def test_decode_rejects_unknown_opcode_and_stray_bits() -> None:
    with pytest.raises(ValueError, match="unknown opcode 0xff"):
        decode(0xFF)
    with pytest.raises(ValueError, match="NOP: .* bits set outside its fields"):
        decode(1 << 100)


def test_encode_rejects_overflowing_field() -> None:
    with pytest.raises(ValueError, match=r"LOAD\.count = 65536 does not fit 16 unsigned"):
        encode(Instruction.make("LOAD", gb_addr=0, dram_addr=0, count=1 << 16))


@given(st.integers(1, 9), st.integers(0, 4), st.integers(0, 30), st.integers(1, 4))
def test_window_segments_extent_is_the_farthest_segment_end(nrows: int, group: int,
                                                              stride: int, iw: int) -> None:
    win = Window(seg_group=group, group_stride=stride)
    ends = [win.segment(k, iw) + iw for k in range(nrows)]
    assert win.segments_extent(nrows, iw) == max(ends)
    if group == 0:
        assert [win.segment(k, iw) for k in range(nrows)] == [k * iw for k in range(nrows)]

