"""The crossbar ports' drivers, answered by ``model.analog.crossbar``.

The read responder takes a VMM window's INT8 vector (plane-major, as the shift registers
hold it), computes the ADC codes of all its bit-planes on each crossbar of the APU rows the
VMM spans (one batched model call per crossbar) and drives them into the harness's slots,
one per crossbar, well inside the first plane's ``bitplane_cycles`` window that the RTL
counts before sampling. Answers are written at once (``setimmediatevalue``: no write queued
for cocotb's ReadWrite phase, one trigger fewer per transaction), as an integer built from
bytes (one ADC code per byte), only into the slots of the crossbars a window uses. The
write monitor applies each row's deltas to the crossbar model (following ``valid``
cycle by cycle where two crossbars' rows can be handed over in consecutive cycles).
"""

from __future__ import annotations

import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from cocotb_tests.drivers.answer_timing import Jitter, Sampling, answer_due
from cocotb_tests.drivers.signals import signal_bits, signal_int, signal_ints
from cocotb_tests.scoreboard import Scoreboard
from firmware.config import Config
from model.analog.crossbar import Crossbar


class CrossbarReadResponder:
    """Answers ``xbar_req_*`` from the crossbar models into the harness's
    ``xbar_resp_slot`` registers (one per crossbar of a VMM; they form ``xbar_resp_codes``)."""

    def __init__(self, dut: SimHandleBase, cfg: Config, xbars: list[Crossbar],
                 board: Scoreboard, jitter: Jitter | None = None):
        self.dut, self.cfg, self.xbars = dut, cfg, xbars
        self.board, self.jitter = board, jitter
        self.sampling = Sampling(dut)
        self.requests = 0

    def reset(self, xbars: list[Crossbar]) -> None:
        """Answer from fresh crossbar models (a new run) and restart the count."""
        self.xbars, self.requests = xbars, 0

    async def run(self) -> None:
        dut, cfg = self.dut, self.cfg
        nb, rows = cfg.data.act_bits, cfg.crossbar.rows
        # One zero-extended code per byte (or two): a slot's word is the codes' bytes.
        field = np.dtype(f"<u{cfg.code_field_bits // 8}")
        # One slot per crossbar of a VMM, (row block, column) relative to it; the slots a
        # window does not use read as zero. Only the slots a window uses are written
        # (and those it stopped using zeroed), each at once (setimmediatevalue: no write
        # queued for a later phase); then the commit toggle copies them onto the port.
        slots = [dut.xbar_resp_slot[s] for s in range(cfg.n_apu_rows * cfg.apu_cols)]
        # The commit toggle continues from its value: a driver restarted for a new run must
        # still change it, or the harness copies nothing.
        commit = dut.xbar_resp_commit
        toggle = signal_int(commit)
        in_use: set[int] = set()
        valid, acts = dut.xbar_req_valid, dut.xbar_req_acts
        req_id, req_ncols, req_nrows = dut.xbar_req_id, dut.xbar_req_ncols, dut.xbar_req_nrows
        plane_weights = np.array([1 << b for b in range(nb)], dtype=np.int64)
        plane_weights[-1] = -plane_weights[-1]
        while True:
            await RisingEdge(valid)
            if not await self.sampling.read(valid):
                continue
            xid, ncols, nrows = signal_int(req_id), signal_int(req_ncols), signal_int(req_nrows)
            # The vector comes plane-major: bit b of every lane, plane 0 first.
            planes = signal_bits(acts).reshape(nb, cfg.n_apu_rows, rows)
            # The INT8 inputs of the APU rows read (two's complement, plane nb-1 negative).
            x = np.tensordot(plane_weights, planes[:, :nrows].astype(np.int64), axes=1)
            self.board.observe("xbar_read", xid,
                               {"ncols": ncols, "nrows": nrows}, x)
            answers = {}
            for k in range(nrows):
                for c in range(ncols):
                    codes = self.xbars[xid + k * cfg.apu_cols + c].read_planes(planes[:, k])
                    answers[k * cfg.apu_cols + c] = int.from_bytes(
                        codes.astype(field).tobytes(), "little")
            await answer_due(self.sampling, self.jitter, "xbar_read",
                             cfg.crossbar.bitplane_cycles)
            for s in in_use - answers.keys():
                slots[s].setimmediatevalue(0)
            for s, word in answers.items():
                slots[s].setimmediatevalue(word)
            toggle ^= 1
            commit.setimmediatevalue(toggle)
            in_use = set(answers)
            self.requests += 1


class CrossbarWriteMonitor:
    """Applies every row of deltas a write engine hands over (``xbar_wr_valid``, one bit
    per engine; the harness's ``xbar_wr_any`` wakes it) to the crossbar models."""

    def __init__(self, dut: SimHandleBase, cfg: Config, xbars: list[Crossbar],
                 board: Scoreboard):
        self.dut, self.cfg, self.xbars = dut, cfg, xbars
        self.board = board
        self.sampling = Sampling(dut)
        self.rows = 0
        self.pulses = 0
        #: Whether hand-overs can come in consecutive cycles: from two engines, or from
        #: one when a crossbar row's deltas (``delta_row_words``) land within two cycles
        #: of the previous one's (the fetch moves more than half a row a cycle).
        rate = min(cfg.write_bytes_per_cycle / cfg.main_memory.word_bytes,
                   cfg.write_fetch_words)
        self.back_to_back = cfg.write.engines > 1 or cfg.delta_row_words < 2 * rate

    def reset(self, xbars: list[Crossbar]) -> None:
        """Program fresh crossbar models (a new run) and restart the counts."""
        self.xbars, self.rows, self.pulses = xbars, 0, 0

    def _take(self) -> None:
        """The rows handed over this cycle, engine by engine."""
        dut, cfg = self.dut, self.cfg
        cols, bits, k = cfg.crossbar.cols, cfg.write.delta_bits, cfg.write.engines
        valid = signal_int(dut.xbar_wr_valid)
        ids, rows = signal_int(dut.xbar_wr_id), signal_int(dut.xbar_wr_row)
        id_bits, row_bits = len(dut.xbar_wr_id) // k, len(dut.xbar_wr_row) // k
        deltas = signal_ints(dut.xbar_wr_deltas, bits, cols * k, signed=True)
        for e in range(k):
            if not valid >> e & 1:
                continue
            xid = ids >> (e * id_bits) & ((1 << id_bits) - 1)
            row = rows >> (e * row_bits) & ((1 << row_bits) - 1)
            d = deltas[e * cols:(e + 1) * cols]
            self.pulses += self.xbars[xid].program_row(row, d).pulses
            self.rows += 1
            self.board.observe("row_write", xid, {"row": row}, d, self.xbars[xid].levels[row])

    async def run(self) -> None:
        dut = self.dut
        any_valid = dut.xbar_wr_any
        while True:
            await RisingEdge(any_valid)
            if not await self.sampling.read(any_valid):
                continue
            while True:
                self._take()
                if not self.back_to_back:
                    break
                # Still high next cycle: the next crossbar's. (From the falling edge:
                # Verilator may report this cycle's clock edge after valid's.)
                await FallingEdge(dut.clk)
                await RisingEdge(dut.clk)
                await ReadOnly()
                if not any_valid.value:
                    break
