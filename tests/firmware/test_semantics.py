"""The per-opcode rules: every dispatch table covers every opcode, and the Amaranth
decoder (an independent implementation) reaches the rules' fault verdict."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from block_bench import decode_under

from firmware import config, semantics
from firmware.isa import RTL_OPCODES, SPECS, Fault, Instruction, Opcode, VmmOut, Window, decode
from firmware.programs import directed
from firmware.programs import random as random_programs
from model import energy, golden, timing

#: Every ``{Opcode: handler}`` table, by the concern it serves.
TABLES = {
    "semantics.RULES": semantics.RULES,
    "golden.EFFECTS": golden.EFFECTS,
    "timing.CYCLE_RULES": timing.CYCLE_RULES,
    "energy.EVENTS": energy.EVENTS,
    "random.DRAWERS": random_programs.DRAWERS,
}


def uncovered(table: dict) -> set[Opcode]:
    """The opcodes of the ISA a table has no entry for (and keys that are no opcode)."""
    return set(Opcode) ^ set(table)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_covers_every_opcode(name: str) -> None:
    assert not uncovered(TABLES[name]), name


def test_a_table_missing_an_opcode_is_caught() -> None:
    for table in TABLES.values():
        short = {op: h for op, h in table.items() if op != Opcode.COMBINE}
        assert uncovered(short) == {Opcode.COMBINE}


def test_vmm_geometry_takes_zero_counts_as_one(tiny: config.Config) -> None:
    vmm = Instruction.make("VMM", xbar=1, ncols=0, nrows=0, ngroups=0, replicas=0)
    assert semantics.vmm_apu_rows(vmm) == 1
    assert semantics.vmm_xbar_span(tiny, vmm) == (1, 2)
    assert semantics.vmm_out_words(tiny, vmm) == tiny.output_words
    wide = Instruction.make("VMM", xbar=1, ncols=2, nrows=2, ngroups=2, replicas=2)
    assert semantics.vmm_apu_rows(wide) == 8
    assert semantics.vmm_xbar_span(tiny, wide) == (1, 1 + 7 * tiny.apu_cols + 2)


def _windowed_vecs(cfg: config.Config) -> list[Instruction]:
    """Windowed VECs whose first window lies in the buffer and whose later ones reach
    its end, a gated bank or an unwritten word under the states of :func:`decoded`."""
    gbw = cfg.gb_words
    return [Instruction.make("VEC", func=f, dst=d, src_a=a, src_b=b, count=n, windowed=1)
            for f, d, a, b, n in ((2, 0, gbw - 12, 0, 2), (4, gbw - 6, 0, 3, 1),
                                  (5, 40, 0, 2, 3), (3, 2, 4, 60, 2), (0, 8, 9, 30, 0),
                                  (1, gbw - 3, gbw - 3, gbw - 3, 3))]


def _cases(cfg: config.Config) -> list[Instruction]:
    """Each RTL instruction of the directed single-instruction programs, then with each
    field at each edge of its width, then random field values."""
    base = []
    for name, image in directed.single_instruction_programs(cfg).items():
        base.append(next(i for i in map(decode, reversed(image.imem)) if i.opcode.name == name))
    cases = list(base)
    for insn in base:
        for f in insn.spec.fields:
            cases += [Instruction.make(insn.opcode, **{**dict(insn.args), f.name: v})
                      for v in f.edge_values()]
    cases += _windowed_vecs(cfg)
    rng = np.random.default_rng(15)
    for spec in SPECS.values():
        for _ in range(10):
            args = {f.name: int(rng.integers(*f.bounds, endpoint=True)) for f in spec.fields}
            cases.append(Instruction.make(spec.opcode, **args))
    return cases


def _decoder_faults(cfg: config.Config, cases: list[Instruction],
                    states: list[tuple[Window, int, int]]) -> list[Fault]:
    """The decoder's fault for every case in every (window, bank mask, valid) state."""
    return decode_under(cfg, cases, states, lambda ctx, dut: Fault(ctx.get(dut.fault)))


