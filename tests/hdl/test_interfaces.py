"""The port signatures: members and directions from the initiator's side, parameters
validated and compared, and connect() pairing an initiator with its target."""

from __future__ import annotations

import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from firmware import config
from hdl.decoder import instruction_layout
from hdl.interfaces import (
    BufferReadPort,
    BufferWritePort,
    Dispatch,
    GrantRequest,
    InvPort,
    MainMemoryPort,
    RowWrite,
    Scoreboard,
    WriteCommand,
    write_fields,
)


def test_signatures_compare_by_their_parameters() -> None:
    assert BufferReadPort(16, 64) == BufferReadPort(16, 64) != BufferReadPort(16, 128)
    assert BufferReadPort(16, 64) != BufferWritePort(16, 64)
    assert WriteCommand() == WriteCommand() and GrantRequest() != Scoreboard()
    assert RowWrite(4, 8).members["deltas"].shape.length == 8
    assert {BufferReadPort(16, 64), BufferReadPort(16, 64)} == {BufferReadPort(16, 64)}


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_parameters_are_validated(bad) -> None:
    with pytest.raises(TypeError, match="positive integer"):
        BufferWritePort(bad, 64)
    with pytest.raises(TypeError, match="positive integer"):
        MainMemoryPort(bad)


def test_directions_are_the_initiators(tiny: config.Config) -> None:
    rd = BufferReadPort(tiny.gb_words, tiny.gb_bits).members
    assert (rd["en"].flow, rd["addr"].flow, rd["data"].flow) == (Out, Out, In)
    inv = InvPort(tiny.inv.size, tiny.inv.count, tiny.dram_bits).members
    assert inv["resp_x"].flow == inv["ok"].flow == In and inv["req_b"].shape == tiny.inv.size * 32
    ctl = Dispatch(instruction_layout()).members
    assert [n for n, m in ctl.items() if m.flow == In] == ["done", "fault", "stall"]
    assert set(write_fields()) <= set(WriteCommand().members)


def test_connect_pairs_an_initiator_with_its_target() -> None:
    """The flipped signature connects; one of another width, or a second initiator, does
    not."""
    port = BufferWritePort(16, 64)

    def side(member) -> object:
        return wiring.Signature({"bus": member}).create()

    connect(Module(), side(Out(port)).bus, side(In(port)).bus)
    with pytest.raises(wiring.ConnectionError):
        connect(Module(), side(Out(port)).bus, side(In(BufferWritePort(16, 128))).bus)
    with pytest.raises(wiring.ConnectionError):  # every member driven twice
        connect(Module(), side(Out(port)).bus, flipped(side(In(port)).bus))
