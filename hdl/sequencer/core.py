"""The sequencer's core: fetch, decode and dispatch, and the instructions it runs itself.

It owns the architectural registers (pc, the instruction being executed and its decoded
VMM geometry, the VMM window, the bank mask, the written-since-reset bit of every buffer
word, the fault register), the watchdog and the performance counters; it runs NOP,
HALT, SYNC, WINDOW, BANK_GATE, WRITE_START and WRITE_WAIT, and hands every other
instruction to its execute unit (:mod:`hdl.sequencer`) through a
:class:`~hdl.interfaces.Dispatch` port, waiting in that unit's state until it answers.

Cycle accounting (mirrored exactly by :mod:`model.timing`): every instruction spends one
FETCH and one DECODE cycle, then its execute states; ``cycles`` counts every cycle until
the chip is halted.
"""

from __future__ import annotations

from contextlib import contextmanager

from amaranth import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firmware.config import COUNTER_BITS, Config
from firmware.isa import Fault, Opcode
from hdl.decoder import (
    InstructionDecoder,
    geometry_layout,
    instruction_layout,
    one_if_zero,
    window_layout,
)
from hdl.interfaces import (
    BufferWritePort,
    Dispatch,
    InstructionPort,
    Scoreboard,
    WriteCommand,
    writing_any,
)
from hdl.shapes import FaultShape, OpcodeShape, names

#: The execute units, by the name of the core's state that waits for them, with the
#: opcodes each runs.
UNITS = {
    "DMA": (Opcode.LOAD, Opcode.STORE),
    "VEC": (Opcode.VEC,),
    "SFU": (Opcode.SFU,),
    "VMM": (Opcode.VMM,),
    "INV": (Opcode.INV, Opcode.INV_WRITE),
    "COMBINE": (Opcode.COMBINE,),
}


def status_ports(cfg: Config) -> dict:
    """Status and performance counters (the chip's pins of the same names)."""
    return {
        "halted": Out(1),
        "fault": Out(FaultShape),
        "pc": Out(range(cfg.imem.depth + 1)),
        "cycles": Out(COUNTER_BITS),
        "stall_cycles": Out(COUNTER_BITS),
        "write_busy_cycles": Out(COUNTER_BITS),
        "overlap_cycles": Out(COUNTER_BITS),
        "bank_active_cycles": Out(data.ArrayLayout(COUNTER_BITS,
                                                   len(cfg.global_buffer.bank_bytes))),
    }


