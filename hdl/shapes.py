"""Amaranth enum shapes of the ISA's enumerations, built from ``firmware/isa.py``.

A signal of one of these shapes reads as a name in Amaranth's own waves; :func:`names`
gives the same names to the translate filters of the Verilog simulators' waves
(:mod:`cocotb_tests.waves`). They are ``IntEnum`` shapes, so they compare with plain
integers and :mod:`firmware.isa`'s members alike.
"""

from __future__ import annotations

import enum as py_enum
import types

from amaranth import unsigned
from amaranth.lib import enum

from firmware.isa import OPCODE_BITS, SPECS, Fault, Opcode, SfuFunc, VecFunc

FAULT_BITS = 8  # the fault register and pin


def enum_shape(source: type[py_enum.IntEnum], width: int) -> type[enum.IntEnum]:
    """An Amaranth ``IntEnum`` of ``width`` bits with the members of ``source``."""
    if max(m.value for m in source) >= 1 << width:
        raise ValueError(f"{source.__name__}: a member does not fit in {width} bits")

    def body(ns) -> None:
        for member in source:
            ns[member.name] = member.value

    return types.new_class(source.__name__, (enum.IntEnum,), {"shape": unsigned(width)}, body)


def _field_width(op: Opcode, name: str) -> int:
    return next(f.width for f in SPECS[op].fields if f.name == name)


OpcodeShape = enum_shape(Opcode, OPCODE_BITS)
FaultShape = enum_shape(Fault, FAULT_BITS)
SfuFuncShape = enum_shape(SfuFunc, _field_width(Opcode.SFU, "func"))
VecFuncShape = enum_shape(VecFunc, _field_width(Opcode.VEC, "func"))

#: Instruction fields that hold an enumeration: ``{(opcode, field): shape}``.
FIELD_SHAPES = {(Opcode.SFU, "func"): SfuFuncShape, (Opcode.VEC, "func"): VecFuncShape}


def names(shape: type[enum.IntEnum]) -> dict[str, int]:
    """``{member name: code}`` of an enum shape (for wave translate filters)."""
    return {member.name: member.value for member in shape}
