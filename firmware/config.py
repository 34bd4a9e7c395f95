"""One configuration schema for the whole project.

A chip configuration is a tree of frozen dataclasses loaded from TOML. The same object
elaborates the RTL (``hdl/``), parameterizes the analog, golden and timing models
(``model/``) and constrains the scheduler and assembler (``firmware/``). Every field is
validated on load and a bad value raises :class:`ConfigError` naming the file and field.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from firmware import isa
from firmware.textfile import read_utf8

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def _field_width(op: isa.Opcode, name: str) -> int:
    """Bits of instruction field ``name`` of ``op`` (the ISA is the source of truth)."""
    return next(f.width for f in isa.SPECS[op].fields if f.name == name)


# ---- Limits of the numeric fields: where each comes from ----
#: A chip name names build directories (``build/<name>/``): letters, digits, ``_`` and
#: ``-``, starting with a letter or digit, so it can never climb out of ``build/``.
CHIP_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: Longest chip name: directory names get suffixes appended, far below NAME_MAX (255).
CHIP_NAME_MAX = 64
#: TOML integers are signed 64-bit, so a larger value could not be written back.
TOML_INT_MAX = (1 << 63) - 1
#: Crossbar (and INV array) indices travel in 16-bit instruction fields.
MAX_CROSSBARS = 1 << isa.XBAR
#: VMM ``ncols`` (8 bits) names the crossbars of one APU row a VMM drives.
MAX_APU_COLS = (1 << _field_width(isa.Opcode.VMM, "ncols")) - 1
#: VMM ``nrows`` (16 bits) names the APU rows a VMM drives in parallel.
MAX_APU_ROWS = (1 << _field_width(isa.Opcode.VMM, "nrows")) - 1
#: WRITE_START's ``row``/``nrows`` fields (16 bits) address a crossbar's rows; the
#: columns are held to the same bound (a row of deltas is one DMA-sized stream).
MAX_CROSSBAR_DIM = 1 << isa.COUNT
#: Global-buffer addresses are 24-bit instruction fields.
MAX_GB_WORDS = 1 << isa.GB_ADDR
#: Main-memory addresses are 32-bit instruction fields.
MAX_DRAM_WORDS = 1 << isa.DRAM_ADDR
#: BANK_GATE's mask is 32 bits, one per bank.
MAX_BANKS = _field_width(isa.Opcode.BANK_GATE, "mask")
#: The accumulators (RTL and golden model) are 32-bit: ADC code bits above them wrap away.
ACC_BITS = 32
#: VEC/SFU lanes are int32: a global-buffer word holds a whole number of them.
LANE_BITS = 32
#: float64 represents integers exactly up to 2^53: the INV DAC/ADC codes and the
#: refinement VMM's fixed-point slices are rounded in float64 (``np.rint``).
FLOAT64_EXACT_BITS = 53
#: ``firmware.packing`` packs fields through 64-bit integers.
PACK_MAX_BITS = 64
#: Write engines the RTL builds at most (each is a group write in flight and a port).
MAX_WRITE_ENGINES = 8
#: INV levels travel as int16 (``INV_WRITE``'s matrix format).
INV_LEVEL_BITS = 16
#: The co-simulation harness's time resolution is 1 ps (timescale 1ns/1ps): a clock
#: period must be at least that, so the clock is at most 10^6 MHz.
MAX_CLOCK_MHZ = 1_000_000
#: The RTL's performance counters (cycles, busy cycles, pulses) are this wide.
COUNTER_BITS = 64
MAX_COUNTER = (1 << COUNTER_BITS) - 1
#: The longest watchdog: 2^48 cycles (three days of chip time at 1 GHz).
MAX_WATCHDOG = 1 << 48
#: The RTL counts a bit-plane or an INV solve window with a timer that needs >= 2 cycles
#: (``hdl/chip.py``).
MIN_RTL_WINDOW = 2
#: A programming error of 100%: beyond it a one-sigma draw makes a conductance negative,
#: which no device does (``conductance = level * (1 + program_sigma * N(0,1))``).
MAX_PROGRAM_SIGMA = 1.0
#: The harness's instruction memory depth is a Verilog integer parameter (32-bit signed).
MAX_IMEM_DEPTH = (1 << 31) - 1


def grant_cycle(k: int, bytes_per_cycle: Fraction, word_bytes: int,
                lanes: int | None = None) -> int:
    """Cycle (1-based from a burst's start) in which the bandwidth limiter grants word
    ``k`` (1-based): ``ceil(k * word_bytes / bytes_per_cycle)``, so a burst averages
    exactly ``bytes_per_cycle``, also above one word per cycle (then a cycle grants
    several words). A port of ``lanes`` words moves at most that many a cycle:
    ``max(ceil(k / lanes), ...)``; ``None`` is a port as wide as the bandwidth needs
    (:attr:`Config.port_words`), which never binds. The RTL's limiter
    (``hdl/rate_limiter.py``) implements exactly this."""
    at_rate = -(-k * word_bytes * bytes_per_cycle.denominator // bytes_per_cycle.numerator)
    return at_rate if lanes is None else max(-(-k // lanes), at_rate)


def port_words(bytes_per_cycle: Fraction, word_bytes: int) -> int:
    """Words a main-memory port must move per cycle to carry ``bytes_per_cycle``:
    ``ceil(bytes_per_cycle / word_bytes)``."""
    return max(1, -(-bytes_per_cycle.numerator // (bytes_per_cycle.denominator * word_bytes)))


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the file and field."""


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class _Checker:
    """Field checks of one config file: each raises :class:`ConfigError` naming the file,
    the field, the value and the range the models are exact in."""

    def __init__(self, where: str):
        self.where = where

    def need(self, cond: bool, fld: str, what: str) -> None:
        if not cond:
            raise ConfigError(f"{self.where}: field '{fld}': {what}")

    def integer(self, fld: str, value: Any, lo: int, hi: int, why: str) -> None:
        self.need(isinstance(value, int) and not isinstance(value, bool), fld,
                  f"expected an integer in {lo}..{hi} ({why}), got {value!r}")
        self.need(lo <= value <= hi, fld, f"{value} is outside {lo}..{hi} ({why})")

    def number(self, fld: str, value: Any, lo: float, hi: float, why: str,
               lo_open: bool = False) -> None:
        low = f"> {lo}" if lo_open else f">= {lo}"
        span = f"a finite number {low}" + ("" if hi == math.inf else f" and <= {hi}")
        self.need(isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value), fld, f"expected {span} ({why}), got {value!r}")
        self.need((value > lo if lo_open else value >= lo) and value <= hi, fld,
                  f"{value!r} is outside the range: expected {span} ({why})")


