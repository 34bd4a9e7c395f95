"""Config schema: shipped configs, derived figures, and errors that name the field."""

from __future__ import annotations

import dataclasses
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


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "pattern"), [
    ("[crossbar]\nrows = 0\n", r"bad\.toml: field 'crossbar\.rows': expected a positive integer"),
    ("[crossbar]\nrows = 'x'\n", r"field 'crossbar\.rows'"),
    ("[crossbar]\ncell_bits = 3\n", r"field 'crossbar\.cell_bits': must divide"),
    ("[crossbar]\nrowz = 4\n", r"unknown field 'crossbar\.rowz'"),
    ("[xbar]\nrows = 4\n", r"unknown section \[xbar\]"),
    ("[global_buffer]\nbank_bytes = [100]\n", r"global_buffer\.bank_bytes\[0\]"),
    ("[global_buffer]\nbank_bytes = []\n", r"global_buffer\.bank_bytes"),
    ("[main_memory]\nbandwidth_gbps = -1\n", r"main_memory\.bandwidth_gbps"),
    ("[write]\ndelta_bits = 2\n", r"write\.delta_bits"),
    ("[chip\nname = 1\n", r"bad\.toml: not valid TOML"),
    ("crossbar = 3\n", r"'crossbar' must be a table"),
])
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        config.load(_write(tmp_path, text))


def test_unknown_config_name_lists_shipped() -> None:
    with pytest.raises(ConfigError, match="no such config file.*aras.*tiny"):
        config.load("nonexistent")


def test_config_is_immutable(tiny: config.Config) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.crossbar.rows = 3  # type: ignore[misc]
