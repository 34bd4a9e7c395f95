"""Config schema: shipped configs, derived figures, and errors that name the field."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from firmware import config
from firmware.config import ConfigError


def test_shipped_configs_load(aras: config.Config, tiny: config.Config) -> None:
    assert aras.chip.name == "aras" and tiny.chip.name == "tiny"
    assert aras.n_crossbars == 96 * 6 * 4
    assert tiny.crossbar.rows == tiny.crossbar.cols == 16


def test_aras_matches_the_brief(aras: config.Config) -> None:
    """Figures stated in ARCHITECTURE.md, derived from the shipped config."""
    assert aras.full_write_cycles == 768_000
    assert aras.crossbar.bitplane_cycles * aras.data.act_bits == 96
    assert aras.slices_per_weight == 4
    assert float(aras.dram_bytes_per_cycle) == pytest.approx(19.2)
    assert sum(aras.global_buffer.bank_bytes) == 2 * 1024 + 2048 + 4096 + sum(
        k * 1024 for k in (64, 128, 256, 512, 1024, 2048))


@pytest.mark.parametrize("name", sorted(p.stem for p in config.CONFIG_DIR.glob("*.toml")))
def test_toml_round_trip(name: str) -> None:
    cfg = config.load(name)
    again = config.from_dict(tomllib.loads(config.to_toml(cfg)), source=cfg.source)
    assert again == cfg


def _write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


ON_TINY = 'base = "tiny"\n'


@pytest.mark.parametrize(("text", "pattern"), [
    (ON_TINY + "[crossbar]\nrows = 0\n",
     r"bad\.toml: field 'crossbar\.rows': 0 is outside 1\.\.65536"),
    (ON_TINY + "[crossbar]\nrows = 'x'\n", r"field 'crossbar\.rows': expected an integer"),
    (ON_TINY + "[crossbar]\ncell_bits = 3\n", r"field 'crossbar\.cell_bits': must divide"),
    (ON_TINY + "[crossbar]\nrowz = 4\n", r"unknown field 'crossbar\.rowz'"),
    (ON_TINY + "[xbar]\nrows = 4\n", r"unknown section \[xbar\]"),
    (ON_TINY + "[global_buffer]\nbank_bytes = [100]\n", r"global_buffer\.bank_bytes\[0\]"),
    (ON_TINY + "[global_buffer]\nbank_bytes = []\n", r"global_buffer\.bank_bytes"),
    (ON_TINY + "[main_memory]\nbandwidth_gbps = -1\n", r"main_memory\.bandwidth_gbps"),
    (ON_TINY + "[write]\ndelta_bits = 2\n", r"write\.delta_bits"),
    ("[chip\nname = 1\n", r"bad\.toml: not valid TOML"),
    (ON_TINY + "crossbar = 3\n", r"'crossbar' must be a table"),
])
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        config.load(_write(tmp_path, text))


# ---- a config says what it means: every field, or a base ----

def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"bad\.toml: missing section \[chip\]"):
        config.load(_write(tmp_path, ""))


def _without(name: str, section: str, fld: str | None) -> str:
    """A shipped config's full text (``to_toml``) minus one field or one section."""
    raw = tomllib.loads(config.to_toml(config.load(name)))
    if fld is None:
        del raw[section]
    else:
        del raw[section][fld]
    cfg_text = []
    for sec, table in raw.items():
        cfg_text.append(f"[{sec}]")
        cfg_text += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(cfg_text) + "\n"


def _toml_value(v: object) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return repr(v)


ALL_FIELDS = [(sec, f.name) for sec, cls in config._SECTIONS.items()
              for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(("section", "fld"), ALL_FIELDS)
def test_missing_field_is_named(tmp_path: Path, section: str, fld: str) -> None:
    """A file without a base that lacks exactly one field names that field (the old
    loader filled it in: a missing crossbar.rows silently became 128)."""
    path = _write(tmp_path, _without("tiny", section, fld))
    with pytest.raises(ConfigError, match=rf"bad\.toml: missing field '{section}\.{fld}'"):
        config.load(path)


def test_missing_section_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, _without("tiny", "crossbar", None))
    with pytest.raises(ConfigError, match=r"bad\.toml: missing section \[crossbar\] "
                                          r"\(fields crossbar\.rows"):
        config.load(path)