@dataclass(frozen=True)
class ChipConfig:
    """Top-level identity and clock.

    ``name``: letters, digits, ``_``, ``-`` (it names ``build/<name>/``), at most
    CHIP_NAME_MAX characters. ``clock_mhz``: 1..MAX_CLOCK_MHZ (a period of at least the
    co-simulation's 1 ps resolution).
    """

    name: str = "unnamed"
    clock_mhz: int = 1000

    def check(self, v: _Checker, cfg: Config) -> None:
        v.need(isinstance(self.name, str) and CHIP_NAME_RE.fullmatch(self.name) is not None
               and len(self.name) <= CHIP_NAME_MAX, "chip.name",
               f"{self.name!r} is not a safe name: it names build directories, so use only "
               f"letters, digits, '_' and '-', starting with a letter or digit, at most "
               f"{CHIP_NAME_MAX} characters")
        v.integer("chip.clock_mhz", self.clock_mhz, 1, MAX_CLOCK_MHZ,
                  "a clock period of at least the co-simulation's 1 ps resolution")


@dataclass(frozen=True)
class PEConfig:
    """Processing elements: a PE holds ``apu_rows x apu_cols`` APUs, one crossbar each.

    All >= 1; ``count * apu_rows * apu_cols`` <= MAX_CROSSBARS (16-bit crossbar index),
    ``count * apu_rows`` <= MAX_APU_ROWS (VMM ``nrows``), ``apu_cols`` <= MAX_APU_COLS
    (VMM ``ncols``). ``buffer_bytes``: the PE buffer of ARAS's Fig. 4(b) (Table II: 1.5
    KB), which holds the activation registers of the PE's APU rows twice over: the set
    the crossbars compute on and the set the next window pass loads into (the VMM's
    passes are pipelined); at least ``2 * apu_rows * crossbar.rows * data.act_bits / 8``.
    """

    count: int = 1
    apu_rows: int = 1
    apu_cols: int = 1
    buffer_bytes: int = 1536

    def check(self, v: _Checker, cfg: Config) -> None:
        for fld, value in (("pe.count", self.count), ("pe.apu_rows", self.apu_rows)):
            v.integer(fld, value, 1, MAX_APU_ROWS, "VMM nrows is a 16-bit field")
        v.integer("pe.apu_cols", self.apu_cols, 1, MAX_APU_COLS,
                  "VMM ncols is an 8-bit field")
        v.need(cfg.n_apu_rows <= MAX_APU_ROWS, "pe.apu_rows",
               f"pe.count * pe.apu_rows = {cfg.n_apu_rows} APU rows is more than the "
               f"{MAX_APU_ROWS} a VMM's 16-bit nrows field reaches")
        v.need(cfg.n_crossbars <= MAX_CROSSBARS, "pe.count",
               f"{cfg.n_crossbars} crossbars is more than the {MAX_CROSSBARS} a 16-bit "
               "crossbar index reaches")


@dataclass(frozen=True)
class CrossbarConfig:
    """Analog crossbar geometry, cells and read-out.

    ``bitplane_cycles`` is the latency the RTL counts for one bit-serial input plane
    (DAC drive, settle, sample and ADC); the analog model must answer within it.

    Ranges: ``rows``, ``cols``: 1..MAX_CROSSBAR_DIM (16-bit row fields of WRITE_START).
    ``cell_bits``: 1..``data.weight_bits``, dividing it (a weight is whole cells).
    ``adc_bits``: 1..ACC_BITS (codes are added into 32-bit accumulators).
    ``adcs_per_apu``: 1..``cols`` (more ADCs than columns share nothing).
    ``bitplane_cycles``: MIN_RTL_WINDOW..TOML_INT_MAX (the RTL's plane timer needs 2).
    """

    rows: int = 128
    cols: int = 128
    cell_bits: int = 2
    adc_bits: int = 6
    adcs_per_apu: int = 16
    bitplane_cycles: int = 12

    def check(self, v: _Checker, cfg: Config) -> None:
        for fld, value in (("crossbar.rows", self.rows), ("crossbar.cols", self.cols)):
            v.integer(fld, value, 1, MAX_CROSSBAR_DIM, "rows are 16-bit instruction fields")
        v.integer("crossbar.cell_bits", self.cell_bits, 1, cfg.data.weight_bits,
                  "a weight is made of whole cells")
        v.need(cfg.data.weight_bits % self.cell_bits == 0, "crossbar.cell_bits",
               f"must divide data.weight_bits ({cfg.data.weight_bits})")
        v.need(self.cols % cfg.slices_per_weight == 0, "crossbar.cols",
               f"must be a multiple of the {cfg.slices_per_weight} cells per weight")
        v.integer("crossbar.adc_bits", self.adc_bits, 1, ACC_BITS,
                  "codes are added into 32-bit accumulators; wider codes wrap away")
        v.integer("crossbar.adcs_per_apu", self.adcs_per_apu, 1, self.cols,
                  "at most one ADC per column")
        v.integer("crossbar.bitplane_cycles", self.bitplane_cycles, MIN_RTL_WINDOW,
                  TOML_INT_MAX, "the RTL's plane timer needs 2")


