"""``make sim`` (cocotb_tests/sim.py): bad input is one line (no simulator needed); the
JSON form of a run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_make_sim_reports_bad_input_in_plain_words(capsys) -> None:
    from cocotb_tests import sim
    assert sim.main(["--config", "aras"]) == 2
    assert "use a small config" in capsys.readouterr().err
    assert sim.main(["--config", "no-such-config"]) == 2
    assert "no such config file" in capsys.readouterr().err


@pytest.mark.cosim
def test_sim_json_is_the_only_thing_on_stdout(tmp_path) -> None:
    """``reram-pim sim --json``: stdout is one JSON document (the simulator's log goes to
    stderr), with the verdict and every check."""
    done = subprocess.run([sys.executable, "-m", "reram_pim", "sim", "--json", "--out",
                           str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "PASS" and result["program"] == "slice"
    assert result["checks"] and all(c["ok"] for c in result["checks"])
    assert "cocotb" in done.stderr
