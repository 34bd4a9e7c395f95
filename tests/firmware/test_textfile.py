"""Text inputs are read as UTF-8, a BOM dropped, and anything else is one error line
naming the file, the line and the byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.textfile import read_utf8


class _InputError(ValueError):
    pass


def test_utf8_with_and_without_a_bom(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes("a,b\nµ,2\n".encode())
    assert read_utf8(p, "topology", _InputError) == "a,b\nµ,2\n"
    p.write_bytes(b"\xef\xbb\xbfa\n")
    assert read_utf8(p, "topology", _InputError) == "a\n"


def test_a_latin1_byte_names_line_byte_and_offset(tmp_path: Path) -> None:
    p = tmp_path / "t.toml"
    p.write_bytes(b"x = 1\ny = 2\nname = \"caf\xe9\"\n")
    with pytest.raises(_InputError, match=rf"^{p}:3: byte 0xe9 at offset 23 is not UTF-8; "
                                   "expected a UTF-8 \\(or ASCII\\) text config$"):
        read_utf8(p, "config", _InputError)


def test_an_unreadable_path_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(_InputError, match=rf"^{tmp_path / 'none.csv'}: cannot read topology: "):
        read_utf8(tmp_path / "none.csv", "topology", _InputError)
    with pytest.raises(_InputError, match="cannot read topology: Is a directory"):
        read_utf8(tmp_path, "topology", _InputError)
