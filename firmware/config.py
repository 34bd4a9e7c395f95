"""One configuration schema for the whole project.

A chip configuration is a tree of frozen dataclasses loaded from TOML. The same object
elaborates the RTL (``hdl/``), parameterizes the analog, golden and timing models
(``model/``) and constrains the scheduler and assembler (``firmware/``). Every field is
validated on load and a bad value raises :class:`ConfigError` naming the file and field.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def grant_cycle(k: int, bytes_per_cycle: Fraction, word_bytes: int) -> int:
    """Cycle (1-based from a burst's start) in which the bandwidth limiter grants word
    ``k`` (1-based): at most one word per cycle, and never more than ``bytes_per_cycle``
    on average. The RTL's limiter (``hdl/rate_limiter.py``) implements exactly this."""
    return max(k, -(-k * word_bytes * bytes_per_cycle.denominator
                    // bytes_per_cycle.numerator))


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the file and field."""


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class ChipConfig:
    """Top-level identity and clock."""

    name: str = "unnamed"
    clock_mhz: int = 1000


@dataclass(frozen=True)
class PEConfig:
    """Processing elements: a PE holds ``apu_rows x apu_cols`` APUs, one crossbar each."""

    count: int = 1
    apu_rows: int = 1
    apu_cols: int = 1


@dataclass(frozen=True)
class CrossbarConfig:
    """Analog crossbar geometry, cells and read-out.

    ``bitplane_cycles`` is the latency the RTL counts for one bit-serial input plane
    (DAC drive, settle, sample and ADC); the analog model must answer within it.
    """

    rows: int = 128
    cols: int = 128
    cell_bits: int = 2
    adc_bits: int = 6
    adcs_per_apu: int = 16
    bitplane_cycles: int = 12


@dataclass(frozen=True)
class AnalogConfig:
    """Non-idealities of the VMM crossbars; all zero is the ideal, exact device.

    ``program_sigma``: relative device-to-device programming error of each written cell
    (a cell's conductance is ``level * (1 + program_sigma * N(0,1))``, drawn when it is
    programmed). ``read_sigma``: read noise added to each column current per read, in
    units of one level's current. ``adc_lsb_shift``: the ADC full scale is
    ``(2^adc_bits - 1) << adc_lsb_shift`` level currents (the digital side shifts codes
    back). ``seed``: every random draw is seeded from it, per crossbar.
    """

    program_sigma: float = 0.0
    read_sigma: float = 0.0
    adc_lsb_shift: int = 0
    seed: int = 0


@dataclass(frozen=True)
class InvConfig:
    """Analog matrix-inversion arrays (closed-loop crossbars with op-amps, Sun et al. 2019).

    A matrix is stored as a differential pair of conductance arrays with
    ``conductance_bits`` signed levels; ``opamp_gain`` is the open-loop gain A0,
    ``opamp_gbw_mhz`` its gain-bandwidth (sets settling time); inputs pass a
    ``dac_bits`` DAC and outputs an ``adc_bits`` ADC. ``solve_cycles`` is the fixed
    window the digital side gives one solve (DAC, settling, ADC); a matrix that settles
    slower is refused when it is written.
    """

    count: int = 1
    size: int = 16
    conductance_bits: int = 8
    opamp_gain: float = 1.0e4
    opamp_gbw_mhz: float = 100.0
    dac_bits: int = 8
    adc_bits: int = 8
    solve_cycles: int = 2000


@dataclass(frozen=True)
class RefinementConfig:
    """High-precision inversion: the bit-sliced VMM that computes residuals."""

    vmm_weight_bits: int = 32
    vmm_input_bits: int = 32


@dataclass(frozen=True)
class DataConfig:
    """Integer formats of weights and activations."""

    weight_bits: int = 8
    act_bits: int = 8
    acc_bits: int = 32


@dataclass(frozen=True)
class WriteConfig:
    """Write physics: pulses per level step, pulse time, energy per pulse."""

    pulses_per_level: int = 1
    pulse_cycles: int = 1000
    energy_per_pulse_pj: float = 1.0
    delta_bits: int = 4


@dataclass(frozen=True)
class EnergyConfig:
    """Energy per event for :mod:`model.energy` (placeholders of typical magnitude, not
    data from the papers, which give none): an ADC conversion (crossbar read-out, INV
    DAC and ADC), a global-buffer byte moved, a 32-bit digital operation (SFU element,
    VEC lane, shift-and-add), an op-amp of an INV array powered for a solve window, the
    chip's static power while it runs (global buffer apart), and the global buffer's
    static power per KB of a powered bank (bank gating saves it). Write pulses are
    ``write.energy_per_pulse_pj``.
    """

    adc_conversion_pj: float = 2.0
    gb_byte_pj: float = 0.5
    digital_op_pj: float = 0.1
    inv_opamp_mw: float = 0.5
    static_mw: float = 1000.0
    gb_mw_per_kb: float = 0.05


@dataclass(frozen=True)
class GlobalBufferConfig:
    """Global buffer: heterogeneous banks of ``bank_bytes`` each, ``word_bytes`` wide."""

    word_bytes: int = 8
    bank_bytes: tuple[int, ...] = (2048, 2048)


@dataclass(frozen=True)
class MainMemoryConfig:
    """Off-chip main memory (LPDDR4 in the default chip)."""

    word_bytes: int = 8
    size_bytes: int = 1 << 20
    bandwidth_gbps: float = 19.2


@dataclass(frozen=True)
class InstructionMemoryConfig:
    """On-chip instruction memory, one instruction per word."""

    depth: int = 1024


@dataclass(frozen=True)
class SimConfig:
    """Co-simulation limits."""

    watchdog_cycles: int = 1_000_000


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
    def delta_row_words(self) -> int:
        """Main-memory words holding the cell deltas of one crossbar row."""
        return math.ceil(self.crossbar.cols * self.write.delta_bits / self.dram_bits)

    @property
    def dram_bytes_per_cycle(self) -> Fraction:
        """Main-memory bandwidth in bytes per clock cycle, exactly (GB/s * 1000 / MHz)."""
        return Fraction(str(self.main_memory.bandwidth_gbps)) * 1000 / self.chip.clock_mhz

    @property
    def full_write_cycles(self) -> int:
        """Cycles to write a whole crossbar from all-0 to all-max (the ARAS upper figure)."""
        max_step = (self.cell_levels - 1) * self.write.pulses_per_level
        return self.crossbar.rows * 2 * max_step * self.write.pulse_cycles

    def validate(self) -> None:
        """Check every field and the relations between them; raise :class:`ConfigError`."""
        where = self.source

        def need(cond: bool, fld: str, what: str) -> None:
            if not cond:
                raise ConfigError(f"{where}: field '{fld}': {what}")

        positive_ints = {
            "chip.clock_mhz": self.chip.clock_mhz,
            "pe.count": self.pe.count,
            "pe.apu_rows": self.pe.apu_rows,
            "pe.apu_cols": self.pe.apu_cols,
            "crossbar.rows": self.crossbar.rows,
            "crossbar.cols": self.crossbar.cols,
            "crossbar.cell_bits": self.crossbar.cell_bits,
            "crossbar.adc_bits": self.crossbar.adc_bits,
            "crossbar.adcs_per_apu": self.crossbar.adcs_per_apu,
            "crossbar.bitplane_cycles": self.crossbar.bitplane_cycles,
            "data.weight_bits": self.data.weight_bits,
            "data.act_bits": self.data.act_bits,
            "data.acc_bits": self.data.acc_bits,
            "write.pulses_per_level": self.write.pulses_per_level,
            "write.pulse_cycles": self.write.pulse_cycles,
            "write.delta_bits": self.write.delta_bits,
            "global_buffer.word_bytes": self.global_buffer.word_bytes,
            "main_memory.word_bytes": self.main_memory.word_bytes,
            "main_memory.size_bytes": self.main_memory.size_bytes,
            "imem.depth": self.imem.depth,
            "sim.watchdog_cycles": self.sim.watchdog_cycles,
            "inv.count": self.inv.count,
            "inv.size": self.inv.size,
            "inv.conductance_bits": self.inv.conductance_bits,
            "inv.dac_bits": self.inv.dac_bits,
            "inv.adc_bits": self.inv.adc_bits,
            "inv.solve_cycles": self.inv.solve_cycles,
            "refinement.vmm_weight_bits": self.refinement.vmm_weight_bits,
            "refinement.vmm_input_bits": self.refinement.vmm_input_bits,
        }
        for name, value in positive_ints.items():
            need(isinstance(value, int) and not isinstance(value, bool) and value > 0,
                 name, f"expected a positive integer, got {value!r}")
        need(isinstance(self.chip.name, str) and self.chip.name != "", "chip.name",
             "expected a non-empty string")
        need(self.data.weight_bits % self.crossbar.cell_bits == 0, "crossbar.cell_bits",
             f"must divide data.weight_bits ({self.data.weight_bits})")
        need(self.crossbar.cols % self.slices_per_weight == 0, "crossbar.cols",
             f"must be a multiple of the {self.slices_per_weight} cells per weight")
        need(self.data.act_bits == 8 and self.data.weight_bits == 8, "data",
             "only INT8 weights and activations are supported (act_bits = weight_bits = 8)")
        need(self.data.acc_bits == 32, "data.acc_bits", "only 32-bit accumulators are supported")
        # A delta spans -(levels-1)..(levels-1) and must fit its signed field.
        need(self.write.delta_bits >= self.crossbar.cell_bits + 1, "write.delta_bits",
             f"must be at least crossbar.cell_bits + 1 = {self.crossbar.cell_bits + 1}")
        for name, value in (("analog.program_sigma", self.analog.program_sigma),
                            ("analog.read_sigma", self.analog.read_sigma),
                            ("inv.opamp_gain", self.inv.opamp_gain),
                            ("inv.opamp_gbw_mhz", self.inv.opamp_gbw_mhz)):
            need(isinstance(value, (int, float)) and not isinstance(value, bool)
                 and value >= 0, name, f"expected a non-negative number, got {value!r}")
        need(self.inv.opamp_gain > 0 and self.inv.opamp_gbw_mhz > 0, "inv",
             "opamp_gain and opamp_gbw_mhz must be positive")
        for name, value in (("analog.adc_lsb_shift", self.analog.adc_lsb_shift),
                            ("analog.seed", self.analog.seed)):
            need(isinstance(value, int) and not isinstance(value, bool) and value >= 0, name,
                 f"expected a non-negative integer, got {value!r}")
        need(2 <= self.inv.conductance_bits <= 16, "inv.conductance_bits",
             "expected 2..16 (levels travel as int16)")
        # The RTL programs an INV row from whole main-memory words of int16 levels.
        need(self.inv.size * 16 % (8 * self.main_memory.word_bytes) == 0, "inv.size",
             f"a row of int16 levels ({self.inv.size * 2} bytes) must be a whole number of "
             f"main-memory words ({self.main_memory.word_bytes} bytes)")
        need(self.write.energy_per_pulse_pj >= 0, "write.energy_per_pulse_pj",
             "expected a non-negative number")
        for fld in dataclasses.fields(EnergyConfig):
            value = getattr(self.energy, fld.name)
            need(isinstance(value, (int, float)) and not isinstance(value, bool)
                 and value >= 0, f"energy.{fld.name}",
                 f"expected a non-negative number, got {value!r}")
        for name, value in (("global_buffer.word_bytes", self.global_buffer.word_bytes),
                            ("main_memory.word_bytes", self.main_memory.word_bytes)):
            need(_is_pow2(value), name, f"expected a power of two, got {value}")
        banks = self.global_buffer.bank_bytes
        need(isinstance(banks, tuple) and len(banks) > 0, "global_buffer.bank_bytes",
             "expected a non-empty list of bank sizes in bytes")
        for i, b in enumerate(banks):
            need(isinstance(b, int) and b > 0 and b % self.global_buffer.word_bytes == 0,
                 f"global_buffer.bank_bytes[{i}]",
                 f"expected a positive multiple of word_bytes ({self.global_buffer.word_bytes}),"
                 f" got {b!r}")
        need(len(banks) <= 32, "global_buffer.bank_bytes",
             f"at most 32 banks (the BANK_GATE mask is 32 bits), got {len(banks)}")
        need(self.main_memory.size_bytes % self.main_memory.word_bytes == 0,
             "main_memory.size_bytes", "must be a multiple of main_memory.word_bytes")
        need(isinstance(self.main_memory.bandwidth_gbps, (int, float))
             and self.main_memory.bandwidth_gbps > 0,
             "main_memory.bandwidth_gbps", "expected a positive number")
        need(self.crossbar.rows * self.data.act_bits % self.gb_bits == 0, "crossbar.rows",
             f"an input vector ({self.crossbar.rows} x {self.data.act_bits} bits) must fill "
             f"whole {self.gb_bits}-bit global-buffer words")
        need(self.weights_per_row * self.data.acc_bits % self.gb_bits == 0, "crossbar.cols",
             "the outputs of one VMM must fill whole global-buffer words")
        need(self.main_memory.word_bytes == self.global_buffer.word_bytes,
             "main_memory.word_bytes", "must equal global_buffer.word_bytes (the DMA moves words)")
        need(self.dram_bits % self.write.delta_bits == 0, "write.delta_bits",
             f"must divide the {self.dram_bits}-bit main-memory word")


_SECTIONS: dict[str, type] = {
    "chip": ChipConfig, "pe": PEConfig, "crossbar": CrossbarConfig, "analog": AnalogConfig,
    "inv": InvConfig, "refinement": RefinementConfig, "data": DataConfig,
    "write": WriteConfig, "energy": EnergyConfig, "global_buffer": GlobalBufferConfig,
    "main_memory": MainMemoryConfig, "imem": InstructionMemoryConfig, "sim": SimConfig,
}


def from_dict(raw: dict[str, Any], source: str = "<dict>") -> Config:
    """Build and validate a :class:`Config` from a parsed TOML table."""
    sections: dict[str, Any] = {}
    for key, table in raw.items():
        if key not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{key}]; expected one of "
                              f"{', '.join(sorted(_SECTIONS))}")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{key}' must be a table ([{key}])")
        cls = _SECTIONS[key]
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for fname, value in table.items():
            if fname not in known:
                raise ConfigError(f"{source}: unknown field '{key}.{fname}'; expected one of "
                                  f"{', '.join(sorted(known))}")
            if isinstance(value, list):
                value = tuple(value)
            kwargs[fname] = value
        sections[key] = cls(**kwargs)
    cfg = Config(**sections, source=source)
    cfg.validate()
    return cfg


def load(name_or_path: str | Path) -> Config:
    """Load a config by shipped name (``aras``, ``tiny``) or by path to a TOML file."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
        raise ConfigError(f"{name_or_path}: no such config file (shipped configs: {shipped})")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return from_dict(raw, source=str(path))


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
