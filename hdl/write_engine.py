"""Write engine: streams row deltas from main memory and programs a group of crossbars
row by row, in lockstep.

For each row and each crossbar of the group it fetches ``delta_row_words`` words through
its bandwidth limiter, up to ``write_fetch_words`` a cycle (the main-memory port's width,
at most one crossbar row, so at most one crossbar's deltas complete per cycle), and hands
them to that crossbar's writing register in one ``wr_valid`` cycle; then it times the
group's two polarity phases itself: ``max(-delta) * pulses_per_level * pulse_cycles``
cycles of decrease, then the same for the largest increase, over every cell of the
group's row (the slowest cell sets the row's latency).

A row of the group is one burst of ``nxbars * delta_row_words`` words: each crossbar's
deltas are handed over the cycle after its last word lands, while the next crossbar's
words keep streaming (into a second row buffer when a cycle brings several words: the
next crossbar's first words may land with the last of this one). Rows are pipelined:
while one row's phases run, the next row's deltas are fetched and handed over (each APU
has two writing registers). With ``F = g(nxbars * delta_row_words, write_fetch_words) +
2`` (``g``: the cycle of the burst's last grant, :func:`firmware.config.grant_cycle`;
then the data cycle and the last hand-over) and ``P_r = dec_r + inc_r`` (row ``r``'s
phases), a write of rows ``0..R-1`` takes ``F + sum_{r<R-1} max(P_r, F) + P_{R-1}``
cycles.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firmware.config import COUNTER_BITS, Config
from hdl.arith import tree_max, tree_sum
from hdl.decoder import one_if_zero
from hdl.interfaces import (
    MainMemoryPort,
    RowWrite,
    Scoreboard,
    WriteCommand,
    lane_mask,
    write_fields,
)
from hdl.rate_limiter import RateLimiter


class WriteEngine(wiring.Component):
    """Members: ``cmd`` (:class:`~hdl.interfaces.WriteCommand`: ``start`` with
    ``xbar``/``nxbars``/``dram_addr``/``row``/``nrows``) launches a write; ``scoreboard``
    (``busy`` on the group ``busy_xbar``/``busy_n``); ``mem`` reads main memory (it never
    writes); ``xbar_wr`` (:class:`~hdl.interfaces.RowWrite`) is the analog write port;
    ``phase`` (0 idle/fetch, 1 decrease, 2 increase) and ``pulses`` are for waves and
    counters; ``hold`` keeps it from requesting main-memory words in a cycle (the chip
    raises it while the DMA has the port), its fetch resuming as a fresh burst. Its
    limiter grants its share of the bandwidth, ``write_bytes_per_cycle`` (the chip has
    ``write.engines`` of them); ``path`` is its name below the chip."""

    def __init__(self, cfg: Config, path: str = "write_engine"):
        self._cfg = cfg
        self.path = path
        #: Where to record the state encoding at elaboration (shared with the chip's).
        self.fsm_states: dict[str, dict[str, int]] = {}
        super().__init__({
            "cmd": In(WriteCommand()),
            "hold": In(1),
            "scoreboard": Out(Scoreboard()),
            "mem": Out(MainMemoryPort(cfg.dram_bits, cfg.port_words)),
            "xbar_wr": Out(RowWrite(cfg.write.delta_bits, cfg.crossbar.cols)),
            "phase": Out(2),
            "pulses": Out(COUNTER_BITS),
        })

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        lanes = cfg.write_fetch_words
        m.submodules.limiter = limiter = RateLimiter(cfg.write_bytes_per_cycle,
                                                     cfg.main_memory.word_bytes, lanes)
        words, bits = cfg.delta_row_words, cfg.dram_bits
        cols = cfg.crossbar.cols
        step_cycles = cfg.write.pulses_per_level * cfg.write.pulse_cycles

        addr = Signal.like(self.mem.addr)
        rows_left = Signal.like(self.cmd.nrows)
        max_x = (1 << write_fields()["nxbars"]) - 1
        issued = Signal(range(max_x * words + 1))   # words of the row requested so far
        received = Signal(range(words + 1))         # words of the crossbar filling landed
        pending = Signal(range(lanes + 1))          # words landing this cycle
        ready = Signal()                            # crossbar k's deltas are all in
        # One row buffer per crossbar in flight: with several words a cycle, the next
        # crossbar's first words land with this one's last (crossbar k fills buffer k % 2).
        rowbufs = [Signal(words * bits, name=f"rowbuf{b}") for b in range(min(lanes, 2))]
        filling = Signal()                          # the buffer the landing words fill
        # Every value a delta field holds is legal (see the ISA's WRITE_START): a phase
        # lasts up to the largest magnitude the field holds, 2^(delta_bits-1) levels.
        max_step = 1 << (cfg.write.delta_bits - 1)
        phase_cycles = range(step_cycles * max_step + 1)   # one phase at most
        k = Signal.like(self.cmd.nxbars)             # crossbar of the group being fetched
        grp_dec = Signal(range(max_step + 1))    # slowest cells of the group so far
        grp_inc = Signal(range(max_step + 1))

        handed = rowbufs[0] if len(rowbufs) == 1 else Mux(k[0], rowbufs[1], rowbufs[0])
        deltas = data.View(data.ArrayLayout(signed(cfg.write.delta_bits), cols),
                           handed[:cols * cfg.write.delta_bits])
        m.d.comb += self.xbar_wr.deltas.as_value().eq(deltas.as_value())

        # Largest decrease and increase among the row's cells, and the row's pulse total.
        dec_max = Signal(range(max_step + 1))
        inc_max = Signal(range(max_step + 1))
        dec_terms = [Mux(deltas[c] < 0, -deltas[c], 0) for c in range(cols)]
        inc_terms = [Mux(deltas[c] > 0, deltas[c], 0) for c in range(cols)]
        m.d.comb += [
            dec_max.eq(tree_max(m, dec_terms + [grp_dec])),
            inc_max.eq(tree_max(m, inc_terms + [grp_inc])),
        ]
        row_pulses = tree_sum(dec_terms + inc_terms)

        m.d.comb += [
            limiter.req.eq(0),
            self.mem.addr.eq(addr),
            self.xbar_wr.id.eq(self.scoreboard.busy_xbar + k),
        ]

        # The pulse unit times one row's two phases while the next row's deltas are
        # fetched and handed to the crossbars' second writing registers.
        p_phase = Signal(2)                      # 0 idle, 1 decrease, 2 increase
        p_timer = Signal(phase_cycles)
        p_inc = Signal(phase_cycles)
        hold_dec = Signal(phase_cycles)          # a fetched row waiting for the unit
        hold_inc = Signal(phase_cycles)
        p_last = ((p_phase == 1) & (p_timer == 1) & (p_inc == 0)) | \
            ((p_phase == 2) & (p_timer == 1))
        p_free = (p_phase == 0) | p_last         # free to start a row next cycle
        m.d.comb += self.phase.eq(p_phase)
        with m.If(p_phase != 0):
            m.d.sync += p_timer.eq(p_timer - 1)
            with m.If((p_phase == 1) & (p_timer == 1)):
                m.d.sync += [p_phase.eq(Mux(p_inc != 0, 2, 0)), p_timer.eq(p_inc)]
            with m.If((p_phase == 2) & (p_timer == 1)):
                m.d.sync += p_phase.eq(0)

        def pulse(dec_cycles, inc_cycles) -> None:
            """Start a row's phases next cycle (a row with no change takes none)."""
            m.d.sync += [p_inc.eq(inc_cycles),
                         p_phase.eq(Mux(dec_cycles != 0, 1, Mux(inc_cycles != 0, 2, 0))),
                         p_timer.eq(Mux(dec_cycles != 0, dec_cycles, inc_cycles))]

        def next_row() -> None:
            # Decided in the row's last cycle: no idle cycle between rows.
            with m.If(rows_left == 1):
                m.next = "IDLE"
            with m.Else():
                m.d.sync += [
                    rows_left.eq(rows_left - 1), self.xbar_wr.row.eq(self.xbar_wr.row + 1),
                    issued.eq(0), received.eq(0), k.eq(0), grp_dec.eq(0), grp_inc.eq(0),
                    filling.eq(0),
                ]
                m.next = "FETCH"

        with m.FSM(name="write_fsm") as fsm:
            with m.State("IDLE"):
                with m.If(self.cmd.start):
                    m.d.sync += [
                        self.scoreboard.busy_xbar.eq(self.cmd.xbar), addr.eq(self.cmd.dram_addr),
                        self.scoreboard.busy_n.eq(one_if_zero(self.cmd.nxbars)),
                        self.xbar_wr.row.eq(self.cmd.row), rows_left.eq(self.cmd.nrows),
                        issued.eq(0), received.eq(0), pending.eq(0), ready.eq(0),
                        k.eq(0), grp_dec.eq(0), grp_inc.eq(0), filling.eq(0),
                    ]
                    with m.If(self.cmd.nrows != 0):
                        m.next = "FETCH"
            with m.State("FETCH"):
                # One burst for the whole row of the group: words keep streaming while
                # each crossbar's deltas are handed over the cycle after its last word.
                want = Signal.like(issued)
                grant = limiter.grant
                m.d.comb += [want.eq(self.scoreboard.busy_n * words - issued),
                             limiter.req.eq(Mux(self.hold, 0, Mux(want < lanes, want, lanes)))]
                with m.If(grant != 0):
                    m.d.comb += self.mem.en.eq(lane_mask(grant, cfg.port_words))
                    m.d.sync += [addr.eq(addr + grant), issued.eq(issued + grant)]
                m.d.sync += [pending.eq(grant), ready.eq(0)]
                with m.If(pending != 0):
                    for i in range(lanes):     # landed word i: slot received + i
                        word, pos = self.mem.rdata.word_select(i, bits), received + i
                        with m.If(i < pending):
                            if len(rowbufs) == 1:
                                m.d.sync += rowbufs[0].word_select(pos, bits).eq(word)
                            else:
                                for b, buf in enumerate(rowbufs):
                                    # This crossbar's words, or the next one's first.
                                    this = (filling == b) & (pos < words)
                                    with m.If(this):
                                        m.d.sync += buf.word_select(pos, bits).eq(word)
                                    with m.Elif((filling != b) & (pos >= words)):
                                        over = (pos - words)[:len(received)]
                                        m.d.sync += buf.word_select(over, bits).eq(word)
                    with m.If(received + pending >= words):
                        m.d.sync += [received.eq(received + pending - words), ready.eq(1),
                                     filling.eq(~filling)]
                    with m.Else():
                        m.d.sync += received.eq(received + pending)
                with m.If(ready):
                    m.d.comb += self.xbar_wr.valid.eq(1)
                    m.d.sync += self.pulses.eq(self.pulses
                                               + row_pulses * cfg.write.pulses_per_level)
                    # The next crossbar of the group's row:
                    with m.If(k != self.scoreboard.busy_n - 1):
                        m.d.sync += [k.eq(k + 1), grp_dec.eq(dec_max), grp_inc.eq(inc_max)]
                    with m.Elif(p_free):              # the row's phases start at once
                        pulse(dec_max * step_cycles, inc_max * step_cycles)
                        next_row()
                    with m.Else():                    # or once the row before is done
                        m.d.sync += [hold_dec.eq(dec_max * step_cycles),
                                     hold_inc.eq(inc_max * step_cycles)]
                        m.next = "HOLD"
            with m.State("HOLD"):
                with m.If(p_free):
                    pulse(hold_dec, hold_inc)
                    next_row()
        m.d.comb += self.scoreboard.busy.eq(~fsm.ongoing("IDLE") | (p_phase != 0))
        self.fsm_states[f"{self.path}.write_fsm_state"] = fsm.encoding
        return m

