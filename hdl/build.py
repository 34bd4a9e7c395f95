"""Generate the chip's Verilog for a config: ``python -m hdl.build CONFIG OUTDIR``."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

from amaranth.back import verilog

from firmware import config as config_mod
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


def hide_internal_names(text: str) -> str:
    """Prefix Yosys's internal names (``\\$1``, ``\\$auto$verilog_backend.cc:...``) with
    ``_``: Verilator then leaves them out of its traces (GTKWave refused the VCD on them)
    and ``$`` never starts a name in any wave file."""
    return text.replace("\\$", "\\_$")  # only escaped identifiers start with a backslash


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)  # readers see the old file or the whole new one, never a part


def generate(cfg: Config, out_dir: Path) -> Path:
    """Write ``chip.v`` and ``fsm_states.json`` (state names of every state machine, for
    wave viewers) for ``cfg`` into ``out_dir``; skipped when neither the config nor the
    generator's sources changed since the last time (elaboration takes seconds) and both
    files still hash to what the key file recorded (a cut or edited file is rewritten)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path, states_path, key_path = (out_dir / f"{TOP}.v", out_dir / "fsm_states.json",
                                   out_dir / f"{TOP}.v.key")
    key = source_key(cfg)
    if key_path.exists() and \
            key_path.read_text() == f"{key} {_sha256(path)} {_sha256(states_path)}":
        return path
    chip = Chip(cfg)
    text = hide_internal_names(verilog.convert(chip, name=TOP, emit_src=False))
    states = {sig: dict(enc) for sig, enc in chip.fsm_states.items()}
    key_path.unlink(missing_ok=True)  # an interrupted generation leaves no key
    _write_atomic(states_path, json.dumps(states, indent=2) + "\n")
    if not path.exists() or path.read_bytes() != text.encode():  # keep the mtime if unchanged
        _write_atomic(path, text)
    _write_atomic(key_path, f"{key} {_sha256(path)} {_sha256(states_path)}")
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("config", help="config name (aras, tiny) or TOML path")
    ap.add_argument("out_dir", type=Path)
    args = ap.parse_args(argv)
    print(generate(config_mod.load(args.config), args.out_dir))


if __name__ == "__main__":
    main()