@dataclass(frozen=True)
class AnalogConfig:
    """Non-idealities of the VMM crossbars; all zero is the ideal, exact device.

    ``program_sigma``: relative device-to-device programming error of each written cell
    (a cell's conductance is ``level * (1 + program_sigma * N(0,1))``, drawn when it is
    programmed). ``read_sigma``: read noise added to each column current per read, in
    units of one level's current. ``adc_lsb_shift``: the ADC full scale is
    ``(2^adc_bits - 1) << adc_lsb_shift`` level currents (the digital side shifts codes
    back). ``seed``: every random draw is seeded from it, per crossbar.

    Ranges: ``program_sigma``: finite, 0..MAX_PROGRAM_SIGMA (beyond, conductances go
    negative). ``read_sigma``: finite, 0..the ADC full scale (noise above it leaves no
    signal). ``adc_lsb_shift``: 0..bit length of the largest column current
    ``rows * (levels - 1)`` (a larger LSB rounds every current to code 0). ``seed``:
    0..TOML_INT_MAX.
    """

    program_sigma: float = 0.0
    read_sigma: float = 0.0
    adc_lsb_shift: int = 0
    seed: int = 0

    def check(self, v: _Checker, cfg: Config) -> None:
        c = cfg.crossbar
        v.number("analog.program_sigma", self.program_sigma, 0.0, MAX_PROGRAM_SIGMA,
                 "beyond 100% a one-sigma draw makes a conductance negative")
        max_current = c.rows * (cfg.cell_levels - 1)
        v.integer("analog.adc_lsb_shift", self.adc_lsb_shift, 0, max_current.bit_length(),
                  f"a larger LSB rounds every column current (at most {max_current}) to 0")
        full_scale = ((1 << c.adc_bits) - 1) << self.adc_lsb_shift
        v.number("analog.read_sigma", self.read_sigma, 0.0, full_scale,
                 f"noise above the ADC full scale ({full_scale} level currents) leaves no "
                 "signal")
        v.integer("analog.seed", self.seed, 0, TOML_INT_MAX, "TOML integers are 64-bit")


@dataclass(frozen=True)
class InvConfig:
    """Analog matrix-inversion arrays (closed-loop crossbars with op-amps, Sun et al. 2019).

    A matrix is stored as a differential pair of conductance arrays with
    ``conductance_bits`` signed levels; ``opamp_gain`` is the open-loop gain A0,
    ``opamp_gbw_mhz`` its gain-bandwidth (sets settling time); inputs pass a
    ``dac_bits`` DAC and outputs an ``adc_bits`` ADC. ``solve_cycles`` is the fixed
    window the digital side gives one solve (DAC, settling, ADC); a matrix that settles
    slower is refused when it is written.

    Ranges: ``count``: 1..MAX_CROSSBARS (16-bit array index). ``size``: >= 1, a vector
    fits the global buffer and the matrix main memory. ``conductance_bits``:
    2..INV_LEVEL_BITS (int16 levels; 1 bit has no nonzero signed level).
    ``opamp_gain``, ``opamp_gbw_mhz``: finite, > 0. ``dac_bits``, ``adc_bits``:
    2..FLOAT64_EXACT_BITS (signed codes rounded in float64). ``solve_cycles``:
    MIN_RTL_WINDOW..TOML_INT_MAX (the RTL's solve timer needs 2).
    """

    count: int = 1
    size: int = 16
    conductance_bits: int = 8
    opamp_gain: float = 1.0e4
    opamp_gbw_mhz: float = 100.0
    dac_bits: int = 8
    adc_bits: int = 8
    solve_cycles: int = 2000

    def check(self, v: _Checker, cfg: Config) -> None:
        v.integer("inv.count", self.count, 1, MAX_CROSSBARS, "the INV index is a 16-bit field")
        v.integer("inv.size", self.size, 1, TOML_INT_MAX, "a matrix dimension")
        v.integer("inv.conductance_bits", self.conductance_bits, 2, INV_LEVEL_BITS,
                  "levels travel as int16; 1 bit has no nonzero signed level")
        v.number("inv.opamp_gain", self.opamp_gain, 0.0, math.inf, "an open-loop gain",
                 lo_open=True)
        v.number("inv.opamp_gbw_mhz", self.opamp_gbw_mhz, 0.0, math.inf,
                 "a gain-bandwidth sets the settling time", lo_open=True)
        for fld, value in (("inv.dac_bits", self.dac_bits), ("inv.adc_bits", self.adc_bits)):
            v.integer(fld, value, 2, FLOAT64_EXACT_BITS,
                      "signed codes are rounded in float64, exact to 53 bits")
        v.integer("inv.solve_cycles", self.solve_cycles, MIN_RTL_WINDOW, TOML_INT_MAX,
                  "the RTL's solve timer needs 2")


