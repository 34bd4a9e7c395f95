"""Assembler and disassembler for the text form of the ISA.

One instruction per line: ``OPNAME field=value, field=value`` with decimal, ``0x`` hex or
enum-name values (``func=ADD``); ``;`` or ``#`` starts a comment; spaces and tabs are
alike. Every field must be given but the optional ones (0 when left out). ``.word
VALUE`` is one raw 128-bit instruction word, as the disassembler writes for a word that
does not decode, so any image's program text assembles back to its words
(:func:`assemble_words`). Errors name the source and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from firmware.isa import (
    BY_NAME,
    INSN_BITS,
    Instruction,
    SfuFunc,
    VecFunc,
    check_field,
    decode,
    encode,
)

_ENUMS = {("VEC", "func"): VecFunc, ("SFU", "func"): SfuFunc}
_ARG = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*([^\s,]+)\s*$")


class AsmError(ValueError):
    """Bad assembly text; the message names the source, line and problem."""


def _parse_value(spec_name: str, field_name: str, text: str) -> int:
    enum_cls = _ENUMS.get((spec_name, field_name))
    if enum_cls is not None and text.upper() in enum_cls.__members__:
        return int(enum_cls[text.upper()])
    return int(text, 0)


def _parse_word(where: str, rest: str) -> int:
    """The value of a ``.word`` line: one 128-bit integer."""
    try:
        (text,) = rest.split()
        value = int(text, 0)
    except ValueError:
        raise AsmError(f"{where}: expected '.word VALUE' with one integer of "
                       f"{INSN_BITS} bits, got '{('.word ' + rest).strip()}'") from None
    if not 0 <= value < 1 << INSN_BITS:
        raise AsmError(f"{where}: .word {text} is not a {INSN_BITS}-bit value "
                       f"(0..{(1 << INSN_BITS) - 1:#x})")
    return value


def _parse_insn(where: str, name: str, rest: str) -> Instruction:
    """One ``OPNAME field=value, ...`` line."""
    spec = BY_NAME.get(name.upper())
    if spec is None:
        raise AsmError(f"{where}: unknown instruction '{name}'; expected one of "
                       f"{', '.join(BY_NAME)} or .word")
    values: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        m = _ARG.match(part)
        if not m:
            raise AsmError(f"{where}: expected 'field=value', got '{part}'")
        fname, ftext = m.groups()
        field = next((f for f in spec.fields if f.name == fname), None)
        if field is None:
            raise AsmError(f"{where}: {spec.name} has no field '{fname}'; fields are "
                           f"{', '.join(f.name for f in spec.fields) or '(none)'}")
        if fname in values:
            raise AsmError(f"{where}: field '{fname}' given twice")
        try:
            values[fname] = _parse_value(spec.name, fname, ftext)
            check_field(spec, field, values[fname])
        except ValueError as exc:
            raise AsmError(f"{where}: field '{fname}': {exc}") from None
    missing = [f.name for f in spec.fields if f.name not in values and not f.optional]
    if missing:
        raise AsmError(f"{where}: {spec.name} is missing field(s) {', '.join(missing)}")
    return Instruction.make(spec.opcode, **values)


def _parse(text: str, source: str) -> Iterator[tuple[str, Instruction | int]]:
    """Each non-empty line's place and its instruction, or raw word for ``.word``."""
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"[;#]", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        where = f"{source}:{lineno}"
        name, rest = (line.split(None, 1) + [""])[:2]
        if name.lower() == ".word":
            yield where, _parse_word(where, rest)
        else:
            yield where, _parse_insn(where, name, rest)


def assemble(text: str, source: str = "<string>") -> list[Instruction]:
    """Assemble program text into instructions (a ``.word`` must decode to one)."""
    program = []
    for where, item in _parse(text, source):
        if isinstance(item, int):
            try:
                item = decode(item)
            except ValueError as exc:
                raise AsmError(f"{where}: .word {item:#034x} is not an instruction ({exc}); "
                               "assemble_words keeps such words") from None
        program.append(item)
    return program


def assemble_words(text: str, source: str = "<string>") -> list[int]:
    """Assemble program text into instruction words, ``.word`` lines as they are: the
    inverse of :func:`disassemble_words` for any words."""
    return [item if isinstance(item, int) else encode(item) for _, item in _parse(text, source)]


def format_insn(insn: Instruction) -> str:
    """One instruction as assembly text (the inverse of :func:`assemble` for one line)."""
    parts = []
    for name, value in insn.args:
        enum_cls = _ENUMS.get((insn.spec.name, name))
        if enum_cls is not None and value in enum_cls._value2member_map_:
            parts.append(f"{name}={enum_cls(value).name}")
        else:
            parts.append(f"{name}={value}")
    return f"{insn.spec.name} {', '.join(parts)}".rstrip()


def disassemble(program: Iterable[Instruction]) -> str:
    """Program text for a list of instructions."""
    return "".join(format_insn(i) + "\n" for i in program)


def disassemble_words(words: Iterable[int]) -> str:
    """Program text for raw instruction words; undecodable words become ``.word`` lines."""
    lines = []
    for w in words:
        try:
            lines.append(format_insn(decode(w)))
        except ValueError as exc:
            lines.append(f".word {w:#034x}  ; {exc}")
    return "".join(line + "\n" for line in lines)