def test_complete_file_without_base_loads(tmp_path: Path) -> None:
    """The control for the two tests above: nothing removed, it loads."""
    cfg = config.load(_write(tmp_path, _without("tiny", "sim", None)
                             + "[sim]\nwatchdog_cycles = 200000\n", name="full.toml"))
    assert dataclasses.replace(cfg, source="") == dataclasses.replace(
        config.load("tiny"), source="")


def test_base_inherits_field_by_field(tmp_path: Path) -> None:
    tiny = config.load("tiny")
    cfg = config.load(_write(tmp_path, ON_TINY + '[chip]\nname = "t2"\n'
                             "[crossbar]\nadc_bits = 5\n", name="t2.toml"))
    assert cfg.chip == config.ChipConfig(name="t2", clock_mhz=tiny.chip.clock_mhz)
    assert cfg.crossbar == dataclasses.replace(tiny.crossbar, adc_bits=5)
    assert cfg.analog == tiny.analog and cfg.global_buffer == tiny.global_buffer


def test_tiny_noisy_is_tiny_plus_noise() -> None:
    tiny, noisy = config.load("tiny"), config.load("tiny-noisy")
    assert "base" in (config.CONFIG_DIR / "tiny-noisy.toml").read_text()
    assert noisy.analog == config.AnalogConfig(program_sigma=0.05, read_sigma=0.5,
                                               adc_lsb_shift=1, seed=7)
    assert dataclasses.replace(noisy, chip=tiny.chip, analog=tiny.analog,
                               source=tiny.source) == tiny


def test_base_chain_and_relative_path(tmp_path: Path) -> None:
    """A base by relative path, itself on a shipped base: the chain folds in order."""
    (tmp_path / "sub").mkdir()
    _write(tmp_path, ON_TINY + "[crossbar]\nadc_bits = 5\n[sim]\nwatchdog_cycles = 99999\n",
           name="sub/mid.toml")
    top = _write(tmp_path, 'base = "sub/mid.toml"\n[crossbar]\nadc_bits = 4\n',
                 name="top.toml")
    cfg = config.load(top)
    assert cfg.crossbar.adc_bits == 4 and cfg.sim.watchdog_cycles == 99999


def test_base_cycle_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, 'base = "b.toml"\n', name="a.toml")
    _write(tmp_path, 'base = "a.toml"\n', name="b.toml")
    with pytest.raises(ConfigError, match=r"b\.toml: base chain is a cycle: .*a\.toml -> "
                                          r".*b\.toml -> .*a\.toml"):
        config.load(tmp_path / "a.toml")


@pytest.mark.parametrize(("base", "pattern"), [
    ('"nonesuch"', r"bad\.toml: base 'nonesuch': no such config file .*shipped configs: "),
    ('"gone.toml"', r"bad\.toml: base 'gone\.toml': no such config file"),
    ("3", r"bad\.toml: 'base' must be a config name or path string, got 3"),
])
def test_missing_base_is_refused(tmp_path: Path, base: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        config.load(_write(tmp_path, f"base = {base}\n"))


def test_unknown_field_in_a_base_names_the_base(tmp_path: Path) -> None:
    _write(tmp_path, ON_TINY + "[crossbar]\nrowz = 4\n", name="mid.toml")
    with pytest.raises(ConfigError, match=r"mid\.toml: unknown field 'crossbar\.rowz'"):
        config.load(_write(tmp_path, 'base = "mid.toml"\n'))


def test_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b"\xff\xfe[chip]\n")
    with pytest.raises(ConfigError, match=r"latin\.toml:1: byte 0xff at offset 0 is not UTF-8"):
        config.load(path)


def test_not_utf8_base_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "mid.toml").write_bytes(b'base = "tiny"\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"mid\.toml:2: byte 0xe9 at offset 19 is not UTF-8"):
        config.load(_write(tmp_path, 'base = "mid.toml"\n'))


# ---- chip.name names build directories ----

@pytest.mark.parametrize("name", ["../../evil", "a/b", "", "with space", "-lead", "_lead",
                                  "a.b", "x" * (config.CHIP_NAME_MAX + 1)])
def test_unsafe_chip_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"field 'chip\.name': .* is not a safe name: .*"
                                          r"letters, digits, '_' and '-'"):
        config.load(_write(tmp_path, ON_TINY + f'[chip]\nname = "{name}"\n'))