@dataclass(frozen=True)
class RefinementConfig:
    """High-precision inversion: the bit-sliced VMM that computes residuals.

    Both 2..FLOAT64_EXACT_BITS: signed fixed point rounded in float64 (``np.rint``).
    """

    vmm_weight_bits: int = 32
    vmm_input_bits: int = 32

    def check(self, v: _Checker, cfg: Config) -> None:
        for fld, value in (("refinement.vmm_weight_bits", self.vmm_weight_bits),
                           ("refinement.vmm_input_bits", self.vmm_input_bits)):
            v.integer(fld, value, 2, FLOAT64_EXACT_BITS,
                      "signed codes are rounded in float64, exact to 53 bits")


@dataclass(frozen=True)
class DataConfig:
    """Integer formats of weights and activations: only INT8 x INT8 into int32 (the RTL's
    datapath is built for exactly these)."""

    weight_bits: int = 8
    act_bits: int = 8
    acc_bits: int = 32

    def check(self, v: _Checker, cfg: Config) -> None:
        for fld, value in (("data.weight_bits", self.weight_bits),
                           ("data.act_bits", self.act_bits)):
            v.integer(fld, value, 8, 8, "only INT8 weights and activations are supported")
        v.integer("data.acc_bits", self.acc_bits, ACC_BITS, ACC_BITS,
                  "only 32-bit accumulators are supported")


@dataclass(frozen=True)
class WriteConfig:
    """Write physics: pulses per level step, pulse time, energy per pulse.

    Ranges: ``pulses_per_level``, ``pulse_cycles``: >= 1, a full crossbar write
    (``full_write_cycles``) countable by the RTL's 64-bit counters.
    ``energy_per_pulse_pj``: finite, >= 0.
    ``delta_bits``: ``cell_bits + 1``..PACK_MAX_BITS (a signed delta of any level step);
    a crossbar row's deltas are one bit stream from a word boundary
    (:mod:`firmware.packing`), so the width need not divide the main-memory word.
    ``engines``: 1..MAX_WRITE_ENGINES write engines, each writing one lockstep group at a
    time with its own share of the main-memory bandwidth (``bandwidth_gbps / engines``:
    a stated assumption, a fixed split that keeps the engines independent), so
    ``engines`` groups can be written at once.
    """

    pulses_per_level: int = 1
    pulse_cycles: int = 1000
    energy_per_pulse_pj: float = 1.0
    delta_bits: int = 4
    engines: int = 1

    def check(self, v: _Checker, cfg: Config) -> None:
        v.integer("write.pulses_per_level", self.pulses_per_level, 1, TOML_INT_MAX,
                  "TOML integers are 64-bit")
        v.integer("write.pulse_cycles", self.pulse_cycles, 1, TOML_INT_MAX,
                  "TOML integers are 64-bit")
        v.need(cfg.full_write_cycles <= MAX_COUNTER, "write.pulse_cycles",
               f"a full crossbar write of {cfg.full_write_cycles} cycles overflows the "
               f"RTL's {COUNTER_BITS}-bit cycle counters")
        v.number("write.energy_per_pulse_pj", self.energy_per_pulse_pj, 0.0, math.inf,
                 "an energy")
        # A delta spans -(levels-1)..(levels-1) and must fit its signed field.
        cell_bits = cfg.crossbar.cell_bits
        v.integer("write.delta_bits", self.delta_bits, cell_bits + 1, PACK_MAX_BITS,
                  f"a signed level step of {cell_bits}-bit cells, packed through 64-bit "
                  "integers")
        v.integer("write.engines", self.engines, 1, MAX_WRITE_ENGINES,
                  "the RTL builds one write engine each")


@dataclass(frozen=True)
class EnergyConfig:
    """Energy per event for :mod:`model.energy` (placeholders of typical magnitude, not
    data from the papers, which give none): an ADC conversion (crossbar read-out, INV
    DAC and ADC), a global-buffer byte moved, a 32-bit digital operation (SFU element,
    VEC lane, shift-and-add), an op-amp of an INV array powered for a solve window, the
    chip's static power while it runs (global buffer apart), and the global buffer's
    static power per KB of a powered bank (bank gating saves it). Write pulses are
    ``write.energy_per_pulse_pj``. Every field: finite, >= 0.
    """

    adc_conversion_pj: float = 2.0
    gb_byte_pj: float = 0.5
    digital_op_pj: float = 0.1
    inv_opamp_mw: float = 0.5
    static_mw: float = 1000.0
    gb_mw_per_kb: float = 0.05

    def check(self, v: _Checker, cfg: Config) -> None:
        for fld in dataclasses.fields(self):
            v.number(f"energy.{fld.name}", getattr(self, fld.name), 0.0, math.inf,
                     "an energy or power")


