"""Command-line behaviour shared by every entry point: Ctrl-C, bad arguments."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cocotb_tests import sim
from firmware import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.cosim
def test_ctrl_c_ends_sim_with_one_line_and_status_130(tmp_path: Path) -> None:
    """Ctrl-C as the terminal sends it (SIGINT to the whole process group) while Icarus
    simulates: no traceback, no Icarus prompt, one line, status 130."""
    # The tiny chip with slow write pulses: minutes of simulation, interrupted after ~1 s.
    toml = (ROOT / "configs" / "tiny.toml").read_text()
    toml = re.sub(r"(?m)^pulse_cycles = .*$", "pulse_cycles = 4000", toml)
    toml = re.sub(r"(?m)^watchdog_cycles = .*$", "watchdog_cycles = 100000000", toml)
    cfg = tmp_path / "slow.toml"
    cfg.write_text(toml.replace('name = "tiny"', 'name = "tiny-slow-writes"'))
    # As a terminal's foreground job: SIGINT at its default, even when this suite runs
    # as a background job of a non-interactive shell (which starts with SIGINT ignored,
    # and a process that inherits an ignored SIGINT rightly keeps ignoring it).
    proc = subprocess.Popen(
        [sys.executable, "-m", "cocotb_tests.sim", "--config", str(cfg), "--out",
         str(tmp_path / "run")], cwd=ROOT, start_new_session=True, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ,
                                                                 PYTHONUNBUFFERED="1"))
    watchdog = threading.Timer(60, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        before = []
        for line in proc.stdout:   # cocotb's log: the test is running in the simulator
            before.append(line)
            if "running run_images" in line:
                break
        assert proc.poll() is None, "".join(before)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        watchdog.cancel()
    assert proc.returncode == cli.INTERRUPTED, out + err
    assert err == "interrupted\n", err
    assert "Traceback" not in out and "VVP Stop" not in out, out


def test_run_main_turns_ctrl_c_into_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as exc:
            cli.run_main(interrupted)
        assert exc.value.code == 130 and capsys.readouterr().err == "interrupted\n"
        with pytest.raises(SystemExit) as exc:
            cli.run_main(lambda: 3)
        assert exc.value.code == 3
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)


@pytest.mark.parametrize(("args", "message"), [
    (["--seed", "-5"], "argument --seed: expected a non-negative integer, got '-5'"),
    (["--seed", "1.5"], "argument --seed: expected a non-negative integer, got '1.5'"),
    (["--seed", "many"], "argument --seed: expected a non-negative integer, got 'many'"),
])
def test_sim_bad_numbers_are_one_line(args: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        sim.main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err == f"error: {message} (see .venv/bin/python -m cocotb_tests.sim --help)\n"


@pytest.mark.parametrize(("signum", "word"), [(signal.SIGTERM, "terminated"),
                                              (signal.SIGHUP, "hung up")])
def test_run_main_ends_on_sigterm_and_sighup_with_one_line(
        signum: int, word: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A terminal that closes sends SIGHUP: the run ends like Ctrl-C (children killed)."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, *cli.ENDING_SIGNALS)}
    try:
        with pytest.raises(SystemExit) as exc:
            cli.run_main(lambda: os.kill(os.getpid(), signum))
        assert exc.value.code == 128 + signum and capsys.readouterr().err == word + "\n"
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
