"""The ``reram-pim`` command: its subcommands, their --json output and one-line errors."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
from nets import CNN, topology_csv

from firmware import config
from firmware.assembler import assemble, disassemble
from firmware.mapper import map_layer
from reram_pim import cli

PROGRAM = """\
LOAD gb_addr=0, dram_addr=4, count=2
WRITE_START xbar=1, dram_addr=16, row=0, nrows=4
SYNC
HALT
"""


def test_the_console_script_is_the_cli() -> None:
    (ep,) = importlib.metadata.entry_points(group="console_scripts", name="reram-pim")
    assert ep.load() is cli.entry


def test_usage_and_unknown_commands(capsys) -> None:
    assert cli.main([]) == 2
    assert "commands:" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {name}" in listed for name in cli.COMMANDS)
    assert cli.main(["simulate"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown command 'simulate'; expected "
                                               "one of sim, report")


def test_asm_and_disasm_round_trip(tmp_path: Path, capsys) -> None:
    src = tmp_path / "p.s"
    src.write_text(PROGRAM)
    hexfile = tmp_path / "imem.hex"
    assert cli.main(["asm", str(src), "-o", str(hexfile)]) == 0
    assert len(hexfile.read_text().splitlines()) == 4
    assert cli.main(["disasm", str(hexfile)]) == 0
    assert capsys.readouterr().out == disassemble(assemble(PROGRAM))
    assert cli.main(["disasm", str(tmp_path), "--json"]) == 0    # an image directory
    listed = json.loads(capsys.readouterr().out)
    assert [e["text"] for e in listed] == disassemble(assemble(PROGRAM)).splitlines()
    src.write_text("LOAD gb_addr=0\n")
    assert cli.main(["asm", str(src)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {src}:1:")
    assert cli.main(["disasm", str(tmp_path / "none")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_topology_lists_layers_and_crossbars(tmp_path: Path, capsys) -> None:
    csv = topology_csv(CNN, tmp_path)
    assert cli.main(["topology", str(csv), "--config", "small", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    cfg = config.load("small")
    want = [map_layer(la, cfg, im2col=i == 0).crossbars for i, la in enumerate(CNN.layers)]
    assert [r["crossbars"] for r in got["layers"]] == want
    assert got["total"]["weights"] == CNN.weights
    assert cli.main(["topology", str(csv), "--config", "small"]) == 0
    assert f"{CNN.weights:,} weights" in capsys.readouterr().out
    assert cli.main(["topology", str(tmp_path / "none.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.slow
def test_report_json_has_the_tpu_beside_each_row(tmp_path: Path, capsys) -> None:
    csv = topology_csv(CNN, tmp_path)
    assert cli.main(["report", "--config", "small", "--networks", str(csv),
                     "--schedulers", "+reuse", "--out", str(tmp_path / "r"), "--no-plots",
                     "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["scheduler"] for r in rows] == ["naive", "baseline", "+reuse"]
    for r in rows:
        tpu = r["tpu"][config.load("small").tpu.dataflow]
        assert r["speedup_vs_tpu"] == pytest.approx(r["inferences_per_s"]
                                                    / tpu["inferences_per_s"])
    assert json.loads((tmp_path / "r" / "report.json").read_text()) == rows