@dataclass(frozen=True)
class GlobalBufferConfig:
    """Global buffer: heterogeneous banks of ``bank_bytes`` each, ``word_bytes`` wide.

    Ranges: ``word_bytes``: a power of two >= LANE_BITS / 8 (whole int32 lanes).
    ``bank_bytes``: 1..MAX_BANKS banks (BANK_GATE mask), each a positive multiple of
    ``word_bytes``, at most MAX_GB_WORDS words in all (24-bit GB addresses).
    """

    word_bytes: int = 8
    bank_bytes: tuple[int, ...] = (2048, 2048)

    def check(self, v: _Checker, cfg: Config) -> None:
        v.integer("global_buffer.word_bytes", self.word_bytes, LANE_BITS // 8, TOML_INT_MAX,
                  "whole int32 lanes")
        v.need(_is_pow2(self.word_bytes), "global_buffer.word_bytes",
               f"expected a power of two, got {self.word_bytes}")
        banks = self.bank_bytes
        v.need(isinstance(banks, tuple) and 0 < len(banks) <= MAX_BANKS,
               "global_buffer.bank_bytes",
               f"expected a list of 1..{MAX_BANKS} bank sizes in bytes (the BANK_GATE mask "
               f"is {MAX_BANKS} bits), got "
               f"{len(banks) if isinstance(banks, tuple) else banks!r}")
        for i, b in enumerate(banks):
            v.need(isinstance(b, int) and not isinstance(b, bool) and b > 0
                   and b % self.word_bytes == 0, f"global_buffer.bank_bytes[{i}]",
                   f"expected a positive multiple of word_bytes ({self.word_bytes}), "
                   f"got {b!r}")
        v.need(cfg.gb_words <= MAX_GB_WORDS, "global_buffer.bank_bytes",
               f"{cfg.gb_words} words is more than the {MAX_GB_WORDS} a 24-bit "
               "global-buffer address reaches")


@dataclass(frozen=True)
class MainMemoryConfig:
    """Off-chip main memory (LPDDR4 in the default chip).

    Ranges: ``word_bytes``: that of the global buffer. ``size_bytes``: a positive multiple
    of it, at most MAX_DRAM_WORDS words (32-bit addresses). ``bandwidth_gbps``: finite,
    > 0.
    """

    word_bytes: int = 8
    size_bytes: int = 1 << 20
    bandwidth_gbps: float = 19.2

    def check(self, v: _Checker, cfg: Config) -> None:
        v.integer("main_memory.word_bytes", self.word_bytes, LANE_BITS // 8, TOML_INT_MAX,
                  "whole int32 lanes")
        v.need(_is_pow2(self.word_bytes), "main_memory.word_bytes",
               f"expected a power of two, got {self.word_bytes}")
        v.need(self.word_bytes == cfg.global_buffer.word_bytes, "main_memory.word_bytes",
               "must equal global_buffer.word_bytes (the DMA moves words)")
        v.integer("main_memory.size_bytes", self.size_bytes, self.word_bytes,
                  MAX_DRAM_WORDS * self.word_bytes, "main-memory addresses are 32 bits")
        v.need(self.size_bytes % self.word_bytes == 0, "main_memory.size_bytes",
               "must be a multiple of main_memory.word_bytes")
        v.number("main_memory.bandwidth_gbps", self.bandwidth_gbps, 0.0, math.inf,
                 "a bandwidth", lo_open=True)


@dataclass(frozen=True)
class InstructionMemoryConfig:
    """On-chip instruction memory, one instruction per word: ``depth`` 1..MAX_IMEM_DEPTH
    (a 32-bit Verilog parameter of the harness)."""

    depth: int = 1024

    def check(self, v: _Checker, cfg: Config) -> None:
        v.integer("imem.depth", self.depth, 1, MAX_IMEM_DEPTH,
                  "the harness's depth is a 32-bit Verilog parameter")


@dataclass(frozen=True)
class SimConfig:
    """Co-simulation limits: ``watchdog_cycles`` 1..MAX_WATCHDOG (2^48: three days of chip
    time at 1 GHz, years of co-simulation; the 64-bit pulse counter cannot wrap in it)."""

    watchdog_cycles: int = 1_000_000

    def check(self, v: _Checker, cfg: Config) -> None:
        v.integer("sim.watchdog_cycles", self.watchdog_cycles, 1, MAX_WATCHDOG,
                  "three days of chip time at 1 GHz; the RTL's counters never wrap in it")


#: The systolic dataflows the TPU-like baseline models: weight- and output-stationary.
TPU_DATAFLOWS = ("ws", "os")


