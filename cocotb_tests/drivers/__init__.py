"""Reusable cocotb drivers for the chip's analog ports, one module per port protocol.

Each wakes once per transaction (a rising ``valid``), never per cycle, and hands what it
observed to a :class:`~cocotb_tests.scoreboard.Scoreboard`, which checks it against the
golden model's transaction at once.
"""

from cocotb_tests.drivers.answer_timing import Jitter, Sampling
from cocotb_tests.drivers.crossbar import CrossbarReadResponder, CrossbarWriteMonitor
from cocotb_tests.drivers.inv import InvProgrammer, InvSolveResponder
from cocotb_tests.drivers.signals import signal_int

__all__ = ["CrossbarReadResponder", "CrossbarWriteMonitor", "InvProgrammer",
           "InvSolveResponder", "Jitter", "Sampling", "signal_int"]
