"""``reram-pim asm`` and ``reram-pim disasm``: program text to instruction words (one
hex word a line, as the harness's ``imem.hex``) and back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from firmware import cli
from firmware.assembler import AsmError, assemble_words, disassemble_words
from firmware.image import ImageError, read_hex
from firmware.isa import INSN_BITS
from firmware.textfile import read_utf8


def main_asm(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(prog="reram-pim asm", description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="program text (see docs/isa.md)")
    ap.add_argument("-o", "--out", type=Path, help="hex file to write (default: stdout)")
    ap.add_argument("--json", action="store_true", help="the words as a JSON list of hex")
    args = ap.parse_args(argv)
    try:
        words = assemble_words(read_utf8(args.source, "program", AsmError), str(args.source))
    except AsmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.USAGE
    digits = INSN_BITS // 4
    text = (json.dumps([f"{w:0{digits}x}" for w in words]) + "\n" if args.json
            else "".join(f"{w:0{digits}x}\n" for w in words))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


def main_disasm(argv: list[str] | None = None) -> int:
    ap = cli.ArgumentParser(prog="reram-pim disasm", description="instruction words (a hex "
                            "file, or an image directory's imem.hex) as program text")
    ap.add_argument("words", type=Path, help="hex file or image directory")
    ap.add_argument("--json", action="store_true",
                    help="a JSON list of {word, text} instead of the text")
    args = ap.parse_args(argv)
    path = args.words / "imem.hex" if args.words.is_dir() else args.words
    if not path.is_file():
        print(f"error: {path}: no such file; expected a hex file of instruction words or "
              "an image directory holding imem.hex", file=sys.stderr)
        return cli.USAGE
    try:
        words = read_hex(path, INSN_BITS)
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.USAGE
    text = disassemble_words(words)
    if args.json:
        print(json.dumps([{"word": f"{w:0{INSN_BITS // 4}x}", "text": line}
                          for w, line in zip(words, text.splitlines(), strict=True)],
                         indent=1))
    else:
        sys.stdout.write(text)
    return 0


main = main_asm