@dataclass(frozen=True)
class TpuConfig:
    """The TPU-like accelerator ARAS compares with (section VI, Table I), for
    :mod:`model.tpu`: a ``rows x cols`` systolic array of INT8 MACs at ``clock_mhz``
    running ``dataflow`` (``ws`` or ``os``), an activation and a weight buffer of
    ``activation_kb`` and ``weight_kb`` (Table I gives only their sum, 4.5 MB; the even
    split is a stated assumption), main memory at ``bandwidth_gbps``. Energy
    placeholders of typical magnitude (the paper gives none): a MAC, an on-chip buffer
    byte, a main-memory byte (priced for both chips when they are compared) and static
    power. Ranges: sizes >= 1; rates and prices finite, rates > 0, prices >= 0.
    """

    rows: int = 64
    cols: int = 64
    clock_mhz: int = 1000
    dataflow: str = "ws"
    activation_kb: int = 2304
    weight_kb: int = 2304
    bandwidth_gbps: float = 19.2
    mac_pj: float = 0.2
    buffer_byte_pj: float = 0.5
    main_memory_byte_pj: float = 40.0
    static_mw: float = 1000.0

    def check(self, v: _Checker, cfg: Config) -> None:
        for name in ("rows", "cols", "clock_mhz", "activation_kb", "weight_kb"):
            v.integer(f"tpu.{name}", getattr(self, name), 1, TOML_INT_MAX, "a size")
        v.need(self.dataflow in TPU_DATAFLOWS, "tpu.dataflow",
               f"expected one of {', '.join(TPU_DATAFLOWS)}, got {self.dataflow!r}")
        v.number("tpu.bandwidth_gbps", self.bandwidth_gbps, 0.0, math.inf, "a bandwidth",
                 lo_open=True)
        for name in ("mac_pj", "buffer_byte_pj", "main_memory_byte_pj", "static_mw"):
            v.number(f"tpu.{name}", getattr(self, name), 0.0, math.inf,
                     "an energy or power")


