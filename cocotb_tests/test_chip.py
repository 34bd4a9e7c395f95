"""cocotb bench: run one image on the chip with the analog models on its ports.

Inputs come from the environment (set by :mod:`cocotb_tests.runner`): ``PIM_CONFIG``,
``PIM_OUT`` (where the harness dumps memories and this bench writes ``rtl.json``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import First, RisingEdge, Timer

from cocotb_tests.analog import CrossbarReadResponder, CrossbarWriteMonitor
from firmware import config as config_mod
from model.crossbar import Crossbar

COUNTERS = ("cycles", "stall_cycles", "write_busy_cycles", "overlap_cycles", "pulses")


@cocotb.test()
async def run_image(dut):
    """Run until the chip halts and the harness has dumped its memories."""
    cfg = config_mod.load(os.environ["PIM_CONFIG"])
    out = Path(os.environ["PIM_OUT"])
    xbars = [Crossbar(cfg, i) for i in range(cfg.n_crossbars)]
    reader = CrossbarReadResponder(dut, cfg, xbars)
    writer = CrossbarWriteMonitor(dut, cfg, xbars)
    cocotb.start_soon(reader.run())
    cocotb.start_soon(writer.run())

    # The RTL watchdog bounds the run; this guard only catches a broken harness.
    slack = 10 * (cfg.gb_words + 100)
    limit_ns = (cfg.sim.watchdog_cycles + slack) * 1000 // cfg.chip.clock_mhz
    result = await First(RisingEdge(dut.done), Timer(limit_ns, "ns"))
    assert result is not None and dut.done.value == 1, (
        f"the harness did not finish within {limit_ns} ns although the RTL watchdog is "
        f"{cfg.sim.watchdog_cycles} cycles: the harness or the watchdog is broken")

    report = {name: int(getattr(dut, name).value) for name in COUNTERS}
    banks = int(dut.bank_active_cycles.value)
    report["bank_active_cycles"] = [(banks >> (64 * i)) & ((1 << 64) - 1)
                                    for i in range(len(cfg.global_buffer.bank_bytes))]
    report.update(
        fault=int(dut.fault.value),
        pc=int(dut.pc.value),
        model_pulses=writer.pulses,
        model_rows_written=writer.rows,
        analog_reads=reader.requests,
        sim_time_ns=cocotb.utils.get_sim_time("ns"),
    )
    (out / "rtl.json").write_text(json.dumps(report, indent=2) + "\n")
