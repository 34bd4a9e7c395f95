"""The VMM window loop: per window pass, load the input segments into the shift
registers, time every bit-plane of the analog read, then write the output words.

``WAIT`` holds the VMM while the write engine writes one of its crossbars (the
scoreboard); each pass of the window then runs ``LOAD``, ``REQ``/``READ`` per plane and
``OUT``, for as many replicas as the VMM has, until the window's count is used up.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib.wiring import In, Out

from firmware.config import Config
from hdl.decoder import geometry_layout, window_layout
from hdl.interfaces import (
    AccumulatorControl,
    ActivationLoad,
    CrossbarRequest,
    Scoreboard,
    buffer_ports,
    writing_any,
    xbar_bits,
)
from hdl.sequencer.unit import ExecUnit


def out_word_count(cfg: Config) -> int:
    """Output words a VMM can write per window (every column of an APU row)."""
    return cfg.apu_cols * cfg.output_words


def vmm_ports(cfg: Config) -> dict:
    """The VMM loop's datapath ports (also the sequencer's)."""
    return {
        "xbar": Out(CrossbarRequest(xbar_bits())),
        "shreg": Out(ActivationLoad(cfg.n_apu_rows, cfg.input_words, cfg.gb_bits)),
        "acc": Out(AccumulatorControl(cfg.n_apu_rows, cfg.data.act_bits,
                                      out_word_count(cfg), cfg.gb_bits)),
    }


class VmmLoop(ExecUnit):
    """Members: ``ctl`` (dispatch), ``rd``/``wr`` (global buffer), ``xbar``, ``shreg``,
    ``acc`` (:func:`vmm_ports`), ``window`` and ``geometry`` (the WINDOW registers and
    the registered instruction's geometry, from the core), ``scoreboard`` (the write
    engine's busy span)."""

    fsm_name = "vmm"

    def __init__(self, cfg: Config, path: str | None = None):
        super().__init__(cfg, {
            **buffer_ports(cfg), **vmm_ports(cfg),
            "window": In(window_layout()),
            "geometry": In(geometry_layout(cfg)),
            "scoreboard": In(Scoreboard()).array(cfg.write.engines),
        }, path)

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        ctl, rd, wr, window, geo = self.ctl, self.rd, self.wr, self.window, self.geometry
        sb = self.scoreboard
        vmm = ctl.insn.args.VMM
        apu_bits = range(cfg.n_apu_rows + 1)
        win_left = Signal.like(window.count)
        in_ptr = Signal(32)
        out_ptr = Signal(32)
        word_idx = Signal(range(max(cfg.n_apu_rows * cfg.input_words,
                                    cfg.n_apu_rows * cfg.apu_cols * cfg.output_words) + 2))
        plane = Signal(range(cfg.data.act_bits))
        rd_off = Signal(32)          # next input word, relative to the window's start
        grp_off = Signal(32)         # start of the current segment group, likewise
        seg_word = Signal(range(cfg.input_words))
        seg_in_grp = Signal(8)
        # Replicas and column groups: the segment being loaded, the replica's input
        # offset, the APU rows the next landing word goes to (every column group's copy
        # of the current segment) and those of the replica's first segment; the word
        # landing.
        ld_blk = Signal(apu_bits)
        rep_off = Signal(32)
        seg_mask = Signal(cfg.n_apu_rows)
        rep_mask = Signal(cfg.n_apu_rows)
        land_mask = Signal(cfg.n_apu_rows)
        land_word = Signal(range(max(2, cfg.input_words)))
        # Output: column group and word within the group being written, the replica's
        # output pointer and the group's offset; the word landing (accumulate: written a
        # cycle after its read).
        o_grp = Signal(8)
        o_j = Signal(range(out_word_count(cfg) + 1))
        o_ptr = Signal(32)
        o_off = Signal(32)
        o_base = Signal(apu_bits)
        o_prev_addr = Signal(32)
        o_prev_j = Signal.like(o_j)
        o_prev_base = Signal(apu_bits)
        timer = Signal(range(cfg.crossbar.bitplane_cycles + 1))

        # The APU rows of segment 0 of replica 0: row block 0 of every column group.
        first_mask = Signal(cfg.n_apu_rows)
        m.d.comb += first_mask.eq(Cat(
            Cat((g < geo.groups) & (a == g * geo.rows) for g in range(a + 1)).any()
            for a in range(cfg.n_apu_rows)))
        per_word = cfg.gb_bits // cfg.data.acc_bits   # int32 outputs per buffer word
        # Scoreboard: is a write group touching the VMM's crossbars?
        last = vmm.xbar + (geo.apu_rows - 1) * cfg.apu_cols + geo.cols
        blocked = writing_any(sb, vmm.xbar, last)

        m.d.comb += [
            self.xbar.id.eq(vmm.xbar),
            self.xbar.ncols.eq(geo.cols),
            self.xbar.nrows.eq(geo.apu_rows),   # the analog side reads every APU row
            self.acc.plane.eq(plane),
        ]

        def pass_start() -> list:
            """Registers at the start of a pass of the window loop."""
            return [word_idx.eq(0), rd_off.eq(0), grp_off.eq(0), seg_word.eq(0),
                    seg_in_grp.eq(0), ld_blk.eq(0), rep_off.eq(0),
                    seg_mask.eq(first_mask), rep_mask.eq(first_mask), land_mask.eq(0)]

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                with m.If(ctl.start):
                    m.d.sync += [win_left.eq(window.count),
                                 in_ptr.eq(ctl.decoded.args.VMM.in_addr),
                                 out_ptr.eq(ctl.decoded.args.VMM.out_addr)]
                    m.next = "WAIT"

            with self.state(m, "WAIT"):  # scoreboard: never read a crossbar being written
                m.d.comb += ctl.stall.eq(blocked)
                with m.If(~blocked):
                    m.d.sync += pass_start()
                    m.next = "LOAD"

            with self.state(m, "LOAD"):  # input segments into the shift registers
                m.d.comb += self.acc.clear.eq(word_idx == 0)
                with m.If(word_idx < geo.in_words):
                    m.d.comb += [rd.en.eq(1), rd.addr.eq(in_ptr + rep_off + rd_off)]
                    # The word lands next cycle in every column group's copy of the
                    # segment.
                    m.d.sync += [land_mask.eq(seg_mask), land_word.eq(seg_word)]
                    # Next word: on in the segment, on to the next segment of the group,
                    # on to the next group (firmware.isa.Window.segment), or on to the
                    # next replica's window.
                    with m.If(seg_word != cfg.input_words - 1):
                        m.d.sync += [seg_word.eq(seg_word + 1), rd_off.eq(rd_off + 1)]
                    with m.Elif(ld_blk == geo.rows - 1):
                        # (A shift of a whole replica; past the last APU row: none.)
                        span = geo.groups * geo.rows
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
                    m.d.comb += [self.shreg.load.eq(1), self.shreg.rows.eq(land_mask),
                                 self.shreg.word.eq(land_word), self.shreg.data.eq(rd.data)]
                m.d.sync += word_idx.eq(word_idx + 1)
                with m.If(word_idx == geo.in_words):
                    m.d.sync += plane.eq(0)
                    m.next = "REQ"

            with self.state(m, "REQ"):  # one bit-plane to the analog array
                # One analog transaction per window: the vector goes out with plane 0;
                # the RTL still times every plane and samples its codes at its end.
                m.d.comb += self.xbar.valid.eq(plane == 0)
                m.d.sync += timer.eq(cfg.crossbar.bitplane_cycles - 1)
                m.next = "READ"

            with self.state(m, "READ"):  # the RTL counts the analog latency itself
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 1):
                    m.d.comb += self.acc.valid.eq(Cat(k < geo.apu_rows
                                                      for k in range(cfg.n_apu_rows)))
                    m.d.comb += self.shreg.shift.eq(1)
                    m.d.sync += plane.eq(plane + 1)
                    with m.If(plane == cfg.data.act_bits - 1):
                        m.d.sync += [word_idx.eq(0), o_grp.eq(0), o_j.eq(0),
                                     o_ptr.eq(out_ptr), o_off.eq(0), o_base.eq(0)]
                        m.next = "OUT"
                    with m.Else():
                        m.next = "REQ"

            with self.state(m, "OUT"):
                # Word by word through every column group of every replica (the
                # accumulation units sum the group's row blocks, from APU row o_base).
                # Plain: one output word per cycle. Accumulate: read the old word, add
                # the new one a cycle later (one extra cycle).
                addr = o_ptr + o_off + o_j
                with m.If(word_idx < geo.out_words):
                    with m.If(o_j != geo.group_words - 1):
                        m.d.sync += o_j.eq(o_j + 1)
                    with m.Elif(o_grp != geo.groups - 1):
                        m.d.sync += [o_j.eq(0), o_grp.eq(o_grp + 1),
                                     o_off.eq(o_off + geo.group_words),
                                     o_base.eq(o_base + geo.rows)]
                    with m.Else():
                        m.d.sync += [o_j.eq(0), o_grp.eq(0), o_off.eq(0),
                                     o_ptr.eq(o_ptr + window.out_stride),
                                     o_base.eq(o_base + geo.rows)]
                with m.If(vmm.accumulate):
                    with m.If(word_idx < geo.out_words):
                        m.d.comb += [rd.en.eq(1), rd.addr.eq(addr)]
                        m.d.sync += [o_prev_addr.eq(addr), o_prev_j.eq(o_j),
                                     o_prev_base.eq(o_base)]
                    m.d.comb += [self.acc.out_index.eq(o_prev_j),
                                 self.acc.sum_base.eq(o_prev_base)]
                    with m.If(word_idx != 0):
                        prev = self.acc.out_word
                        bits = cfg.data.acc_bits
                        summed = Cat(*[(rd.data.word_select(i, bits)
                                        + prev.word_select(i, bits))[:bits]
                                       for i in range(per_word)])
                        m.d.comb += [wr.en.eq(1), wr.addr.eq(o_prev_addr), wr.data.eq(summed)]
                with m.Else():
                    m.d.comb += [self.acc.out_index.eq(o_j), self.acc.sum_base.eq(o_base),
                                 wr.en.eq(1), wr.addr.eq(addr), wr.data.eq(self.acc.out_word)]
                m.d.sync += word_idx.eq(word_idx + 1)
                last_word = Mux(vmm.accumulate, word_idx == geo.out_words,
                                word_idx == geo.out_words - 1)
                with m.If(last_word):
                    with m.If(win_left == geo.reps):
                        self.finish(m)
                    with m.Else():
                        m.d.sync += [
                            win_left.eq(win_left - geo.reps),
                            in_ptr.eq(in_ptr + geo.reps * window.in_stride),
                            out_ptr.eq(out_ptr + geo.reps * window.out_stride),
                            *pass_start(),
                        ]
                        m.next = "LOAD"
        self.record(fsm)
        return m


