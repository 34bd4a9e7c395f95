"""The in-simulation scoreboard, without a simulator: it passes the golden model's own
transactions and names the first one that differs (cycle, pc, instruction, what)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cocotb_tests.scoreboard import Scoreboard
from firmware.assembler import format_insn
from firmware.isa import RTL_OPCODES
from firmware.programs import directed
from firmware.programs.random import random_program
from model import golden
from model.golden import PORTS, Transaction


def _transactions(tiny) -> list[Transaction]:
    """A random program that makes transactions on every port (seed 13: see test_checker)."""
    ts = golden.run(random_program(tiny, 13), RTL_OPCODES).transactions
    assert {t.port for t in ts} == set(PORTS)
    return ts


def _replay(board: Scoreboard, ts: list[Transaction]) -> list[bool]:
    return [board.observe(t.port, t.xbar, dict(t.fields), t.data, t.result) for t in ts]


def test_the_golden_transactions_pass(tiny) -> None:
    ts = _transactions(tiny)
    board = Scoreboard()
    board.reset(ts)
    assert all(_replay(board, ts))
    assert board.leftover() is None and not board.failed
    assert board.seen == golden.GoldenResult([], [], 0, 0, 0, transactions=ts).port_counts()


def test_golden_records_every_analog_transaction_of_a_program(tiny) -> None:
    """One read per VMM pass with every APU row's inputs; one row write per crossbar row."""
    image = directed.groups_program(tiny)
    gold = golden.run(image, RTL_OPCODES)
    reads = [t for t in gold.transactions if t.port == "xbar_read"]
    vmm_passes = sum(e.insn.opcode.name == "VMM" for e in gold.trace)
    assert len(reads) > vmm_passes >= 1          # windows make several passes per VMM
    for t in reads:
        assert t.data.shape == (dict(t.fields)["nrows"], tiny.crossbar.rows)
    writes = [t for t in gold.transactions if t.port == "row_write"]
    assert len(writes) == tiny.crossbar.rows * tiny.n_crossbars   # one group write of all


@pytest.mark.parametrize("port", sorted(PORTS))
def test_first_difference_is_named(tiny, port: str) -> None:
    ts = _transactions(tiny)
    k = next(i for i, t in enumerate(ts) if t.port == port)
    bad = ts[k].data.copy()
    bad.flat[-1] += 1
    observed = list(ts)
    observed[k] = dataclasses.replace(ts[k], data=bad)
    seen = []
    board = Scoreboard(lambda: "cycle 4242, RTL at pc 9", on_mismatch=lambda: seen.append(1))
    board.reset(ts)
    results = _replay(board, observed)
    assert results[:k] == [True] * k and results[k] is False and seen == [1]
    msg = board.mismatch
    n = sum(t.port == port for t in ts[:k + 1])
    assert msg.startswith(f"scoreboard: cycle 4242, RTL at pc 9: {PORTS[port]} #{n} of pc "
                          f"{ts[k].pc} ({format_insn(ts[k].insn)}) differs")
    assert "expected" in msg and "observed" in msg
    assert all(r is False for r in results[k + 1:])     # the first mismatch is kept
    assert board.mismatch == msg


def test_wrong_crossbar_and_fields_are_named(tiny) -> None:
    ts = _transactions(tiny)
    read = next(t for t in ts if t.port == "xbar_read")
    board = Scoreboard()
    board.reset([read])
    fields = dict(read.fields) | {"ncols": dict(read.fields)["ncols"] + 1}
    assert not board.observe("xbar_read", read.xbar + 1, fields, read.data)
    assert f"xbar {read.xbar} expected, {read.xbar + 1} observed" in board.mismatch
    assert "ncols" in board.mismatch


def test_an_unexpected_and_a_missing_transaction_are_named(tiny) -> None:
    ts = _transactions(tiny)
    solves = [t for t in ts if t.port == "inv_solve"]
    board = Scoreboard(lambda: "cycle 9, RTL at pc 3")
    board.reset(solves)
    _replay(board, solves)
    extra = solves[0]
    assert not board.observe("inv_solve", extra.xbar, dict(extra.fields), extra.data)
    assert board.mismatch.startswith("scoreboard: cycle 9, RTL at pc 3: INV solve #")
    assert f"but the golden model makes only {len(solves)} INV solves" in board.mismatch
    board = Scoreboard(lambda: "cycle 77, RTL at pc 20")
    board.reset(ts)
    _replay(board, ts[:-1])
    assert board.leftover() is not None
    assert board.mismatch.startswith("scoreboard: cycle 77, RTL at pc 20: the chip halted")
    assert f"never seen, from the one of pc {ts[-1].pc}" in board.mismatch


def test_levels_after_a_row_write_are_compared(tiny) -> None:
    ts = _transactions(tiny)
    w = next(t for t in ts if t.port == "row_write")
    board = Scoreboard()
    board.reset([w])
    wrong = np.array(w.result)
    wrong[0] = (wrong[0] + 1) % tiny.cell_levels
    assert not board.observe("row_write", w.xbar, dict(w.fields), w.data, wrong)
    assert "levels after[0]" in board.mismatch


def test_row_writes_are_in_order_per_crossbar_only(tiny) -> None:
    """Write engines interleave their rows: two crossbars' rows pass in any order, but a
    crossbar's own rows out of order are a mismatch."""
    ts = [t for t in golden.run(directed.groups_program(tiny), RTL_OPCODES).transactions
          if t.port == "row_write"]
    by_xbar: dict[int, list[Transaction]] = {}
    for t in ts:
        by_xbar.setdefault(t.xbar, []).append(t)
    a, b = [x for x, rows in by_xbar.items() if len(rows) >= 2][:2]
    board = Scoreboard()
    board.reset(ts)
    # All of b's rows, then all of a's: another order than the golden model's.
    others = [t for t in ts if t.xbar not in (a, b)]
    assert all(_replay(board, by_xbar[b] + by_xbar[a] + others))
    assert board.leftover() is None
    board.reset(ts)
    first, second = by_xbar[a][:2]
    assert not board.observe("row_write", a, dict(second.fields), second.data, second.result)
    assert f"row write #1 of pc {first.pc}" in board.mismatch
