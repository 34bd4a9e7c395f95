"""The assembler: text round trips, comments and enum names, errors naming the line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import instructions

from firmware import assembler, isa
from firmware.assembler import AsmError
from firmware.isa import SPECS, Instruction, encode


def _field_values(spec: isa.InsnSpec) -> st.SearchStrategy[dict[str, int]]:
    """Random values for every field of ``spec``, each over its whole range."""
    return st.fixed_dictionaries({f.name: st.integers(*f.bounds) for f in spec.fields})


WORDS = st.one_of(
    st.integers(0, (1 << isa.INSN_BITS) - 1),
    st.integers(0, 255).map(lambda op: op | (1 << 127)),
    instructions().map(encode),
    st.tuples(instructions(), st.integers(isa.OPCODE_BITS, isa.INSN_BITS - 1)).map(
        lambda t: encode(t[0]) | (1 << t[1])),
)


@given(st.lists(instructions(), max_size=30))
@settings(max_examples=200)
def test_assemble_disassemble_round_trip(program: list[Instruction]) -> None:
    text = assembler.disassemble(program)
    assert assembler.assemble(text) == program
    assert assembler.disassemble_words([encode(i) for i in program]) == text


@pytest.mark.parametrize("spec", list(SPECS.values()), ids=lambda s: s.name)
@given(data=st.data())
@settings(max_examples=60)
def test_every_instruction_round_trips_through_text(spec: isa.InsnSpec, data) -> None:
    insn = Instruction.make(spec.opcode, **data.draw(_field_values(spec)))
    text = assembler.disassemble_words([encode(insn)])
    assert assembler.assemble(text) == [insn]
    assert assembler.assemble_words(text) == [encode(insn)]


@given(st.lists(WORDS, max_size=20))
@settings(max_examples=300)
def test_any_words_round_trip_through_the_disassembly(words: list[int]) -> None:
    assert assembler.assemble_words(assembler.disassemble_words(words)) == words


@given(st.lists(instructions(), min_size=1, max_size=10),
       st.lists(st.sampled_from([" ", "\t", " \t", "\t "]), min_size=4, max_size=4))
@settings(max_examples=200)
def test_tabs_are_whitespace(program: list[Instruction], seps: list[str]) -> None:
    """Tabs and runs of blanks wherever a space is allowed (before and after the opcode,
    around '=' and ',') assemble the same."""
    text = assembler.disassemble(program)
    lead, after_op, eq, comma = seps
    tabbed = "".join(lead + line.replace(" ", after_op, 1).replace("=", eq + "=" + eq)
                     .replace(", ", comma + "," + comma) + "\t; c\n"
                     for line in text.splitlines())
    assert assembler.assemble(tabbed) == program


@pytest.mark.parametrize(("text", "pattern"), [
    ("NOP\nFOO x=1\n", r"prog\.s:2: unknown instruction 'FOO'"),
    ("LOAD gb_addr=1, count=2\n", r"prog\.s:1: LOAD is missing field\(s\) dram_addr"),
    ("LOAD gb_addr=1, dram_addr=2, count=2, xbar=1\n", r"prog\.s:1: LOAD has no field 'xbar'"),
    ("WRITE_WAIT xbar=70000\n", r"prog\.s:1: field 'xbar': .*does not fit 16"),
    ("WRITE_WAIT xbar=zz\n", r"prog\.s:1: field 'xbar': invalid literal"),
    ("WRITE_WAIT xbar\n", r"prog\.s:1: expected 'field=value', got 'xbar'"),
    ("WRITE_WAIT xbar=1, xbar=2\n", r"prog\.s:1: field 'xbar' given twice"),
    ("NOP\n.word\n", r"prog\.s:2: expected '\.word VALUE' with one integer of 128 bits"),
    (".word 1 2\n", r"prog\.s:1: expected '\.word VALUE'"),
    (".word zz\n", r"prog\.s:1: expected '\.word VALUE'"),
    ("\n.word -1\n", r"prog\.s:2: \.word -1 is not a 128-bit value"),
    (f".word {1 << 128:#x}\n", r"prog\.s:1: \.word 0x1(0)+ is not a 128-bit value"),
    (".word 0xff\n", r"prog\.s:1: \.word 0x0+ff is not an instruction \(unknown opcode"),
])
def test_assembler_errors_name_line(text: str, pattern: str) -> None:
    with pytest.raises(AsmError, match=pattern):
        assembler.assemble(text, source="prog.s")


def test_assembler_accepts_comments_hex_and_enum_names() -> None:
    prog = assembler.assemble("; header\nVEC func=SUB, dst=0x10, src_a=1, src_b=2, count=3 # c\n")
    assert prog == [Instruction.make("VEC", func=isa.VecFunc.SUB, dst=16, src_a=1, src_b=2,
                                     count=3)]