@dataclass(frozen=True)
class Config:
    """A whole chip configuration; see ``configs/*.toml``."""

    chip: ChipConfig = field(default_factory=ChipConfig)
    pe: PEConfig = field(default_factory=PEConfig)
    crossbar: CrossbarConfig = field(default_factory=CrossbarConfig)
    analog: AnalogConfig = field(default_factory=AnalogConfig)
    inv: InvConfig = field(default_factory=InvConfig)
    refinement: RefinementConfig = field(default_factory=RefinementConfig)
    data: DataConfig = field(default_factory=DataConfig)
    write: WriteConfig = field(default_factory=WriteConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    global_buffer: GlobalBufferConfig = field(default_factory=GlobalBufferConfig)
    main_memory: MainMemoryConfig = field(default_factory=MainMemoryConfig)
    imem: InstructionMemoryConfig = field(default_factory=InstructionMemoryConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    tpu: TpuConfig = field(default_factory=TpuConfig)
    source: str = "<defaults>"

    # ---- derived quantities (one definition, used by RTL, models and firmware) ----

    @property
    def n_crossbars(self) -> int:
        """Crossbars on the chip: one per APU."""
        return self.pe.count * self.pe.apu_rows * self.pe.apu_cols

    @property
    def n_apu_rows(self) -> int:
        """APU rows on the chip: the most row blocks one VMM can drive in parallel."""
        return self.pe.count * self.pe.apu_rows

    @property
    def apu_cols(self) -> int:
        """Crossbars in one APU row: they share the row's activation shift registers."""
        return self.pe.apu_cols

    @property
    def cell_levels(self) -> int:
        return 1 << self.crossbar.cell_bits

    @property
    def code_field_bits(self) -> int:
        """Width of one ADC code on the analog read port: ``adc_bits`` rounded up to whole
        bytes (zero-extended), so the co-simulation moves the codes as plain bytes."""
        return -(-self.crossbar.adc_bits // 8) * 8

    @property
    def slices_per_weight(self) -> int:
        """Cells that hold one weight (bit slices, least significant first)."""
        return self.data.weight_bits // self.crossbar.cell_bits

    @property
    def weights_per_row(self) -> int:
        """Weight columns of one crossbar (each made of ``slices_per_weight`` cells)."""
        return self.crossbar.cols // self.slices_per_weight

    @property
    def weight_offset(self) -> int:
        """Offset added to a signed weight to store it in unsigned cells (offset binary)."""
        return 1 << (self.data.weight_bits - 1)

    @property
    def gb_bits(self) -> int:
        return self.global_buffer.word_bytes * 8

    @property
    def gb_words(self) -> int:
        return sum(self.global_buffer.bank_bytes) // self.global_buffer.word_bytes

    @property
    def bank_bounds(self) -> list[tuple[int, int]]:
        """``(first word, end word)`` of each global-buffer bank, in config order."""
        out, start = [], 0
        for size in self.global_buffer.bank_bytes:
            words = size // self.global_buffer.word_bytes
            out.append((start, start + words))
            start += words
        return out

    @property
    def dram_bits(self) -> int:
        return self.main_memory.word_bytes * 8

    @property
    def dram_words(self) -> int:
        return self.main_memory.size_bytes // self.main_memory.word_bytes

    @property
    def input_words(self) -> int:
        """Global-buffer words holding one crossbar's input vector (``rows`` activations)."""
        return math.ceil(self.crossbar.rows * self.data.act_bits / self.gb_bits)

    @property
    def output_words(self) -> int:
        """Global-buffer words holding one VMM's outputs (``weights_per_row`` accumulators)."""
        return math.ceil(self.weights_per_row * self.data.acc_bits / self.gb_bits)

    @property
    def inv_vector_words(self) -> int:
        """Global-buffer words holding an INV right-hand side or solution (``inv.size``
        int32)."""
        return math.ceil(self.inv.size * 32 / self.gb_bits)

    @property
    def inv_matrix_words(self) -> int:
        """Main-memory words holding an INV array's matrix (``inv.size`` squared int16)."""
        return math.ceil(self.inv.size ** 2 * 16 / self.dram_bits)

    @property
    def inv_level_max(self) -> int:
        """The largest INV conductance level magnitude, ``2^(conductance_bits-1) - 1``:
        the differential pair holds signed levels, one sign bit."""
        return (1 << (self.inv.conductance_bits - 1)) - 1

    @property
    def delta_values(self) -> list[int]:
        """Every value a cell-delta field holds, in the order of their encodings
        (``0, 1, .., 2^(b-1) - 1, -2^(b-1), .., -1``): all of them are legal."""
        span = 1 << self.write.delta_bits
        return [v - span if v >= span // 2 else v for v in range(span)]

    @property
    def delta_row_words(self) -> int:
        """Main-memory words holding the cell deltas of one crossbar row."""
        return math.ceil(self.crossbar.cols * self.write.delta_bits / self.dram_bits)

    @property
    def port_words(self) -> int:
        """Words the main-memory port moves per cycle at most, ``ceil(bytes_per_cycle /
        word_bytes)``: a stated assumption (not from the paper), the port and the paths
        behind it (the DMA's global-buffer lanes) are as wide as the configured bandwidth
        needs, so the bandwidth, not the port, limits a transfer."""
        return port_words(self.dram_bytes_per_cycle, self.main_memory.word_bytes)

    @property
    def write_bytes_per_cycle(self) -> Fraction:
        """Each write engine's share of the main-memory bandwidth, bytes per cycle."""
        return self.dram_bytes_per_cycle / self.write.engines

    @property
    def write_fetch_words(self) -> int:
        """Words a write engine fetches per cycle at most: its port's width (as wide as
        its share of the bandwidth needs), but never more than one crossbar row's deltas
        (``delta_row_words``), since it hands one crossbar's row to its writing register
        per cycle (a stated assumption)."""
        return min(port_words(self.write_bytes_per_cycle, self.main_memory.word_bytes),
                   self.delta_row_words)

    @property
    def dram_bytes_per_cycle(self) -> Fraction:
        """Main-memory bandwidth in bytes per clock cycle, exactly (GB/s * 1000 / MHz)."""
        return Fraction(str(self.main_memory.bandwidth_gbps)) * 1000 / self.chip.clock_mhz

    @property
    def full_write_cycles(self) -> int:
        """Cycles to write a whole crossbar from all-0 to all-max (the ARAS upper figure)."""
        max_step = (self.cell_levels - 1) * self.write.pulses_per_level
        return self.crossbar.rows * 2 * max_step * self.write.pulse_cycles

    #: The order the sections are checked in: a field's own range before any relation
    #: that reads it (the crossbar's limits read ``data``, the analog ones the crossbar).
    CHECK_ORDER = ("chip", "sim", "data", "pe", "crossbar", "analog", "inv", "refinement",
                   "write", "energy", "global_buffer", "main_memory", "imem", "tpu")

    def validate(self) -> None:
        """Check every field (each section checks its own) and the relations between
        sections; raise :class:`ConfigError` naming the file, the field, the value and
        the range the models are exact in."""
        v = _Checker(self.source)
        for name in self.CHECK_ORDER:
            getattr(self, name).check(v, self)
        self._check_relations(v)

    def _check_relations(self, v: _Checker) -> None:
        """What the datapath needs of several sections at once."""
        c, w, inv = self.crossbar, self.write, self.inv
        v.need(c.rows * self.data.act_bits % self.gb_bits == 0, "crossbar.rows",
               f"an input vector ({c.rows} x {self.data.act_bits} bits) must fill "
               f"whole {self.gb_bits}-bit global-buffer words")
        need = 2 * self.pe.apu_rows * c.rows * self.data.act_bits // 8
        v.need(self.pe.buffer_bytes >= need, "pe.buffer_bytes",
               f"{self.pe.buffer_bytes} bytes cannot hold the two activation sets of a PE's "
               f"pipelined window passes: 2 x {self.pe.apu_rows} APU rows x {c.rows} inputs "
               f"x {self.data.act_bits} bits = {need} bytes")
        v.need(self.weights_per_row * self.data.acc_bits % self.gb_bits == 0,
               "crossbar.cols", "the outputs of one VMM must fill whole global-buffer words")
        # The RTL programs an INV row from whole main-memory words of int16 levels.
        v.need(inv.size * INV_LEVEL_BITS % self.dram_bits == 0, "inv.size",
               f"a row of int16 levels ({inv.size * 2} bytes) must be a whole number of "
               f"main-memory words ({self.main_memory.word_bytes} bytes)")
        v.need(self.inv_vector_words <= self.gb_words, "inv.size",
               f"a vector of {inv.size} int32 ({self.inv_vector_words} words) must fit the "
               f"{self.gb_words}-word global buffer")
        v.need(self.inv_matrix_words <= self.dram_words, "inv.size",
               f"a matrix of {inv.size}^2 int16 ({self.inv_matrix_words} words) must fit "
               f"the {self.dram_words}-word main memory")
        # INV_WRITE streams the matrix through the DMA's count-wide word counters.
        v.need(self.inv_matrix_words < 1 << isa.COUNT, "inv.size",
               f"a matrix of {self.inv_matrix_words} words is more than the RTL's "
               f"{isa.COUNT}-bit transfer counters move")
        # A row's phases last as long as its slowest cell's pulses, one row at a time: a
        # cycle of writing pulses at most every cell of every crossbar once per
        # pulse_cycles. Over a run the watchdog allows, the pulse counter must not wrap.
        cells = self.n_crossbars * c.cols
        worst = self.sim.watchdog_cycles * -(-cells // w.pulse_cycles)
        v.need(worst <= MAX_COUNTER, "sim.watchdog_cycles",
               f"{cells} cells pulsing every {w.pulse_cycles} cycles could pass the "
               f"{COUNTER_BITS}-bit pulse counter within {self.sim.watchdog_cycles} cycles")


_SECTIONS: dict[str, type] = {
    "chip": ChipConfig, "pe": PEConfig, "crossbar": CrossbarConfig, "analog": AnalogConfig,
    "inv": InvConfig, "refinement": RefinementConfig, "data": DataConfig,
    "write": WriteConfig, "energy": EnergyConfig, "global_buffer": GlobalBufferConfig,
    "main_memory": MainMemoryConfig, "imem": InstructionMemoryConfig, "sim": SimConfig,
    "tpu": TpuConfig,
}


#: The top-level key of a config file that names the config it inherits from.
BASE_KEY = "base"


def _check_tables(raw: dict[str, Any], source: str) -> None:
    """Refuse unknown sections and fields and non-table sections of one file's table."""
    for key, table in raw.items():
        if key == BASE_KEY:
            continue
        if key not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{key}]; expected one of "
                              f"{', '.join(sorted(_SECTIONS))} (or a top-level "
                              f"{BASE_KEY} = \"name\")")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{key}' must be a table ([{key}])")
        known = {f.name for f in dataclasses.fields(_SECTIONS[key])}
        for fname in table:
            if fname not in known:
                raise ConfigError(f"{source}: unknown field '{key}.{fname}'; expected one of "
                                  f"{', '.join(sorted(known))}")


def _base_path(base: Any, source: str) -> Path:
    """The file a ``base = ...`` names: a shipped config name (``tiny``), or a path (with a
    suffix or a directory) relative to the file that names it."""
    if not isinstance(base, str) or base == "":
        raise ConfigError(f"{source}: '{BASE_KEY}' must be a config name or path string, "
                          f"got {base!r}")
    if Path(base).suffix or "/" in base:
        parent = Path(source).parent if Path(source).is_file() else Path.cwd()
        path = parent / base
    else:
        path = CONFIG_DIR / f"{base}.toml"
    if not path.is_file():
        raise ConfigError(f"{source}: base '{base}': no such config file ({path}; shipped "
                          f"configs: {_shipped()})")
    return path


def _merged(raw: dict[str, Any], source: str, chain: tuple[Path, ...]) -> dict[str, Any]:
    """``raw`` with its ``base`` chain folded in: every section and field of the base,
    overridden section by section, field by field, by ``raw``'s own."""
    _check_tables(raw, source)
    if BASE_KEY not in raw:
        return raw
    path = _base_path(raw[BASE_KEY], source).resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ConfigError(f"{source}: base chain is a cycle: {cycle}")
    base = _merged(_read_toml(path), str(path), (*chain, path))
    out = {k: dict(v) for k, v in base.items()}
    for key, table in raw.items():
        if key != BASE_KEY:
            out.setdefault(key, {}).update(table)
    return out


def from_dict(raw: dict[str, Any], source: str = "<dict>") -> Config:
    """Build and validate a :class:`Config` from a parsed TOML table.

    The table sets every field of every section, or names a ``base`` it inherits from
    (resolved relative to ``source`` when that is a file): a config says what it means,
    and a missing field is an error naming it rather than a silent default."""
    own = Path(source).resolve()
    merged = _merged(raw, source, (own,) if own.is_file() else ())
    sections: dict[str, Any] = {}
    for key, cls in _SECTIONS.items():
        names = [f.name for f in dataclasses.fields(cls)]
        if key not in merged:
            raise ConfigError(f"{source}: missing section [{key}] (fields "
                              f"{', '.join(f'{key}.{n}' for n in names)}); a config sets "
                              f"every field or names a base, e.g. {BASE_KEY} = \"tiny\"")
        table = merged[key]
        for fname in names:
            if fname not in table:
                raise ConfigError(f"{source}: missing field '{key}.{fname}'; a config sets "
                                  f"every field or names a base, e.g. {BASE_KEY} = \"tiny\"")
        sections[key] = cls(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in table.items()})
    cfg = Config(**sections, source=source)
    cfg.validate()
    return cfg


def _shipped() -> str:
    return ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; a file that is not UTF-8 or not TOML is one ConfigError line."""
    text = read_utf8(path, "config", ConfigError)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load(name_or_path: str | Path) -> Config:
    """Load a config by shipped name (``aras``, ``tiny``) or by path to a TOML file."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ConfigError(f"{name_or_path}: no such config file (shipped configs: "
                          f"{_shipped()})")
    return from_dict(_read_toml(path), source=str(path))


def to_toml(cfg: Config) -> str:
    """TOML text that :func:`load` reads back into an equal config (``source`` aside)."""
    lines = []
    for sec in dataclasses.fields(cfg):
        if sec.name == "source":
            continue
        lines.append(f"[{sec.name}]")
        for f in dataclasses.fields(getattr(cfg, sec.name)):
            v = getattr(getattr(cfg, sec.name), f.name)
            if isinstance(v, str):
                text = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            elif isinstance(v, tuple):
                text = "[" + ", ".join(str(x) for x in v) + "]"
            else:
                text = repr(v)
            lines.append(f"{f.name} = {text}")
        lines.append("")
    return "\n".join(lines)
