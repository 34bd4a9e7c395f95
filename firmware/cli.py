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

#: Exit statuses: bad input (as argparse), and killed by SIGINT / SIGTERM (128 + signal).
USAGE = 2
INTERRUPTED = 128 + signal.SIGINT
TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up (children killed) runs."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


def run_main(main: Callable[[], int | None]) -> NoReturn:
    """Run a CLI's ``main`` and exit with its status; Ctrl-C or SIGTERM end it with one
    line on stderr (``interrupted`` / ``terminated``) and status 130 / 143, no traceback."""
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        status = main()
    except KeyboardInterrupt as exc:
        # A second Ctrl-C while exiting would print a traceback from the clean-up.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        terminated = isinstance(exc, Terminated)
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        status = TERMINATED if terminated else INTERRUPTED
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
    """argparse, but a bad argument is one line, ``error: ...``, and status 2."""

    def error(self, message: str) -> NoReturn:
        """Print one ``error:`` line naming the argument (usage is in ``--help``)."""
        self.exit(USAGE, f"error: {message} (see {self.prog} --help)\n")


def non_negative_int(text: str) -> int:
    """argparse type of a count or seed: an integer >= 0 (a numpy seed cannot be < 0)."""
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got '{text}'")
    return value
