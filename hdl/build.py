"""Generate the chip's Verilog for a config: ``python -m hdl.build CONFIG OUTDIR``."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from amaranth.back import verilog

from firmware import config as config_mod
from firmware.config import Config
from hdl.chip import Chip

TOP = "chip"


def generate(cfg: Config, out_dir: Path) -> Path:
    """Write ``chip.v`` (unless an identical one is there) and ``fsm_states.json`` (state
    names of every state machine, for wave viewers) for ``cfg`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chip = Chip(cfg)
    text = verilog.convert(chip, name=TOP, emit_src=False)
    states = {sig: dict(enc) for sig, enc in chip.fsm_states.items()}
    (out_dir / "fsm_states.json").write_text(json.dumps(states, indent=2) + "\n")
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
