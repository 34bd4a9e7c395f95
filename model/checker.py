"""Checker: compares an RTL run with the golden (values) and timing (cycles) models.

Each check is a named row with the expected and observed value, so a failure says what
differs and where (the first differing memory word and how many differ).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from firmware.isa import FAULT_TEXT, Fault
from model.golden import PORTS, GoldenResult
from model.timing import TimingResult

#: The co-simulation's driver counters (``rtl.json``) of each analog port.
DRIVER_COUNTERS = {"xbar_read": "analog_reads", "row_write": "model_rows_written",
                   "inv_program": "inv_programs", "inv_solve": "inv_solves"}
PORT_OF = {counter: port for port, counter in DRIVER_COUNTERS.items()}


@dataclass(frozen=True)
class Check:
    """One comparison: what, expected, observed, and whether they agree."""

    name: str
    expected: object
    observed: object
    ok: bool


def _memory_check(name: str, expected: Sequence[int], observed: Sequence[int],
                  word_bits: int) -> Check:
    diffs = [i for i, (a, b) in enumerate(zip(expected, observed, strict=False)) if a != b]
    if len(expected) != len(observed):
        return Check(name, f"{len(expected)} words", f"{len(observed)} words", False)
    if not diffs:
        return Check(name, f"{len(expected)} words", "bit-identical", True)
    i, digits = diffs[0], word_bits // 4
    return Check(name, f"word {i} = {expected[i]:0{digits}x}",
                 f"{observed[i]:0{digits}x} ({len(diffs)} words differ)", False)


def fault_name(code: int) -> str:
    try:
        f = Fault(code)
    except ValueError:
        return f"unknown fault code {code}"
    return f"{f.name} ({FAULT_TEXT[f]})"


def compare(golden: GoldenResult, timing: TimingResult, rtl_counters: Mapping[str, int],
            rtl_gb: Sequence[int], rtl_dram: Sequence[int], gb_bits: int,
            dram_bits: int) -> list[Check]:
    """All checks of one run. Memories are compared only when no watchdog stopped it."""
    checks = [
        Check("fault", fault_name(timing.fault), fault_name(rtl_counters["fault"]),
              int(timing.fault) == rtl_counters["fault"]),
        Check("cycles", timing.cycles, rtl_counters["cycles"],
              timing.cycles == rtl_counters["cycles"]),
    ]
    for name in ("stall_cycles", "write_busy_cycles", "overlap_cycles", "pulses"):
        expected = getattr(timing, name)
        if expected is not None:
            checks.append(Check(name, expected, rtl_counters[name],
                                expected == rtl_counters[name]))
    if timing.bank_active_cycles:
        observed = tuple(rtl_counters["bank_active_cycles"])
        checks.append(Check("bank active cycles", timing.bank_active_cycles, observed,
                            timing.bank_active_cycles == observed))
    if timing.fault != Fault.WATCHDOG:
        # What the analog drivers counted, against what the golden model makes; a count
        # the run did not report is a mismatch, not a check left out.
        expected = {"model_pulses": golden.pulses} | {
            counter: golden.port_counts()[port] for port, counter in DRIVER_COUNTERS.items()}
        for counter, value in expected.items():
            name = "analog-model pulses" if counter == "model_pulses" else \
                PORTS[PORT_OF[counter]] + "s"
            observed = rtl_counters.get(counter, "missing")
            checks.append(Check(name, value, observed, value == observed))
    if timing.fault != Fault.WATCHDOG:
        checks.append(_memory_check("global buffer", golden.gb, rtl_gb, gb_bits))
        checks.append(_memory_check("main memory", golden.dram, rtl_dram, dram_bits))
    return checks


def format_table(checks: Sequence[Check]) -> str:
    """A plain-text table of checks with a PASS/FAIL column."""
    rows = [("check", "expected (model)", "observed (RTL)", "")]
    rows += [(c.name, str(c.expected), str(c.observed), "ok" if c.ok else "MISMATCH")
             for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