class SequencerCore(wiring.Component):
    """Members: ``imem``; one :class:`~hdl.interfaces.Dispatch` port per unit (lower-case names
    of :data:`UNITS`); ``gb_wr`` (the buffer's write port, and ``gb_wrx`` the DMA's
    further lanes, watched for the written-since-reset bits); ``write`` and
    ``scoreboard`` (one each per write engine); ``insn``, ``geometry``, ``window``, ``bank_mask``
    (registers the units and the chip read); the status and counters
    (:func:`status_ports`)."""

    def __init__(self, cfg: Config):
        self._cfg = cfg
        #: ``{signal path below the chip: {state or member name: code}}``, when elaborated.
        self.fsm_states: dict[str, dict[str, int]] = {}
        layout = instruction_layout()
        super().__init__({
            "imem": Out(InstructionPort(cfg.imem.depth)),
            **{name.lower(): Out(Dispatch(layout)) for name in UNITS},
            "gb_wr": In(BufferWritePort(cfg.gb_words, cfg.gb_bits)),
            # The DMA's further buffer lanes (a main-memory port of several words).
            **({"gb_wrx": In(BufferWritePort(cfg.gb_words, cfg.gb_bits, cfg.port_words - 1))}
               if cfg.port_words > 1 else {}),
            "write": Out(WriteCommand()).array(cfg.write.engines),
            "scoreboard": In(Scoreboard()).array(cfg.write.engines),
            "insn": Out(layout),
            "opcode": Out(OpcodeShape),
            "geometry": Out(geometry_layout(cfg)),
            "window": Out(window_layout(), init={"count": 1}),
            "bank_mask": Out(32, init=(1 << 32) - 1),  # reset: every bank powered
            **status_ports(cfg),
        })

    def elaborate(self, platform) -> Module:
        cfg = self._cfg
        m = Module()
        m.submodules.decoder = dec = InstructionDecoder(cfg)
        ir, window, bank_mask, pc, fault = (self.insn, self.window, self.bank_mask, self.pc,
                                            self.fault)
        sb = self.scoreboard
        units = {name: getattr(self, name.lower()) for name in UNITS}
        gb_valid = Signal(cfg.gb_words)              # words written since reset
        # The decoder sees a copy taken at FETCH: every buffer write of the previous
        # instruction has landed by then, and the decoder's check logic then changes once
        # per instruction instead of on every write (a large saving in simulation).
        gb_valid_at_fetch = Signal(cfg.gb_words)
        m.d.comb += [
            self.imem.addr.eq(pc),
            dec.insn.eq(self.imem.data),
            dec.window.eq(window),
            dec.bank_mask.eq(bank_mask),
            dec.gb_valid.eq(gb_valid_at_fetch),
            self.opcode.eq(ir.opcode),
        ]
        # The watchdog overrides whatever a state decided in the cycle it expires, stops
        # at once and returns every unit to idle.
        wd_expired = Signal()
        m.d.comb += wd_expired.eq(self.cycles == cfg.sim.watchdog_cycles - 1)
        for port in units.values():
            m.d.comb += [port.decoded.eq(dec.decoded), port.insn.eq(ir),
                         port.abort.eq(wd_expired)]
        f_ws = ir.args.WRITE_START
        m.d.comb += [getattr(cmd, name).eq(getattr(f_ws, name)) for cmd in self.write
                     for name in ("xbar", "dram_addr", "row", "nrows", "nxbars")]
        wait_xbar = ir.args.WRITE_WAIT.xbar
        busy_on = writing_any(sb, wait_xbar, wait_xbar + 1)
        busy = Cat(s.busy for s in sb)           # per write engine
        # WRITE_START goes to the lowest idle engine once no write in flight touches its
        # group (two engines never write one crossbar).
        group_busy = writing_any(sb, f_ws.xbar, f_ws.xbar + one_if_zero(f_ws.nxbars))
        can_start = ~busy.all() & ~group_busy
        stall = Signal()

        def next_insn() -> None:
            m.d.sync += pc.eq(pc + 1)
            m.next = "FETCH"

        def halt(code) -> None:
            # A fault stops the program but lets an in-flight weight write finish, as HALT
            # does, so crossbar contents and pulse counts stay well defined.
            m.d.sync += fault.eq(code)
            m.next = "DRAIN"

        def answer(port, waiting: str) -> None:
            """Follow a unit's answer: done, a fault, or wait for it in ``waiting``."""
            with m.If(port.done):
                next_insn()
            with m.Elif(port.fault != Fault.NONE):
                halt(port.fault)
            with m.Else():
                m.next = waiting

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
                m.d.sync += [ir.eq(dec.decoded), self.geometry.eq(dec.geometry)]
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
                        with m.Case(Opcode.BANK_GATE):
                            m.d.sync += bank_mask.eq(d.args.BANK_GATE.mask)
                            next_insn()
                        for name, opcodes in UNITS.items():
                            with m.Case(*opcodes):
                                m.d.comb += units[name].start.eq(1)
                                answer(units[name], name)

            with state("SYNC"):
                m.d.comb += stall.eq(busy.any())
                with m.If(~busy.any()):
                    next_insn()

            with state("DRAIN"):  # HALT and faults wait for background writes, then stop
                m.d.comb += stall.eq(busy.any())
                with m.If(~busy.any()):
                    m.next = "HALTED"

            with state("WSTART"):
                m.d.comb += stall.eq(~can_start)
                with m.If(can_start):
                    for e, cmd in enumerate(self.write):
                        lower_busy = busy[:e].all() if e else 1
                        m.d.comb += cmd.start.eq(~busy[e] & lower_busy)
                    next_insn()

            with state("WWAIT"):
                m.d.comb += stall.eq(busy_on)
                with m.If(~busy_on):
                    next_insn()

            for name, port in units.items():
                with state(name):
                    m.d.comb += stall.eq(port.stall)
                    answer(port, name)

            with m.State("HALTED"):
                m.d.comb += self.halted.eq(1)

        self.fsm_states["sequencer.core.seq_state"] = fsm.encoding
        self.fsm_states["sequencer.core.opcode"] = names(OpcodeShape)
        self.fsm_states["sequencer.core.fault"] = names(FaultShape)
        self.fsm_states["sequencer.core.decoder.fault"] = names(FaultShape)

        # Every buffer write, whatever its source, marks its word as initialized.
        with m.If(self.gb_wr.en):
            # One bit set by address (a decoder), not a shift of a one-hot the buffer's
            # size: simulators then touch one bit, not every word's.
            m.d.sync += gb_valid.bit_select(self.gb_wr.addr, 1).eq(1)
        for i in range(cfg.port_words - 1):
            with m.If(self.gb_wrx.en[i]):
                m.d.sync += gb_valid.bit_select(self.gb_wrx.addr + i, 1).eq(1)

        # ---- watchdog and performance counters ----
        running = ~fsm.ongoing("HALTED")
        with m.If(running):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            with m.If(stall):
                m.d.sync += self.stall_cycles.eq(self.stall_cycles + 1)
            for i, counter in enumerate(self.bank_active_cycles):
                with m.If(bank_mask[i]):
                    m.d.sync += counter.eq(counter + 1)
            with m.If(busy.any()):
                m.d.sync += self.write_busy_cycles.eq(self.write_busy_cycles + 1)
                with m.If(~stall):
                    m.d.sync += self.overlap_cycles.eq(self.overlap_cycles + 1)
        return m