@pytest.mark.parametrize("name", ["tiny-2", "A_b", "9x", "x" * config.CHIP_NAME_MAX])
def test_safe_chip_name_loads(tmp_path: Path, name: str) -> None:
    assert config.load(_write(tmp_path, ON_TINY + f'[chip]\nname = "{name}"\n')).chip.name == name


# ---- every numeric field has a range: just inside passes, just outside fails ----

def _tiny_with(section: str, fld: str, value: object) -> config.Config:
    tiny = config.load("tiny")
    sec = dataclasses.replace(getattr(tiny, section), **{fld: value})
    cfg = dataclasses.replace(tiny, **{section: sec}, source="edge.toml")
    cfg.validate()
    return cfg


INF, NAN = float("inf"), float("nan")
# (section, field, a value just inside the range, one just outside) on tiny: 16x16
# crossbars of 2-bit cells (largest column current 48), 6-bit ADCs, 64-bit words,
# 128 GB words, 4096 DRAM words, watchdog 200000, clock 1000 MHz.
EDGES = [
    ("chip", "clock_mhz", config.MAX_CLOCK_MHZ, config.MAX_CLOCK_MHZ + 1),
    ("chip", "clock_mhz", 1, 0),
    ("pe", "count", 1, 0),
    ("pe", "apu_cols", 2, 0),
    ("crossbar", "rows", 16, 0),
    ("crossbar", "cols", 16, 0),
    ("crossbar", "adc_bits", config.ACC_BITS, config.ACC_BITS + 1),
    ("crossbar", "adc_bits", config.ACC_BITS, 64),
    ("crossbar", "adc_bits", 1, 0),
    ("crossbar", "adcs_per_apu", 16, 17),
    ("crossbar", "adcs_per_apu", 1, 0),
    ("crossbar", "bitplane_cycles", config.MIN_RTL_WINDOW, config.MIN_RTL_WINDOW - 1),
    ("crossbar", "cell_bits", 2, 16),
    ("crossbar", "cell_bits", 1, 0),
    ("analog", "program_sigma", config.MAX_PROGRAM_SIGMA, 1.0000001),
    ("analog", "program_sigma", 0.0, -1e-9),
    ("analog", "program_sigma", 0.0, NAN),
    ("analog", "read_sigma", 63.0, 63.001),
    ("analog", "read_sigma", 0.0, -0.1),
    ("analog", "read_sigma", 0.0, INF),
    ("analog", "read_sigma", 0.0, NAN),
    ("analog", "adc_lsb_shift", 6, 7),     # 48 is 6 bits: shift 7 rounds it to 0
    ("analog", "adc_lsb_shift", 0, -1),
    ("analog", "seed", config.TOML_INT_MAX, config.TOML_INT_MAX + 1),
    ("analog", "seed", 0, -1),
    ("inv", "count", config.MAX_CROSSBARS, config.MAX_CROSSBARS + 1),
    ("inv", "count", 1, 0),
    ("inv", "size", 4, 0),
    ("inv", "size", 20, 18),               # a row of 18 int16 is not whole 8-byte words
    ("inv", "conductance_bits", config.INV_LEVEL_BITS, config.INV_LEVEL_BITS + 1),
    ("inv", "conductance_bits", 2, 1),
    ("inv", "opamp_gain", 1e-300, 0.0),
    ("inv", "opamp_gain", 1e300, INF),
    ("inv", "opamp_gbw_mhz", 1e-300, 0.0),
    ("inv", "opamp_gbw_mhz", 100.0, NAN),
    ("inv", "dac_bits", config.FLOAT64_EXACT_BITS, config.FLOAT64_EXACT_BITS + 1),
    ("inv", "dac_bits", 2, 1),
    ("inv", "adc_bits", config.FLOAT64_EXACT_BITS, config.FLOAT64_EXACT_BITS + 1),
    ("inv", "solve_cycles", config.MIN_RTL_WINDOW, config.MIN_RTL_WINDOW - 1),
    ("refinement", "vmm_weight_bits", config.FLOAT64_EXACT_BITS, config.FLOAT64_EXACT_BITS + 1),
    ("refinement", "vmm_input_bits", 2, 1),
    ("data", "acc_bits", 32, 64),
    ("data", "act_bits", 8, 16),
    ("write", "pulses_per_level", 1, 0),
    ("write", "pulse_cycles", 1, 0),
    # tiny: 16 rows x 2 phases x 3 level steps x 1 pulse = 96 pulses per full write
    ("write", "pulse_cycles", config.MAX_COUNTER // 96, config.MAX_COUNTER // 96 + 1),
    ("write", "pulses_per_level", 1, config.TOML_INT_MAX + 1),
    ("write", "energy_per_pulse_pj", 0.0, -1.0),
    ("write", "energy_per_pulse_pj", 1e9, INF),
    ("write", "delta_bits", 4, 2),
    ("write", "delta_bits", 64, 65),       # 64 divides the 64-bit word, 65 is past packing
    ("energy", "static_mw", 0.0, -0.5),
    ("energy", "adc_conversion_pj", 2.0, NAN),
    ("global_buffer", "bank_bytes", (64,), (4,)),
    ("global_buffer", "bank_bytes", (8,) * config.MAX_BANKS, (8,) * (config.MAX_BANKS + 1)),
    ("main_memory", "size_bytes", 8 * config.MAX_DRAM_WORDS, 8 * config.MAX_DRAM_WORDS + 8),
    ("main_memory", "size_bytes", 512, 0),
    ("main_memory", "bandwidth_gbps", 1e-300, 0.0),
    ("main_memory", "bandwidth_gbps", 1e300, INF),
    ("imem", "depth", 1, 0),
    ("imem", "depth", config.MAX_IMEM_DEPTH, config.MAX_IMEM_DEPTH + 1),
    ("sim", "watchdog_cycles", config.MAX_WATCHDOG, config.MAX_WATCHDOG + 1),
    ("sim", "watchdog_cycles", 200000, 0),
]


@pytest.mark.parametrize(("section", "fld", "inside", "outside"), EDGES,
                         ids=[f"{s}.{f}={o!r}" for s, f, _, o in EDGES])
def test_range_boundary(section: str, fld: str, inside: object, outside: object) -> None:
    _tiny_with(section, fld, inside)
    with pytest.raises(ConfigError, match=rf"edge\.toml: field '{section}\.{fld}"):
        _tiny_with(section, fld, outside)


@pytest.mark.parametrize(("changes", "field_named"), [
    # 256 crossbars per PE row of 255 columns: ncols is 8 bits.
    ({"pe": config.PEConfig(count=1, apu_rows=1, apu_cols=config.MAX_APU_COLS + 1)},
     "pe.apu_cols"),
    # 2^16 + 1 APU rows: nrows is 16 bits (and the crossbar index).
    ({"pe": config.PEConfig(count=config.MAX_APU_ROWS + 1, apu_rows=1, apu_cols=1)},
     "pe.count"),
    ({"pe": config.PEConfig(count=2, apu_rows=config.MAX_APU_ROWS // 2 + 1, apu_cols=1)},
     "pe.apu_rows"),
    ({"pe": config.PEConfig(count=1024, apu_rows=1, apu_cols=65)}, "pe.count"),
    # Two activation sets of 2 APU rows x 16 INT8 inputs: 64 bytes.
    ({"pe": config.PEConfig(count=1, apu_rows=2, apu_cols=2, buffer_bytes=63)},
     "pe.buffer_bytes"),
    ({"global_buffer": config.GlobalBufferConfig(
        word_bytes=8, bank_bytes=(8 * config.MAX_GB_WORDS + 8,))}, "global_buffer.bank_bytes"),
    ({"global_buffer": config.GlobalBufferConfig(word_bytes=2, bank_bytes=(256,)),
      "main_memory": config.MainMemoryConfig(word_bytes=2, size_bytes=32768,
                                             bandwidth_gbps=4.0)}, "global_buffer.word_bytes"),
    ({"global_buffer": config.GlobalBufferConfig(word_bytes=8, bank_bytes=(8,))}, "inv.size"),
    ({"main_memory": config.MainMemoryConfig(word_bytes=8, size_bytes=64,
                                             bandwidth_gbps=4.0)}, "inv.size"),
])
def test_relational_limits(changes: dict[str, object], field_named: str) -> None:
    tiny = config.load("tiny")
    with pytest.raises(ConfigError, match=rf"field '{re.escape(field_named)}'"):
        dataclasses.replace(tiny, **changes, source="edge.toml").validate()


def test_relational_limits_inside() -> None:
    """The control for the relational limits: just inside each, the config validates."""
    tiny = config.load("tiny")
    for changes in (
            {"pe": config.PEConfig(count=1, apu_rows=1, apu_cols=config.MAX_APU_COLS)},
            {"pe": config.PEConfig(count=config.MAX_APU_ROWS, apu_rows=1, apu_cols=1)},
            {"pe": config.PEConfig(count=1024, apu_rows=1, apu_cols=64, buffer_bytes=32)},
            {"pe": config.PEConfig(count=1, apu_rows=2, apu_cols=2, buffer_bytes=64)},
            {"global_buffer": config.GlobalBufferConfig(
                word_bytes=8, bank_bytes=(8 * config.MAX_GB_WORDS,))},
            {"global_buffer": config.GlobalBufferConfig(word_bytes=8, bank_bytes=(64,))},
            {"main_memory": config.MainMemoryConfig(word_bytes=8, size_bytes=512,
                                                    bandwidth_gbps=4.0)}):
        dataclasses.replace(tiny, **changes).validate()


def test_short_watchdog_is_a_valid_config() -> None:
    """The co-simulation's watchdog test runs tiny with 300 cycles, shorter than its INV
    solve window: cycle counts are not bounded by the watchdog."""
    tiny = config.load("tiny")
    short = dataclasses.replace(tiny, sim=config.SimConfig(watchdog_cycles=300))
    assert short.inv.solve_cycles > short.sim.watchdog_cycles
    assert config.from_dict(tomllib.loads(config.to_toml(short))) == dataclasses.replace(
        short, source="<dict>")


def test_adc_bits_64_and_read_sigma_inf_are_refused(tmp_path: Path) -> None:
    """The issue's two examples, from files."""
    with pytest.raises(ConfigError, match=r"field 'crossbar\.adc_bits': 64 is outside 1\.\.32"):
        config.load(_write(tmp_path, ON_TINY + "[crossbar]\nadc_bits = 64\n"))
    with pytest.raises(ConfigError, match=r"field 'analog\.read_sigma': expected a finite "
                                          r"number >= 0.0 and <= 63 \(noise above .*\), got inf"):
        config.load(_write(tmp_path, ON_TINY + "[analog]\nread_sigma = inf\n"))


def test_unknown_config_name_lists_shipped() -> None:
    with pytest.raises(ConfigError, match="no such config file.*aras.*tiny"):
        config.load("nonexistent")


def test_config_is_immutable(tiny: config.Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.crossbar.rows = 3  # type: ignore[misc]


# ---- what building a config costs, said up front ----

def _tiny_gb(kib: int, word_bytes: int = 8) -> config.Config:
    """tiny with one global-buffer bank of ``kib`` KiB (the measured family)."""
    tiny = config.load("tiny")
    return dataclasses.replace(
        tiny, global_buffer=config.GlobalBufferConfig(word_bytes=word_bytes,
                                                      bank_bytes=(kib * 1024,)),
        main_memory=dataclasses.replace(tiny.main_memory, word_bytes=word_bytes),
        source=f"gb{kib}k.toml")


@pytest.mark.parametrize(("kib", "word_bytes", "measured_s"), [
    (1, 8, 1.55), (16, 8, 4.30), (32, 8, 11.71), (48, 8, 22.54), (64, 8, 42.35), (96, 8, 110.49),
    (32, 16, 7.51)])
def test_estimate_matches_measurements(kib: int, word_bytes: int, measured_s: float) -> None:
    """The fitted model against generation times measured with hdl.build (its table)."""
    from hdl import build
    assert build.estimate(_tiny_gb(kib, word_bytes)).generation_s == pytest.approx(
        measured_s, rel=0.2)


@pytest.mark.parametrize("pe_count", [2, 8])
def test_estimate_counts_crossbars(pe_count: int) -> None:
    from hdl import build
    tiny = config.load("tiny")
    cfg = dataclasses.replace(tiny, pe=dataclasses.replace(tiny.pe, count=pe_count))
    measured = {2: 2.31, 8: 5.40}[pe_count]
    assert build.estimate(cfg).generation_s == pytest.approx(measured, rel=0.2)


class _GeneratingError(Exception):
    """Raised instead of elaborating: the test stops where generation would start."""


def _no_elaboration(monkeypatch: pytest.MonkeyPatch) -> None:
    from hdl import build

    def refuse(cfg: config.Config) -> None:
        raise _GeneratingError
    monkeypatch.setattr(build, "Chip", refuse)


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_shipped_small_configs_build_silently(name: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from cocotb_tests import runner
    from hdl import build
    cfg = config.load(name)
    runner.require_simulatable(cfg)
    assert build.estimate(cfg).generation_s < build.GENERATION_WARN_S
    said: list[str] = []
    _no_elaboration(monkeypatch)
    with pytest.raises(_GeneratingError):
        build.generate(cfg, tmp_path, say=said.append)
    assert said == []


def test_128k_buffer_warns_before_generating(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A 128 KiB buffer (16384 words): ~3 minutes, said in one line before the wait."""
    from cocotb_tests import runner
    from hdl import build
    cfg = _tiny_gb(128)
    est = build.estimate(cfg)
    assert build.GENERATION_WARN_S < est.generation_s < build.GENERATION_LIMIT_S
    runner.require_simulatable(cfg)  # allowed, only slow
    said: list[str] = []
    _no_elaboration(monkeypatch)
    with pytest.raises(_GeneratingError):
        build.generate(cfg, tmp_path, say=said.append)
    assert len(said) == 1
    assert re.fullmatch(r"gb128k\.toml: please wait: about 1\d\d s of Verilog "
                        r"generation \(estimated, mostly the global buffer's 16384 words.*",
                        said[0])


def test_1m_buffer_is_refused_with_the_estimate(tmp_path: Path) -> None:
    """A 1 MiB buffer fits the simulator's memory but would generate for hours."""
    from cocotb_tests import runner
    from hdl import build
    cfg = _tiny_gb(1024)
    pattern = (r"gb1024k\.toml: about \d+ s of Verilog generation \(estimated, mostly the "
               r"global buffer's 131072 words.*more than the 600 s limit")
    with pytest.raises(runner.ConfigTooLargeError, match=pattern):
        runner.require_simulatable(cfg)
    with pytest.raises(build.BuildTooLongError, match=pattern):
        build.generate(cfg, tmp_path)
    assert not any(tmp_path.iterdir())


def test_build_cli_refuses_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from hdl import build
    path = _write(tmp_path, ON_TINY + "[global_buffer]\nbank_bytes = [1048576]\n",
                  name="big.toml")
    with pytest.raises(SystemExit, match=r"^error: .*big\.toml: about \d+ s of Verilog "
                                         r"generation.*600 s limit"):
        build.main([str(path), str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
    bad = _write(tmp_path, ON_TINY + "[chip]\nname = '../../evil'\n", name="evil.toml")
    with pytest.raises(SystemExit, match=r"^error: .*evil\.toml: field 'chip\.name'"):
        build.main([str(bad), str(tmp_path / "out")])


def test_an_inv_matrix_the_rtl_counters_cannot_move_is_refused(tmp_path: Path) -> None:
    """inv.size = 256 on 64-bit words is 16,384 words (streams); 1,024 is 262,144 words,
    past the 16-bit transfer counters (the RTL would hang where golden programs it)."""
    big = ("[main_memory]\nsize_bytes = 4194304\n[global_buffer]\nbank_bytes = [8192]\n"
           "[inv]\nsize = {}\n")
    config.load(_write(tmp_path, ON_TINY + big.format(256)))
    with pytest.raises(ConfigError, match=r"field 'inv\.size': a matrix of 262144 words is "
                                          r"more than the RTL's 16-bit transfer counters"):
        config.load(_write(tmp_path, ON_TINY + big.format(1024)))


def test_pulses_that_could_wrap_the_pulse_counter_are_refused(tmp_path: Path) -> None:
    """At the longest watchdog (2^48), one-cycle pulses on more than 2^16 cells could pass
    2^64 pulses: 4,100 crossbars of 16 columns do."""
    longest = f"[sim]\nwatchdog_cycles = {config.MAX_WATCHDOG}\n"
    config.load(_write(tmp_path, ON_TINY + longest))
    many = "[pe]\ncount = 1025\n[write]\npulse_cycles = 1\n"
    config.load(_write(tmp_path, ON_TINY + many))
    with pytest.raises(ConfigError, match=r"field 'sim\.watchdog_cycles': 65600 cells pulsing "
                                          r"every 1 cycles could pass the 64-bit pulse"):
        config.load(_write(tmp_path, ON_TINY + longest + many))
