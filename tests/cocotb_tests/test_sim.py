"""``make sim`` (cocotb_tests/sim.py) without a simulator: bad input is one line."""

from __future__ import annotations


def test_make_sim_reports_bad_input_in_plain_words(capsys) -> None:
    from cocotb_tests import sim
    assert sim.main(["--config", "aras"]) == 2
    assert "use a small config" in capsys.readouterr().err
    assert sim.main(["--config", "no-such-config"]) == 2
    assert "no such config file" in capsys.readouterr().err
