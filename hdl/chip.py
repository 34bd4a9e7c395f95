"""The chip top: the sequencer (fetch, decode, execute; :mod:`hdl.sequencer`) wired to the
global buffer, DMA, activation shift registers, shift-and-add accumulators, write engine
and the INV arrays' ports.

Off-chip ports: instruction memory and main memory (synchronous SRAM-style ports, data
the cycle after the address; the two main-memory ports, the DMA's and the write
engine's, are ``port_words`` consecutive words wide, an enable bit per word), the analog
crossbar read and write ports that the Python models answer (a read is one transaction
per VMM window: the INT8 vector goes out with plane 0, plane-major as the shift
registers hold it, and the codes of all planes come back within that plane's window, one
``code_field_bits`` field each, crossbar by crossbar, plane by plane; the RTL times each
plane and samples plane ``b``'s codes at the end of its ``bitplane_cycles``), the INV
ports (a solve is one transaction: the right-hand side goes out, the digitized solution
is sampled at the end of the ``inv.solve_cycles`` window; INV_WRITE streams the matrix
at the DMA's grants, then pulses ``inv_wr_done`` once its rows are programmed, and the
model reports in ``inv_ok`` whether each array can solve, sampled in that last cycle),
status, performance counters and a debug port into the buffer.

Cycle accounting: see :mod:`hdl.sequencer.core` (mirrored exactly by :mod:`model.timing`).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect

from firmware.config import COUNTER_BITS, Config
from firmware.isa import VmmOut
from hdl.arith import select, tree_sum
from hdl.global_buffer import GlobalBuffer
from hdl.interfaces import dma_lane_ports, xbar_bits
from hdl.rate_limiter import RateLimiter
from hdl.sequencer import Sequencer, sequencer_signature
from hdl.sequencer.core import status_ports
from hdl.sfu import requantize
from hdl.shapes import FaultShape, names
from hdl.shift_accumulator import ShiftAccumulator
from hdl.shift_register import ActivationShiftRegister
from hdl.write_engine import WriteEngine

#: The sequencer's interfaces that are the chip's pins, with the pins' name prefix.
PIN_GROUPS = {"imem": "imem_", "dram": "dram_", "xbar": "xbar_req_", "inv": "inv_"}


def _pin_members(cfg: Config) -> dict[str, tuple[str, str | None, object]]:
    """``{pin: (sequencer interface or port, member or None, its Member)}`` of the
    sequencer's ports that are chip pins, passed through unchanged."""
    sig = sequencer_signature(cfg)
    pins = {}
    for group, prefix in PIN_GROUPS.items():
        for name, member in sig[group].signature.members.items():
            pins[prefix + name] = (group, name, member)
    for name in status_ports(cfg):
        pins[name] = (name, None, sig[name])
    return pins


def pin_signature(cfg: Config) -> dict:
    """The sequencer's ports that are also the chip's pins, as flat pins: instruction
    and main memory, the analog request and INV ports, status, counters."""
    return {pin: member for pin, (_, _, member) in _pin_members(cfg).items()}


def chip_signature(cfg: Config) -> dict:
    """Port map of :class:`Chip` (also what the Verilog harness connects): the
    sequencer's pins (:func:`pin_signature`) and the datapath's."""
    xb = xbar_bits()
    c, k = cfg.crossbar, cfg.write.engines
    return {
        **pin_signature(cfg),
        # One main-memory read port and one row-write port per write engine, engine e's
        # in the e-th slice of each pin.
        "wdram_en": Out(k * cfg.port_words),
        "wdram_addr": Out(32 * k),
        "wdram_rdata": In(cfg.dram_bits * cfg.port_words * k),
        "xbar_req_acts": Out(cfg.n_apu_rows * c.rows * cfg.data.act_bits),
        "xbar_req_plane": Out(cfg.n_apu_rows * c.rows),
        "xbar_resp_codes": In(cfg.n_crossbars * cfg.data.act_bits * c.cols * cfg.code_field_bits),
        "xbar_wr_valid": Out(k),
        "xbar_wr_id": Out(xb * k),
        "xbar_wr_row": Out(16 * k),
        "xbar_wr_deltas": Out(c.cols * cfg.write.delta_bits * k),
        "pulses": Out(COUNTER_BITS),
        "dbg_gb_addr": In(range(cfg.gb_words)),
        "dbg_gb_data": Out(cfg.gb_bits),
        "dbg_gb_we": In(1),
    }


