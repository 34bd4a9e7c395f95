"""Global buffer: on-chip SRAM with one read, one write and one debug read port, and for a
main-memory port wider than a word the DMA's extra lanes (``lanes - 1`` more read and
write ports onto the words after the first).

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
    word (takes the write port; used only while the chip is held in reset). With ``lanes``
    > 1, ``rdx``/``wrx`` (``lanes - 1`` lanes, ``addr`` the first of them) are the DMA's:
    its lane 0 is ``rd``/``wr``; they are not transparent (a DMA burst reads or writes the
    buffer, never both, and no other unit runs beside it)."""

    def __init__(self, depth: int, width: int, lanes: int = 1):
        self._depth, self._width, self._lanes = depth, width, lanes
        extra = {"rdx": In(BufferReadPort(depth, width, lanes - 1)),
                 "wrx": In(BufferWritePort(depth, width, lanes - 1))} if lanes > 1 else {}
        super().__init__({
            "rd": In(BufferReadPort(depth, width)),
            "wr": In(BufferWritePort(depth, width)),
            **extra,
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
        for i in range(self._lanes - 1):   # the DMA's lane i + 1, at the word after lane i
            lane_rd, lane_wr = mem.read_port(), mem.write_port()
            w = self._width
            m.d.comb += [
                lane_rd.en.eq(self.rdx.en[i]), lane_rd.addr.eq(self.rdx.addr + i),
                self.rdx.data.word_select(i, w).eq(lane_rd.data),
                lane_wr.en.eq(self.wrx.en[i]), lane_wr.addr.eq(self.wrx.addr + i),
                lane_wr.data.eq(self.wrx.data.word_select(i, w)),
            ]
        return m
