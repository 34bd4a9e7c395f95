"""Program images: what firmware hands to the RTL, the golden model and the timing model.

An image directory holds ``imem.hex`` (one 128-bit instruction per line), ``dram.hex``
(one main-memory word per line, the whole memory), ``program.s`` (the disassembly) and
``image.json`` (config name and named main-memory regions for the checker). The hex
files are ``$readmemh`` input for the Verilog harness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from firmware.assembler import disassemble_words
from firmware.config import Config
from firmware.isa import INSN_BITS, Instruction, encode


class ImageError(ValueError):
    """A malformed or inconsistent image; the message names the file and line."""


@dataclass(frozen=True)
class Region:
    """A named span of main memory: ``count`` words from ``addr`` holding ``elements``
    integers of ``bits`` bits (signed unless ``signed`` is false)."""

    addr: int
    count: int
    bits: int
    elements: int
    signed: bool = True


def append_words(dram: list[int], words: list[int]) -> int:
    """Append ``words`` to the main-memory image ``dram``; return their first address."""
    dram.extend(words)
    return len(dram) - len(words)


@dataclass
class Image:
    """A program and the initial main-memory contents for one config."""

    config: Config
    imem: list[int]
    dram: list[int]
    regions: dict[str, Region] = field(default_factory=dict)

    @classmethod
    def build(cls, config: Config, program: list[Instruction], dram: list[int],
              regions: dict[str, Region] | None = None) -> Image:
        """An image from assembled instructions."""
        return cls(config, [encode(i) for i in program], dram, dict(regions or {}))

    def __post_init__(self) -> None:
        cfg = self.config
        if len(self.imem) > cfg.imem.depth:
            raise ImageError(f"program has {len(self.imem)} instructions but imem.depth "
                             f"is {cfg.imem.depth}")
        if len(self.dram) > cfg.dram_words:
            raise ImageError(f"main-memory image has {len(self.dram)} words but the config "
                             f"has {cfg.dram_words}")
        self.dram = list(self.dram) + [0] * (cfg.dram_words - len(self.dram))

    def write(self, directory: Path) -> Path:
        """Write the image files into ``directory`` (created) and return it."""
        directory.mkdir(parents=True, exist_ok=True)
        digits = INSN_BITS // 4
        (directory / "imem.hex").write_text("".join(f"{w:0{digits}x}\n" for w in self.imem))
        wdigits = self.config.dram_bits // 4
        (directory / "dram.hex").write_text("".join(f"{w:0{wdigits}x}\n" for w in self.dram))
        (directory / "program.s").write_text(disassemble_words(self.imem))
        meta = {
            "config": self.config.source,
            "instructions": len(self.imem),
            "regions": {k: vars(v) for k, v in self.regions.items()},
        }
        (directory / "image.json").write_text(json.dumps(meta, indent=2) + "\n")
        return directory


def read_hex(path: Path, word_bits: int, depth: int | None = None) -> list[int]:
    """Read a ``$readmemh``-style file of whole words; errors name the file and line."""
    words = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("//", 1)[0].strip()
        if not text:
            continue
        try:
            value = int(text, 16)
        except ValueError:
            raise ImageError(f"{path}:{lineno}: expected a hex word, got '{text}'") from None
        if value >> word_bits:
            raise ImageError(f"{path}:{lineno}: {text} is wider than {word_bits} bits")
        words.append(value)
    if depth is not None and len(words) > depth:
        raise ImageError(f"{path}: {len(words)} words but the memory holds {depth}")
    return words


def read(directory: Path, config: Config) -> Image:
    """Load an image directory written by :meth:`Image.write`."""
    imem = read_hex(directory / "imem.hex", INSN_BITS, config.imem.depth)
    dram = read_hex(directory / "dram.hex", config.dram_bits, config.dram_words)
    meta = json.loads((directory / "image.json").read_text())
    regions = {k: Region(**v) for k, v in meta.get("regions", {}).items()}
    return Image(config, imem, dram, regions)
