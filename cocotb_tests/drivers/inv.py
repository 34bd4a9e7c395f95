"""The INV ports' drivers, answered by ``model.analog.inv_array``: the solve responder
answers with the digitized solution before the RTL's ``inv.solve_cycles`` window ends; the
programmer collects a matrix's words and programs the array model when the RTL says its
rows are done, then reports in ``inv_ok`` whether the array can solve."""

from __future__ import annotations

import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge

from cocotb_tests.drivers.answer_timing import Jitter, Sampling, answer_due
from cocotb_tests.drivers.signals import signal_int, signal_ints
from cocotb_tests.scoreboard import Scoreboard
from firmware.config import Config
from firmware.packing import pack
from model.analog.inv_array import InvArray, digitize, matrix_levels, program_cost


class InvSolveResponder:
    """Answers ``inv_req_*`` with ``inv_resp_x`` from the INV array models."""

    def __init__(self, dut: SimHandleBase, cfg: Config, invs: list[InvArray],
                 board: Scoreboard, jitter: Jitter | None = None):
        self.dut, self.cfg, self.invs = dut, cfg, invs
        self.board, self.jitter = board, jitter
        self.sampling = Sampling(dut)
        self.solves = 0

    def reset(self, invs: list[InvArray]) -> None:
        self.invs, self.solves = invs, 0

    async def run(self) -> None:
        dut, n = self.dut, self.cfg.inv.size
        while True:
            await RisingEdge(dut.inv_req_valid)
            if not await self.sampling.read(dut.inv_req_valid):
                continue
            b = signal_ints(dut.inv_req_b, 32, n, signed=True)
            shift = signal_int(dut.inv_req_shift)
            shift -= (shift >> 7) << 8          # the field is signed
            xid = signal_int(dut.inv_req_id)
            self.board.observe("inv_solve", xid, {"shift": shift}, b)
            x = self.invs[xid].solve(b.astype(np.float64)).x
            word = pack(digitize(x, shift), 32, n * 32)[0]
            await answer_due(self.sampling, self.jitter, "inv_solve", self.cfg.inv.solve_cycles)
            dut.inv_resp_x.setimmediatevalue(word)
            self.solves += 1


class InvProgrammer:
    """Collects ``inv_wr_*`` words and programs the INV array model; drives ``inv_ok``
    (bit i: array i can solve) on the falling edge after ``inv_wr_done``, or, jittered,
    at a random cycle of the programming time the RTL counts (it reads ``inv_ok`` only
    when it decodes a later INV)."""

    def __init__(self, dut: SimHandleBase, cfg: Config, invs: list[InvArray],
                 board: Scoreboard, jitter: Jitter | None = None):
        self.dut, self.cfg, self.invs = dut, cfg, invs
        self.board, self.jitter = board, jitter
        self.words: dict[int, int] = {}
        self.ok = 0
        self.programs = 0

    def reset(self, invs: list[InvArray]) -> None:
        """Fresh models (a new run): nothing written, no array can solve."""
        self.invs, self.words, self.ok, self.programs = invs, {}, 0, 0
        self.dut.inv_ok.value = 0

    def _levels(self) -> np.ndarray:
        return matrix_levels([self.words.get(k, 0) for k in range(self.cfg.inv_matrix_words)],
                             self.cfg)

    def _program(self, i: int, levels: np.ndarray) -> None:
        ok = self.invs[i].program_checked(levels) is None
        self.ok = (self.ok & ~(1 << i)) | (int(ok) << i)

    def _done(self, i: int, levels: np.ndarray) -> None:
        """The RTL says the rows are programmed: one INV program transaction."""
        self.board.observe("inv_program", i, {}, levels)
        self.words, self.programs = {}, self.programs + 1

    async def run(self) -> None:
        dut, cfg = self.dut, self.cfg
        top = cfg.inv_level_max
        while True:
            await First(RisingEdge(dut.inv_wr_valid), RisingEdge(dut.inv_wr_done))
            await ReadOnly()
            # Streamed words (``inv_wr_count`` of them) per cycle while valid stays high (a
            # matrix is a few words, and INV_WRITE is rare: cheap enough to follow cycle
            # by cycle).
            bits = cfg.dram_bits
            while dut.inv_wr_valid.value:
                index, data = int(dut.inv_wr_index.value), int(dut.inv_wr_data.value)
                for lane in range(int(dut.inv_wr_count.value)):
                    self.words[index + lane] = data >> (lane * bits) & ((1 << bits) - 1)
                await RisingEdge(dut.clk)
                await ReadOnly()
            i = int(dut.inv_wr_id.value)
            if dut.inv_wr_done.value and self.jitter is None:
                levels = self._levels()
                self._program(i, levels)
                self._done(i, levels)
                await FallingEdge(dut.clk)
                dut.inv_ok.value = self.ok
            elif self.jitter is not None and len(self.words) == cfg.inv_matrix_words:
                # The whole matrix is in: this is the first cycle of its programming.
                levels = self._levels()
                if np.abs(levels).max() > top:   # the RTL faults BAD_OPERAND instead
                    self.words = {}
                    continue
                self._program(i, levels)
                window = sum(r.cycles(cfg) for r in program_cost(levels, cfg))
                await self.jitter.wait("inv_program", window)
                dut.inv_ok.setimmediatevalue(self.ok)
                # The RTL samples inv_ok with inv_wr_done, in the window's last cycle:
                # the matrix counts as programmed here (a later done edge is ignored).
                self._done(i, levels)
