"""Generate the chip's Verilog for a config: ``python -m hdl.build CONFIG OUTDIR``."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from amaranth.back import verilog

from firmware import config as config_mod
from firmware.config import Config
from hdl.chip import Chip

TOP = "chip"


def generate(cfg: Config, out_dir: Path) -> Path:
    """Write ``chip.v`` for ``cfg`` into ``out_dir`` unless an identical one is there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = verilog.convert(Chip(cfg), name=TOP, emit_src=False)
    path = out_dir / f"{TOP}.v"
    if not path.exists() or hashlib.sha256(path.read_bytes()).digest() != \
            hashlib.sha256(text.encode()).digest():
        path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("config", help="config name (aras, tiny) or TOML path")
    ap.add_argument("out_dir", type=Path)
    args = ap.parse_args(argv)
    print(generate(config_mod.load(args.config), args.out_dir))


if __name__ == "__main__":
    main()
