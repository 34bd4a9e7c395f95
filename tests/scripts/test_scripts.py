"""The scripts are thin command lines over the packages: each runs as
``python scripts/<name>.py`` from any directory (no ``sys.path`` edits, the package
installed editable), and bad input ends in one ``error:`` line with status 2. Tests run
them as programs; none imports one."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from nets import CNN, topology_csv

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / f"{script}.py"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_edits_no_import_path(script: Path) -> None:
    """No ``sys.path`` edits: the scripts import the installed packages."""
    tree = ast.parse(script.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "path" and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            pytest.fail(f"{script.name}:{node.lineno} uses sys.path")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_runs_from_another_directory(script: Path, tmp_path: Path) -> None:
    done = _run(script.stem, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout


def test_report_end_to_end_and_one_line_errors(tmp_path: Path) -> None:
    done = _run("aras_report", "--config", "small", "--networks", str(topology_csv(CNN, tmp_path)),
                "--out", str(tmp_path / "out"), "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "out" / "report.json").read_text())
    assert rows[0]["scheduler"] == "naive" and "+banks" in done.stdout
    for args, start in ((["--seed", "-5"], "error: argument --seed: expected a "
                         "non-negative integer, got '-5'"),
                        (["--networks", "nonesuch", "--no-plots"], "error: nonesuch"),
                        (["--networks", "vgg16", "resnet50", "--weights", "w.npz"],
                         "error: --weights needs exactly one network")):
        done = _run("aras_report", *args, "--out", str(tmp_path / "bad"), cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.startswith(start), done.stderr
        assert done.stderr.count("\n") == 1, done.stderr


def test_basisn_compare_end_to_end_and_one_line_errors(tmp_path: Path) -> None:
    csv = str(topology_csv(CNN, tmp_path))
    done = _run("basisn_compare", "--config", "small", "--networks", csv, "--k", "8",
                "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (row,) = json.loads((tmp_path / "out" / "basisn_compare.json").read_text())
    assert row["network"] == "cnn" and "basisn" in done.stdout
    done = _run("basisn_compare", "--config", "small", "--networks", csv, "--k", "64",
                "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 2 and "K = 64 basis vectors" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
