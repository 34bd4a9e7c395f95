"""INV control: INV (one analog solve: the right-hand side out, the fixed window, the
solution into the buffer) and INV_WRITE (the matrix streamed from main memory to an
array, its levels checked, then the array's programming time).

It keeps which arrays have been programmed since reset and which can solve (``ok`` as
the analog side answered when their rows were done): INV faults on either at start.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib.wiring import Out

from firmware.config import Config
from firmware.isa import Fault, Opcode
from hdl.interfaces import GrantRequest, InvPort, MainMemoryPort, buffer_ports, lane_mask
from hdl.sequencer.unit import ExecUnit


class InvControl(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer), ``dram`` and ``dma``
    (the matrix stream), ``inv`` (the arrays)."""

    fsm_name = "inv"

    def __init__(self, cfg: Config, path: str | None = None):
        super().__init__(cfg, {
            **buffer_ports(cfg), "dram": Out(MainMemoryPort(cfg.dram_bits, cfg.port_words)),
            "dma": Out(GrantRequest(cfg.port_words)),
            "inv": Out(InvPort(cfg.inv.size, cfg.inv.count, cfg.dram_bits,
                               cfg.port_words))}, path)

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        ctl, rd, wr, dram, inv = self.ctl, self.rd, self.wr, self.dram, self.inv
        ir = ctl.insn
        n_inv = cfg.inv.size
        vec_words, mat_words = cfg.inv_vector_words, cfg.inv_matrix_words
        row_words = n_inv * 16 // cfg.dram_bits
        top = cfg.inv_level_max
        ppl, pulse = cfg.write.pulses_per_level, cfg.write.pulse_cycles
        b = Signal(vec_words * cfg.gb_bits)    # the right-hand side
        written = Signal(cfg.inv.count)        # programmed since reset
        # What the analog side answered, sampled at the end of the window the RTL counts
        # (an answer any later is missed, not used by luck): each array's ok when its
        # rows are done, and a solve's x at the end of its window.
        solvable = Signal(cfg.inv.count)
        x = Signal(n_inv * 32)
        bad = Signal()                          # a level out of range was streamed
        row_max = Signal(16)                    # largest |level| of the row so far
        prog_max = n_inv * (1 + top * ppl) * pulse
        prog = Signal(range(prog_max + 1))
        timer = Signal(range(max(prog_max, cfg.inv.solve_cycles) + 1))
        word_idx = Signal(range(vec_words + 2))
        src = Signal(32)
        dst = Signal(32)
        lanes = cfg.port_words
        left = Signal(range(mat_words + 1))     # words not yet granted
        landing = Signal(range(mat_words + 1))  # words not yet landed
        pending = Signal(range(lanes + 1))      # words granted last cycle land this cycle

        m.d.comb += [
            inv.req_id.eq(ir.args.INV.xbar),
            inv.req_b.eq(b[:n_inv * 32]),
            inv.req_shift.eq(ir.args.INV.shift),
            inv.wr_id.eq(ir.args.INV_WRITE.xbar),
        ]

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                d = ctl.decoded
                with m.If(ctl.start & (d.opcode == Opcode.INV)):
                    xid = d.args.INV.xbar
                    with m.If(~written.bit_select(xid, 1)):
                        self.fail(m, Fault.UNINITIALIZED)
                    with m.Elif(~solvable.bit_select(xid, 1)):
                        self.fail(m, Fault.INV_UNSTABLE)
                    with m.Else():
                        m.d.sync += word_idx.eq(0)
                        m.next = "READ"
                with m.Elif(ctl.start):  # INV_WRITE
                    m.d.sync += [src.eq(d.args.INV_WRITE.dram_addr), dst.eq(0),
                                 left.eq(mat_words), landing.eq(mat_words), pending.eq(0),
                                 bad.eq(0), row_max.eq(0), prog.eq(0)]
                    m.next = "W_LOAD"

            with self.state(m, "READ"):  # the right-hand side into its register
                f = ir.args.INV
                with m.If(word_idx < vec_words):
                    m.d.comb += [rd.en.eq(1), rd.addr.eq(f.in_addr + word_idx)]
                with m.Switch(word_idx):
                    for w in range(1, vec_words + 1):
                        with m.Case(w):
                            m.d.sync += b.word_select(w - 1, cfg.gb_bits).eq(rd.data)
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == vec_words):
                    m.d.sync += timer.eq(cfg.inv.solve_cycles)
                    m.next = "WAIT"

            with self.state(m, "WAIT"):  # the fixed analog window, counted here
                m.d.comb += inv.req_valid.eq(timer == cfg.inv.solve_cycles)
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 1):
                    m.d.sync += [word_idx.eq(0), x.eq(inv.resp_x)]
                    m.next = "OUT"

            with self.state(m, "OUT"):  # the digitized solution, a word per cycle
                f = ir.args.INV
                x_word = Signal(cfg.gb_bits)
                resp = Cat(x, Const(0, vec_words * cfg.gb_bits - n_inv * 32))
                with m.Switch(word_idx):
                    for w in range(vec_words):
                        with m.Case(w):
                            m.d.comb += x_word.eq(resp.word_select(w, cfg.gb_bits))
                m.d.comb += [wr.en.eq(1), wr.addr.eq(f.out_addr + word_idx), wr.data.eq(x_word)]
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == vec_words - 1):
                    self.finish(m)

            with self.state(m, "W_LOAD"):  # stream the levels to the array, checking each
                # The DMA's port: up to `lanes` words a grant, to the array the next cycle.
                grant = self.dma.grant
                m.d.comb += self.dma.req.eq(Mux(left < lanes, left, lanes))
                with m.If(grant != 0):
                    m.d.sync += [src.eq(src + grant), left.eq(left - grant)]
                    m.d.comb += [dram.en.eq(lane_mask(grant, lanes)), dram.addr.eq(src)]
                m.d.sync += pending.eq(grant)
                with m.If(pending != 0):
                    # The landed words in order: each row's largest |level| and, where a
                    # row ends, its programming time (one RESET pulse, then the slowest
                    # cell's SET pulses).
                    run_max, added, now_bad = row_max, 0, bad
                    for lane in range(lanes):
                        mags = []
                        for i in range(cfg.dram_bits // 16):
                            e = dram.rdata.word_select(lane * (cfg.dram_bits // 16) + i,
                                                       16).as_signed()
                            mags.append(Mux(e < 0, -e, e)[:16])
                        word_max = mags[0]
                        for mg in mags[1:]:
                            word_max = Mux(mg > word_max, mg, word_max)
                        here = lane < pending
                        new_max = Mux(word_max > run_max, word_max, run_max)
                        row_end = here & (((dst + lane) % row_words) == row_words - 1)
                        added = added + Mux(row_end, (1 + new_max * ppl) * pulse, 0)
                        run_max = Mux(here, Mux(row_end, 0, new_max), run_max)
                        now_bad = now_bad | (here & Cat(*[mg > top for mg in mags]).any())
                    m.d.comb += [inv.wr_valid.eq(1), inv.wr_count.eq(pending),
                                 inv.wr_data.eq(dram.rdata), inv.wr_index.eq(dst)]
                    m.d.sync += [dst.eq(dst + pending), landing.eq(landing - pending),
                                 bad.eq(now_bad), row_max.eq(run_max), prog.eq(prog + added)]
                    with m.If(landing == pending):  # the last words end the last row
                        with m.If(now_bad):
                            self.fail(m, Fault.BAD_OPERAND)
                        with m.Else():
                            m.d.sync += timer.eq(prog + added)
                            m.next = "W_PROG"

            with self.state(m, "W_PROG"):  # the array programs its rows
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 1):
                    # The decoder has checked the index; narrow it for the shift.
                    xid = ir.args.INV_WRITE.xbar[:max(1, (cfg.inv.count - 1).bit_length())]
                    m.d.comb += inv.wr_done.eq(1)
                    m.d.sync += [
                        written.eq(written | (Const(1, cfg.inv.count) << xid)[:cfg.inv.count]),
                        solvable.bit_select(xid, 1).eq(inv.ok.bit_select(xid, 1)),
                    ]
                    self.finish(m)
        self.record(fsm)
        return m
