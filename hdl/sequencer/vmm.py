"""The VMM window loop, pipelined: while the crossbars compute window pass ``k``, pass
``k+1``'s input segments load into the second set of activation registers and pass
``k-1``'s results drain from the output registers into the global buffer.

``WAIT`` holds the VMM while the write engine writes one of its crossbars (the
scoreboard); ``RUN`` then steps through the stages of :func:`firmware.cycles.vmm_cycles`
in lockstep: stage ``s`` loads pass ``s``, computes pass ``s - 1`` and drains pass
``s - 2`` (those that exist), each counted from the stage's first cycle ``t = 0`` (the
swap of the activation sets and the hold of the previous results), and ends with the
last of them. An accumulating drain reads the buffer after the stage's load has.
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
        nb, bpc = cfg.data.act_bits, cfg.crossbar.bitplane_cycles
        compute_last = nb * bpc            # the stage cycle of the last plane's sample
        in_max = cfg.n_apu_rows * cfg.input_words
        out_max = cfg.n_apu_rows * out_word_count(cfg)
        win_left = Signal.like(window.count)   # windows not yet loaded
        in_ptr = Signal(32)                # first input word of the pass loading
        t = Signal(range(in_max + out_max + compute_last + 2))   # cycle within the stage
        # Which activities the stage runs: load pass s, compute s - 1, drain s - 2.
        ld_on, cp_on, dr_on = Signal(), Signal(), Signal()
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
        # Compute: the plane being read and its timer.
        plane = Signal(range(nb))
        timer = Signal(range(bpc + 1))
        # Drain: the word (dw), column group and word within the group being written, the
        # replica's output pointer (running on from pass to pass) and the group's offset;
        # the word landing (accumulate: written a cycle after its read).
        dw = Signal(range(out_max + 2))
        o_grp = Signal(8)
        o_j = Signal(range(out_word_count(cfg) + 1))
        o_ptr = Signal(32)
        o_off = Signal(32)
        o_base = Signal(apu_bits)
        o_prev_addr = Signal(32)
        o_prev_j = Signal.like(o_j)
        o_prev_base = Signal(apu_bits)

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

        def stage_start() -> list:
            """Registers at the start of a stage: the load's and the drain's sequencing
            (the drain's output pointer runs on)."""
            return [t.eq(0), rd_off.eq(0), grp_off.eq(0), seg_word.eq(0),
                    seg_in_grp.eq(0), ld_blk.eq(0), rep_off.eq(0),
                    seg_mask.eq(first_mask), rep_mask.eq(first_mask),
                    dw.eq(0), o_grp.eq(0), o_j.eq(0), o_off.eq(0), o_base.eq(0)]

        # The drain's first and last stage cycles: a cycle after the hold, or, when it
        # accumulates, its reads after the stage's load has read.
        d_first = Mux(vmm.accumulate, Mux(ld_on, geo.in_words, 0), 1)
        d_last = Mux(vmm.accumulate & ld_on, geo.in_words, 0) + geo.out_words
        stage_end = ((~ld_on | (t >= geo.in_words)) & (~cp_on | (t >= compute_last))
                     & (~dr_on | (t >= d_last)))

        with m.FSM(name=self.fsm_name) as fsm:
            with self.state(m, "IDLE"):
                with m.If(ctl.start):
                    m.d.sync += [win_left.eq(window.count),
                                 in_ptr.eq(ctl.decoded.args.VMM.in_addr),
                                 o_ptr.eq(ctl.decoded.args.VMM.out_addr)]
                    m.next = "WAIT"

            with self.state(m, "WAIT"):  # scoreboard: never read a crossbar being written
                m.d.comb += ctl.stall.eq(blocked)
                with m.If(~blocked):
                    m.d.sync += [*stage_start(), ld_on.eq(1), cp_on.eq(0), dr_on.eq(0)]
                    m.next = "RUN"

            with self.state(m, "RUN"):
                m.d.sync += t.eq(t + 1)
                self._load(m, t, geo, window, rd, in_ptr, ld_on, rd_off, grp_off, seg_word,
                           seg_in_grp, ld_blk, rep_off, seg_mask, rep_mask, land_mask,
                           land_word)

                # ---- compute pass s - 1: swap the sets, then every bit-plane ----
                with m.If(cp_on & (t == 0)):
                    m.d.comb += [self.shreg.swap.eq(1), self.acc.clear.eq(1)]
                    m.d.sync += [plane.eq(0), timer.eq(bpc)]
                with m.If(cp_on & (t != 0) & (t <= compute_last)):
                    # One analog transaction per pass: the vector goes out with plane 0;
                    # the RTL still times every plane and samples its codes at its end.
                    m.d.comb += self.xbar.valid.eq(t == 1)
                    m.d.sync += timer.eq(timer - 1)
                    with m.If(timer == 1):
                        m.d.comb += [self.acc.valid.eq(Cat(k < geo.apu_rows
                                                           for k in range(cfg.n_apu_rows))),
                                     self.shreg.shift.eq(1)]
                        m.d.sync += [plane.eq(plane + 1), timer.eq(bpc)]

                # ---- drain pass s - 2 from the results held at t = 0 ----
                m.d.comb += self.acc.hold.eq(dr_on & (t == 0))
                d_go = dr_on & (t >= d_first) & (t <= d_last)
                with m.If(d_go):
                    # Word by word through every column group of every replica (the
                    # accumulation units sum the group's row blocks, from APU row o_base).
                    # Plain: one output word per cycle. Accumulate: read the old word, add
                    # the new one a cycle later (one extra cycle).
                    addr = o_ptr + o_off + o_j
                    with m.If(dw < geo.out_words):
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
                        with m.If(dw < geo.out_words):
                            m.d.comb += [rd.en.eq(1), rd.addr.eq(addr)]
                            m.d.sync += [o_prev_addr.eq(addr), o_prev_j.eq(o_j),
                                         o_prev_base.eq(o_base)]
                        m.d.comb += [self.acc.out_index.eq(o_prev_j),
                                     self.acc.sum_base.eq(o_prev_base)]
                        with m.If(dw != 0):
                            prev = self.acc.out_word
                            bits = cfg.data.acc_bits
                            summed = Cat(*[(rd.data.word_select(i, bits)
                                            + prev.word_select(i, bits))[:bits]
                                           for i in range(per_word)])
                            m.d.comb += [wr.en.eq(1), wr.addr.eq(o_prev_addr),
                                         wr.data.eq(summed)]
                    with m.Else():
                        m.d.comb += [self.acc.out_index.eq(o_j),
                                     self.acc.sum_base.eq(o_base),
                                     wr.en.eq(1), wr.addr.eq(addr),
                                     wr.data.eq(self.acc.out_word)]
                    m.d.sync += dw.eq(dw + 1)

                # ---- the stage ends with its last activity; the next one moves on ----
                with m.If(stage_end):
                    ld_next = ld_on & (win_left != geo.reps)
                    m.d.sync += [*stage_start(), ld_on.eq(ld_next), cp_on.eq(ld_on),
                                 dr_on.eq(cp_on)]
                    with m.If(ld_on):
                        m.d.sync += [win_left.eq(win_left - geo.reps),
                                     in_ptr.eq(in_ptr + geo.reps * window.in_stride)]
                    with m.If(~ld_on & ~cp_on):
                        self.finish(m)
        self.record(fsm)
        return m

    def _load(self, m: Module, t, geo, window, rd, in_ptr, ld_on, rd_off, grp_off,
              seg_word, seg_in_grp, ld_blk, rep_off, seg_mask, rep_mask, land_mask,
              land_word) -> None:
        """Load pass s: a word a cycle from ``t = 0`` into the second activation set,
        each landing a cycle after its read."""
        cfg = self._cfg
        with m.If(ld_on & (t < geo.in_words)):
            m.d.comb += [rd.en.eq(1), rd.addr.eq(in_ptr + rep_off + rd_off)]
            # The word lands next cycle in every column group's copy of the segment.
            m.d.sync += [land_mask.eq(seg_mask), land_word.eq(seg_word)]
            # Next word: on in the segment, on to the next segment of the group, on to the
            # next group (firmware.isa.Window.segment), or on to the next replica's window.
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
            with m.Elif((window.seg_group != 0) & (seg_in_grp == window.seg_group - 1)):
                m.d.sync += [seg_word.eq(0), seg_in_grp.eq(0),
                             grp_off.eq(grp_off + window.group_stride),
                             rd_off.eq(grp_off + window.group_stride),
                             ld_blk.eq(ld_blk + 1), seg_mask.eq(seg_mask << 1)]
            with m.Else():
                m.d.sync += [seg_word.eq(0), seg_in_grp.eq(seg_in_grp + 1),
                             rd_off.eq(rd_off + 1), ld_blk.eq(ld_blk + 1),
                             seg_mask.eq(seg_mask << 1)]
        with m.If(ld_on & (t != 0) & (t <= geo.in_words)):
            m.d.comb += [self.shreg.load.eq(1), self.shreg.rows.eq(land_mask),
                         self.shreg.word.eq(land_word), self.shreg.data.eq(rd.data)]
