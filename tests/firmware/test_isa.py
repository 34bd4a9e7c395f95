"""ISA, assembler and images: round trips (property tests) and errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import assembler, image, isa, isa_doc
from firmware.assembler import AsmError
from firmware.isa import SPECS, Instruction, Window, decode, encode


@st.composite
def instructions(draw) -> Instruction:
    spec = draw(st.sampled_from(list(SPECS.values())))
    args = {}
    for f in spec.fields:
        lo, hi = (-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed \
            else (0, (1 << f.width) - 1)
        args[f.name] = draw(st.integers(lo, hi))
    return Instruction.make(spec.opcode, **args)


@given(instructions())
@settings(max_examples=500)
def test_encode_decode_round_trip(insn: Instruction) -> None:
    word = encode(insn)
    assert 0 <= word < 1 << isa.INSN_BITS
    assert word & 0xFF == insn.opcode
    assert decode(word) == insn


@given(st.lists(instructions(), max_size=30))
@settings(max_examples=200)
def test_assemble_disassemble_round_trip(program: list[Instruction]) -> None:
    text = assembler.disassemble(program)
    assert assembler.assemble(text) == program
    assert assembler.disassemble_words([encode(i) for i in program]) == text


def _field_values(spec: isa.InsnSpec) -> st.SearchStrategy[dict[str, int]]:
    """Random values for every field of ``spec``, each over its whole range."""
    return st.fixed_dictionaries({f.name: st.integers(*f.bounds) for f in spec.fields})


@pytest.mark.parametrize("spec", list(SPECS.values()), ids=lambda s: s.name)
@given(data=st.data())
@settings(max_examples=60)
def test_every_instruction_round_trips_through_text(spec: isa.InsnSpec, data) -> None:
    insn = Instruction.make(spec.opcode, **data.draw(_field_values(spec)))
    text = assembler.disassemble_words([encode(insn)])
    assert assembler.assemble(text) == [insn]
    assert assembler.assemble_words(text) == [encode(insn)]


#: 128-bit words: anything, legal instructions, and legal ones with one stray bit set.
WORDS = st.one_of(
    st.integers(0, (1 << isa.INSN_BITS) - 1),
    st.integers(0, 255).map(lambda op: op | (1 << 127)),
    instructions().map(encode),
    st.tuples(instructions(), st.integers(isa.OPCODE_BITS, isa.INSN_BITS - 1)).map(
        lambda t: encode(t[0]) | (1 << t[1])),
)


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


def test_image_program_text_assembles_to_its_words(tmp_path: Path, tiny) -> None:
    words = [encode(Instruction.make("HALT")), 0xFF, encode(Instruction.make("NOP")) | 1 << 100]
    img = image.Image(tiny, words, [])
    text = (img.write(tmp_path / "img") / "program.s").read_text()
    assert ".word 0x000000000000000000000000000000ff" in text
    assert assembler.assemble_words(text, "program.s") == words


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


def test_image_write_read_round_trip(tmp_path: Path, tiny) -> None:
    program = assembler.assemble("LOAD gb_addr=0, dram_addr=1, count=2\nHALT\n")
    img = image.Image.build(tiny, program, [5, 6, 7],
                            {"x": image.Region(1, 2, 8, 16)})
    back = image.read(img.write(tmp_path / "img"), tiny)
    assert back.imem == img.imem and back.dram == img.dram and back.regions == img.regions
    assert (tmp_path / "img" / "program.s").read_text() == assembler.disassemble(program)
    lines = (tmp_path / "img" / "imem.hex").read_text().split()
    assert all(len(line) == 32 for line in lines)


def test_image_errors_name_file_and_line(tmp_path: Path, tiny) -> None:
    bad = tmp_path / "dram.hex"
    bad.write_text("00\nzz\n")
    with pytest.raises(image.ImageError, match=r"dram\.hex:2: expected a hex word, got 'zz'"):
        image.read_hex(bad, 64)
    bad.write_text("1" * 17 + "\n")
    with pytest.raises(image.ImageError, match=r"dram\.hex:1: .* wider than 64 bits"):
        image.read_hex(bad, 64)
    with pytest.raises(image.ImageError, match="imem.depth is 256"):
        image.Image(tiny, [0] * 257, [])


def test_isa_doc_is_current() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "isa.md"
    assert doc.read_text() == isa_doc.render(), "docs/isa.md is stale: run `make docs`"


def test_isa_doc_goes_stale_when_an_instruction_changes(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """A changed instruction description makes the committed docs/isa.md stale."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "isa.md"
    nop = isa.SPECS[isa.Opcode.NOP]
    monkeypatch.setitem(isa.SPECS, isa.Opcode.NOP, dataclasses.replace(nop, doc="Idle twice."))
    rendered = isa_doc.render()
    assert "Idle twice." in rendered and doc.read_text() != rendered


@given(st.integers(1, 9), st.integers(0, 4), st.integers(0, 30), st.integers(1, 4))
def test_window_segments_extent_is_the_farthest_segment_end(nrows: int, group: int,
                                                              stride: int, iw: int) -> None:
    win = Window(seg_group=group, group_stride=stride)
    ends = [win.segment(k, iw) + iw for k in range(nrows)]
    assert win.segments_extent(nrows, iw) == max(ends)
    if group == 0:
        assert [win.segment(k, iw) for k in range(nrows)] == [k * iw for k in range(nrows)]
