"""docs/isa.md is generated from firmware/isa.py and a test fails when it is stale."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from firmware import isa, isa_doc


def test_isa_doc_is_current() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "isa.md"
    assert doc.read_text() == isa_doc.render(), "docs/isa.md is stale: run `make docs`"


def test_isa_doc_goes_stale_when_an_instruction_changes(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """A changed instruction description makes the committed docs/isa.md stale."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "isa.md"
    nop = isa.SPECS[isa.Opcode.NOP]
    monkeypatch.setitem(isa.SPECS, isa.Opcode.NOP, dataclasses.replace(nop, doc="Idle twice."))
    rendered = isa_doc.render()
    assert "Idle twice." in rendered and doc.read_text() != rendered

