"""Global buffer: on-chip SRAM with one read, one write and one debug read port.

Bank gating over the heterogeneous banks of the config comes with the complete chip;
this block already takes the whole configured capacity.
"""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hdl.interfaces import BufferReadPort, BufferWritePort


class GlobalBuffer(wiring.Component):
    """Members: ``rd`` (:class:`~hdl.interfaces.BufferReadPort`) synchronous read (data
    the cycle after ``rd.en``, transparent to a write of the same word in the same
    cycle); ``wr`` (:class:`~hdl.interfaces.BufferWritePort`) write; ``dbg_addr``/``dbg_data``
    a synchronous read port for the host, and ``dbg_we`` lets the host clear the addressed
    word (takes the write port; used only while the chip is held in reset)."""

    def __init__(self, depth: int, width: int):
        self._depth, self._width = depth, width
        super().__init__({
            "rd": In(BufferReadPort(depth, width)),
            "wr": In(BufferWritePort(depth, width)),
            "dbg_addr": In(range(depth)),
            "dbg_data": Out(width),
            "dbg_we": In(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=self._width, depth=self._depth, init=[])
        wr = mem.write_port()
        # Transparent: a read in the cycle a word is written returns the new data, so
        # streaming instructions see their own earlier results (VEC with overlapping dst).
        rd = mem.read_port(transparent_for=(wr,))
        dbg = mem.read_port()
        m.d.comb += [
            rd.en.eq(self.rd.en), rd.addr.eq(self.rd.addr), self.rd.data.eq(rd.data),
            wr.en.eq(self.wr.en), wr.addr.eq(self.wr.addr), wr.data.eq(self.wr.data),
            dbg.addr.eq(self.dbg_addr), self.dbg_data.eq(dbg.data),
        ]
        with m.If(self.dbg_we):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(self.dbg_addr), wr.data.eq(0)]
        return m
