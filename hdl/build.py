"""Generate the chip's Verilog for a config: ``python -m hdl.build CONFIG OUTDIR``."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from firmware import cli
from firmware import config as config_mod
from firmware.config import Config, ConfigError, to_toml
from firmware.isa import INSN_BITS
from hdl.chip import Chip

TOP = "chip"
_ROOT = Path(__file__).resolve().parent.parent
HDL_SOURCES = [*(_ROOT / "hdl").rglob("*.py"), _ROOT / "firmware" / "isa.py",
               _ROOT / "firmware" / "config.py"]


def source_key(cfg: Config) -> str:
    """Hash of everything the Verilog depends on: the config and the generator's sources."""
    h = hashlib.sha256(to_toml(cfg).encode())
    for src in sorted(HDL_SOURCES):
        h.update(src.read_bytes())
    return h.hexdigest()


# ---- How long Verilog generation takes (Amaranth elaboration + its built-in Yosys) ----
#
# Measured on this project's 2-core build machine (shared with other jobs, so +-20%),
# ``generate`` from scratch, each a tiny variant (4 crossbars 16x16, 64-bit words, one bank
# of the size given) unless stated:
#
#     global buffer   words   seconds        crossbars (16x16)   seconds
#     1 KiB (tiny)      128     1.6               8               2.3
#     2 KiB             256     1.9              16               3.3
#     4 KiB             512     2.3              32               5.4
#     8 KiB            1024     2.3          4 crossbars 32x32    2.2
#     16 KiB           2048     4.3          4 crossbars 64x64    4.1
#     32 KiB           4096    11.7          4 crossbars 128x128  4.7
#     48 KiB           6144    22.5          small (512 words, 8 of 32x32)  4.1
#     64 KiB           8192    42.4          32 KiB of 128-bit words (2048)  7.5
#     96 KiB          12288   110.5
#
# The global buffer's valid mask (one bit per word, ``gb_valid``) and the decoder's
# shifts of it grow as words squared, times the word width; each crossbar adds its
# accumulators and popcount tree, about linear in rows + cols. A weighted least-squares
# fit (relative error) of ``T0 + K_XBAR * crossbars * (rows + cols)
# + K_GB * words^2 * word_bits`` to these measurements is within 19% of every one (RMS
# 10%; exponents of words from 1.8 to 2.75 fit worse). It is low for the largest: 96 KiB
# is estimated 94 s, measured 110 s, so the 128 KiB buffer's 167 s is likely 3-4 min.
#: Fixed cost of elaborating and converting any chip (seconds).
GEN_T0_S = 1.28
#: Seconds per crossbar per row-or-column (accumulators, popcount, code ports).
GEN_K_XBAR_S = 4.0e-3
#: Seconds per global-buffer word squared per word bit (the valid mask and its shifts).
GEN_K_GB_S = 6.16e-7 / 64
#: Above this estimated generation time, say so up front (one line) before generating.
GENERATION_WARN_S = 30.0
#: Above this estimated generation time, refuse co-simulation and ``make verilog``: ten
#: minutes of a silent tool is indistinguishable from a hang (a 128 KiB buffer of 64-bit
#: words is ~3 min, 600 s about 240 KiB, the full ARAS chip's ~4 MiB buffer a day).
GENERATION_LIMIT_S = 600.0


class BuildTooLongError(ValueError):
    """Generating a config's Verilog would take longer than :data:`GENERATION_LIMIT_S`."""


@dataclass(frozen=True)
class BuildEstimate:
    """What building a config for co-simulation costs: estimated seconds of Verilog
    generation (and which term dominates them) and the bits of simulated memory (main
    memory, global buffer, instruction memory) the simulator must hold."""

    generation_s: float
    dominant: str
    sim_memory_bits: int

    def describe(self) -> str:
        """One line: the estimate and what dominates it."""
        return (f"about {self.generation_s:.0f} s of Verilog generation (estimated, mostly "
                f"{self.dominant}), {self.sim_memory_bits // 8 // 1024} KiB of simulated "
                "memory")


def estimate(cfg: Config) -> BuildEstimate:
    """Predict the cost of building ``cfg`` from its sizes, without elaborating it (the
    model and the measurements it is fitted to are above)."""
    terms = {
        "fixed elaboration": GEN_T0_S,
        f"{cfg.n_crossbars} crossbars of {cfg.crossbar.rows}x{cfg.crossbar.cols}":
            GEN_K_XBAR_S * cfg.n_crossbars * (cfg.crossbar.rows + cfg.crossbar.cols),
        f"the global buffer's {cfg.gb_words} words of {cfg.gb_bits} bits "
        "(grows as words squared)": GEN_K_GB_S * cfg.gb_words ** 2 * cfg.gb_bits,
    }
    memory = (cfg.dram_words * cfg.dram_bits + cfg.gb_words * cfg.gb_bits
              + cfg.imem.depth * INSN_BITS)
    return BuildEstimate(generation_s=sum(terms.values()),
                         dominant=max(terms, key=terms.__getitem__),
                         sim_memory_bits=memory)


def require_buildable(cfg: Config) -> BuildEstimate:
    """Raise :class:`BuildTooLongError` (naming the estimate and the limit) if generating
    ``cfg``'s Verilog would take more than :data:`GENERATION_LIMIT_S`."""
    est = estimate(cfg)
    if est.generation_s > GENERATION_LIMIT_S:
        raise BuildTooLongError(
            f"{cfg.source}: {est.describe()}: more than the {GENERATION_LIMIT_S:.0f} s limit "
            f"(hdl/build.py GENERATION_LIMIT_S); shrink global_buffer.bank_bytes or the "
            "crossbars, or use the timing model for full chips")
    return est


def _say_on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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


def generate(cfg: Config, out_dir: Path,
             say: Callable[[str], None] = _say_on_stderr) -> Path:
    """Write ``chip.v`` and ``fsm_states.json`` (state names of every state machine and
    member names of the enum-shaped signals, for wave viewers) for ``cfg`` into
    ``out_dir``; skipped when neither the config nor the generator's sources changed
    since the last time (elaboration takes seconds) and both files still hash to what the
    key file recorded (a cut or edited file is rewritten)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path, states_path, key_path = (out_dir / f"{TOP}.v", out_dir / "fsm_states.json",
                                   out_dir / f"{TOP}.v.key")
    key = source_key(cfg)
    if key_path.exists() and \
            key_path.read_text() == f"{key} {_sha256(path)} {_sha256(states_path)}":
        return path
    est = require_buildable(cfg)
    if est.generation_s > GENERATION_WARN_S:
        say(f"{cfg.source}: please wait: {est.describe()}")
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
    """``python -m hdl.build CONFIG OUTDIR``: refuse a config over the generation limit
    with one line, else generate (saying so first when it will take a while)."""
    ap = cli.ArgumentParser(description=__doc__)
    ap.add_argument("config", help="config name (aras, tiny) or TOML path")
    ap.add_argument("out_dir", type=Path)
    args = ap.parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
        require_buildable(cfg)
    except (ConfigError, BuildTooLongError) as exc:
        sys.exit(f"error: {exc}")
    print(generate(cfg, args.out_dir))


if __name__ == "__main__":
    cli.run_main(main)
