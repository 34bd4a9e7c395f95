"""Properties asserted from the wave files themselves (read with vcdvcd), and the wave
files opened in GTKWave itself with their save files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cocotb_tests import runner
from cocotb_tests.waves import open_in_gtkwave, sample_cycles, savefile_signals, write_savefile
from firmware import config
from firmware.isa import Fault, Opcode
from firmware.programs import directed

pytestmark = pytest.mark.cosim

needs_gtkwave = pytest.mark.skipif(
    shutil.which("gtkwave") is None or shutil.which("xvfb-run") is None,
    reason="gtkwave or xvfb-run not installed (sudo apt-get install gtkwave xvfb; CI has them)")
needs_fst2vcd = pytest.mark.skipif(  # Verilator's FST is read through GTKWave's converter
    shutil.which("fst2vcd") is None,
    reason="fst2vcd not installed (sudo apt-get install gtkwave; CI has it)")


def _run_with_waves(program: str, sim: str, tmp_path: Path):
    cfg = config.load("tiny")
    rtl = runner.run(directed.PROGRAMS[program](cfg), sim, tmp_path / program, waves=True)
    states = json.loads((runner.config_dir(cfg) / "fsm_states.json").read_text())
    return cfg, rtl, states


@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=needs_fst2vcd)])
def test_writes_overlap_compute_in_the_waves(sim: str, tmp_path: Path) -> None:
    """In the multi program the write engine is busy while the sequencer runs bit-planes."""
    _, rtl, states = _run_with_waves("multi", sim, tmp_path)
    core, vmm = "u_chip.sequencer.core.seq_state", "u_chip.sequencer.vmm.vmm_state"
    busy, busy_xbar = ("u_chip.write_engine.scoreboard__busy",
                       "u_chip.write_engine.scoreboard__busy_xbar")
    w = sample_cycles(rtl.wave, ["harness.clk", core, vmm, busy, busy_xbar,
                                 "u_chip.xbar_req_id", "harness.halted"])
    seq, loop = states["sequencer.core.seq_state"], states["sequencer.vmm.vmm_state"]
    overlap = [i for i, (st, b) in enumerate(zip(w[vmm], w[busy], strict=True))
               if b == 1 and st == loop["RUN"]]
    assert len(overlap) >= 8 * 4  # at least one whole VMM's bit-planes
    # ...and never on the crossbar being written (the scoreboard).
    assert all(w["u_chip.xbar_req_id"][i] != w[busy_xbar][i] for i in overlap)
    # The core waits in its VMM state while the loop runs.
    assert all(w[core][i] == seq["VMM"] for i in overlap)
    # The recorded state encoding is the one in the Verilog: HALTED while halted.
    halted = [i for i, h in enumerate(w["harness.halted"]) if h == 1]
    assert halted and all(w[core][i] == seq["HALTED"] for i in halted)
    assert rtl.wave.with_suffix(".gtkw").exists()


def test_gated_banks_see_no_access_in_the_waves(tmp_path: Path) -> None:
    cfg, rtl, _ = _run_with_waves("bank_layers", "icarus", tmp_path)
    w = sample_cycles(rtl.wave, ["u_chip.sequencer.bank_mask", "u_chip.gb.rd__en",
                                 "u_chip.gb.rd__addr", "u_chip.gb.wr__en", "u_chip.gb.wr__addr",
                                 "harness.rst"])
    accesses, gated_cycles = 0, 0
    for i, mask in enumerate(w["u_chip.sequencer.bank_mask"]):
        if w["harness.rst"][i] != 0 or mask is None:
            continue  # the harness clears the buffer in reset, before the program
        touched = [w["u_chip.gb.rd__addr"][i]] if w["u_chip.gb.rd__en"][i] else []
        touched += [w["u_chip.gb.wr__addr"][i]] if w["u_chip.gb.wr__en"][i] else []
        accesses += len(touched)
        for b, (lo, hi) in enumerate(cfg.bank_bounds):
            if not (mask >> b) & 1:
                gated_cycles += 1
                assert not any(lo <= a < hi for a in touched), (i, b, touched)
    assert accesses > 10 and gated_cycles > 10  # the property was really exercised


def test_enum_signals_get_name_filters_in_the_save_file(tmp_path: Path) -> None:
    """The opcode and fault signals (enum shapes, hdl.shapes) are shown through translate
    filters naming their members, as the state machines are."""
    _, rtl, states = _run_with_waves("slice", "icarus", tmp_path)
    lines = rtl.wave.with_suffix(".gtkw").read_text().splitlines()
    shown = {}
    for flag, ref, sig in zip(lines, lines[1:], lines[2:], strict=False):
        if flag.startswith("@") and ref.startswith("^1 "):
            shown[sig] = dict(line.split()[::-1] for line in
                              Path(ref[3:]).read_text().splitlines())
    opcode = next(s for s in shown if s.endswith("u_chip.sequencer.core.opcode[7:0]"))
    fault = next(s for s in shown if s.endswith("u_chip.fault[7:0]"))
    assert shown[opcode]["HALT"] == f"{Opcode.HALT:02X}"
    assert shown[fault]["WATCHDOG"] == f"{Fault.WATCHDOG:02X}"
    assert states["sequencer.core.opcode"]["VMM"] == Opcode.VMM
    w = sample_cycles(rtl.wave, ["u_chip.sequencer.core.opcode", "harness.halted"])
    assert w["u_chip.sequencer.core.opcode"][-1] == Opcode.HALT


@needs_gtkwave
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_gtkwave_opens_the_waves_with_every_group_of_the_save_file(sim: str,
                                                                   tmp_path: Path) -> None:
    """GTKWave 3.3 loads each simulator's VCD without a parse error and shows every signal
    and group the save file lists (it silently drops names it does not know)."""
    _, rtl, _ = _run_with_waves("slice", sim, tmp_path)
    savefile = rtl.wave.with_suffix(".gtkw")
    view = open_in_gtkwave(rtl.wave, savefile)
    assert view.errors == []
    signals, groups = savefile_signals(savefile)
    assert {"harness", "sequencer", "write_engine", "gb"} <= set(groups)
    assert len(signals) > 300 and view.facilities >= len(signals)
    assert view.signals == signals
    assert view.groups == groups
    # State machines show state names (through the filter files), not codes.
    state = next(s for s in signals if ".sequencer.core.seq_state" in s)
    assert view.at_end[state] == "HALTED"
    # ...and so do the units' machines and the enum-shaped signals.
    loop = next(s for s in signals if ".sequencer.vmm.vmm_state" in s)
    assert view.at_end[loop] == "IDLE"
    opcode = next(s for s in signals if s.endswith(".sequencer.core.opcode[7:0]"))
    assert view.at_end[opcode] == "HALT"
    fault = next(s for s in signals if s.endswith("u_chip.fault[7:0]"))
    assert view.at_end[fault] == "NONE"


VCD_HEADER = """$timescale 1ps $end
$scope module harness $end
$var wire 1 ! clk $end
$var wire 1 " inv_ok [0:0] $end
$scope module u_chip $end
$var wire 1 # {name} $end
$var wire 5 % state [4:0] $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
0!
0"
0#
b0 %
#500
1!
b1101 %
"""


@needs_gtkwave
def test_gtkwave_check_sees_a_refused_vcd_and_a_misspelled_save_file(tmp_path: Path) -> None:
    """The check above fails on what Verilator used to write (a name starting with
    ``$auto$verilog_backend.cc:``), on a save file that spells a name as vcdvcd does, and
    on a state filter keyed unlike GTKWave's display."""
    bad = tmp_path / "bad.vcd"
    bad.write_text(VCD_HEADER.format(name="$auto$verilog_backend.cc:2355:dump_module$1"))
    view = open_in_gtkwave(bad, write_savefile(bad, {}))
    assert any("parse error" in e for e in view.errors)
    good = tmp_path / "good.vcd"
    good.write_text(VCD_HEADER.format(name="busy"))
    savefile = write_savefile(good, {"state": {"IDLE": 0, "HALT": 13}})
    view = open_in_gtkwave(good, savefile)
    assert view.signals == savefile_signals(savefile)[0] == \
        ["harness.clk", "harness.inv_ok[0]", "harness.u_chip.busy", "harness.u_chip.state[4:0]"]
    assert view.at_end["harness.u_chip.state[4:0]"] == "HALT"
    # A filter keyed as GTKWave does not display the value ("d", not "0D") names nothing.
    (tmp_path / "good.state.filter").write_text("0 IDLE\nd HALT\n")
    assert open_in_gtkwave(good, savefile).at_end["harness.u_chip.state[4:0]"] == "0D"
    savefile.write_text(savefile.read_text().replace("inv_ok[0]", "inv_ok[0:0]"))
    assert open_in_gtkwave(good, savefile).signals != savefile_signals(savefile)[0]


def test_a_wave_header_cut_short_is_an_error_not_a_partial_save_file(tmp_path: Path) -> None:
    from cocotb_tests.waves import vcd_vars
    whole = tmp_path / "whole.vcd"
    whole.write_text("$scope module harness $end\n$var wire 1 ! clk $end\n$upscope $end\n"
                     "$enddefinitions $end\n#0\n0!\n")
    assert [ref for _, _, ref, _ in vcd_vars(whole)] == ["clk"]
    cut = tmp_path / "cut.vcd"
    cut.write_text(whole.read_text().split("$upscope")[0])
    with pytest.raises(ValueError, match=r"cut\.vcd: the wave header ends before "
                                         r"\$enddefinitions"):
        list(vcd_vars(cut))
