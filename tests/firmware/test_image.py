"""Images: written and read back, their program text, errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware import assembler, image
from firmware.isa import Instruction, encode


def test_image_program_text_assembles_to_its_words(tmp_path: Path, tiny) -> None:
    words = [encode(Instruction.make("HALT")), 0xFF, encode(Instruction.make("NOP")) | 1 << 100]
    img = image.Image(tiny, words, [])
    text = (img.write(tmp_path / "img") / "program.s").read_text()
    assert ".word 0x000000000000000000000000000000ff" in text
    assert assembler.assemble_words(text, "program.s") == words


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

