"""The sequencer: instruction fetch and decode, and the state machine that executes.

It owns the architectural registers (pc, the instruction being executed, the VMM window,
the bank mask, the written-since-reset bit of every buffer word, the fault register),
the watchdog and the performance counters, and drives the datapath blocks through
plain ports: the global buffer's read and write ports, the DMA rate limiter, main
memory, the activation shift registers (a load mask of APU rows, so column groups share
one load), the accumulators (clear, per-row-block valid, plane, one output word selected
by ``out_index`` of the column group whose row blocks start at ``sum_base``), the write
engine's start and scoreboard, the crossbar read request and the INV ports. The
special-function units (one per int32 lane), the combination unit and the decoder are
its submodules. :class:`hdl.chip.Chip` wires it to the datapath.

Cycle accounting (mirrored exactly by :mod:`model.timing`): every instruction spends one
FETCH and one DECODE cycle, then its execute states; ``cycles`` counts every cycle until
the chip is halted.
"""

from __future__ import annotations

from contextlib import contextmanager

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firmware.config import COUNTER_BITS, Config
from firmware.isa import COUNT, INSN_BITS, SFU_POOLING, SPECS, Fault, Opcode, VecFunc
from hdl.arith import select
from hdl.combine import CombineUnit
from hdl.decoder import InstructionDecoder, instruction_layout, one_if_zero, window_layout
from hdl.sfu import ACC_BITS as SFU_ACC_BITS
from hdl.sfu import SpecialFunctionUnit


def out_word_count(cfg: Config) -> int:
    """Output words a VMM can write per window (every column of an APU row)."""
    return cfg.apu_cols * cfg.output_words


def pin_signature(cfg: Config) -> dict:
    """The sequencer's ports that are also the chip's pins, passed through unchanged:
    instruction and main memory, the analog request and INV ports, status, counters."""
    xb = SPECS[Opcode.VMM].fields[0].width
    return {
        "imem_addr": Out(range(cfg.imem.depth + 1)),
        "imem_data": In(INSN_BITS),
        "dram_en": Out(1),
        "dram_we": Out(1),
        "dram_addr": Out(32),
        "dram_wdata": Out(cfg.dram_bits),
        "dram_rdata": In(cfg.dram_bits),
        "xbar_req_valid": Out(1),
        "xbar_req_id": Out(xb),
        "xbar_req_ncols": Out(8),
        "xbar_req_nrows": Out(16),
        "inv_req_valid": Out(1),
        "inv_req_id": Out(xb),
        "inv_req_b": Out(cfg.inv.size * 32),
        "inv_req_shift": Out(8),
        "inv_resp_x": In(cfg.inv.size * 32),
        "inv_wr_valid": Out(1),
        "inv_wr_id": Out(xb),
        "inv_wr_index": Out(16),
        "inv_wr_data": Out(cfg.dram_bits),
        "inv_wr_done": Out(1),
        "inv_ok": In(cfg.inv.count),
        "halted": Out(1),
        "fault": Out(8),
        "pc": Out(range(cfg.imem.depth + 1)),
        "cycles": Out(COUNTER_BITS),
        "stall_cycles": Out(COUNTER_BITS),
        "write_busy_cycles": Out(COUNTER_BITS),
        "overlap_cycles": Out(COUNTER_BITS),
        "bank_active_cycles": Out(data.ArrayLayout(COUNTER_BITS,
                                                   len(cfg.global_buffer.bank_bytes))),
    }


def sequencer_signature(cfg: Config) -> dict:
    """Ports of :class:`Sequencer`: the chip's pins it drives (:func:`pin_signature`) and
    the ports to the datapath blocks."""
    xb = SPECS[Opcode.VMM].fields[0].width
    return {
        **pin_signature(cfg),
        "insn": Out(instruction_layout()),
        "gb_rd_en": Out(1),
        "gb_rd_addr": Out(range(cfg.gb_words)),
        "gb_rd_data": In(cfg.gb_bits),
        "gb_wr_en": Out(1),
        "gb_wr_addr": Out(range(cfg.gb_words)),
        "gb_wr_data": Out(cfg.gb_bits),
        "dma_req": Out(1),
        "dma_grant": In(1),
        "sh_load": Out(1),
        "sh_load_rows": Out(cfg.n_apu_rows),
        "sh_load_word": Out(range(max(2, cfg.input_words))),
        "sh_load_data": Out(cfg.gb_bits),
        "sh_shift": Out(1),
        "acc_clear": Out(1),
        "acc_valid": Out(cfg.n_apu_rows),
        "plane": Out(range(cfg.data.act_bits)),
        "out_index": Out(range(out_word_count(cfg) + 1)),
        "sum_base": Out(range(cfg.n_apu_rows + 1)),
        "out_word": In(cfg.gb_bits),
        "we_start": Out(1),
        "we_busy": In(1),
        "we_busy_xbar": In(xb),
        "we_busy_n": In(SPECS[Opcode.WRITE_START].field_offsets()["nxbars"][1]),
        "bank_mask": Out(32),
    }


