"""Co-simulation regression: every directed program on Icarus and Verilator.

For each program the RTL must end bit-identical to the golden model (global buffer and
main memory), with the timing model's cycle count and counters, and the same fault; and
the two simulators must agree with each other.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from pathlib import Path

import pytest

from cocotb_tests import runner
from firmware import config
from firmware.assembler import format_insn
from firmware.image import Image
from firmware.isa import RTL_OPCODES, Fault, Opcode, decode
from firmware.programs import directed
from model import checker, golden, timing

SIMS = ["icarus", "verilator"]
pytestmark = pytest.mark.cosim
#: The tests that share a batch run on one xdist worker, so no batch is simulated twice.
EDGES = pytest.mark.xdist_group("cosim-edges")
DIRECTED = pytest.mark.xdist_group("cosim-directed")


def _programs() -> dict[str, tuple[config.Config, Image]]:
    cfg = config.load("tiny")
    progs = {name: (cfg, build(cfg)) for name, build in directed.PROGRAMS.items()}
    progs["slice_seed7"] = (cfg, directed.slice_program(cfg, seed=7))
    progs.update({name: (cfg, img) for name, img in directed.fault_programs(cfg).items()})
    # Device variation, read noise and a coarser ADC: the RTL-driven analog model and the
    # golden model must still draw the same numbers and agree bit for bit.
    noisy = dataclasses.replace(cfg, analog=config.AnalogConfig(
        program_sigma=0.05, read_sigma=0.7, adc_lsb_shift=1, seed=11))
    progs["slice_noisy"] = (noisy, directed.slice_program(noisy))
    progs["multi_noisy"] = (noisy, directed.multi_program(noisy))
    # Drains slower than the compute need more APU rows and shorter planes than tiny's.
    fast = dataclasses.replace(cfg, pe=dataclasses.replace(cfg.pe, count=2),
                               crossbar=dataclasses.replace(cfg.crossbar, bitplane_cycles=2))
    progs["slow_drain"] = (fast, directed.slow_drain_program(fast))
    # Two write engines side by side (as on small and aras), on tiny's programs of writes.
    two = dataclasses.replace(cfg, write=dataclasses.replace(cfg.write, engines=2))
    progs.update({f"{name}_2engines": (two, directed.PROGRAMS[name](two))
                  for name in ("engines", "pipeline_write", "multi", "shared_port")})
    short = dataclasses.replace(cfg, sim=config.SimConfig(watchdog_cycles=300))
    progs["watchdog"] = (short, directed.slice_program(short))
    # Main memory above a word per cycle (1.5 words, a 2-word port): DMA bursts and
    # weight streams several words a cycle, at exactly the configured average.
    wide = config.load("small-wide")
    progs.update({f"{name}_wide": (wide, directed.PROGRAMS[name](wide))
                  for name in WIDE_PROGRAMS})
    progs["inv_wide"] = (wide, directed.single_instruction_programs(wide)["INV"])
    small = config.load("small")
    progs.update({f"{name}_small": (small, directed.PROGRAMS[name](small))
                  for name in SMALL_PROGRAMS})
    return progs


#: The directed programs that also run on small-wide (and INV, with its INV_WRITE):
#: main-memory bursts of every kind.
WIDE_PROGRAMS = ("slice", "multi", "apu_row", "groups", "delta_values", "shared_port")
#: The directed programs that also run on small: the INT8 glue on a larger buffer.
SMALL_PROGRAMS = ("vec8", "pool", "residual")


PROGRAMS = _programs()


@functools.cache
def _runs(sim: str, tmp_root: str) -> dict[str, runner.RtlRun]:
    """Every program of :data:`PROGRAMS` on ``sim``: one batched simulation per config."""
    batches: dict[str, list[str]] = {}
    for name, (cfg, _) in PROGRAMS.items():
        batches.setdefault(repr(cfg), []).append(name)
    runs = {}
    for k, names in enumerate(batches.values()):
        images = [PROGRAMS[name][1] for name in names]
        out = runner.run_batch(images, sim, Path(tmp_root) / f"programs-{sim}-{k}")
        runs.update(zip(names, out, strict=True))
    return runs


def _run(name: str, sim: str, tmp_root: str) -> runner.RtlRun:
    return _runs(sim, tmp_root)[name]


@pytest.fixture(scope="module")
def run_root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("cosim"))


@functools.cache
def _edge_runs(sim: str, run_root: str) -> list[runner.RtlRun]:
    progs = directed.field_edge_programs(config.load("tiny"))
    return runner.run_batch(list(progs.values()), sim, Path(run_root) / f"edges-{sim}")


@EDGES
@pytest.mark.parametrize("sim", SIMS)
def test_every_field_at_the_edges_of_its_width(sim: str, run_root: str) -> None:
    """Each field of each instruction at 0, 1, both ends and the sign boundary of what
    it holds: legal or faulting, RTL, golden and timing agree (272 programs, batched)."""
    cfg = config.load("tiny")
    progs = directed.field_edge_programs(cfg)
    faults, failures = Counter(), []
    for (name, image), rtl in zip(progs.items(), _edge_runs(sim, run_root), strict=True):
        gold = golden.run(image, RTL_OPCODES)
        checks = checker.compare(gold, timing.simulate(cfg, gold), rtl.counters, rtl.gb,
                                 rtl.dram, cfg.gb_bits, cfg.dram_bits)
        faults[gold.fault] += 1
        if not all(c.ok for c in checks):
            failures.append(f"{name} on {sim}:\n{checker.format_table(checks)}")
    assert not failures, f"{len(failures)} of {len(progs)} differ:\n" + "\n".join(failures[:3])
    assert {Fault.NONE, Fault.GB_RANGE, Fault.XBAR_RANGE, Fault.BAD_OPERAND,
            Fault.DRAM_RANGE} <= set(faults), faults


@EDGES
def test_field_edges_icarus_equals_verilator(run_root: str) -> None:
    for a, b in zip(_edge_runs("icarus", run_root), _edge_runs("verilator", run_root),
                    strict=True):
        assert a.counters == b.counters, a.out_dir
        assert a.gb == b.gb and a.dram == b.dram, a.out_dir


@pytest.mark.parametrize("sim", SIMS)
def test_every_instruction_alone(sim: str, run_root: str) -> None:
    """Each RTL instruction alone, all in one batched simulation per simulator."""
    cfg = config.load("tiny")
    progs = directed.single_instruction_programs(cfg)
    assert set(progs) == {op.name for op in RTL_OPCODES}
    runs = runner.run_batch(list(progs.values()), sim, Path(run_root) / f"alone-{sim}")
    for (name, image), rtl in zip(progs.items(), runs, strict=True):
        gold = golden.run(image, RTL_OPCODES)
        checks = checker.compare(gold, timing.simulate(cfg, gold), rtl.counters, rtl.gb,
                                 rtl.dram, cfg.gb_bits, cfg.dram_bits)
        assert all(c.ok for c in checks), f"{name} on {sim}:\n{checker.format_table(checks)}"
        assert gold.fault == Fault.NONE, name


@DIRECTED
@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_rtl_matches_models(name: str, sim: str, run_root: str) -> None:
    cfg, image = PROGRAMS[name]
    gold = golden.run(image, RTL_OPCODES)
    tim = timing.simulate(cfg, gold)
    rtl = _run(name, sim, run_root)
    checks = checker.compare(gold, tim, rtl.counters, rtl.gb, rtl.dram, cfg.gb_bits,
                             cfg.dram_bits)
    assert all(c.ok for c in checks), f"{name} on {sim}:\n{checker.format_table(checks)}"
    if name.startswith(("slice", "multi", "bank_layers", "apu_row")):
        assert rtl.counters["fault"] == Fault.NONE
        assert rtl.counters["analog_reads"] > 0
    if name.startswith(("vec8", "pool", "residual")):
        assert rtl.counters["fault"] == Fault.NONE


@DIRECTED
def test_fault_programs_fault_as_named(run_root: str) -> None:
    """Each fault program raises the fault it is named for, on the RTL itself."""
    expected = {
        "illegal_opcode": Fault.ILLEGAL_OPCODE, "inv_never_written": Fault.UNINITIALIZED,
        "inv_unstable": Fault.INV_UNSTABLE, "inv_level_range": Fault.BAD_OPERAND,
        "gb_range": Fault.GB_RANGE, "dram_range": Fault.DRAM_RANGE,
        "xbar_range": Fault.XBAR_RANGE, "vmm_window_range": Fault.GB_RANGE,
        "fault_during_write": Fault.ILLEGAL_OPCODE, "imem_range": Fault.IMEM_RANGE,
        "gated_bank": Fault.GATED_BANK, "bad_operand": Fault.BAD_OPERAND,
        "sfu_overlap": Fault.BAD_OPERAND, "vmm_outside_apu_row": Fault.XBAR_RANGE,
        "uninitialized": Fault.UNINITIALIZED, "vmm_overlap": Fault.VMM_OVERLAP,
        "watchdog": Fault.WATCHDOG, "vec_window_range": Fault.GB_RANGE,
    }
    for name, fault in expected.items():
        assert _run(name, "icarus", run_root).counters["fault"] == fault, name


@pytest.mark.parametrize("name", ["slice", "multi", "multi_noisy", "fault_during_write",
                                  "watchdog", "slice_wide", "multi_wide", "vec8", "pool",
                                  "residual", "pool_small"])
@DIRECTED
def test_icarus_equals_verilator(name: str, run_root: str) -> None:
    a, b = _run(name, "icarus", run_root), _run(name, "verilator", run_root)
    keys = ("cycles", "stall_cycles", "write_busy_cycles", "overlap_cycles", "pulses",
            "fault", "model_pulses", "analog_reads")
    assert {k: a.counters[k] for k in keys} == {k: b.counters[k] for k in keys}
    assert a.gb == b.gb
    assert a.dram == b.dram


@DIRECTED
def test_write_overlaps_compute(run_root: str) -> None:
    """The multi program writes crossbar 1 while crossbar 0 computes."""
    counters = _run("multi", "icarus", run_root).counters
    assert counters["overlap_cycles"] > 8 * config.load("tiny").crossbar.bitplane_cycles


def _flip(image: Image, addr: int) -> Image:
    """``image`` with one bit of main-memory word ``addr`` flipped."""
    dram = list(image.dram)
    dram[addr] ^= 1
    return Image(image.config, image.imem, dram, image.regions)


def _scoreboard_cases() -> dict[str, tuple[Image, int, Opcode, int]]:
    """Per analog port: a program, a main-memory word that feeds one of that port's
    transactions, the opcode making it, and which transaction of the port it is."""
    cfg = config.load("tiny")
    slice_ = directed.slice_program(cfg)
    inv = directed.single_instruction_programs(cfg)["INV"]
    matrix = next(decode(w).dram_addr for w in inv.imem if decode(w).opcode == Opcode.INV_WRITE)
    return {
        "xbar_read": (slice_, slice_.regions["activations"].addr, Opcode.VMM, 1),
        # The fourth delta word: the first row to differ is the one holding it.
        "row_write": (slice_, slice_.regions["deltas"].addr + 3, Opcode.WRITE_START,
                      3 // cfg.delta_row_words + 1),
        "inv_program": (inv, matrix + 1, Opcode.INV_WRITE, 1),
        "inv_solve": (inv, 0, Opcode.INV, 1),
    }


@pytest.mark.parametrize("port", sorted(_scoreboard_cases()))
def test_scoreboard_stops_at_the_first_divergent_transaction(port: str, tmp_path: Path) -> None:
    """The scoreboard expects the golden run of an image one bit away from the one the
    RTL runs: the run ends at the first transaction that bit feeds, named by cycle, pc,
    instruction and what differs, long before the program would have halted."""
    image, addr, opcode, n = _scoreboard_cases()[port]
    with pytest.raises(runner.ScoreboardError) as err:
        runner.run(image, "icarus", tmp_path / "run", expected=_flip(image, addr))
    pc = next(k for k, w in enumerate(image.imem) if decode(w).opcode == opcode)
    msg = str(err.value)
    assert msg.startswith("scoreboard: cycle ") and ", RTL at pc " in msg
    assert (f"{golden.PORTS[port]} #{n} of pc {pc} ({format_insn(decode(image.imem[pc]))}) "
            "differs from the golden model") in msg
    assert "expected" in msg and "observed" in msg
    seen = re.match(r"scoreboard: cycle (\d+),", msg)
    stopped = re.search(r"the run stopped there, at cycle (\d+)", msg)
    total = timing.simulate(image.config, golden.run(image, RTL_OPCODES)).cycles
    # The run ended in the cycle of the mismatch, long before the program would have.
    assert 0 < int(seen[1]) == int(stopped[1]) < total
    assert not (tmp_path / "run" / "rtl.json").exists()


@pytest.mark.parametrize("sim", SIMS)
def test_scoreboard_sees_a_divergence_on_both_simulators(sim: str, tmp_path: Path) -> None:
    image, addr, _, _ = _scoreboard_cases()["xbar_read"]
    with pytest.raises(runner.ScoreboardError, match=r"crossbar read #1 of pc \d+ \(VMM "):
        runner.run(image, sim, tmp_path / "run", expected=_flip(image, addr))


def _window_case(port: str) -> tuple[Image, int]:
    """A program whose first transaction on ``port`` matters, and that port's window (in
    cycles from the request) as the RTL counts it."""
    cfg = config.load("tiny")
    if port == "xbar_read":
        return directed.slice_program(cfg), cfg.crossbar.bitplane_cycles
    image = directed.single_instruction_programs(cfg)["INV"]
    if port == "inv_solve":
        return image, cfg.inv.solve_cycles
    gold = golden.run(image, RTL_OPCODES)   # INV_WRITE: the rows' programming time
    return image, sum(r.cycles(cfg) for e in gold.trace if e.insn.opcode == Opcode.INV_WRITE
                      for r in e.rows)


@pytest.mark.parametrize("port", ["xbar_read", "inv_solve", "inv_program"])
def test_an_answer_counts_until_the_last_cycle_of_its_window(port: str, tmp_path: Path) -> None:
    """An analog answer in the last cycle of the window the RTL counts is used; one a
    cycle later is missed, and the checks see it (so jittered answers are right because
    they stay inside the window, not by luck)."""
    image, window = _window_case(port)
    cfg = image.config
    gold = golden.run(image, RTL_OPCODES)
    tim = timing.simulate(cfg, gold)
    for delay, ok in ((window - 1, True), (window, False)):
        try:
            rtl = runner.run_batch([image], "icarus", tmp_path / f"d{delay}", jitter=5,
                                   jitter_fixed={port: delay})[0]
        except runner.ScoreboardError:   # a missed INV answer: the solve never happens
            assert not ok, f"{port} answered {delay} cycles in"
            continue
        assert rtl.counters["answer_delays"][port][:2] == [delay, delay]
        checks = checker.compare(gold, tim, rtl.counters, rtl.gb, rtl.dram, cfg.gb_bits,
                                 cfg.dram_bits)
        assert all(c.ok for c in checks) == ok, checker.format_table(checks)


def test_a_run_cut_short_inside_a_window_leaves_nothing_for_the_next(tmp_path: Path) -> None:
    """The watchdog stops a run while the INV responder waits to answer (the last cycle
    of its window); the next run of the batch must not see that answer or count it."""
    cfg = config.load("tiny")
    progs = directed.single_instruction_programs(cfg)
    solve_at = timing.simulate(cfg, golden.run(progs["INV_WRITE"], RTL_OPCODES)).cycles
    short = dataclasses.replace(cfg, sim=config.SimConfig(
        watchdog_cycles=solve_at + cfg.inv.solve_cycles // 2))
    images = [Image(short, p.imem, p.dram, p.regions) for p in (progs["INV"],
                                                                progs["INV_WRITE"])]
    runs = runner.run_batch(images, "icarus", tmp_path / "batch", jitter=1,
                            jitter_fixed={"inv_solve": cfg.inv.solve_cycles - 1})
    assert runs[0].counters["fault"] == Fault.WATCHDOG
    for image, rtl in zip(images, runs, strict=True):
        gold = golden.run(image, RTL_OPCODES)
        checks = checker.compare(gold, timing.simulate(short, gold), rtl.counters, rtl.gb,
                                 rtl.dram, short.gb_bits, short.dram_bits)
        assert all(c.ok for c in checks), checker.format_table(checks)


def test_a_long_simulation_is_announced_with_an_estimate(monkeypatch, capsys) -> None:
    assert runner.simulation_estimate(1000, "icarus") is None
    line = runner.simulation_estimate(1_000_000, "icarus")
    assert f"about {1_000_000 // runner.SIM_CYCLES_PER_S['icarus']} s under icarus" in line
    assert "SIM=verilator" in line
    assert "SIM=verilator" not in runner.simulation_estimate(10**9, "verilator")
    from cocotb_tests import sim
    monkeypatch.setattr(runner, "SIM_WARN_S", 0.0)   # the slice is quick: announce anyway
    assert sim.main(["--program", "slice"]) == 0
    image = directed.slice_program(config.load("tiny"))
    cycles = timing.simulate(image.config, golden.run(image, RTL_OPCODES)).cycles
    assert f"please wait: {cycles} cycles" in capsys.readouterr().err
