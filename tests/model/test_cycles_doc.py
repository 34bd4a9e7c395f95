"""docs/cycles.md is the cycle-rule page generated from the timing model's handlers."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.isa import Opcode
from model import cycles_doc, timing

DOC = Path(__file__).resolve().parents[2] / "docs" / "cycles.md"


def test_cycles_doc_is_current() -> None:
    assert DOC.read_text() == cycles_doc.render(), "docs/cycles.md is stale: run `make docs`"


def test_cycles_doc_goes_stale_when_a_rule_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed cycle rule (its handler's docstring) makes the committed page stale."""
    def vec(seq, index, entry, ex):
        """`3 * count` (a changed rule)."""
        return ex + 3 * entry.insn.count

    monkeypatch.setitem(timing.CYCLE_RULES, Opcode.VEC, vec)
    rendered = cycles_doc.render()
    assert "| `VEC` | `3 * count` (a changed rule). |" in rendered
    assert DOC.read_text() != rendered


def test_every_opcode_has_a_row() -> None:
    rows = [line for line in cycles_doc.render().splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == [op.name for op in Opcode]
