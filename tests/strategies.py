"""Hypothesis strategies shared by the ISA and assembler tests."""

from __future__ import annotations

from hypothesis import strategies as st

from firmware.isa import SPECS, Instruction


@st.composite
def instructions(draw) -> Instruction:
    spec = draw(st.sampled_from(list(SPECS.values())))
    args = {}
    for f in spec.fields:
        lo, hi = (-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed \
            else (0, (1 << f.width) - 1)
        args[f.name] = draw(st.integers(lo, hi))
    return Instruction.make(spec.opcode, **args)
