"""The port protocols between the chip's blocks, one :class:`wiring.Signature` each.

Each is declared from the initiator's side (the sequencer's, or the write engine's) and
wired with :func:`amaranth.lib.wiring.connect`; the chip top alone spells them as flat
pins for the Verilog harness. Parameters are validated and compared in ``__eq__`` (the
buffer and memory ports also expose them as read-only properties), as Amaranth's own
library signatures are.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from amaranth import Cat, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firmware.config import Config
from firmware.isa import INSN_BITS, SPECS, Opcode
from hdl.shapes import FaultShape


def _positive(name: str, value: int) -> int:
    if not isinstance(value, int) or value < 1:
        raise TypeError(f"{name} must be a positive integer, not {value!r}")
    return value


class _Params(wiring.Signature):
    """A signature defined by a tuple of parameters (sizes, or a layout)."""

    _params: tuple

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._params == other._params

    def __hash__(self) -> int:
        return hash((type(self), self._params))

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self._params}"


class _Plain(wiring.Signature):
    """A signature without parameters."""

    def __eq__(self, other) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


def xbar_bits() -> int:
    """Width of a crossbar index (the ISA's ``xbar`` fields)."""
    return SPECS[Opcode.VMM].fields[0].width


class InstructionPort(_Params):
    """Instruction memory: ``addr`` this cycle, ``data`` the word there (combinational)."""

    def __init__(self, depth: int):
        self._params = (_positive("depth", depth),)
        super().__init__({"addr": Out(range(depth + 1)), "data": In(INSN_BITS)})

    @property
    def depth(self) -> int:
        return self._params[0]


class _BufferPort(_Params):
    """A port onto ``words`` global-buffer words of ``bits`` bits, ``lanes`` consecutive
    words at once (``en`` a bit per lane, ``addr`` the first lane's word, ``data`` lane 0
    in the low bits)."""

    def __init__(self, words: int, bits: int, data: wiring.Flow, lanes: int = 1):
        self._params = (_positive("words", words), _positive("bits", bits),
                        _positive("lanes", lanes))
        super().__init__({"en": Out(lanes), "addr": Out(range(words)),
                          "data": data(bits * lanes)})

    @property
    def words(self) -> int:
        return self._params[0]

    @property
    def bits(self) -> int:
        return self._params[1]

    @property
    def lanes(self) -> int:
        return self._params[2]


class BufferReadPort(_BufferPort):
    """A global-buffer read port: ``en`` and ``addr`` this cycle, ``data`` the next (the
    one-lane port is transparent: a write to the same word in the same cycle is seen)."""

    def __init__(self, words: int, bits: int, lanes: int = 1):
        super().__init__(words, bits, In, lanes)


class BufferWritePort(_BufferPort):
    """A global-buffer write port: ``data`` lands at ``addr`` at the edge if ``en``."""

    def __init__(self, words: int, bits: int, lanes: int = 1):
        super().__init__(words, bits, Out, lanes)


class MainMemoryPort(_Params):
    """A synchronous main-memory port of ``lanes`` consecutive words: ``rdata`` the cycle
    after ``en`` (a bit per lane) and ``addr`` (lane 0's word; lane 0 in the low bits);
    ``we`` writes ``wdata`` to the enabled lanes."""

    def __init__(self, bits: int, lanes: int = 1):
        self._params = (_positive("bits", bits), _positive("lanes", lanes))
        super().__init__({"en": Out(lanes), "we": Out(1), "addr": Out(32),
                          "wdata": Out(bits * lanes), "rdata": In(bits * lanes)})

    @property
    def bits(self) -> int:
        return self._params[0]

    @property
    def lanes(self) -> int:
        return self._params[1]


class GrantRequest(_Params):
    """A request to a rate limiter: ``req`` how many words are wanted this cycle (up to
    ``lanes``), ``grant`` how many may go."""

    def __init__(self, lanes: int = 1):
        self._params = (_positive("lanes", lanes),)
        super().__init__({"req": Out(range(lanes + 1)), "grant": In(range(lanes + 1))})


class CrossbarRequest(_Params):
    """A crossbar read: one transaction per VMM window, sent with ``valid``."""

    def __init__(self, id_bits: int):
        self._params = (_positive("id_bits", id_bits),)
        super().__init__({"valid": Out(1), "id": Out(id_bits), "ncols": Out(8),
                          "nrows": Out(16)})


class ActivationLoad(_Params):
    """The double-buffered activation shift registers: ``load`` a word into the second
    set's APU rows ``rows`` at segment word ``word``; ``swap`` makes the second set the
    one the crossbars read; ``shift`` moves every row of that set on by a bit-plane."""

    def __init__(self, apu_rows: int, input_words: int, bits: int):
        self._params = (_positive("apu_rows", apu_rows), _positive("input_words", input_words),
                        _positive("bits", bits))
        super().__init__({"load": Out(1), "rows": Out(apu_rows),
                          "word": Out(range(max(2, input_words))), "data": Out(bits),
                          "swap": Out(1), "shift": Out(1)})


class AccumulatorControl(_Params):
    """The shift-and-add accumulators: ``clear``, per-row-block ``valid`` of the plane
    being summed, ``hold`` (their results into the output registers the drain reads), and
    the held output word ``out_index`` of the column group whose row blocks start at
    ``sum_base`` (``out_word``, combinational)."""

    def __init__(self, apu_rows: int, planes: int, out_words: int, bits: int):
        self._params = (_positive("apu_rows", apu_rows), _positive("planes", planes),
                        _positive("out_words", out_words), _positive("bits", bits))
        super().__init__({"clear": Out(1), "hold": Out(1), "valid": Out(apu_rows),
                          "plane": Out(range(planes)),
                          "out_index": Out(range(out_words + 1)),
                          "sum_base": Out(range(apu_rows + 1)), "out_word": In(bits)})


class InvPort(_Params):
    """The INV arrays: a solve (``req_*`` out, ``resp_x`` sampled at the end of its
    window) and the matrix stream of INV_WRITE (``wr_*``: ``wr_count`` words of up to
    ``lanes`` from matrix word ``wr_index`` on, lane 0 in the low bits of ``wr_data``;
    ``wr_done`` once programmed; ``ok`` says which arrays can solve)."""

    def __init__(self, size: int, count: int, dram_bits: int, lanes: int = 1):
        self._params = (_positive("size", size), _positive("count", count),
                        _positive("dram_bits", dram_bits), _positive("lanes", lanes))
        xb = xbar_bits()
        super().__init__({
            "req_valid": Out(1), "req_id": Out(xb), "req_b": Out(size * 32),
            "req_shift": Out(8), "resp_x": In(size * 32),
            "wr_valid": Out(1), "wr_id": Out(xb), "wr_index": Out(16),
            "wr_count": Out(range(lanes + 1)), "wr_data": Out(dram_bits * lanes),
            "wr_done": Out(1), "ok": In(count)})


def write_fields() -> dict[str, int]:
    """``{field: width}`` of WRITE_START."""
    return {f.name: f.width for f in SPECS[Opcode.WRITE_START].fields}


class WriteCommand(_Plain):
    """A weight write for the write engine: ``start`` with WRITE_START's fields."""

    def __init__(self):
        super().__init__({"start": Out(1),
                          **{name: Out(width) for name, width in write_fields().items()}})


class Scoreboard(_Plain):
    """The write engine's scoreboard, from the engine's side: ``busy`` writing crossbars
    ``[busy_xbar, busy_xbar + busy_n)``."""

    def __init__(self):
        super().__init__({"busy": Out(1), "busy_xbar": Out(xbar_bits()),
                          "busy_n": Out(write_fields()["nxbars"])})


def writing_any(sbs, first, last):
    """Whether a write group behind any of the scoreboard ports ``sbs`` (one per write
    engine) touches any crossbar of ``[first, last)`` (the stall of WRITE_START,
    WRITE_WAIT and a VMM)."""
    return reduce(or_, (sb.busy & (sb.busy_xbar < last) & (sb.busy_xbar + sb.busy_n > first)
                        for sb in sbs))


class RowWrite(_Params):
    """One crossbar row's programming deltas (``cols`` signed ``delta_bits`` each) from
    the write engine to the analog side, handed over with ``valid``."""

    def __init__(self, delta_bits: int, cols: int):
        self._params = (_positive("delta_bits", delta_bits), _positive("cols", cols))
        super().__init__({"valid": Out(1), "id": Out(xbar_bits()),
                          "row": Out(write_fields()["row"]),
                          "deltas": Out(data.ArrayLayout(signed(delta_bits), cols))})


class Dispatch(_Params):
    """The core's command to an execute unit: ``start`` in DECODE with the decoded
    instruction, ``insn`` the instruction register after; the unit answers ``done`` in
    the cycle the instruction completes (or a ``fault`` code), and ``stall`` while it
    waits for the write engine. ``abort`` (the watchdog) returns it to idle."""

    def __init__(self, layout: data.Layout):
        self._params = (layout,)
        super().__init__({"start": Out(1), "abort": Out(1), "decoded": Out(layout),
                          "insn": Out(layout), "done": In(1), "fault": In(FaultShape),
                          "stall": In(1)})


def buffer_ports(cfg: Config) -> dict:
    """The read and write ports of a unit that uses the global buffer."""
    return {"rd": Out(BufferReadPort(cfg.gb_words, cfg.gb_bits)),
            "wr": Out(BufferWritePort(cfg.gb_words, cfg.gb_bits))}


def dma_lane_ports(cfg: Config) -> dict:
    """The DMA's global-buffer lanes after the first (``rdx``/``wrx``, ``port_words - 1``
    of them), none for a main-memory port of one word."""
    extra = cfg.port_words - 1
    if not extra:
        return {}
    return {"rdx": Out(BufferReadPort(cfg.gb_words, cfg.gb_bits, extra)),
            "wrx": Out(BufferWritePort(cfg.gb_words, cfg.gb_bits, extra))}


def lane_mask(n, lanes: int):
    """``lanes`` enable bits, the first ``n`` set."""
    return Cat(*[n > i for i in range(lanes)])
