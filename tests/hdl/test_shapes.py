"""The enum shapes are the ISA's enumerations, member for member, at their field widths."""

from __future__ import annotations

import enum

import pytest
from amaranth import Signal
from amaranth.hdl import Shape

from firmware.isa import OPCODE_BITS, Fault, Opcode, SfuFunc, VecFunc
from hdl.shapes import FaultShape, OpcodeShape, SfuFuncShape, VecFuncShape, enum_shape, names


@pytest.mark.parametrize(("shape", "source", "width"), [
    (OpcodeShape, Opcode, OPCODE_BITS), (FaultShape, Fault, 8), (SfuFuncShape, SfuFunc, 4),
    (VecFuncShape, VecFunc, 4)])
def test_shapes_mirror_the_isa(shape, source, width: int) -> None:
    assert names(shape) == {m.name: m.value for m in source}
    assert Shape.cast(shape).width == width
    assert shape.__name__ == source.__name__       # waves name the enumeration as the ISA
    sig = Signal(shape)
    assert sig.shape() == Shape.cast(shape) and (sig == source(0)).shape().width == 1


def test_a_member_too_wide_for_its_shape_is_refused() -> None:
    wide = enum.IntEnum("Wide", {"A": 0, "B": 16})
    with pytest.raises(ValueError, match="does not fit in 4 bits"):
        enum_shape(wide, 4)
    assert names(enum_shape(wide, 5)) == {"A": 0, "B": 16}