def _mismatches(cfg: config.Config, cases: list[Instruction],
                states: list[tuple[Window, int, int]], got: list[Fault]) -> list[str]:
    out = []
    full = (1 << len(cfg.global_buffer.bank_bytes)) - 1
    for k, fault in enumerate(got):
        (window, mask, valid), insn = states[k // len(cases)], cases[k % len(cases)]
        flags = np.array([(valid >> w) & 1 for w in range(cfg.gb_words)], dtype=bool)
        want = semantics.check(cfg, insn, RTL_OPCODES, window,
                               -1 if mask & full == full else mask, flags)
        if fault != want:
            out.append(f"{insn} {window}: decoder {fault.name}, rules {want.name}")
    return out


@pytest.fixture(scope="module")
def decoded(tiny: config.Config):
    cases = _cases(tiny)
    all_valid = (1 << tiny.gb_words) - 1
    states = [(Window(), 0xFFFFFFFF, all_valid), (Window(3, 5, 2, 2, 9), 0b10, all_valid),
              (Window(2, 1, 1), 0xFFFFFFFF, all_valid & ~0xF0)]
    return cases, states, _decoder_faults(tiny, cases, states)


def test_decoder_reaches_the_rules_verdict(tiny: config.Config, decoded) -> None:
    cases, states, got = decoded
    assert not _mismatches(tiny, cases, states, got)
    assert {Fault.NONE, Fault.BAD_OPERAND, Fault.XBAR_RANGE, Fault.GB_RANGE,
            Fault.VMM_OVERLAP, Fault.DRAM_RANGE, Fault.GATED_BANK,
            Fault.UNINITIALIZED} <= set(got)


def test_decoder_check_catches_a_broken_rule(tiny: config.Config, decoded,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop VMM's crossbar-range check from the rules: the decoder disagrees."""
    cases, states, got = decoded
    monkeypatch.setitem(semantics.RULES, Opcode.VMM, dataclasses.replace(
        semantics.RULES[Opcode.VMM], xbar_fault=lambda cfg, insn: False))
    assert any("VMM" in m for m in _mismatches(tiny, cases, states, got))


def test_decoder_check_catches_a_dropped_overlap_rule(tiny: config.Config, decoded,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop VMM's output-over-input check from the rules: the decoder disagrees."""
    cases, states, got = decoded
    monkeypatch.setitem(semantics.RULES, Opcode.VMM, dataclasses.replace(
        semantics.RULES[Opcode.VMM], overlap=lambda cfg, insn, window: False))
    assert any("VMM_OVERLAP" in m for m in _mismatches(tiny, cases, states, got))


def test_decoder_check_catches_a_vec_rule_blind_to_windows(
        tiny: config.Config, decoded, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give VEC's extents one window whatever ``windowed`` says: the decoder (which checks
    every window) disagrees."""
    cases, states, got = decoded
    one = Window()
    monkeypatch.setitem(semantics.RULES, Opcode.VEC, dataclasses.replace(
        semantics.RULES[Opcode.VEC],
        gb=lambda cfg, i, w: list(semantics.vec_spans(i, one)),
        gb_reads=lambda cfg, i, w: list(semantics.vec_spans(i, one)[1:])))
    assert any("VEC" in m and "('windowed', 1)" in m
               for m in _mismatches(tiny, cases, states, got))


def test_a_windowed_vec_checks_its_extents_over_every_window(tiny: config.Config) -> None:
    """Three windows of two words, inputs 30 words apart, results 20: the extents run
    from the first window's first word to the last window's last (62 words of a and b,
    42 of the result). Each fault below is hit only by a window after the first: the
    same VEC unwindowed (or a window count of 1) is legal."""
    gbw = tiny.gb_words
    window = Window(count=3, in_stride=30, out_stride=20)

    def fault(windowed: int, mask: int = -1, valid=None, win: Window = window, **f: int
              ) -> Fault:
        vec = Instruction.make("VEC", **{"func": 4, "dst": 0, "src_a": 0, "src_b": 0,
                                         "count": 2, "windowed": windowed, **f})
        return semantics.check(tiny, vec, RTL_OPCODES, win, mask, valid)

    vec = Instruction.make("VEC", func=4, dst=1, src_a=2, src_b=3, count=2, windowed=1)
    assert semantics.vec_spans(vec, window) == ((1, 42), (2, 62), (3, 62))
    cases = [dict(src_a=gbw - 61), dict(src_b=gbw - 61), dict(dst=gbw - 41)]
    for f in cases:
        assert fault(1, **f) == Fault.GB_RANGE, f
        assert fault(0, **f) == fault(1, win=Window(), **f) == Fault.NONE, f
    assert fault(1, src_a=gbw - 62) == Fault.NONE        # the last window's end fits
    # Bank 0 powered only (words 0-31): the second window of b is gated.
    mask = 0b001
    assert tiny.bank_bounds[0] == (0, 32)
    assert fault(1, mask) == Fault.GATED_BANK and fault(0, mask) == Fault.NONE
    # An unwritten word between the windows is inside the extent (first to last word).
    valid = np.ones(gbw, dtype=bool)
    valid[45] = False
    assert fault(1, valid=valid) == Fault.UNINITIALIZED
    assert fault(0, valid=valid) == Fault.NONE
    assert fault(1, valid=valid, src_a=46, src_b=46) == Fault.NONE
    # A zero count touches nothing, however far its windows would reach.
    assert fault(1, count=0, src_a=gbw, src_b=gbw, dst=gbw) == Fault.NONE


def test_requantizing_vmms_take_the_modes_they_can(tiny: config.Config) -> None:
    """A mode VmmOut lacks, one with accumulate (partial sums stay int32), or one
    column's INT8 outputs on tiny (4 bytes: half a word) fault BAD_OPERAND; two columns
    fill a word, a quarter of their int32 words."""
    def vmm(**f: int) -> Instruction:
        return Instruction.make("VMM", xbar=0, in_addr=0, out_addr=64, **f)

    ok = vmm(ncols=2, mode=VmmOut.REQUANT_RELU)
    assert semantics.check(tiny, ok) == Fault.NONE
    assert semantics.vmm_out_words(tiny, ok) == 2 * tiny.output_words // 4
    for bad in (vmm(ncols=2, mode=3), vmm(ncols=2, mode=VmmOut.REQUANT, accumulate=1),
                vmm(ncols=1, mode=VmmOut.REQUANT)):
        assert semantics.check(tiny, bad) == Fault.BAD_OPERAND, bad


def test_decoder_check_catches_dropped_mode_rules(tiny: config.Config, decoded,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep only VMM's window-count check of its operands: the decoder disagrees."""
    cases, states, got = decoded
    monkeypatch.setitem(semantics.RULES, Opcode.VMM, dataclasses.replace(
        semantics.RULES[Opcode.VMM],
        bad_operand=lambda cfg, i, w: bool(w.count % semantics.vmm_replicas(i))))
    assert any("BAD_OPERAND" in m and "VMM" in m for m in _mismatches(tiny, cases, states, got))


def test_a_vmm_faults_when_its_outputs_meet_its_inputs(tiny: config.Config) -> None:
    """Three windows of two row blocks: inputs span words 0 .. 2 * 3 + 4 - 1 = 9. Outputs
    right after them, or ending right before them, are legal; one word into the input
    extent from either side faults VMM_OVERLAP (before the gaps of a strided load,
    too: the extent runs from the first word to the last)."""
    iw, ow = tiny.input_words, tiny.output_words
    window = Window(count=3, in_stride=3, out_stride=ow)
    in_end = 2 * 3 + 2 * iw
    out_ext = 2 * ow + ow

    def fault(in_addr: int, out_addr: int) -> Fault:
        vmm = Instruction.make("VMM", xbar=0, in_addr=in_addr, out_addr=out_addr, nrows=2)
        return semantics.check(tiny, vmm, RTL_OPCODES, window)

    assert fault(0, in_end) == Fault.NONE
    assert fault(0, in_end - 1) == Fault.VMM_OVERLAP
    assert fault(out_ext, 0) == Fault.NONE
    assert fault(out_ext - 1, 0) == Fault.VMM_OVERLAP
    assert fault(0, 4) == Fault.VMM_OVERLAP      # inside the strided windows' span


@pytest.mark.parametrize("seed", range(5))
def test_cell_encoding_round_trip(tiny: config.Config, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = rng.integers(-128, 128, size=(tiny.crossbar.rows, tiny.weights_per_row))
    levels = semantics.weights_to_levels(w, tiny)
    assert levels.max() < tiny.cell_levels
    assert (semantics.levels_to_weights(levels, tiny) == w).all()


def test_cell_encoding_rejects_oversized_blocks(tiny: config.Config) -> None:
    with pytest.raises(ValueError, match="does not fit a crossbar"):
        semantics.weights_to_levels(np.zeros((17, 4), dtype=int), tiny)
    with pytest.raises(ValueError, match="weights must lie in -128..127"):
        semantics.weights_to_levels(np.full((2, 2), 128), tiny)


def test_check_raises_the_first_fault_in_the_declared_order(tiny: config.Config,
                                                            monkeypatch) -> None:
    """A LOAD past the end of both memories: GB_RANGE comes before DRAM_RANGE in
    FAULT_TESTS, and reordering the table reorders what check raises."""
    insn = Instruction.make("LOAD", gb_addr=tiny.gb_words, dram_addr=tiny.dram_words, count=1)
    assert semantics.FAULT_ORDER.index(Fault.GB_RANGE) < semantics.FAULT_ORDER.index(
        Fault.DRAM_RANGE)
    assert semantics.check(tiny, insn) == Fault.GB_RANGE
    swapped = dict(sorted(semantics.FAULT_TESTS.items(),
                          key=lambda kv: kv[0] == Fault.GB_RANGE))
    monkeypatch.setattr(semantics, "FAULT_TESTS", swapped)
    assert semantics.check(tiny, insn) == Fault.DRAM_RANGE