class Sequencer(wiring.Component):
    """Fetch, decode and execute for one :class:`~firmware.config.Config`."""

    def __init__(self, cfg: Config):
        self._cfg = cfg
        #: ``{signal path below the chip: {state name: code}}``, filled when elaborated
        #: (the chip passes its own dict in).
        self.fsm_states: dict[str, dict[str, int]] = {}
        super().__init__(sequencer_signature(cfg))

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        m.submodules.decoder = dec = InstructionDecoder(cfg)
        # One SFU per int32 lane of a buffer word: element-wise functions take a word
        # per cycle; pooling uses the first, one element per cycle.
        m.submodules.sfu = sfu = SpecialFunctionUnit()
        sfus = [sfu]
        for k in range(1, cfg.gb_bits // 32):
            m.submodules[f"sfu{k}"] = lane_sfu = SpecialFunctionUnit()
            sfus.append(lane_sfu)
        m.submodules.combine = cmb = CombineUnit(cfg.gb_bits)

        ir = self.insn  # the instruction being executed
        window = Signal(window_layout(), init={"count": 1})
        bank_mask = Signal(32, init=(1 << 32) - 1)  # reset: every bank powered
        gb_valid = Signal(cfg.gb_words)              # words written since reset
        # The decoder sees a copy taken at FETCH: every buffer write of the previous
        # instruction has landed by then, and the decoder's check logic then changes once
        # per instruction instead of on every write (a large saving in simulation).
        gb_valid_at_fetch = Signal(cfg.gb_words)
        pc = self.pc
        fault = self.fault
        m.d.comb += [
            self.imem_addr.eq(pc),
            dec.insn.eq(self.imem_data),
            dec.window.eq(window),
            dec.bank_mask.eq(bank_mask),
            dec.gb_valid.eq(gb_valid_at_fetch),
            self.bank_mask.eq(bank_mask),
        ]

        # ---- DMA and VMM working registers ----
        xfer_src = Signal(32)
        xfer_dst = Signal(32)
        max_count = (1 << COUNT) - 1         # the widest count field of the ISA
        xfer_left = Signal(range(max_count + 1))  # words not yet granted
        xfer_done = Signal(range(max_count + 1))  # words not yet landed
        pending = Signal()           # a read granted last cycle lands this cycle
        win_left = Signal.like(window.count)
        in_ptr = Signal(32)
        out_ptr = Signal(32)
        word_idx = Signal(range(max(cfg.n_apu_rows * cfg.input_words,
                                    cfg.n_apu_rows * cfg.apu_cols * cfg.output_words,
                                    cfg.inv_vector_words) + 2))
        plane = Signal(range(cfg.data.act_bits))
        rd_off = Signal(32)          # next input word, relative to the window's start
        grp_off = Signal(32)         # start of the current segment group, likewise
        seg_word = Signal(range(cfg.input_words))
        seg_in_grp = Signal(8)
        # Replicas and column groups: the segment being loaded, the replica's input
        # offset, the APU rows the next landing word goes to (every column group's copy of the
        # current segment) and those of the replica's first segment; the word landing.
        apu_bits = range(cfg.n_apu_rows + 1)
        ld_blk = Signal(apu_bits)
        rep_off = Signal(32)
        seg_mask = Signal(cfg.n_apu_rows)
        rep_mask = Signal(cfg.n_apu_rows)
        land_mask = Signal(cfg.n_apu_rows)
        land_word = Signal(range(max(2, cfg.input_words)))
        # Output: column group and word within the group being written, the replica's
        # output pointer and the group's offset; the word landing
        # (accumulate: written a cycle after its read).
        o_grp = Signal(8)
        o_j = Signal(range(out_word_count(cfg) + 1))
        o_ptr = Signal(32)
        o_off = Signal(32)
        o_base = Signal(apu_bits)
        o_prev_addr = Signal(32)
        o_prev_j = Signal.like(o_j)
        o_prev_base = Signal(apu_bits)
        timer = Signal(range(cfg.crossbar.bitplane_cycles + 1))
        is_store = Signal()
        vec_c = Signal(range(2 * max_count + 2))   # cycle within a VEC: 2 per word, +1
        vec_a = Signal(cfg.gb_bits)           # word a[k], waiting for b[k]
        lanes = cfg.gb_bits // 32
        sfu_e = Signal(range(max_count * lanes + 1))  # element being processed
        sfu_word = Signal(cfg.gb_bits)        # the input word of the current element
        sfu_out = Signal(cfg.gb_bits)         # output word being packed
        sfu_fill = Signal(range(cfg.gb_bits // 8 + 1))
        sfu_dst = Signal(32)
        sfu_acc = Signal(signed(SFU_ACC_BITS))  # running max or sum of a pooling window
        sfu_win = Signal(8)                   # elements of the window seen so far

        # INV: the right-hand side register, the array states, the programming timer.
        n_inv = cfg.inv.size
        inv_vec_words, inv_mat_words = cfg.inv_vector_words, cfg.inv_matrix_words
        inv_row_words = n_inv * 16 // cfg.dram_bits
        inv_top = cfg.inv_level_max
        ppl, pulse = cfg.write.pulses_per_level, cfg.write.pulse_cycles
        inv_b = Signal(inv_vec_words * cfg.gb_bits)
        inv_written = Signal(cfg.inv.count)     # programmed since reset
        # What the analog side answered, sampled at the end of the window the RTL counts
        # (an answer any later is missed, not used by luck): each array's inv_ok when
        # its rows are done, and a solve's x at the end of its window.
        inv_solvable = Signal(cfg.inv.count)
        inv_x = Signal(n_inv * 32)
        inv_bad = Signal()                       # a level out of range was streamed
        inv_row_max = Signal(16)                 # largest |level| of the row so far
        inv_prog_max = n_inv * (1 + inv_top * ppl) * pulse
        inv_prog = Signal(range(inv_prog_max + 1))
        inv_timer = Signal(range(max(inv_prog_max, cfg.inv.solve_cycles) + 1))

        # COMBINE: input and group counters, the input word and value, the lanes.
        cmb_lanes = cfg.gb_bits // 8
        cmb_i = Signal(range(max_count + 1))    # next input
        cmb_g = Signal(range(max_count + 1))    # current group
        cmb_coef = Signal(32)                   # next coefficient word
        cmb_pword = Signal(cfg.gb_bits)         # the input word of input i
        cmb_fresh = Signal()                    # that word is arriving this cycle
        cmb_p = Signal(signed(32))              # the input of the coefficients arriving
        cmb_mac = Signal()                      # a coefficient word arrives this cycle
        cmb_acc = Signal(data.ArrayLayout(signed(32), cmb_lanes))

        vmm = ir.args.VMM
        vmm_cols = one_if_zero(vmm.ncols)
        vmm_rows = one_if_zero(vmm.nrows)
        vmm_groups = one_if_zero(vmm.ngroups)
        vmm_reps = one_if_zero(vmm.replicas)
        vmm_apu_rows = vmm_rows * vmm_groups * vmm_reps
        vmm_in_words = vmm_reps * vmm_rows * cfg.input_words
        group_words = vmm_cols * cfg.output_words            # one column group's outputs
        vmm_out_words = vmm_reps * vmm_groups * group_words
        # The APU rows of segment 0 of replica 0: row block 0 of every column group.
        first_mask = Signal(cfg.n_apu_rows)
        m.d.comb += first_mask.eq(Cat(
            Cat((g < vmm_groups) & (a == g * vmm_rows) for g in range(a + 1)).any()
            for a in range(cfg.n_apu_rows)))
        per_word = cfg.gb_bits // cfg.data.acc_bits   # int32 outputs per buffer word
        # Scoreboard: is a write group touching crossbars [first, last) of this span?
        in_group = lambda first, last: (  # noqa: E731 - scoreboard lookup
            self.we_busy & (self.we_busy_xbar < last)
            & (self.we_busy_xbar + self.we_busy_n > first))
        busy_on = lambda x: in_group(x, x + 1)  # noqa: E731
        vmm_blocked = in_group(vmm.xbar,
                               vmm.xbar + (vmm_apu_rows - 1) * cfg.apu_cols + vmm_cols)

        m.d.comb += [
            self.xbar_req_id.eq(vmm.xbar),
            self.xbar_req_ncols.eq(vmm_cols),
            self.xbar_req_nrows.eq(vmm_apu_rows),   # the analog side reads every APU row
            self.inv_req_id.eq(ir.args.INV.xbar),
            self.inv_req_b.eq(inv_b[:n_inv * 32]),
            self.inv_req_shift.eq(ir.args.INV.shift),
            self.inv_wr_id.eq(ir.args.INV_WRITE.xbar),
            self.plane.eq(plane),
        ]

        stall = Signal()

        def next_insn() -> None:
            m.d.sync += pc.eq(pc + 1)
            m.next = "FETCH"

        def halt(code: int | Fault) -> None:
            # A fault stops the program but lets an in-flight weight write finish, as HALT
            # does, so crossbar contents and pulse counts stay well defined.
            m.d.sync += fault.eq(code)
            m.next = "DRAIN"

        # The watchdog overrides whatever a state decided in the cycle it expires and
        # stops at once.
        wd_expired = Signal()
        m.d.comb += wd_expired.eq(self.cycles == cfg.sim.watchdog_cycles - 1)

        @contextmanager
        def state(name: str):
            with m.State(name):
                yield
                with m.If(wd_expired):
                    m.d.sync += fault.eq(Fault.WATCHDOG)
                    m.next = "HALTED"

        with m.FSM(name="seq") as fsm:
            with state("FETCH"):
                m.d.sync += gb_valid_at_fetch.eq(gb_valid)
                with m.If(pc >= cfg.imem.depth):
                    halt(Fault.IMEM_RANGE)
                with m.Else():
                    m.next = "DECODE"

            with state("DECODE"):
                m.d.sync += ir.eq(dec.decoded)
                d = dec.decoded
                with m.If(dec.fault != Fault.NONE):
                    halt(dec.fault)
                with m.Else():
                    with m.Switch(d.opcode):
                        with m.Case(Opcode.NOP):
                            next_insn()
                        with m.Case(Opcode.HALT):
                            m.next = "DRAIN"
                        with m.Case(Opcode.SYNC):
                            m.next = "SYNC"
                        with m.Case(Opcode.LOAD, Opcode.STORE):
                            store = d.opcode == Opcode.STORE
                            f_ld, f_st = d.args.LOAD, d.args.STORE
                            m.d.sync += [
                                is_store.eq(store),
                                xfer_src.eq(Mux(store, f_st.gb_addr, f_ld.dram_addr)),
                                xfer_dst.eq(Mux(store, f_st.dram_addr, f_ld.gb_addr)),
                                xfer_left.eq(Mux(store, f_st.count, f_ld.count)),
                                xfer_done.eq(Mux(store, f_st.count, f_ld.count)),
                                pending.eq(0),
                            ]
                            with m.If(Mux(store, f_st.count, f_ld.count) == 0):
                                next_insn()
                            with m.Else():
                                m.next = "DMA"
                        with m.Case(Opcode.WRITE_START):
                            m.next = "WSTART"
                        with m.Case(Opcode.WRITE_WAIT):
                            m.next = "WWAIT"
                        with m.Case(Opcode.WINDOW):
                            f = d.args.WINDOW
                            m.d.sync += [
                                window.count.eq(one_if_zero(f.count)),
                                window.in_stride.eq(f.in_stride),
                                window.out_stride.eq(f.out_stride),
                                window.seg_group.eq(f.seg_group),
                                window.group_stride.eq(f.group_stride),
                            ]
                            next_insn()
                        with m.Case(Opcode.VEC):
                            m.d.sync += vec_c.eq(0)
                            with m.If(d.args.VEC.count == 0):
                                next_insn()
                            with m.Else():
                                m.next = "VEC"
                        with m.Case(Opcode.SFU):
                            f = d.args.SFU
                            m.d.sync += [sfu_e.eq(0), sfu_fill.eq(0), sfu_out.eq(0),
                                         sfu_win.eq(0), sfu_dst.eq(f.dst)]
                            with m.If(f.count == 0):
                                next_insn()
                            with m.Else():
                                m.next = "SFU_READ"
                        with m.Case(Opcode.BANK_GATE):
                            m.d.sync += bank_mask.eq(d.args.BANK_GATE.mask)
                            next_insn()
                        with m.Case(Opcode.INV):
                            xid = d.args.INV.xbar
                            with m.If(~inv_written.bit_select(xid, 1)):
                                halt(Fault.UNINITIALIZED)
                            with m.Elif(~inv_solvable.bit_select(xid, 1)):
                                halt(Fault.INV_UNSTABLE)
                            with m.Else():
                                m.d.sync += word_idx.eq(0)
                                m.next = "INV_READ"
                        with m.Case(Opcode.COMBINE):
                            f = d.args.COMBINE
                            m.d.sync += [cmb_i.eq(0), cmb_g.eq(0), cmb_coef.eq(f.coef),
                                         cmb_mac.eq(0), cmb_acc.eq(0)]
                            with m.If((f.m == 0) | (f.ngroups == 0)):
                                next_insn()
                            with m.Else():
                                m.next = "CMB_P"
                        with m.Case(Opcode.INV_WRITE):
                            m.d.sync += [
                                xfer_src.eq(d.args.INV_WRITE.dram_addr),
                                xfer_dst.eq(0),
                                xfer_left.eq(inv_mat_words), xfer_done.eq(inv_mat_words),
                                pending.eq(0), inv_bad.eq(0), inv_row_max.eq(0),
                                inv_prog.eq(0),
                            ]
                            m.next = "INVW_LOAD"
                        with m.Case(Opcode.VMM):
                            m.d.sync += [
                                win_left.eq(window.count),
                                in_ptr.eq(d.args.VMM.in_addr),
                                out_ptr.eq(d.args.VMM.out_addr),
                            ]
                            m.next = "VMM_WAIT"

            with state("SYNC"):
                m.d.comb += stall.eq(self.we_busy)
                with m.If(~self.we_busy):
                    next_insn()

            with state("DRAIN"):  # HALT and faults wait for background writes, then stop
                m.d.comb += stall.eq(self.we_busy)
                with m.If(~self.we_busy):
                    m.next = "HALTED"

            with state("WSTART"):
                m.d.comb += stall.eq(self.we_busy)
                with m.If(~self.we_busy):
                    m.d.comb += self.we_start.eq(1)
                    next_insn()

            with state("WWAIT"):
                m.d.comb += stall.eq(busy_on(ir.args.WRITE_WAIT.xbar))
                with m.If(~busy_on(ir.args.WRITE_WAIT.xbar)):
                    next_insn()

            with state("DMA"):
                m.d.comb += self.dma_req.eq(xfer_left != 0)
                with m.If(self.dma_grant):
                    m.d.sync += [xfer_src.eq(xfer_src + 1), xfer_left.eq(xfer_left - 1)]
                    with m.If(is_store):
                        m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(xfer_src)]
                    with m.Else():
                        m.d.comb += [self.dram_en.eq(1), self.dram_addr.eq(xfer_src)]
                m.d.sync += pending.eq(self.dma_grant)
                with m.If(pending):
                    m.d.sync += [xfer_dst.eq(xfer_dst + 1), xfer_done.eq(xfer_done - 1)]
                    with m.If(is_store):
                        m.d.comb += [
                            self.dram_en.eq(1), self.dram_we.eq(1),
                            self.dram_addr.eq(xfer_dst), self.dram_wdata.eq(self.gb_rd_data),
                        ]
                    with m.Else():
                        m.d.comb += [
                            self.gb_wr_en.eq(1), self.gb_wr_addr.eq(xfer_dst),
                            self.gb_wr_data.eq(self.dram_rdata),
                        ]
                    with m.If(xfer_done == 1):
                        next_insn()

            with state("VEC"):
                # Even cycle 2k: read a[k] and write dst[k-1]; odd cycle 2k+1: read b[k].
                # The read port is transparent, so a[k] sees dst[k-1] if they coincide.
                f = ir.args.VEC
                k = vec_c[1:]
                m.d.sync += vec_c.eq(vec_c + 1)
                result = Cat(*[
                    Mux(f.func == VecFunc.SUB,
                        vec_a.word_select(i, 32) - self.gb_rd_data.word_select(i, 32),
                        vec_a.word_select(i, 32) + self.gb_rd_data.word_select(i, 32))[:32]
                    for i in range(lanes)])
                with m.If(vec_c[0]):
                    m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(f.src_b + k)]
                    m.d.sync += vec_a.eq(self.gb_rd_data)
                with m.Else():
                    with m.If(k < f.count):
                        m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(f.src_a + k)]
                    with m.If(k != 0):
                        m.d.comb += [self.gb_wr_en.eq(1), self.gb_wr_addr.eq(f.dst + k - 1),
                                     self.gb_wr_data.eq(result)]
                    with m.If(k == f.count):
                        next_insn()

            with state("SFU_READ"):  # fetch the first input word
                m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(ir.args.SFU.src)]
                pooling = Cat(ir.args.SFU.func == fn for fn in SFU_POOLING).any()
                with m.If(pooling):
                    m.next = "SFU_RUN"
                with m.Else():
                    m.next = "SFU_WORDS"

            def sfu_emit(packed, full) -> None:
                """Write the output word being packed once ``full``, else keep packing."""
                with m.If(full):
                    m.d.comb += [self.gb_wr_en.eq(1), self.gb_wr_addr.eq(sfu_dst),
                                 self.gb_wr_data.eq(packed)]
                    m.d.sync += [sfu_out.eq(0), sfu_fill.eq(0), sfu_dst.eq(sfu_dst + 1)]
                with m.Else():
                    m.d.sync += [sfu_out.eq(packed), sfu_fill.eq(sfu_fill + 1)]

            with state("SFU_WORDS"):  # element-wise: one input word per cycle
                f = ir.args.SFU
                with m.If(sfu_e + 1 < f.count):  # prefetch the next word
                    m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(f.src + sfu_e + 1)]
                for k, unit in enumerate(sfus):
                    m.d.comb += [unit.func.eq(f.func), unit.shift.eq(f.shift),
                                 unit.window.eq(f.window),
                                 unit.x.eq(self.gb_rd_data.word_select(k, 32))]
                last = sfu_e == f.count - 1
                m.d.sync += sfu_e.eq(sfu_e + 1)
                with m.If(sfu.narrow):  # INT8 results: an output word per 4 input words
                    per_out = cfg.gb_bits // 8 // lanes
                    ys = Cat(u.y[:8] for u in sfus).as_unsigned()
                    packed = sfu_out | select(sfu_fill, [(ys << (k * 8 * lanes))[:cfg.gb_bits]
                                                         for k in range(per_out)])
                    sfu_emit(packed, (sfu_fill == per_out - 1) | last)
                with m.Else():
                    m.d.comb += [self.gb_wr_en.eq(1), self.gb_wr_addr.eq(sfu_dst),
                                 self.gb_wr_data.eq(Cat(u.y for u in sfus))]
                    m.d.sync += sfu_dst.eq(sfu_dst + 1)
                with m.If(last):
                    next_insn()

            with state("SFU_RUN"):  # pooling: one int32 element per cycle
                f = ir.args.SFU
                n = f.count * lanes
                lane = sfu_e[:max(1, (lanes - 1).bit_length())] if lanes > 1 else 0
                word = Mux(lane == 0, self.gb_rd_data, sfu_word)
                with m.If(lane == 0):
                    m.d.sync += sfu_word.eq(self.gb_rd_data)
                with m.If((lane == lanes - 1) & (sfu_e + 1 < n)):  # prefetch the next word
                    m.d.comb += [self.gb_rd_en.eq(1),
                                 self.gb_rd_addr.eq(f.src + (sfu_e + 1) // lanes)]
                m.d.comb += [
                    sfu.func.eq(f.func), sfu.shift.eq(f.shift), sfu.window.eq(f.window),
                    sfu.x.eq(word.word_select(lane, 32)), sfu.win.eq(sfu_win),
                    sfu.acc.eq(sfu_acc),
                ]
                m.d.sync += [sfu_acc.eq(sfu.acc_next), sfu_win.eq(sfu.win_next)]
                y, emit, narrow = sfu.y, sfu.emit, sfu.narrow
                # Pack the output: int8 lanes for REQUANT and DIGIT, int32 otherwise.
                out_lanes = Mux(narrow, cfg.gb_bits // 8, lanes)
                packed = Signal(cfg.gb_bits)
                # (Slots placed by a mux over constant shifts: a shift by the fill count
                # would be hundreds of bits wide.)
                with m.If(narrow):
                    m.d.comb += packed.eq(sfu_out | select(
                        sfu_fill, [(y[:8].as_unsigned() << (k * 8))[:cfg.gb_bits]
                                   for k in range(cfg.gb_bits // 8)]))
                with m.Else():
                    m.d.comb += packed.eq(sfu_out | select(
                        sfu_fill, [(y.as_unsigned() << (k * 32))[:cfg.gb_bits]
                                   for k in range(lanes)]))
                last = sfu_e == n - 1
                m.d.sync += sfu_e.eq(sfu_e + 1)
                with m.If(emit):
                    sfu_emit(packed, (sfu_fill == out_lanes - 1) | last)
                with m.If(last):
                    next_insn()

            def vmm_pass_start() -> list:
                """Registers at the start of a pass of the window loop."""
                return [word_idx.eq(0), rd_off.eq(0), grp_off.eq(0), seg_word.eq(0),
                        seg_in_grp.eq(0), ld_blk.eq(0), rep_off.eq(0),
                        seg_mask.eq(first_mask), rep_mask.eq(first_mask), land_mask.eq(0)]

            with state("VMM_WAIT"):  # scoreboard: never read a crossbar being written
                m.d.comb += stall.eq(vmm_blocked)
                with m.If(~vmm_blocked):
                    m.d.sync += vmm_pass_start()
                    m.next = "VMM_LOAD"

            with state("VMM_LOAD"):  # input segments into the shift registers
                m.d.comb += self.acc_clear.eq(word_idx == 0)
                with m.If(word_idx < vmm_in_words):
                    m.d.comb += [self.gb_rd_en.eq(1),
                                 self.gb_rd_addr.eq(in_ptr + rep_off + rd_off)]
                    # The word lands next cycle in every column group's copy of the
                    # segment.
                    m.d.sync += [land_mask.eq(seg_mask), land_word.eq(seg_word)]
                    # Next word: on in the segment, on to the next segment of the group,
                    # on to the next group (firmware.isa.Window.segment), or on to the
                    # next replica's window.
                    with m.If(seg_word != cfg.input_words - 1):
                        m.d.sync += [seg_word.eq(seg_word + 1), rd_off.eq(rd_off + 1)]
                    with m.Elif(ld_blk == vmm_rows - 1):
                        # (A shift of a whole replica; past the last APU row: none.)
                        span = vmm_groups * vmm_rows
                        nbits = cfg.n_apu_rows.bit_length()
                        next_rep = Mux(span >= cfg.n_apu_rows, 0,
                                       (rep_mask << span[:nbits])[:cfg.n_apu_rows])
                        m.d.sync += [seg_word.eq(0), seg_in_grp.eq(0), grp_off.eq(0),
                                     rd_off.eq(0), ld_blk.eq(0),
                                     rep_off.eq(rep_off + window.in_stride),
                                     rep_mask.eq(next_rep), seg_mask.eq(next_rep)]
                    with m.Elif((window.seg_group != 0)
                                & (seg_in_grp == window.seg_group - 1)):
                        m.d.sync += [seg_word.eq(0), seg_in_grp.eq(0),
                                     grp_off.eq(grp_off + window.group_stride),
                                     rd_off.eq(grp_off + window.group_stride),
                                     ld_blk.eq(ld_blk + 1), seg_mask.eq(seg_mask << 1)]
                    with m.Else():
                        m.d.sync += [seg_word.eq(0), seg_in_grp.eq(seg_in_grp + 1),
                                     rd_off.eq(rd_off + 1), ld_blk.eq(ld_blk + 1),
                                     seg_mask.eq(seg_mask << 1)]
                with m.If(word_idx != 0):
                    m.d.comb += [
                        self.sh_load.eq(1), self.sh_load_rows.eq(land_mask),
                        self.sh_load_word.eq(land_word),
                        self.sh_load_data.eq(self.gb_rd_data),
                    ]
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == vmm_in_words):
                    m.d.sync += plane.eq(0)
                    m.next = "VMM_REQ"

            with state("VMM_REQ"):  # one bit-plane to the analog array
                # One analog transaction per window: the vector goes out with plane 0;
                # the RTL still times every plane and samples its codes at its end.
                m.d.comb += self.xbar_req_valid.eq(plane == 0)
                m.d.sync += timer.eq(cfg.crossbar.bitplane_cycles - 1)
                m.next = "VMM_READ"

            with state("VMM_READ"):  # the RTL counts the analog latency itself
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 1):
                    m.d.comb += self.acc_valid.eq(Cat(k < vmm_apu_rows
                                                      for k in range(cfg.n_apu_rows)))
                    m.d.comb += self.sh_shift.eq(1)
                    m.d.sync += plane.eq(plane + 1)
                    with m.If(plane == cfg.data.act_bits - 1):
                        m.d.sync += [word_idx.eq(0), o_grp.eq(0), o_j.eq(0),
                                     o_ptr.eq(out_ptr), o_off.eq(0), o_base.eq(0)]
                        m.next = "VMM_OUT"
                    with m.Else():
                        m.next = "VMM_REQ"

            with state("VMM_OUT"):
                # Word by word through every column group of every replica (the
                # accumulation units sum the group's row blocks, from APU row o_base).
                # Plain: one output word per cycle. Accumulate: read the old word, add
                # the new one a cycle later (one extra cycle).
                addr = o_ptr + o_off + o_j
                with m.If(word_idx < vmm_out_words):
                    with m.If(o_j != group_words - 1):
                        m.d.sync += o_j.eq(o_j + 1)
                    with m.Elif(o_grp != vmm_groups - 1):
                        m.d.sync += [o_j.eq(0), o_grp.eq(o_grp + 1),
                                     o_off.eq(o_off + group_words),
                                     o_base.eq(o_base + vmm_rows)]
                    with m.Else():
                        m.d.sync += [o_j.eq(0), o_grp.eq(0), o_off.eq(0),
                                     o_ptr.eq(o_ptr + window.out_stride),
                                     o_base.eq(o_base + vmm_rows)]
                with m.If(vmm.accumulate):
                    with m.If(word_idx < vmm_out_words):
                        m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(addr)]
                        m.d.sync += [o_prev_addr.eq(addr), o_prev_j.eq(o_j),
                                     o_prev_base.eq(o_base)]
                    m.d.comb += [self.out_index.eq(o_prev_j), self.sum_base.eq(o_prev_base)]
                    with m.If(word_idx != 0):
                        prev = self.out_word
                        summed = Cat(*[
                            (self.gb_rd_data.word_select(i, cfg.data.acc_bits)
                             + prev.word_select(i, cfg.data.acc_bits))[:cfg.data.acc_bits]
                            for i in range(per_word)])
                        m.d.comb += [
                            self.gb_wr_en.eq(1), self.gb_wr_addr.eq(o_prev_addr),
                            self.gb_wr_data.eq(summed),
                        ]
                with m.Else():
                    m.d.comb += [
                        self.out_index.eq(o_j), self.sum_base.eq(o_base),
                        self.gb_wr_en.eq(1), self.gb_wr_addr.eq(addr),
                        self.gb_wr_data.eq(self.out_word),
                    ]
                m.d.sync += word_idx.eq(word_idx + 1)
                last_word = Mux(vmm.accumulate, word_idx == vmm_out_words,
                                word_idx == vmm_out_words - 1)
                with m.If(last_word):
                    with m.If(win_left == vmm_reps):
                        next_insn()
                    with m.Else():
                        m.d.sync += [
                            win_left.eq(win_left - vmm_reps),
                            in_ptr.eq(in_ptr + vmm_reps * window.in_stride),
                            out_ptr.eq(out_ptr + vmm_reps * window.out_stride),
                            *vmm_pass_start(),
                        ]
                        m.next = "VMM_LOAD"

            with state("INV_READ"):  # the right-hand side into its register
                f = ir.args.INV
                with m.If(word_idx < inv_vec_words):
                    m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(f.in_addr + word_idx)]
                with m.Switch(word_idx):
                    for w in range(1, inv_vec_words + 1):
                        with m.Case(w):
                            m.d.sync += inv_b.word_select(w - 1, cfg.gb_bits).eq(self.gb_rd_data)
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == inv_vec_words):
                    m.d.sync += inv_timer.eq(cfg.inv.solve_cycles)
                    m.next = "INV_WAIT"

            with state("INV_WAIT"):  # the fixed analog window, counted here
                m.d.comb += self.inv_req_valid.eq(inv_timer == cfg.inv.solve_cycles)
                m.d.sync += inv_timer.eq(inv_timer - 1)
                with m.If(inv_timer == 1):
                    m.d.sync += [word_idx.eq(0), inv_x.eq(self.inv_resp_x)]
                    m.next = "INV_OUT"

            with state("INV_OUT"):  # the digitized solution, a word per cycle
                f = ir.args.INV
                x_word = Signal(cfg.gb_bits)
                resp = Cat(inv_x, Const(0, inv_vec_words * cfg.gb_bits - n_inv * 32))
                with m.Switch(word_idx):
                    for w in range(inv_vec_words):
                        with m.Case(w):
                            m.d.comb += x_word.eq(resp.word_select(w, cfg.gb_bits))
                m.d.comb += [self.gb_wr_en.eq(1), self.gb_wr_addr.eq(f.out_addr + word_idx),
                             self.gb_wr_data.eq(x_word)]
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == inv_vec_words - 1):
                    next_insn()

            with state("INVW_LOAD"):  # stream the levels to the array, checking each
                m.d.comb += self.dma_req.eq(xfer_left != 0)
                with m.If(self.dma_grant):
                    m.d.sync += [xfer_src.eq(xfer_src + 1), xfer_left.eq(xfer_left - 1)]
                    m.d.comb += [self.dram_en.eq(1), self.dram_addr.eq(xfer_src)]
                m.d.sync += pending.eq(self.dma_grant)
                with m.If(pending):
                    word = self.dram_rdata
                    mags = []
                    for i in range(cfg.dram_bits // 16):
                        e = word.word_select(i, 16).as_signed()
                        mags.append(Mux(e < 0, -e, e)[:16])
                    word_max = mags[0]
                    for mg in mags[1:]:
                        word_max = Mux(mg > word_max, mg, word_max)
                    row_max = Mux(word_max > inv_row_max, word_max, inv_row_max)
                    # One RESET pulse, then the slowest cell's SET pulses.
                    row_cycles = (1 + row_max * ppl) * pulse
                    row_end = (xfer_dst % inv_row_words) == inv_row_words - 1
                    bad = inv_bad | Cat(*[mg > inv_top for mg in mags]).any()
                    m.d.comb += [self.inv_wr_valid.eq(1), self.inv_wr_data.eq(word),
                                 self.inv_wr_index.eq(xfer_dst)]
                    m.d.sync += [xfer_dst.eq(xfer_dst + 1), xfer_done.eq(xfer_done - 1),
                                 inv_bad.eq(bad),
                                 inv_row_max.eq(Mux(row_end, 0, row_max))]
                    with m.If(row_end):
                        m.d.sync += inv_prog.eq(inv_prog + row_cycles)
                    with m.If(xfer_done == 1):  # the last word ends the last row
                        with m.If(bad):
                            halt(Fault.BAD_OPERAND)
                        with m.Else():
                            m.d.sync += inv_timer.eq(inv_prog + row_cycles)
                            m.next = "INVW_PROG"

            with state("INVW_PROG"):  # the array programs its rows
                m.d.sync += inv_timer.eq(inv_timer - 1)
                with m.If(inv_timer == 1):
                    # The decoder has checked the index; narrow it for the shift.
                    xid = ir.args.INV_WRITE.xbar[:max(1, (cfg.inv.count - 1).bit_length())]
                    m.d.comb += self.inv_wr_done.eq(1)
                    m.d.sync += [
                        inv_written.eq(
                            inv_written | (Const(1, cfg.inv.count) << xid)[:cfg.inv.count]),
                        inv_solvable.bit_select(xid, 1).eq(self.inv_ok.bit_select(xid, 1)),
                    ]
                    next_insn()

            with state("CMB_P"):  # read the word holding input i
                f = ir.args.COMBINE
                m.d.comb += [self.gb_rd_en.eq(1),
                             self.gb_rd_addr.eq(f.src + cmb_i // lanes)]
                m.d.sync += [cmb_fresh.eq(1), cmb_mac.eq(0)]
                m.next = "CMB_C"

            with state("CMB_C"):  # read input i's coefficient word
                f = ir.args.COMBINE
                word = Mux(cmb_fresh, self.gb_rd_data, cmb_pword)
                with m.If(cmb_fresh):
                    m.d.sync += cmb_pword.eq(self.gb_rd_data)
                m.d.comb += [self.gb_rd_en.eq(1), self.gb_rd_addr.eq(cmb_coef)]
                m.d.sync += [
                    cmb_p.eq(word.word_select(cmb_i % lanes if lanes > 1 else 0, 32)),
                    cmb_fresh.eq(0), cmb_mac.eq(1), cmb_i.eq(cmb_i + 1),
                    cmb_coef.eq(cmb_coef + 1),
                ]
                with m.If(cmb_i + 1 == f.m):
                    m.next = "CMB_DRAIN"
                with m.Elif((cmb_i + 1) % lanes == 0):
                    m.next = "CMB_P"

            with state("CMB_DRAIN"):  # the last coefficient word arrives
                m.d.sync += [cmb_mac.eq(0), word_idx.eq(0)]
                m.next = "CMB_OUT"

            with state("CMB_OUT"):  # the group's G results, four words
                f = ir.args.COMBINE
                per = cfg.gb_bits // 32
                with m.Switch(word_idx):
                    for w in range(4):
                        with m.Case(w):
                            m.d.comb += self.gb_wr_data.eq(
                                Cat(*[cmb_acc[w * per + k] for k in range(per)]))
                m.d.comb += [self.gb_wr_en.eq(1),
                             self.gb_wr_addr.eq(f.dst + cmb_g * 4 + word_idx)]
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == 3):
                    m.d.sync += [cmb_acc.eq(0), cmb_i.eq(0), cmb_g.eq(cmb_g + 1)]
                    with m.If(cmb_g + 1 == f.ngroups):
                        next_insn()
                    with m.Else():
                        m.next = "CMB_P"

            with m.State("HALTED"):
                m.d.comb += self.halted.eq(1)

        # COMBINE's lanes take a coefficient word in the cycle it arrives.
        m.d.comb += [cmb.coefs.eq(self.gb_rd_data), cmb.p.eq(cmb_p), cmb.acc.eq(cmb_acc)]
        with m.If(cmb_mac):
            m.d.sync += cmb_acc.eq(cmb.acc_next)

        self.fsm_states["sequencer.seq_state"] = fsm.encoding

        # Every buffer write, whatever its source, marks its word as initialized.
        with m.If(self.gb_wr_en):
            # One bit set by address (a decoder), not a shift of a one-hot the buffer's
            # size: simulators then touch one bit, not every word's.
            m.d.sync += gb_valid.bit_select(self.gb_wr_addr, 1).eq(1)

        # ---- watchdog and performance counters ----
        running = ~fsm.ongoing("HALTED")
        with m.If(running):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            with m.If(stall):
                m.d.sync += self.stall_cycles.eq(self.stall_cycles + 1)
            for i, counter in enumerate(self.bank_active_cycles):
                with m.If(bank_mask[i]):
                    m.d.sync += counter.eq(counter + 1)
            with m.If(self.we_busy):
                m.d.sync += self.write_busy_cycles.eq(self.write_busy_cycles + 1)
                with m.If(~stall):
                    m.d.sync += self.overlap_cycles.eq(self.overlap_cycles + 1)
        return m
