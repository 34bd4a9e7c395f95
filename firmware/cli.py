"""What every command-line entry point shares: one-line errors and a quiet Ctrl-C.

The terminal sends SIGINT to its whole foreground process group. :func:`run_child` keeps
a child (a simulator, a compiler, make) out of that group, so only the Python process
sees Ctrl-C; it then kills the child's group with SIGKILL (which makes the child print
nothing) and :func:`run_main` ends with one line, ``interrupted``, and status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

#: Exit statuses: bad input (as argparse), and ended by a signal (128 + signal).
USAGE = 2
INTERRUPTED = 128 + signal.SIGINT
TERMINATED = 128 + signal.SIGTERM
#: Signals that end a run like Ctrl-C (its children killed), with the word printed:
#: SIGTERM, and SIGHUP when the terminal closes (the simulator, in a process group of
#: its own, would otherwise be left running).
ENDING_SIGNALS = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that the same clean-up runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def run_main(main: Callable[[], int | None]) -> NoReturn:
    """Run a CLI's ``main`` and exit with its status; Ctrl-C, SIGTERM or SIGHUP end it
    with one line on stderr (``interrupted`` / ``terminated`` / ``hung up``) and status
    128 + the signal, no traceback."""
    for signum in ENDING_SIGNALS:
        signal.signal(signum, _raise_terminated)
    try:
        status = main()
    except KeyboardInterrupt as exc:
        # A second signal while exiting would print a traceback from the clean-up.
        for signum in (signal.SIGINT, *ENDING_SIGNALS):
            signal.signal(signum, signal.SIG_IGN)
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        print(ENDING_SIGNALS.get(signum, "interrupted"), file=sys.stderr)
        status = 128 + signum
    sys.exit(status)


def run_child(cmd: Sequence[str], **popen: Any) -> int:
    """Run ``cmd`` to its end in a process group of its own and return its exit status;
    if this process is interrupted meanwhile, kill the child's group and re-raise."""
    with subprocess.Popen(cmd, process_group=0, **popen) as proc:
        try:
            return proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line, ``error: ...``, and status 2.
    ``help_command`` is what prints the help, where ``prog --help`` does not (``make sim``
    is a make target: ``make sim --help`` is make's own help)."""

    def __init__(self, *args: Any, help_command: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.help_command = help_command or f"{self.prog} --help"

    def error(self, message: str) -> NoReturn:
        """Print one ``error:`` line naming the argument (usage is in ``--help``)."""
        self.exit(USAGE, f"error: {message} (see {self.help_command})\n")


def positive_int(text: str) -> int:
    """argparse type of a count that must be at least 1."""
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def non_negative_int(text: str) -> int:
    """argparse type of a count or seed: an integer >= 0 (a numpy seed cannot be < 0)."""
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got '{text}'")
    return value