class Chip(wiring.Component):
    """The whole digital chip for one :class:`~firmware.config.Config`."""

    def __init__(self, cfg: Config):
        if cfg.crossbar.bitplane_cycles < 2:
            raise ValueError(f"{cfg.source}: crossbar.bitplane_cycles must be >= 2 for the "
                             "RTL: the analog model answers within that window")
        if cfg.inv.solve_cycles < 2:
            raise ValueError(f"{cfg.source}: inv.solve_cycles must be >= 2 for the RTL: the "
                             "analog model answers within that window")
        self._cfg = cfg
        #: ``{VCD signal path below the chip: {state name: code}}`` of every state machine,
        #: filled when the chip is elaborated (for wave viewers).
        self.fsm_states: dict[str, dict[str, int]] = {}
        super().__init__(chip_signature(cfg))

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        m.submodules.sequencer = seq = Sequencer(cfg)
        m.submodules.gb = gb = GlobalBuffer(cfg.gb_words, cfg.gb_bits, cfg.port_words)
        m.submodules.dma_limiter = dma_lim = RateLimiter(
            cfg.dram_bytes_per_cycle, cfg.main_memory.word_bytes, cfg.port_words)
        # Shift registers for the input segments of every APU row a VMM can drive.
        m.submodules.shreg = shreg = ActivationShiftRegister(
            cfg.n_apu_rows, cfg.crossbar.rows, cfg.data.act_bits, cfg.gb_bits)
        # One accumulator per crossbar, indexed by (row block, column) relative to the
        # VMM; the crossbars of a row block share its shift registers.
        accs = [[ShiftAccumulator(cfg) for _ in range(cfg.apu_cols)]
                for _ in range(cfg.n_apu_rows)]
        for k, row in enumerate(accs):
            for col, acc in enumerate(row):
                m.submodules[f"accum{k}_{col}"] = acc
        # The write engines: the first keeps the name waves know it by.
        engines = [WriteEngine(cfg, f"write_engine{e or ''}") for e in range(cfg.write.engines)]
        for engine in engines:
            m.submodules[engine.path] = engine
        vmm = seq.insn.args.VMM
        acc_port = seq.acc

        # ---- the sequencer's pins, passed through; its buffer, DMA, write engine ports ----
        for pin_name, (group, name, member) in _pin_members(cfg).items():
            pin = getattr(self, pin_name)
            port = getattr(seq, group) if name is None else getattr(getattr(seq, group), name)
            m.d.comb += pin.eq(port) if member.flow == wiring.Out else port.eq(pin)
        connect(m, seq.dma, dma_lim)
        connect(m, seq.gb_rd, gb.rd)
        connect(m, seq.gb_wr, gb.wr)
        for name in dma_lane_ports(cfg):
            connect(m, getattr(seq, name), getattr(gb, name))
        connect(m, seq.shreg, shreg.ld)
        m.d.comb += [
            gb.dbg_addr.eq(self.dbg_gb_addr), gb.dbg_we.eq(self.dbg_gb_we),
            self.dbg_gb_data.eq(gb.dbg_data),
            self.xbar_req_acts.eq(shreg.acts),
            self.xbar_req_plane.eq(shreg.plane),
        ]

        # ---- write engines: background, each with its own read port and limiter ----
        # Main memory is one port of `bandwidth_gbps`: while the DMA (LOAD, STORE or an
        # INV_WRITE's matrix) requests words, it has all of it and the engines wait.
        dma_busy = seq.dma.req != 0
        for e, we in enumerate(engines):
            connect(m, seq.write[e], we.cmd)
            connect(m, we.scoreboard, seq.scoreboard[e])
            m.d.comb += [
                we.hold.eq(dma_busy),
                self.wdram_en.word_select(e, cfg.port_words).eq(we.mem.en),
                self.wdram_addr.word_select(e, 32).eq(we.mem.addr),
                we.mem.rdata.eq(self.wdram_rdata.word_select(e, len(we.mem.rdata))),
                self.xbar_wr_valid[e].eq(we.xbar_wr.valid),
                self.xbar_wr_id.word_select(e, len(we.xbar_wr.id)).eq(we.xbar_wr.id),
                self.xbar_wr_row.word_select(e, 16).eq(we.xbar_wr.row),
                self.xbar_wr_deltas.word_select(e, len(we.xbar_wr.deltas.as_value())).eq(
                    we.xbar_wr.deltas.as_value()),
            ]
        m.d.comb += self.pulses.eq(sum(we.pulses for we in engines)[:COUNTER_BITS])

        # ---- accumulators: codes from the analog port, plane bits from the registers ----
        rows = cfg.crossbar.rows
        plane_codes = cfg.crossbar.cols * cfg.code_field_bits
        for k, row in enumerate(accs):
            for col, acc in enumerate(row):
                # Plane b's codes of crossbar (k, col): the analog side answers all planes
                # of all the VMM's crossbars in one transaction per window. A mux tree
                # over constant slices, not a variable shift of the whole port: a
                # simulator then copies one plane's codes, not the port's every bit.
                first = (k * cfg.apu_cols + col) * cfg.data.act_bits
                m.d.comb += acc.codes.as_value().eq(select(
                    acc_port.plane, [self.xbar_resp_codes.word_select(first + b, plane_codes)
                                for b in range(cfg.data.act_bits)]))
                m.d.comb += [
                    acc.plane_bits.eq(shreg.plane[k * rows:(k + 1) * rows]),
                    acc.plane_index.eq(acc_port.plane),
                    acc.clear.eq(acc_port.clear),
                    acc.hold.eq(acc_port.hold),
                    acc.valid.eq(acc_port.valid[k]),
                    acc.zero.eq(vmm.zero),
                ]
        # The accumulation units sum the held row blocks of the column group being
        # written (APU rows sum_base .. sum_base + nrows - 1); the sums are shifted left by the
        # instruction's `shift` (wrapping). Output words: column by column, int32s
        # little-end first.
        per_word = cfg.gb_bits // cfg.data.acc_bits
        nrows = seq.geometry.rows
        summed = Signal(cfg.n_apu_rows)
        m.d.comb += summed.eq(Cat((acc_port.sum_base <= a) & (a < acc_port.sum_base + nrows)
                                  for a in range(cfg.n_apu_rows)))
        narrow = vmm.mode != VmmOut.INT32
        left = Mux(narrow, 0, vmm.shift)      # requantizing, `shift` shifts right instead
        col_sums = [[(tree_sum([Mux(summed[a], row[col].result[j], 0)
                                for a, row in enumerate(accs)])[:cfg.data.acc_bits]
                      << left)[:cfg.data.acc_bits]
                     for j in range(cfg.weights_per_row)] for col in range(cfg.apu_cols)]
        out_words = [Cat(*[sums[w * per_word + i] for i in range(per_word)])
                     for sums in col_sums for w in range(cfg.output_words)]
        # Requantized: INT8 word k of the group is its int32 words 4k .. 4k + 3, each lane
        # through the SFU's REQUANT (after ReLU for REQUANT_RELU), packed in order.
        relu = vmm.mode == VmmOut.REQUANT_RELU
        int8_words = [Cat(*[requantize(word.word_select(i, 32).as_signed(), vmm.shift,
                                       relu)[:8]
                            for word in out_words[4 * k:4 * k + 4] for i in range(per_word)])
                      for k in range(len(out_words) // 4)]
        with m.Switch(acc_port.out_index):
            for w, value in enumerate(out_words):
                with m.Case(w):
                    m.d.comb += acc_port.out_word.eq(
                        Mux(narrow, int8_words[w], value) if w < len(int8_words) else value)

        # State machine encodings and enum names for wave viewers (filled as the blocks
        # elaborate).
        seq.fsm_states = self.fsm_states
        for we in engines:
            we.fsm_states = self.fsm_states
        self.fsm_states["fault"] = self.fsm_states["sequencer.fault"] = names(FaultShape)
        return m
