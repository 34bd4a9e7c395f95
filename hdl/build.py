"""Generate the chip's Verilog for a config: ``python -m hdl.build CONFIG OUTDIR``."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from amaranth.back import verilog

from firmware import config as config_mod
from firmware.cli import run_main
from firmware.config import Config, to_toml
from hdl.chip import Chip

TOP = "chip"
_ROOT = Path(__file__).resolve().parent.parent
HDL_SOURCES = [*(_ROOT / "hdl").glob("*.py"), _ROOT / "firmware" / "isa.py",
               _ROOT / "firmware" / "config.py"]


def source_key(cfg: Config) -> str:
    """Hash of everything the Verilog depends on: the config and the generator's sources."""
    h = hashlib.sha256(to_toml(cfg).encode())
    for src in sorted(HDL_SOURCES):
        h.update(src.read_bytes())
    return h.hexdigest()


def generate(cfg: Config, out_dir: Path) -> Path:
    """Write ``chip.v`` and ``fsm_states.json`` (state names of every state machine, for
    wave viewers) for ``cfg`` into ``out_dir``; skipped when neither the config nor the
    generator's sources changed since the last time (elaboration takes seconds)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path, states_path, key_path = (out_dir / f"{TOP}.v", out_dir / "fsm_states.json",
                                   out_dir / f"{TOP}.v.key")
    key = source_key(cfg)
    if path.exists() and states_path.exists() and key_path.exists() and \
            key_path.read_text() == key:
        return path
    chip = Chip(cfg)
    text = verilog.convert(chip, name=TOP, emit_src=False)
    states = {sig: dict(enc) for sig, enc in chip.fsm_states.items()}
    states_path.write_text(json.dumps(states, indent=2) + "\n")
    if not path.exists() or path.read_text() != text:  # keep the timestamp when unchanged
        path.write_text(text)
    key_path.write_text(key)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("config", help="config name (aras, tiny) or TOML path")
    ap.add_argument("out_dir", type=Path)
    args = ap.parse_args(argv)
    print(generate(config_mod.load(args.config), args.out_dir))


if __name__ == "__main__":
    run_main(main)
