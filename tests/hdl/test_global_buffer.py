"""The global buffer's read and write ports."""

from __future__ import annotations

from block_bench import run_block


def test_global_buffer_ports() -> None:
    """Synchronous reads, transparent to a same-cycle write; the host port reads and
    clears words."""
    from hdl.global_buffer import GlobalBuffer
    dut = GlobalBuffer(depth=16, width=64)
    seen = {}

    async def tb(ctx):
        for addr, value in ((3, 0x1111), (4, 0x2222)):
            ctx.set(dut.wr.en, 1)
            ctx.set(dut.wr.addr, addr)
            ctx.set(dut.wr.data, value)
            await ctx.tick()
        # Read word 4 while writing it: the read returns the new value.
        ctx.set(dut.wr.addr, 4)
        ctx.set(dut.wr.data, 0x3333)
        ctx.set(dut.rd.en, 1)
        ctx.set(dut.rd.addr, 4)
        await ctx.tick()
        ctx.set(dut.wr.en, 0)
        seen["transparent"] = ctx.get(dut.rd.data)
        ctx.set(dut.rd.addr, 3)
        await ctx.tick()
        seen["plain"] = ctx.get(dut.rd.data)
        ctx.set(dut.rd.en, 0)
        await ctx.tick()
        seen["held"] = ctx.get(dut.rd.data)      # no enable: the last data stays
        ctx.set(dut.dbg_addr, 3)
        await ctx.tick()
        seen["dbg"] = ctx.get(dut.dbg_data)
        ctx.set(dut.dbg_we, 1)                   # host clear of word 3
        await ctx.tick()
        ctx.set(dut.dbg_we, 0)
        await ctx.tick()
        seen["cleared"] = ctx.get(dut.dbg_data)

    run_block(dut, tb)
    assert seen == {"transparent": 0x3333, "plain": 0x1111, "held": 0x1111, "dbg": 0x1111,
                    "cleared": 0}

