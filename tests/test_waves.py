"""Properties asserted from the wave files themselves (read with vcdvcd)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocotb_tests import runner
from cocotb_tests.waves import sample_cycles
from firmware import config, regression


def _run_with_waves(program: str, sim: str, tmp_path: Path):
    cfg = config.load("tiny")
    rtl = runner.run(regression.PROGRAMS[program](cfg), sim, tmp_path / program, waves=True)
    states = json.loads((runner.config_dir(cfg) / "fsm_states.json").read_text())
    return cfg, rtl, states


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_writes_overlap_compute_in_the_waves(sim: str, tmp_path: Path) -> None:
    """In the multi program the write engine is busy while the sequencer runs bit-planes."""
    _, rtl, states = _run_with_waves("multi", sim, tmp_path)
    w = sample_cycles(rtl.wave, ["harness.clk", "u_chip.sequencer.seq_state",
                                 "u_chip.write_engine.busy",
                                 "u_chip.write_engine.busy_xbar", "u_chip.xbar_req_id",
                                 "harness.halted"])
    seq = states["sequencer.seq_state"]
    compute = {seq[s] for s in ("VMM_LOAD", "VMM_REQ", "VMM_READ", "VMM_OUT")}
    overlap = [i for i, (st, busy) in enumerate(zip(w["u_chip.sequencer.seq_state"],
                                                    w["u_chip.write_engine.busy"], strict=True))
               if busy == 1 and st in compute]
    assert len(overlap) >= 8 * 4  # at least one whole VMM's bit-planes
    # ...and never on the crossbar being written (the scoreboard).
    assert all(w["u_chip.xbar_req_id"][i] != w["u_chip.write_engine.busy_xbar"][i]
               for i in overlap if w["u_chip.sequencer.seq_state"][i] == seq["VMM_REQ"])
    # The recorded state encoding is the one in the Verilog: HALTED while halted.
    halted = [i for i, h in enumerate(w["harness.halted"]) if h == 1]
    assert halted and all(w["u_chip.sequencer.seq_state"][i] == seq["HALTED"]
                          for i in halted)
    assert rtl.wave.with_suffix(".gtkw").exists()


def test_gated_banks_see_no_access_in_the_waves(tmp_path: Path) -> None:
    cfg, rtl, _ = _run_with_waves("bank_layers", "icarus", tmp_path)
    w = sample_cycles(rtl.wave, ["u_chip.sequencer.bank_mask", "u_chip.gb.rd_en",
                                 "u_chip.gb.rd_addr", "u_chip.gb.wr_en", "u_chip.gb.wr_addr",
                                 "harness.rst"])
    accesses, gated_cycles = 0, 0
    for i, mask in enumerate(w["u_chip.sequencer.bank_mask"]):
        if w["harness.rst"][i] != 0 or mask is None:
            continue  # the harness clears the buffer in reset, before the program
        touched = [w["u_chip.gb.rd_addr"][i]] if w["u_chip.gb.rd_en"][i] else []
        touched += [w["u_chip.gb.wr_addr"][i]] if w["u_chip.gb.wr_en"][i] else []
        accesses += len(touched)
        for b, (lo, hi) in enumerate(cfg.bank_bounds):
            if not (mask >> b) & 1:
                gated_cycles += 1
                assert not any(lo <= a < hi for a in touched), (i, b, touched)
    assert accesses > 10 and gated_cycles > 10  # the property was really exercised
