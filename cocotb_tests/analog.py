"""Reusable cocotb drivers for the chip's analog ports, answered by ``model.analog.crossbar`` and
``model.analog.inv_array``.

Each wakes once per transaction (a rising ``valid``), never per cycle. The read
responder takes a VMM window's INT8 vector (plane-major, as the shift registers hold it),
computes the ADC codes of all its bit-planes on each crossbar of the APU rows the VMM
spans (one batched model call per crossbar) and drives them into the harness's slots, one
per crossbar, at once under Verilator or half a cycle later under Icarus
(:class:`Sampling`), well inside the first plane's ``bitplane_cycles`` window that the RTL
counts before sampling;
the write monitor applies each row's deltas to the crossbar model. The INV responder
answers a solve with the digitized solution before the RTL's ``inv.solve_cycles`` window
ends; the INV programmer collects a matrix's words and programs the array model when the
RTL says its rows are done, then reports in ``inv_ok`` whether the array can solve.

With a :class:`Jitter` the responders instead answer at a seeded random cycle anywhere
inside the window the RTL counts (a read's first ``bitplane_cycles``, a solve's
``inv.solve_cycles``, an INV matrix's programming time): results and cycles must not
change, which is what keeping all timing in the RTL promises. Every driver hands what it
observed to a :class:`~cocotb_tests.scoreboard.Scoreboard`, which checks it against the
golden model's transaction at once.

Values are read from the simulator's bit strings (:func:`signal_text`: no BinaryValue)
and written at once (``setimmediatevalue``: no write queued for cocotb's ReadWrite phase,
one trigger fewer per transaction); an answer is an integer built from bytes (one ADC code
per byte), written only into the slots of the crossbars a window uses.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.handle import SimHandleBase
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer

from cocotb_tests.scoreboard import Scoreboard
from firmware.config import Config
from firmware.packing import pack
from model.analog.crossbar import Crossbar
from model.analog.inv_array import InvArray, digitize, matrix_levels, program_cost
from model.golden import PORTS


class Sampling:
    """When a driver may read and drive after a ``valid`` edge. Verilator reports a value
    change only once it has evaluated the whole design for the time step, so there a
    driver reads at once and drives at once (cocotb's Verilator loop evaluates again
    after a callback that wrote); Icarus reports changes inside a time step, so there it
    waits for ReadOnly to read and for the falling clock edge to drive. Either way the
    answer lands well inside the window the RTL counts. Verilator saves two Python
    wake-ups of three."""

    def __init__(self, dut: SimHandleBase):
        self.dut = dut
        self.settled = cocotb.SIM_NAME.lower().startswith("verilator")

    async def read(self, valid: SimHandleBase) -> bool:
        """Wait until the signals that came with ``valid``'s rising edge can be read;
        False if the edge was a delta-cycle glitch (Icarus), not a request."""
        if self.settled:
            return True
        await ReadOnly()
        return bool(valid.value)

    async def drive(self) -> None:
        """Wait until an answer may be driven."""
        if not self.settled:
            await FallingEdge(self.dut.clk)


class Jitter:
    """Seeded answer times: each answer lands on the falling clock edge of a uniformly
    random cycle of its window (cycle 0 is the request's). The draws of each port come
    from a generator seeded by ``(seed, run, port)``, so a run's answer times do not
    depend on where it sits in a batch. ``fixed`` answers a port's requests exactly that
    many cycles in instead (the tests of each window's last cycle and the first one past
    it). Records each port's delays, per run."""

    def __init__(self, seed: int, period_ps: int, fixed: dict[str, int] | None = None):
        self.seed, self.period_ps, self.fixed = seed, period_ps, dict(fixed or {})
        self.rngs: dict[str, np.random.Generator] = {}
        self.delays: dict[str, list[int]] = {}   # port: [min, max, count]

    def start_run(self, run: int) -> None:
        """Fresh generators and delay records for run ``run`` of the batch."""
        self.rngs = {p: np.random.default_rng([self.seed, run, k])
                     for k, p in enumerate(PORTS)}
        self.delays = {}

    async def wait(self, port: str, window: int) -> None:
        """From a request's edge, wait until the answer is due."""
        d = self.fixed[port] if port in self.fixed else int(self.rngs[port].integers(0, window))
        lo, hi, n = self.delays.get(port, [d, d, 0])
        self.delays[port] = [min(lo, d), max(hi, d), n + 1]
        await Timer(self.period_ps // 2 + d * self.period_ps, "ps")


async def answer_due(sampling: Sampling, jitter: Jitter | None, port: str, window: int
                     ) -> None:
    """Wait until a responder drives its answer: at its usual point, or jittered."""
    if jitter is None:
        await sampling.drive()
    else:
        await jitter.wait(port, window)


def signal_text(handle: SimHandleBase) -> str:
    """A signal's bit string, most significant first, straight from the simulator: no
    BinaryValue is built (a few microseconds per read, on every transaction). Uses
    cocotb 1.9's GPI handle, as pinned in pyproject.toml."""
    return handle._handle.get_signal_val_binstr()


def signal_int(handle: SimHandleBase) -> int:
    """A vector signal's unsigned value; an X or Z bit raises ValueError naming it."""
    text = signal_text(handle)
    try:
        return int(text, 2)
    except ValueError:
        raise ValueError(f"{handle._path} has X or Z bits: {text}") from None


def signal_bits(handle: SimHandleBase) -> np.ndarray:
    """A vector signal's bits, least significant first, as a uint8 array of 0/1 (read
    from the simulator's bit string: a wide vector never goes through a Python int).
    An X or Z bit raises ValueError naming the signal."""
    text = signal_text(handle)
    bits = np.frombuffer(text.encode("ascii"), dtype=np.uint8)[::-1] - ord("0")
    if (bits > 1).any():
        raise ValueError(f"{handle._path} has X or Z bits: {text}")
    return bits


def signal_ints(handle: SimHandleBase, bits: int, n: int, signed: bool) -> np.ndarray:
    """The first ``n`` ``bits``-bit fields of a vector signal, field 0 in the least
    significant bits (the layout :func:`firmware.packing.pack` makes of one word)."""
    fields = signal_bits(handle)[:n * bits].reshape(n, bits).astype(np.int64)
    out = fields @ (np.int64(1) << np.arange(bits, dtype=np.int64))
    return out - (fields[:, -1] << bits) if signed else out


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
    """Applies every ``xbar_wr_valid`` row of deltas to the crossbar models."""

    def __init__(self, dut: SimHandleBase, cfg: Config, xbars: list[Crossbar],
                 board: Scoreboard):
        self.dut, self.cfg, self.xbars = dut, cfg, xbars
        self.board = board
        self.sampling = Sampling(dut)
        self.rows = 0
        self.pulses = 0

    def reset(self, xbars: list[Crossbar]) -> None:
        """Program fresh crossbar models (a new run) and restart the counts."""
        self.xbars, self.rows, self.pulses = xbars, 0, 0

    async def run(self) -> None:
        dut, cfg = self.dut, self.cfg
        cols, bits = cfg.crossbar.cols, cfg.write.delta_bits
        valid, wr_id, wr_row, wr_deltas = (dut.xbar_wr_valid, dut.xbar_wr_id, dut.xbar_wr_row,
                                           dut.xbar_wr_deltas)
        while True:
            await RisingEdge(valid)
            if not await self.sampling.read(valid):
                continue
            xid, row = signal_int(wr_id), signal_int(wr_row)
            deltas = signal_ints(wr_deltas, bits, cols, signed=True)
            self.pulses += self.xbars[xid].program_row(row, deltas).pulses
            self.rows += 1
            self.board.observe("row_write", xid, {"row": row}, deltas,
                               self.xbars[xid].levels[row])


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
            # A streamed word per cycle while valid stays high (a matrix is a few words,
            # and INV_WRITE is rare: cheap enough to follow cycle by cycle).
            while dut.inv_wr_valid.value:
                self.words[int(dut.inv_wr_index.value)] = int(dut.inv_wr_data.value)
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
